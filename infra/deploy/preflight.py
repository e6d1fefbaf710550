"""Checks, with your AWS credentials, what the template cannot check before a deploy.

    make preflight [SAM_CONFIG_ENV=production]
    .venv/bin/python -m infra.deploy.preflight --config-env default

Reads the environment's values from samconfig.toml (over the template's defaults), prints one
line per check (`ok`, `warn` or `FAIL`, and what to do), and exits 1 if any check failed. It
reads, never writes, and never prints a secret's value: only ARNs, names and key names.

With TokenParameterPath (a fleet), the secrets tagged joor-token-parameter are listed and read
as the function reads them, and the path is checked instead of (or, with CredentialsSecretArn,
beside) the one secret and its parameter (preflight_fleet.py). The KMS keys (the secrets' and
the customer managed keys the stack names) are checked in preflight_keys.py. The checks whose
failure would make CloudFormation fail are `before_deploy`: `make deploy` runs them first
(deploy.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
)

from infra.deploy.checks import (
    Check,
    arn_region,
    listed,
    refused,
    report,
    unreadable,
)
from infra.deploy.config import ConfigError, DeployConfig, invocation, tool_parser
from infra.deploy.names import derived_names, load_template
from infra.deploy.preflight_fleet import FleetChecks
from infra.deploy.preflight_keys import KeyChecks
from refresher.adapters.aws_errors import describe
from refresher.adapters.secrets_manager import parse_secret
from refresher.adapters.ssm_token_store import WRITTEN_BY
from refresher.domain.errors import SecretMalformedError

# Lambda keeps this many concurrent executions unreserved in every account ("You can reserve
# up to the Unreserved account concurrency value minus 100", Lambda developer guide,
# "Configuring reserved concurrency for a function").
MIN_UNRESERVED_CONCURRENCY = 100
RESERVATION = 1
# CloudFormation stack names: start with a letter; letters, digits and hyphens; 128 at most.
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
FUNCTION_LOGICAL_ID = "TokenRefresherFunction"

# Stack states in which CloudFormation refuses an update, and the way out of each.
STACK_STATE_FIXES = {
    "ROLLBACK_COMPLETE": (
        "its first deploy failed and rolled back, and such a stack cannot be updated: delete "
        "it (aws cloudformation delete-stack --stack-name {name}), then deploy again"
    ),
    "ROLLBACK_FAILED": (
        "its first deploy failed and so did the rollback: delete it (aws cloudformation "
        "delete-stack --stack-name {name}; retain what cannot be deleted), then deploy again"
    ),
    "UPDATE_ROLLBACK_FAILED": (
        "an update failed and so did its rollback: aws cloudformation "
        "continue-update-rollback --stack-name {name}, then deploy again"
    ),
    "DELETE_FAILED": (
        "a delete failed: delete it again (make delete, or aws cloudformation delete-stack "
        "--stack-name {name}), then deploy"
    ),
}


def _unreachable(err: BotoCoreError) -> str:
    """An endpoint that did not answer: the network, the Region or an endpoint setting, not
    the credentials."""
    endpoint = getattr(err, "kwargs", {}).get("endpoint_url", "AWS")
    return (
        f"cannot reach {endpoint} ({type(err).__name__}): check the network (VPN, proxy, "
        "firewall), the Region's name, and AWS_ENDPOINT_URL if it is set, then run again"
    )


class Preflight:
    def __init__(self, config: DeployConfig, session: boto3.Session) -> None:
        self.config = config
        self.parameters = config.parameters
        self.region = session.region_name or ""
        # Read-only calls; a failure is reported, not retried for long.
        client_config = Config(retries={"mode": "standard", "max_attempts": 3})
        self._client: Callable[[str], Any] = lambda name: session.client(name, config=client_config)
        self.account = ""
        self.fleet = FleetChecks(config, self._client)
        self.keys = KeyChecks(config, self._client, self.region)

    # --- the checks, in the order they print ---------------------------------------------

    def credentials(self) -> Check:
        try:
            identity = self._client("sts").get_caller_identity()
        except (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError) as err:
            return Check("network", False, _unreachable(err))
        except (ClientError, BotoCoreError) as err:
            return Check(
                "credentials",
                False,
                f"cannot call AWS ({describe(err)}): set AWS_PROFILE, run `aws sso login`, or "
                "export credentials, then run again",
            )
        self.account = str(identity["Account"])
        return Check("credentials", True, f"account {self.account}, region {self.region}")

    def stack_name(self) -> Check:
        name = self.config.stack_name
        if not STACK_NAME.fullmatch(name):
            return Check(
                "stack name",
                False,
                f"{name!r} ({len(name)} characters) is not a CloudFormation stack name: start "
                "with a letter, use only letters, digits and hyphens, at most 128 characters; "
                f"change stack_name in samconfig.toml [{self.config.environment}]",
            )
        try:
            template = load_template(self.config.template_file)
        except (OSError, yaml.YAMLError) as err:
            return Check("stack name", False, f"cannot read {self.config.template_file}: {err}")
        names = derived_names(template, name, self.parameters)
        too_long = [n for n in names if not n.fits]
        if too_long:
            longest = min(n.longest_stack_name for n in names)
            return Check(
                "stack name",
                False,
                f"{name!r} ({len(name)} characters) makes names longer than AWS allows: "
                f"{listed([n.describe() for n in too_long])}; CloudFormation would fail and "
                f"roll back. Use a stack name of at most {longest} characters (stack_name in "
                f"samconfig.toml [{self.config.environment}])",
            )
        tightest = min(names, key=lambda n: n.limit - n.length, default=None)
        room = f"; tightest: {tightest.describe()}" if tightest else ""
        return Check(
            "stack name",
            True,
            f"{name!r} ({len(name)} of 128 characters), every name built from it within "
            f"its limit{room}",
        )

    def region_matches_secret(self) -> Check:
        arn = self.parameters.get("CredentialsSecretArn", "")
        if not arn and self.fleet_path:
            return Check("region", True, f"{self.region}, where the fleet's secrets are listed")
        if not arn:
            return Check("region", True, f"{self.region} (no secret ARN to compare yet)")
        secret_region = arn_region(arn)
        if secret_region == self.region:
            return Check("region", True, f"{self.region}, where the secret lives")
        return Check(
            "region",
            False,
            f"deploying to {self.region or '(none)'} but the secret lives in "
            f"{secret_region or '(unknown)'}: deploy to the secret's region (region in "
            "samconfig.toml, AWS_REGION or --region), or use a secret in this region",
        )

    def stack_state(self) -> Check:
        """A stack that CloudFormation will not update (a first deploy that rolled back) or
        that is busy makes `sam deploy` fail: say so before it runs."""
        name = self.config.stack_name
        try:
            stack = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as err:
            if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
                return Check("stack", True, f"{name} does not exist yet; the deploy creates it")
            return Check("stack", False, f"cannot describe the stack {name} ({describe(err)})")
        except BotoCoreError as err:
            return Check("stack", False, f"cannot describe the stack {name} ({describe(err)})")
        status = str(stack.get("StackStatus", ""))
        fix = STACK_STATE_FIXES.get(status)
        if fix is None and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            fix = "another operation is running on it: wait until it ends, then deploy again"
        if fix:
            return Check("stack", False, f"{name} is {status}: {fix.format(name=name)}")
        return Check("stack", True, f"{name} is {status}")

    def concurrency(self) -> Check:
        if self.parameters.get("ReserveConcurrency", "true") != "true":
            return Check(
                "concurrency",
                True,
                "ReserveConcurrency=false: no reservation needed (see the README for what "
                "keeps refreshes apart then)",
            )
        try:
            limits = self._client("lambda").get_account_settings()["AccountLimit"]
        except (ClientError, BotoCoreError) as err:
            return Check(
                "concurrency",
                False,
                f"cannot read the account's Lambda settings ({describe(err)}); allow "
                "lambda:GetAccountSettings, or check the quota yourself",
            )
        total = int(limits["ConcurrentExecutions"])
        unreserved = int(limits["UnreservedConcurrentExecutions"])
        needed = RESERVATION - self._already_reserved()
        if unreserved - needed >= MIN_UNRESERVED_CONCURRENCY:
            return Check(
                "concurrency",
                True,
                f"{unreserved} of {total} concurrent executions unreserved; reserving "
                f"{RESERVATION} leaves at least {MIN_UNRESERVED_CONCURRENCY}",
            )
        return Check(
            "concurrency",
            False,
            f"the account has {total} concurrent executions, {unreserved} unreserved; Lambda "
            f"keeps {MIN_UNRESERVED_CONCURRENCY} unreserved, so it refuses to reserve "
            f"{RESERVATION} for the function and the deploy would fail. Set "
            'ReserveConcurrency="false" in parameter_overrides (samconfig.toml '
            f"[{self.config.environment}]), or ask for a higher Lambda 'Concurrent executions' "
            "quota in Service Quotas",
        )

    def _already_reserved(self) -> int:
        """A redeploy: the stack's function may hold its reservation already."""
        try:
            resource = self._client("cloudformation").describe_stack_resource(
                StackName=self.config.stack_name, LogicalResourceId=FUNCTION_LOGICAL_ID
            )["StackResourceDetail"]
            concurrency = self._client("lambda").get_function_concurrency(
                FunctionName=resource["PhysicalResourceId"]
            )
        except (ClientError, BotoCoreError):
            return 0
        return int(concurrency.get("ReservedConcurrentExecutions") or 0)

    def secret(self) -> Check:
        arn = self.parameters.get("CredentialsSecretArn", "")
        if not arn:
            return Check(
                "secret",
                False,
                "CredentialsSecretArn is not set: add it to parameter_overrides in "
                f"samconfig.toml [{self.config.environment}] or pass --parameter-overrides "
                "(or set TokenParameterPath for a fleet of tagged secrets)",
            )
        pattern = self.config.parameter_specs.get("CredentialsSecretArn", {}).get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, arn):
            return Check(
                "secret",
                False,
                f"{arn!r} is not a full secret ARN (the template wants the six-character "
                "suffix): aws secretsmanager describe-secret --secret-id NAME --query ARN",
            )
        try:
            response = self._client("secretsmanager").get_secret_value(SecretId=arn)
        except (ClientError, BotoCoreError) as err:
            return Check("secret", False, unreadable(arn, err))
        if response.get("ARN") != arn:
            return Check(
                "secret",
                False,
                f"{arn!r} names the secret {response.get('ARN')!r} only in part; IAM matches the "
                "full ARN: use that one",
            )
        if "SecretString" not in response:
            return Check("secret", False, f"{arn} holds binary data; store a JSON object")
        try:
            parse_secret(arn, response["SecretString"])
        except SecretMalformedError as err:
            return Check("secret", False, f"{err}; fix it with put-secret-value")
        return Check("secret", True, f"{arn} is readable and has the keys the function needs")

    def token_parameter(self) -> Check:
        name = self.parameters.get("TokenParameterName", "")
        try:
            found = self._client("ssm").describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
            )["Parameters"]
        except (ClientError, BotoCoreError) as err:
            return Check("token parameter", False, f"cannot look up {name} ({describe(err)})")
        if not found:
            return Check("token parameter", True, f"{name} is free; the first run creates it")
        parameter = found[0]
        kind = parameter.get("Type")
        if kind == "SecureString" and WRITTEN_BY in (parameter.get("Description") or ""):
            tier = parameter.get("Tier", "Standard")
            note = " (Advanced tier: charged every month)" if tier == "Advanced" else ""
            return Check(
                "token parameter", True, f"{name} already holds a token this tool wrote{note}"
            )
        return Check(
            "token parameter",
            False,
            f"{name} exists ({kind}) and was not written by this tool; the function would "
            "overwrite it: choose another TokenParameterName, or delete that parameter",
        )

    # --- a fleet (preflight_fleet.py) and the keys (preflight_keys.py) ---------------------

    @property
    def fleet_path(self) -> str:
        return self.fleet.path

    @property
    def named_account(self) -> bool:
        return self.fleet.named_account

    def before_deploy(self) -> list[Check]:
        """The checks whose failure would make CloudFormation fail the deploy (and roll a new
        stack back): `make deploy` runs these before `sam deploy`."""
        first = self.credentials()
        if not first.ok:
            return [first]
        return [first, self.stack_name(), self.stack_state(), self.concurrency()]

    def run(self) -> list[Check]:
        first = self.credentials()
        if not first.ok:
            return [first]
        checks = [
            first,
            self.stack_name(),
            self.stack_state(),
            self.region_matches_secret(),
            self.concurrency(),
        ]
        # A fleet without a named account: its tagged secrets replace the one secret.
        named = self.named_account or not self.fleet_path
        if self.fleet_path:
            checks += self.fleet.secrets()
        readable = []
        if named:
            secret = self.secret()
            checks += [secret, self.token_parameter()]
            if secret.ok:  # only a named account's secret can pass
                readable.append(self.parameters["CredentialsSecretArn"])
        if self.fleet_path:
            checks.append(self.fleet.token_path())
            if self.named_account:
                checks.append(self.fleet.named_parameter_in_path())
        secrets = readable + self.fleet.claimed_secrets
        if secrets:
            checks.append(self.keys.secret_keys(secrets))
        return checks + self.keys.kms_keys(self.account, self.named_account and not self.fleet_path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = tool_parser(
        "preflight",
        "Check, with your AWS credentials, what a deploy of the stack needs.",
        template=True,
        overrides=True,
    )
    try:
        tool = invocation(parser.parse_args(argv))
    except ConfigError as err:
        return refused(err)
    print(
        f"preflight for stack {tool.config.stack_name} ({tool.config.environment}), {tool.region}"
    )
    return 1 if report(Preflight(tool.config, tool.session).run()) else 0


if __name__ == "__main__":
    sys.exit(main())
