"""The preflight's checks of a fleet (TokenParameterPath): the tagged secrets read as the function
reads them, the keys they are encrypted with, the named account's parameter, the path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.checks import Check, listed, secret_name, warn
from infra.deploy.config import DeployConfig, explain
from infra.deploy.preflight_kms import ungranted_keys
from refresher.adapters.secrets_manager import parse_secret
from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT
from refresher.adapters.tagged_secrets import PARAMETER_TAG, TaggedSecretsDirectory
from refresher.config import AUTH_URLS
from refresher.domain.errors import AccountDiscoveryError, SecretMalformedError
from refresher.domain.models import Account, Refusal
from refresher.domain.names import is_under

# What every parameter this tool writes says of itself (refresher.adapters.ssm_token_store).
WRITTEN_BY = DESCRIPTION_FORMAT.rsplit(". ", 1)[-1].rstrip(".")


def unreadable(name: str, err: ClientError | BotoCoreError) -> str:
    """Why the secret ``name`` cannot be read, and what to do."""
    code = err.response.get("Error", {}).get("Code", "") if isinstance(err, ClientError) else ""
    if code == "ResourceNotFoundException":
        return (
            f"no secret at {name} (check the ARN's six-character suffix, the account and "
            "the region); create it as the README shows"
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return f"your credentials cannot read {name} ({explain(err)})"
    if code == "DecryptionFailure":
        return (
            f"Secrets Manager cannot decrypt {name} with its KMS key ({explain(err)}); check "
            "the key's policy and state"
        )
    return f"cannot read {name} ({explain(err)})"


class FleetChecks:
    def __init__(self, config: DeployConfig, client: Callable[[str], Any]) -> None:
        self.config = config
        self.parameters = config.parameters
        self._client = client

    @property
    def path(self) -> str:
        return self.parameters.get("TokenParameterPath", "").rstrip("/")

    def run(self) -> list[Check]:
        checks = [*self.named_parameter(), *self.secrets()]
        return [*checks, self.token_path()]

    def named_parameter(self) -> list[Check]:
        """With both a named account and a path, the function requires the one under the other
        (refresher.config: TOKEN_PARAMETER_NAME must lie under TOKEN_PARAMETER_PATH)."""
        name = self.parameters.get("TokenParameterName", "")
        if not self.parameters.get("CredentialsSecretArn"):
            return []
        if is_under(self.path, name):
            return [Check("named parameter", True, f"{name} lies under {self.path}/")]
        return [
            Check(
                "named parameter",
                False,
                f"TokenParameterName {name} is not under TokenParameterPath {self.path}/: the "
                "function would refuse its configuration and every run would fail. Name a "
                f"parameter under {self.path}/ (samconfig.toml [{self.config.environment}])",
            )
        ]

    def secrets(self) -> list[Check]:
        """The secrets tagged for a parameter under the path, read as the function reads them."""
        configured = None
        if self.parameters.get("CredentialsSecretArn"):
            # The named account's parameter is claimed first, as in the function.
            configured = Account(
                self.parameters.get("TokenParameterName", ""),
                self.parameters["CredentialsSecretArn"],
                "",
            )
        directory = TaggedSecretsDirectory(
            self.path,
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
        checks = [self._claims(claimed)]
        if refused:
            checks.append(
                Check(
                    "fleet refusals",
                    False,
                    f"{len(refused)} tagged secret(s) would get no token: "
                    f"{listed([_refusal(r) for r in refused])}",
                )
            )
        if elsewhere:
            checks.append(
                warn(
                    "fleet other paths",
                    f"{len(elsewhere)} secret(s) tagged {PARAMETER_TAG} name a parameter outside "
                    f"{self.path}/ (another stack's fleet, or a typo); each run lists them as "
                    f"refused: {listed([r.secret for r in elsewhere])}",
                )
            )
        if claimed:
            checks += [self._values(claimed), self._keys(claimed)]
        return checks

    def _claims(self, claimed: list[Account]) -> Check:
        if not claimed:
            return warn(
                "fleet secrets",
                f"no secret is tagged {PARAMETER_TAG} with a parameter under {self.path}/ yet: "
                "the function keeps no token until one is (README, Several JOOR accounts)",
            )
        return Check(
            "fleet secrets", True, f"{len(claimed)} secret(s) claim a parameter under {self.path}/"
        )

    def _values(self, claimed: list[Account]) -> Check:
        """Each claimed secret readable and a JSON object with the keys; names, never values."""
        client = self._client("secretsmanager")
        problems = []
        for account in claimed:
            name = secret_name(account.secret_id)
            try:
                response = client.get_secret_value(SecretId=account.secret_id)
            except (ClientError, BotoCoreError) as err:
                problems.append(unreadable(name, err))
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
                f"{len(problems)} of {len(claimed)} cannot be used: {listed(problems)}; fix "
                "each with put-secret-value",
            )
        return Check(
            "fleet secret values",
            True,
            f"all {len(claimed)} are readable and have the keys the function needs",
        )

    def _keys(self, claimed: list[Account]) -> Check:
        """Each claimed secret encrypted with a key the stack lets the function use."""
        arns = {a.secret_id for a in claimed}
        try:
            pages = (
                self._client("secretsmanager")
                .get_paginator("list_secrets")
                .paginate(Filters=[{"Key": "tag-key", "Values": [PARAMETER_TAG]}])
            )
            keys = {
                secret_name(e["ARN"]): e.get("KmsKeyId")
                for page in pages
                for e in page.get("SecretList", [])
                if e.get("ARN") in arns
            }
        except (ClientError, BotoCoreError) as err:
            return Check("fleet secret keys", False, f"cannot list the secrets ({explain(err)})")
        granted = self.parameters.get("SecretKmsKeyArn", "")
        wrong, unknown = ungranted_keys(self._client, keys, granted)
        if wrong:
            allowed = f"SecretKmsKeyArn ({granted})" if granted else "no customer managed key"
            return Check(
                "fleet secret keys",
                False,
                f"{len(wrong)} secret(s) are encrypted with a customer managed key the stack "
                f"does not let the function use (it grants the AWS managed key and {allowed}), "
                f"so their runs would fail: {listed([f'{n}: {k}' for n, k in wrong])}. Re-encrypt each with the granted "
                "key (aws secretsmanager update-secret --secret-id NAME --kms-key-id KEY), or "
                "set SecretKmsKeyArn to the one key the fleet uses",
            )
        if unknown:
            return warn(
                "fleet secret keys",
                f"the key of {len(unknown)} secret(s) could not be described (kms:DescribeKey): "
                f"{listed([f'{n}: {k}' for n, k in unknown])}; check that each is the AWS managed "
                "key or SecretKmsKeyArn",
            )
        return Check(
            "fleet secret keys",
            True,
            f"all {len(claimed)} are encrypted with a key the stack lets the function use",
        )

    def token_path(self) -> Check:
        """Every SecureString under the path is a token this tool wrote: TokenReaderPolicy
        lets its workloads read the whole path."""
        ssm = self._client("ssm")
        found: list[dict[str, Any]] = []
        try:
            pages = ssm.get_paginator("describe_parameters").paginate(
                ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [self.path]}],
                PaginationConfig={"PageSize": 50},
            )
            for page in pages:
                found += page.get("Parameters", [])
        except (ClientError, BotoCoreError) as err:
            return Check(
                "token path",
                False,
                f"cannot list the parameters under {self.path}/ ({explain(err)})",
            )
        ours = [p for p in found if WRITTEN_BY in (p.get("Description") or "")]
        foreign = [
            str(p["Name"]) for p in found if p.get("Type") == "SecureString" and p not in ours
        ]
        if foreign:
            return Check(
                "token path",
                False,
                f"{self.path}/ holds SecureString parameters this tool did not write: "
                f"{listed(foreign)}. Every workload given TokenReaderPolicy may read the whole "
                f"path, and the function overwrites one a secret claims: move them out of "
                f"{self.path}/",
            )
        if not found:
            return Check("token path", True, f"{self.path}/ is empty; each run creates the tokens")
        return Check(
            "token path",
            True,
            f"{self.path}/ holds {len(ours)} token(s) this tool wrote and no other secure value",
        )


def _refusal(refusal: Refusal) -> str:
    return f"{refusal.secret}: {refusal.problem}"
