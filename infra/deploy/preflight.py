"""Checks, with your AWS credentials, what the template cannot check before a deploy.

    make preflight [SAM_CONFIG_ENV=production]
    PYTHONPATH=functions/token_refresher python -m infra.deploy.preflight --config-env default

Reads the environment's values from samconfig.toml (over the template's defaults), prints one
line per check (`ok`, `warn` or `FAIL`, and what to do), and exits 1 if any check failed. It
reads, never writes, and never prints a secret's value: only ARNs, names and key names.

With TokenParameterPath (a fleet), the secrets tagged joor-token-parameter are listed and read
as the function reads them, and the path is checked instead of (or, with CredentialsSecretArn,
beside) the one secret and its parameter.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import ConfigError, DeployConfig, load
from refresher.adapters.secrets_manager import parse_secret
from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT
from refresher.adapters.tagged_secrets import PARAMETER_TAG, TaggedSecretsDirectory
from refresher.config import AUTH_URLS
from refresher.domain.errors import AccountDiscoveryError, SecretMalformedError
from refresher.domain.models import Account, Refusal

# Lambda keeps this many concurrent executions unreserved in every account ("You can reserve
# up to the Unreserved account concurrency value minus 100", Lambda developer guide,
# "Configuring reserved concurrency for a function").
MIN_UNRESERVED_CONCURRENCY = 100
RESERVATION = 1
# CloudFormation stack names: start with a letter; letters, digits and hyphens; 128 at most.
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
# What every parameter this tool writes says of itself (refresher.adapters.ssm_token_store).
WRITTEN_BY = DESCRIPTION_FORMAT.rsplit(". ", 1)[-1].rstrip(".")
FUNCTION_LOGICAL_ID = "TokenRefresherFunction"
# How the function words a tagged secret whose parameter lies under another path (another
# stack's fleet, or a typo): a warning here, not a failure (refresher.adapters.tagged_secrets).
# The most secrets one line names; the rest are counted.
LISTED = 10

# What each customer managed key must let IAM policies grant, by template parameter.
KEY_USES = {
    "TokenKmsKeyArn": ("kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"),
    "SecretKmsKeyArn": ("kms:Decrypt",),
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    warning: bool = False  # passes, but says something worth a look

    def line(self) -> str:
        mark = "FAIL" if not self.ok else "warn" if self.warning else "ok  "
        return f"{mark}  {self.name}: {self.message}"


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _why(err: ClientError | BotoCoreError) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return type(err).__name__


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _secret_name(arn: str) -> str:
    """``joor/fleet/brand-a`` from its ARN (which ends in a six-character suffix)."""
    return arn.split(":secret:", 1)[-1].rsplit("-", 1)[0]


def _listed(items: Sequence[str]) -> str:
    shown = "; ".join(items[:LISTED])
    return shown + (f"; and {len(items) - LISTED} more" if len(items) > LISTED else "")


class Preflight:
    def __init__(self, config: DeployConfig, session: boto3.Session) -> None:
        self.config = config
        self.parameters = config.parameters
        self.region = session.region_name or ""
        # Read-only calls; a failure is reported, not retried for long.
        client_config = Config(retries={"mode": "standard", "max_attempts": 3})
        self._client: Callable[[str], Any] = lambda name: session.client(name, config=client_config)
        self.account = ""

    # --- the checks, in the order they print ---------------------------------------------

    def credentials(self) -> Check:
        try:
            identity = self._client("sts").get_caller_identity()
        except (ClientError, BotoCoreError) as err:
            return Check(
                "credentials",
                False,
                f"cannot call AWS ({_why(err)}): set AWS_PROFILE, run `aws sso login`, or "
                "export credentials, then run again",
            )
        self.account = str(identity["Account"])
        return Check("credentials", True, f"account {self.account}, region {self.region}")

    def stack_name(self) -> Check:
        name = self.config.stack_name
        if STACK_NAME.fullmatch(name):
            return Check("stack name", True, f"{name!r} ({len(name)} of 128 characters)")
        return Check(
            "stack name",
            False,
            f"{name!r} ({len(name)} characters) is not a CloudFormation stack name: start with "
            "a letter, use only letters, digits and hyphens, at most 128 characters; change "
            f"stack_name in samconfig.toml [{self.config.environment}]",
        )

    def region_matches_secret(self) -> Check:
        arn = self.parameters.get("CredentialsSecretArn", "")
        if not arn and self.fleet_path:
            return Check("region", True, f"{self.region}, where the fleet's secrets are listed")
        if not arn:
            return Check("region", True, f"{self.region} (no secret ARN to compare yet)")
        secret_region = _arn_region(arn)
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
                "ReserveConcurrency=false: no reservation needed (see the README for what "
                "keeps refreshes apart then)",
            )
        try:
            limits = self._client("lambda").get_account_settings()["AccountLimit"]
        except (ClientError, BotoCoreError) as err:
            return Check(
                "concurrency",
                False,
                f"cannot read the account's Lambda settings ({_why(err)}); allow "
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
            return Check("secret", False, self._secret_unreadable(arn, err))
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

    @staticmethod
    def _secret_unreadable(arn: str, err: ClientError | BotoCoreError) -> str:
        code = _code(err) if isinstance(err, ClientError) else ""
        if code == "ResourceNotFoundException":
            return (
                f"no secret at {arn} (check the ARN's six-character suffix, the account and "
                "the region); create it as the README shows"
            )
        if code in ("AccessDeniedException", "AccessDenied"):
            return f"your credentials cannot read {arn} ({_why(err)})"
        if code == "DecryptionFailure":
            return (
                f"Secrets Manager cannot decrypt {arn} with its KMS key ({_why(err)}); check "
                "the key's policy and state"
            )
        return f"cannot read {arn} ({_why(err)})"

    def token_parameter(self) -> Check:
        name = self.parameters.get("TokenParameterName", "")
        try:
            found = self._client("ssm").describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
            )["Parameters"]
        except (ClientError, BotoCoreError) as err:
            return Check("token parameter", False, f"cannot look up {name} ({_why(err)})")
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

    # --- a fleet: the tagged secrets and the parameter path ------------------------------

    @property
    def fleet_path(self) -> str:
        return self.parameters.get("TokenParameterPath", "").rstrip("/")

    @property
    def named_account(self) -> bool:
        return bool(self.parameters.get("CredentialsSecretArn"))

    def fleet_secrets(self) -> list[Check]:
        """The secrets tagged for a parameter under the path, read as the function reads them."""
        path = self.fleet_path
        configured = None
        if self.named_account:
            # The named account's parameter is claimed first, as in the function.
            configured = Account(
                self.parameters.get("TokenParameterName", ""),
                self.parameters["CredentialsSecretArn"],
                "",
            )
        directory = TaggedSecretsDirectory(
            path,
            lambda: self._client("secretsmanager"),
            {environment: environment for environment in AUTH_URLS},
            self.parameters.get("JoorEnvironment", "sandbox"),
            configured,
        )
        try:
            discovery = directory.discover()
        except AccountDiscoveryError as err:
            return [
                Check(
                    "fleet secrets",
                    False,
                    f"{err}; allow your credentials secretsmanager:ListSecrets, then run again",
                )
            ]
        claimed = [a for a in discovery.accounts if a is not configured]
        elsewhere = [r for r in discovery.refused if r.elsewhere]
        refused = [r for r in discovery.refused if r not in elsewhere]
        checks = [self._claims(path, claimed)]
        if refused:
            checks.append(
                Check(
                    "fleet refusals",
                    False,
                    f"{len(refused)} tagged secret(s) would get no token: "
                    f"{_listed([_refusal(r) for r in refused])}",
                )
            )
        if elsewhere:
            checks.append(
                Check(
                    "fleet other paths",
                    True,
                    f"{len(elsewhere)} secret(s) tagged {PARAMETER_TAG} name a parameter outside "
                    f"{path}/ (another stack's fleet, or a typo); each run lists them as refused: "
                    f"{_listed([r.secret for r in elsewhere])}",
                    warning=True,
                )
            )
        if claimed:
            checks.append(self._secret_values(claimed))
        return checks

    @staticmethod
    def _claims(path: str, claimed: list[Account]) -> Check:
        if not claimed:
            return Check(
                "fleet secrets",
                True,
                f"no secret is tagged {PARAMETER_TAG} with a parameter under {path}/ yet: the "
                "function keeps no token until one is (README, Several JOOR accounts)",
                warning=True,
            )
        return Check(
            "fleet secrets",
            True,
            f"{len(claimed)} secret(s) claim a parameter under {path}/",
        )

    def _secret_values(self, claimed: list[Account]) -> Check:
        """Each claimed secret readable and a JSON object with the keys; names, never values."""
        client = self._client("secretsmanager")
        problems = []
        for account in claimed:
            name = _secret_name(account.secret_id)
            try:
                response = client.get_secret_value(SecretId=account.secret_id)
            except (ClientError, BotoCoreError) as err:
                problems.append(self._secret_unreadable(name, err))
                continue
            if "SecretString" not in response:
                problems.append(f"{name} holds binary data; store a JSON object")
                continue
            try:
                parse_secret(name, response["SecretString"])
            except SecretMalformedError as err:
                problems.append(str(err))
        if problems:
            return Check(
                "fleet secret values",
                False,
                f"{len(problems)} of {len(claimed)} cannot be used: {_listed(problems)}; fix "
                "each with put-secret-value",
            )
        return Check(
            "fleet secret values",
            True,
            f"all {len(claimed)} are readable and have the keys the function needs",
        )

    def token_path(self) -> Check:
        """Every SecureString under the path is a token this tool wrote: TokenReaderPolicy
        lets its workloads read the whole path."""
        path = self.fleet_path
        ssm = self._client("ssm")
        request: dict[str, Any] = {
            "ParameterFilters": [{"Key": "Path", "Option": "Recursive", "Values": [path]}],
            "MaxResults": 50,
        }
        found: list[dict[str, Any]] = []
        try:
            while True:
                page = ssm.describe_parameters(**request)
                found += page.get("Parameters", [])
                if not page.get("NextToken"):
                    break
                request["NextToken"] = page["NextToken"]
        except (ClientError, BotoCoreError) as err:
            return Check(
                "token path", False, f"cannot list the parameters under {path}/ ({_why(err)})"
            )
        ours = [p for p in found if WRITTEN_BY in (p.get("Description") or "")]
        foreign = [
            str(p["Name"]) for p in found if p.get("Type") == "SecureString" and p not in ours
        ]
        if foreign:
            return Check(
                "token path",
                False,
                f"{path}/ holds SecureString parameters this tool did not write: "
                f"{_listed(foreign)}. Every workload given TokenReaderPolicy may read the whole "
                f"path, and the function overwrites one a secret claims: move them out of {path}/",
            )
        if not found:
            return Check("token path", True, f"{path}/ is empty; each run creates the tokens")
        return Check(
            "token path",
            True,
            f"{path}/ holds {len(ours)} token(s) this tool wrote and no other secure value",
        )

    def kms_keys(self) -> list[Check]:
        return [
            self._kms_key(parameter, uses)
            for parameter, uses in KEY_USES.items()
            if self.parameters.get(parameter)
        ]

    def _kms_key(self, parameter: str, uses: Sequence[str]) -> Check:
        arn = self.parameters[parameter]
        name = f"{parameter}"
        if _arn_region(arn) != self.region:
            return Check(
                name,
                False,
                f"{arn} is in {_arn_region(arn) or '(unknown)'}, not {self.region}: use a key in "
                "the region of the stack and the secret",
            )
        kms = self._client("kms")
        try:
            metadata = kms.describe_key(KeyId=arn)["KeyMetadata"]
        except (ClientError, BotoCoreError) as err:
            if isinstance(err, ClientError) and _code(err) == "NotFoundException":
                return Check(name, False, f"no KMS key {arn}: check the key id and region")
            return Check(name, False, f"cannot describe {arn} ({_why(err)})")
        state = metadata.get("KeyState")
        if state != "Enabled":
            return Check(name, False, f"{arn} is {state}: enable it (or cancel its deletion)")
        try:
            policy = json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
        except (ClientError, BotoCoreError) as err:
            return Check(
                name,
                False,
                f"cannot read the key policy of {arn} ({_why(err)}); check yourself that it "
                "has the statement that enables IAM policies (README, KMS keys)",
            )
        key_account = arn.split(":")[4]
        missing = [use for use in uses if not _delegates(policy, key_account, use)]
        if missing:
            return Check(
                name,
                False,
                f"the key policy of {arn} does not let IAM policies grant {', '.join(missing)}, "
                "so the stack's grants would do nothing: add the statement that allows the "
                f"account root (arn:aws:iam::{key_account}:root) kms:* (README, KMS keys)",
            )
        return Check(name, True, f"{arn} is enabled and its policy lets IAM grant its use")

    def run(self) -> list[Check]:
        first = self.credentials()
        if not first.ok:
            return [first]
        checks = [first, self.stack_name(), self.region_matches_secret(), self.concurrency()]
        # A fleet without a named account: its tagged secrets replace the one secret.
        named = self.named_account or not self.fleet_path
        if self.fleet_path:
            checks += self.fleet_secrets()
        if named:
            checks += [self.secret(), self.token_parameter()]
        if self.fleet_path:
            checks.append(self.token_path())
        return checks + self.kms_keys()


def _refusal(refusal: Refusal) -> str:
    return f"{refusal.secret}: {refusal.problem}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _delegates(policy: dict[str, Any], account: str, action: str) -> bool:
    """Whether a key policy lets IAM policies of `account` allow `action` (the root statement).

    KMS: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow
    access to a KMS key" (Key policies in AWS KMS); the default key policy's first statement
    allows the account principal kms:* on "*", which is what enables IAM policies. A statement
    with conditions is not counted: whether it applies depends on the request.
    """
    roots = {account, f"arn:aws:iam::{account}:root"}
    for statement in _as_list(policy.get("Statement", [])):
        if statement.get("Effect") != "Allow" or "Condition" in statement:
            continue
        principal = statement.get("Principal", {})
        principals = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
        if not roots & {str(p).replace("arn:aws-cn:", "arn:aws:") for p in principals}:
            continue
        actions = _as_list(statement.get("Action", []))
        if any(fnmatchcase(action.lower(), str(a).lower()) for a in actions):
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.preflight",
        description="Check, with your AWS credentials, what a deploy of the stack needs.",
    )
    parser.add_argument("--config-env", default="default", help="samconfig.toml environment")
    parser.add_argument("--config-file", default=None, help="default: samconfig.toml")
    parser.add_argument("--template-file", default=None, help="default: template.yaml")
    parser.add_argument(
        "--parameter-overrides",
        default=None,
        help='extra Key="Value" pairs, e.g. CredentialsSecretArn="arn:aws:..." before the first deploy',
    )
    parser.add_argument("--region", default=None)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args(argv)

    from pathlib import Path

    from infra.deploy.config import DEFAULT_CONFIG_FILE, DEFAULT_TEMPLATE_FILE

    try:
        config = load(
            args.config_env,
            Path(args.config_file) if args.config_file else DEFAULT_CONFIG_FILE,
            Path(args.template_file) if args.template_file else DEFAULT_TEMPLATE_FILE,
            args.parameter_overrides,
        )
    except ConfigError as err:
        print(f"FAIL  configuration: {err}")
        return 1
    try:
        session = boto3.Session(
            profile_name=args.profile or config.profile,
            region_name=args.region or config.region,
        )
    except BotoCoreError as err:
        print(f"FAIL  credentials: {_why(err)}")
        return 1
    if not session.region_name:
        print("FAIL  region: none set: add region to samconfig.toml, set AWS_REGION, or --region")
        return 1

    print(f"preflight for stack {config.stack_name} ({config.environment}), {session.region_name}")
    checks = Preflight(config, session).run()
    for check in checks:
        print(check.line())
    failed = sum(not check.ok for check in checks)
    warned = sum(check.ok and check.warning for check in checks)
    print(
        f"{len(checks) - failed} ok, {failed} failed" + (f", {warned} to look at" if warned else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
