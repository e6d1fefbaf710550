"""The preflight's checks of a fleet (TokenParameterPath): the tagged secrets read as the
function reads them, the parameter path, and a named account's parameter under it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.checks import Check, listed, secret_name, unreadable
from infra.deploy.config import DeployConfig
from refresher.adapters.aws_errors import describe
from refresher.adapters.secrets_manager import parse_secret
from refresher.adapters.ssm_token_store import WRITTEN_BY
from refresher.adapters.tagged_secrets import PARAMETER_TAG, TaggedSecretsDirectory
from refresher.config import AUTH_URLS
from refresher.domain.errors import AccountDiscoveryError, SecretMalformedError
from refresher.domain.models import Account, Refusal
from refresher.domain.names import is_under


class FleetChecks:
    """``client`` makes the read-only client of a service, as the preflight's do."""

    def __init__(self, config: DeployConfig, client: Callable[[str], Any]) -> None:
        self.config = config
        self.parameters = config.parameters
        self._client = client
        self.claimed_secrets: list[str] = []  # the fleet's, once secrets() has listed them

    @property
    def path(self) -> str:
        return self.parameters.get("TokenParameterPath", "").rstrip("/")

    @property
    def named_account(self) -> bool:
        return bool(self.parameters.get("CredentialsSecretArn"))

    def secrets(self) -> list[Check]:
        """The secrets tagged for a parameter under the path, read as the function reads them."""
        configured = None
        if self.named_account:
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
        self.claimed_secrets = [a.secret_id for a in claimed]
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
                Check(
                    "fleet other paths",
                    True,
                    f"{len(elsewhere)} secret(s) tagged {PARAMETER_TAG} name a parameter outside "
                    f"{self.path}/ (another stack's fleet, or a typo); each run lists them as "
                    f"refused: {listed([r.secret for r in elsewhere])}",
                    warning=True,
                )
            )
        if claimed:
            checks.append(self._secret_values(claimed))
        return checks

    def _claims(self, claimed: list[Account]) -> Check:
        if not claimed:
            return Check(
                "fleet secrets",
                True,
                f"no secret is tagged {PARAMETER_TAG} with a parameter under {self.path}/ yet: "
                "the function keeps no token until one is (README, 'Several JOOR accounts (a "
                "fleet)')",
                warning=True,
            )
        return Check(
            "fleet secrets", True, f"{len(claimed)} secret(s) claim a parameter under {self.path}/"
        )

    def _secret_values(self, claimed: list[Account]) -> Check:
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

    def token_path(self) -> Check:
        """Every SecureString under the path is a token this tool wrote: TokenReaderPolicy
        lets its workloads read the whole path."""
        path = self.path
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
                "token path", False, f"cannot list the parameters under {path}/ ({describe(err)})"
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
                f"{listed(foreign)}. Every workload given TokenReaderPolicy may read the whole "
                f"path, and the function overwrites one a secret claims: move them out of {path}/",
            )
        if not found:
            return Check("token path", True, f"{path}/ is empty; each run creates the tokens")
        return Check(
            "token path",
            True,
            f"{path}/ holds {len(ours)} token(s) this tool wrote and no other secure value",
        )

    def named_parameter_in_path(self) -> Check:
        """A fleet's named account writes under the path: the role may write nowhere else."""
        name = self.parameters.get("TokenParameterName", "")
        path = self.path
        if is_under(path, name):
            return Check("named parameter", True, f"{name} lies under {path}/, as the fleet's do")
        return Check(
            "named parameter",
            False,
            f"TokenParameterName {name} is not under TokenParameterPath {path}/: in a fleet "
            "the function may write only under the path, so every run would fail for this "
            f"account. Name a parameter under {path}/ (e.g. {path}{name}), or leave "
            "CredentialsSecretArn empty and tag the secret like the fleet's",
        )


def _refusal(refusal: Refusal) -> str:
    return f"{refusal.secret}: {refusal.problem}"
