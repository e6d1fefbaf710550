"""A fleet's accounts: the Secrets Manager secrets tagged with the parameter they feed.

A secret tagged ``joor-token-parameter=/joor/brand-a/access-token`` (and optionally
``joor-environment=production``) is one account. Listing them reads tags only: no value is
read until an account's token is due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from refresher.adapters.aws_errors import describe
from refresher.domain.errors import AccountDiscoveryError
from refresher.domain.models import Account, Discovery, Refusal
from refresher.domain.names import is_under, parameter_name_problem

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

PARAMETER_TAG = "joor-token-parameter"
ENVIRONMENT_TAG = "joor-environment"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TaggedSecretsDirectory:
    """Lists the tagged secrets (ListSecrets, 100 to a call), oldest first: when two secrets
    claim one parameter, the older keeps it and the newer is refused."""

    def __init__(
        self,
        path: str,
        client_factory: Callable[[], SecretsManagerClient],
        auth_url_for: Callable[[str], str],
        default_environment: str,
        configured: Account | None = None,
    ) -> None:
        self._path = path
        self._client_factory = client_factory
        self._auth_url_for = auth_url_for
        self._default_environment = default_environment
        self._configured = configured

    def discover(self) -> Discovery:
        accounts: list[Account] = [self._configured] if self._configured else []
        claimed = {a.parameter: a.secret_id for a in accounts}
        refused: list[Refusal] = []
        for entry in sorted(self._list(), key=_age_order):
            name = str(entry.get("Name") or entry.get("ARN"))
            tags = {t.get("Key"): t.get("Value") for t in entry.get("Tags", [])}
            if PARAMETER_TAG not in tags:  # the filter matches tag keys by prefix
                continue
            found = self._account(name, entry, tags)
            if isinstance(found, Account) and found.parameter in claimed:
                found = Refusal(
                    name,
                    f"its tag {PARAMETER_TAG} names {found.parameter!r}, which secret "
                    f"{claimed[found.parameter]!r} already claims; give it a parameter of its own",
                )
            if isinstance(found, Refusal):
                refused.append(found)
                continue
            claimed[found.parameter] = name
            accounts.append(found)
        return Discovery(accounts=tuple(accounts), refused=tuple(refused))

    def _account(
        self, name: str, entry: dict[str, Any], tags: dict[str | None, str | None]
    ) -> Account | Refusal:
        parameter = (tags.get(PARAMETER_TAG) or "").strip()
        problem = parameter_name_problem(parameter)
        if problem:
            return Refusal(name, f"its tag {PARAMETER_TAG} {problem}")
        if not is_under(self._path, parameter):
            return Refusal(
                name,
                f"its tag {PARAMETER_TAG} names {parameter!r}, outside this stack's parameter "
                f"path {self._path}/ (another stack's? if not, tag it with a name under the path)",
                elsewhere=True,
            )
        environment = (tags.get(ENVIRONMENT_TAG) or "").strip() or self._default_environment
        if environment not in ("sandbox", "production"):
            return Refusal(
                name,
                f"its tag {ENVIRONMENT_TAG} must be 'sandbox' or 'production', got {environment!r}",
            )
        return Account(
            parameter=parameter,
            secret_id=str(entry["ARN"]),
            auth_url=self._auth_url_for(environment),
        )

    def _list(self) -> list[dict[str, Any]]:
        try:
            pages = (
                self._client_factory()
                .get_paginator("list_secrets")
                .paginate(
                    Filters=[{"Key": "tag-key", "Values": [PARAMETER_TAG]}],
                    PaginationConfig={"PageSize": 100},  # the most one call may return
                )
            )
            return [dict(e) for page in pages for e in page.get("SecretList", [])]
        except (ClientError, BotoCoreError) as err:
            raise AccountDiscoveryError(
                f"Could not list the secrets tagged {PARAMETER_TAG}: {describe(err)}"
            ) from None


def _age_order(entry: dict[str, Any]) -> tuple[datetime, str]:
    created = entry.get("CreatedDate") or _EPOCH
    return created, str(entry.get("ARN", ""))
