"""Checks, with your AWS credentials, what the template cannot check before a deploy.

    make preflight [SAM_CONFIG_ENV=production]
    PYTHONPATH=functions/token_refresher python -m infra.deploy.preflight --config-env default

Reads the environment's values from samconfig.toml (over the template's defaults), prints one
line per check (`ok`, `warn` or `FAIL`, and what to do), and exits 1 if any check failed. It
reads, never writes, and never prints a secret's value: only ARNs, names and key names.

The checks that would make CloudFormation fail and leave a stack to delete by hand (the
stack's state, the names built from the stack name, the reserved concurrency) are `blocking`:
`make deploy` runs them before `sam deploy` (infra/deploy/deploy.py). With TokenParameterPath
(a fleet), preflight_fleet.py checks the tagged secrets and the path instead of (or, with
CredentialsSecretArn, beside) the one secret and its parameter; preflight_kms.py the keys.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.checks import Check, Clients, arn_region, secret_name
from infra.deploy.config import (
    DEFAULT_TEMPLATE_FILE,
    ConfigError,
    DeployConfig,
    add_arguments,
    explain,
    from_arguments,
    is_network_error,
    session_for,
)
from infra.deploy.names import MAX_STACK_NAME, STACK_NAME, check_stack_name
from infra.deploy.preflight_fleet import WRITTEN_BY, FleetChecks, unreadable
from infra.deploy.preflight_kms import kms_checks, ungranted_keys
from refresher.adapters.secrets_manager import parse_secret
from refresher.domain.errors import SecretMalformedError

# Lambda keeps this many concurrent executions unreserved in every account ("You can reserve
# up to the Unreserved account concurrency value minus 100", Lambda developer guide,
# "Configuring reserved concurrency for a function").
MIN_UNRESERVED_CONCURRENCY = 100
RESERVATION = 1
FUNCTION_LOGICAL_ID = "TokenRefresherFunction"
# Stack states from which `sam deploy` cannot go on: CloudFormation refuses to update them
# ("Stack is in ROLLBACK_COMPLETE state and can not be updated").
STUCK_STATES = {
    "ROLLBACK_COMPLETE": "its first deploy failed and was rolled back; such a stack can only "
    "be deleted",
    "ROLLBACK_FAILED": "its first deploy failed and so did the rollback",
    "DELETE_FAILED": "an earlier delete failed",
    "UPDATE_ROLLBACK_FAILED": "an update failed and so did its rollback",
}


def stack_state_problem(name: str, status: str, environment: str) -> str | None:
    """Why `sam deploy` cannot go on from the stack's ``status``, and the fix; None if it can."""
    if status in STUCK_STATES:
        fix = (
            "aws cloudformation continue-update-rollback, or delete it"
            if status == "UPDATE_ROLLBACK_FAILED"
            else f"delete it first (make delete SAM_CONFIG_ENV={environment}), then deploy again"
        )
        return f"{name} is {status}: {STUCK_STATES[status]}. Fix: {fix}"
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        return f"{name} is {status}: wait until it is done, then run again"
    return None


