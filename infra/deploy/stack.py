"""The deployed stack as the operator's tools read it: one DescribeStacks call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import DeployConfig, explain


class StackError(Exception):
    """The stack cannot be read, or is not there; the message says what to do."""


@dataclass(frozen=True)
class DeployedStack:
    name: str
    status: str
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str | None:
        """A fleet's parameter path, or None."""
        return self.parameters.get("TokenParameterPath", "").rstrip("/") or None

    @property
    def named_parameter(self) -> str | None:
        """The parameter of the account the configuration names, or None (a fleet only)."""
        if not self.parameters.get("CredentialsSecretArn"):
            return None
        return self.parameters.get("TokenParameterName") or None

    @property
    def layer_name(self) -> str:
        """As template.yaml names the consumer package's layer."""
        return f"{self.name}-joor-token"


def read_stack(session: boto3.Session, config: DeployConfig) -> DeployedStack:
    try:
        found: dict[str, Any] = session.client("cloudformation").describe_stacks(
            StackName=config.stack_name
        )["Stacks"][0]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            raise StackError(
                f"no stack {config.stack_name} in {session.region_name}: deploy it first "
                f"(make deploy SAM_CONFIG_ENV={config.environment}), or check the region"
            ) from None
        raise StackError(f"cannot read the stack {config.stack_name}: {explain(err)}") from None
    except BotoCoreError as err:
        raise StackError(f"cannot read the stack {config.stack_name}: {explain(err)}") from None
    return DeployedStack(
        name=str(found["StackName"]),
        status=str(found["StackStatus"]),
        parameters={
            str(p["ParameterKey"]): str(p.get("ParameterValue", ""))
            for p in found.get("Parameters", [])
        },
        outputs={str(o["OutputKey"]): str(o["OutputValue"]) for o in found.get("Outputs", [])},
    )