class Preflight:
    def __init__(
        self,
        config: DeployConfig,
        session: boto3.Session,
        template_file: Path = DEFAULT_TEMPLATE_FILE,
    ) -> None:
        self.config = config
        self.parameters = config.parameters
        self.region = session.region_name or ""
        self.template_file = template_file
        self._client = Clients(session)
        self.account = ""

    @property
    def fleet_path(self) -> str:
        return self.parameters.get("TokenParameterPath", "").rstrip("/")

    @property
    def named_account(self) -> bool:
        return bool(self.parameters.get("CredentialsSecretArn"))

    # --- the checks, in the order they print ---------------------------------------------

    def credentials(self) -> Check:
        try:
            identity = self._client("sts").get_caller_identity()
        except (ClientError, BotoCoreError) as err:
            if is_network_error(err):
                return Check("AWS", False, explain(err))
            return Check(
                "credentials",
                False,
                f"cannot call AWS ({explain(err)}): set AWS_PROFILE, run `aws sso login`, or "
                "export credentials, then run again",
            )
        self.account = str(identity["Account"])
        return Check("credentials", True, f"account {self.account}, region {self.region}")

    def stack_name(self) -> Check:
        name = self.config.stack_name
        where = f"change stack_name in samconfig.toml [{self.config.environment}]"
        if not STACK_NAME.fullmatch(name):
            return Check(
                "stack name",
                False,
                f"{name!r} ({len(name)} characters) is not a CloudFormation stack name: start "
                f"with a letter, use only letters, digits and hyphens, at most {MAX_STACK_NAME} "
                f"characters; {where}",
            )
        try:
            too_long = check_stack_name(name, self.parameters, self.template_file, self.region)
        except Exception as err:  # noqa: BLE001 - the SAM translator's errors have no common base
            return Check(
                "stack name", False, f"cannot read {self.template_file} to check the names: {err}"
            )
        if too_long:
            fits = min(n.longest_stack_name(name) for n in too_long)
            shown = "; ".join(
                f"{n.logical_id} {n.path}: {n.length} characters, "
                f"{n.limit.limit if n.limit else '?'} allowed ({n.limit.source if n.limit else ''})"
                for n in too_long
            )
            return Check(
                "stack name",
                False,
                f"{name!r} ({len(name)} characters) makes names longer than AWS allows, so the "
                f"stack would fail at creation: {shown}. Use a stack name of at most {fits} "
                f"characters; {where}",
            )
        return Check(
            "stack name",
            True,
            f"{name!r} ({len(name)} of {MAX_STACK_NAME} characters; every name built from it "
            "fits its limit)",
        )

    def stack_state(self) -> Check:
        name = self.config.stack_name
        try:
            stack = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as err:
            if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
                return Check("stack", True, f"{name} does not exist yet: the deploy creates it")
            return Check("stack", False, f"cannot describe the stack {name} ({explain(err)})")
        except BotoCoreError as err:
            return Check("stack", False, f"cannot describe the stack {name} ({explain(err)})")
        status = str(stack["StackStatus"])
        problem = stack_state_problem(name, status, self.config.environment)
        if problem:
            return Check("stack", False, problem)
        return Check("stack", True, f"{name} is {status}")

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

    def concurrency(self) -> Check:
        if self.parameters.get("ReserveConcurrency", "true") != "true":
            return Check(
                "concurrency",
                True,
                "ReserveConcurrency=false: no reservation needed (docs/operations.md, Reserved "
                "concurrency, says what keeps refreshes apart then)",
            )
        try:
            limits = self._client("lambda").get_account_settings()["AccountLimit"]
        except (ClientError, BotoCoreError) as err:
            return Check(
                "concurrency",
                False,
                f"cannot read the account's Lambda settings ({explain(err)}); allow "
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

    def secret(self) -> list[Check]:
        arn = self.parameters.get("CredentialsSecretArn", "")
        if not arn:
            return [
                Check(
                    "secret",
                    False,
                    "CredentialsSecretArn is not set: add it to parameter_overrides in "
                    f"samconfig.toml [{self.config.environment}] or pass --parameter-overrides "
                    "(or set TokenParameterPath for a fleet of tagged secrets)",
                )
            ]
        pattern = self.config.parameter_specs.get("CredentialsSecretArn", {}).get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, arn):
            return [
                Check(
                    "secret",
                    False,
                    f"{arn!r} is not a full secret ARN (the template wants the six-character "
                    "suffix): aws secretsmanager describe-secret --secret-id NAME --query ARN",
                )
            ]
        client = self._client("secretsmanager")
        try:
            response = client.get_secret_value(SecretId=arn)
        except (ClientError, BotoCoreError) as err:
            return [Check("secret", False, unreadable(arn, err))]
        if response.get("ARN") != arn:
            return [
                Check(
                    "secret",
                    False,
                    f"{arn!r} names the secret {response.get('ARN')!r} only in part; IAM matches "
                    "the full ARN: use that one",
                )
            ]
        if "SecretString" not in response:
            return [Check("secret", False, f"{arn} holds binary data; store a JSON object")]
        try:
            parse_secret(arn, response["SecretString"])
        except SecretMalformedError as err:
            return [Check("secret", False, f"{err}; fix it with put-secret-value")]
        return [
            Check("secret", True, f"{arn} is readable and has the keys the function needs"),
            self._secret_key(arn),
        ]

    def _secret_key(self, arn: str) -> Check:
        """The key the secret is encrypted with is one the stack lets the function use."""
        try:
            key = self._client("secretsmanager").describe_secret(SecretId=arn).get("KmsKeyId")
        except (ClientError, BotoCoreError) as err:
            return Check("secret key", False, f"cannot describe {arn} ({explain(err)})")
        granted = self.parameters.get("SecretKmsKeyArn", "")
        wrong, unknown = ungranted_keys(self._client, {secret_name(arn): key}, granted)
        if wrong:
            return Check(
                "secret key",
                False,
                f"{arn} is encrypted with {wrong[0][1]}, which the stack does not let the "
                "function use: set SecretKmsKeyArn to that key",
            )
        if unknown:
            return Check(
                "secret key",
                True,
                f"the key of {arn} ({key}) could not be described: check that SecretKmsKeyArn "
                "is that key",
                warning=True,
            )
        return Check("secret key", True, "encrypted with a key the stack lets the function use")

    def token_parameter(self) -> Check:
        name = self.parameters.get("TokenParameterName", "")
        try:
            found = self._client("ssm").describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
            )["Parameters"]
        except (ClientError, BotoCoreError) as err:
            return Check("token parameter", False, f"cannot look up {name} ({explain(err)})")
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

    # --- the runs ------------------------------------------------------------------------

    def blocking(self) -> list[Check]:
        """What would make CloudFormation fail and leave a stack behind: `make deploy` runs it."""
        first = self.credentials()
        if not first.ok:
            return [first]
        return [first, self.stack_name(), self.stack_state(), self.concurrency()]

    def run(self) -> list[Check]:
        checks = self.blocking()
        if not checks[0].ok:  # no AWS to ask
            return checks
        checks.append(self.region_matches_secret())
        if self.fleet_path:
            checks += FleetChecks(self.config, self._client).run()
        # A fleet without a named account: its tagged secrets replace the one secret.
        if self.named_account or not self.fleet_path:
            checks += [*self.secret(), self.token_parameter()]
        return checks + kms_checks(self._client, self.parameters, self.region)


def report(checks: Sequence[Check]) -> int:
    """Print one line per check and the counts; 1 if any failed."""
    for check in checks:
        print(check.line())
    failed = sum(not check.ok for check in checks)
    warned = sum(check.ok and check.warning for check in checks)
    print(
        f"{len(checks) - failed} ok, {failed} failed" + (f", {warned} to look at" if warned else "")
    )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.preflight",
        description="Check, with your AWS credentials, what a deploy of the stack needs.",
    )
    add_arguments(parser, overrides=True)
    args = parser.parse_args(argv)
    try:
        config = from_arguments(args)
        session = session_for(config, args)
    except ConfigError as err:
        print(f"FAIL  configuration: {err}")
        return 1
    print(f"preflight for stack {config.stack_name} ({config.environment}), {session.region_name}")
    template = Path(args.template_file) if args.template_file else DEFAULT_TEMPLATE_FILE
    return report(Preflight(config, session, template).run())


if __name__ == "__main__":
    sys.exit(main())
