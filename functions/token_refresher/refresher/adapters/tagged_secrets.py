"""A fleet's accounts: the Secrets Manager secrets tagged with the parameter they feed.

A secret tagged ``joor-token-parameter=/joor/brand-a/access-token`` (and optionally
``joor-environment=production``) is one account. Listing them reads names and tags only (and
so what JOOR said to each one's last login, adapters/login_record.py): no value is read until
an account's token is due.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from refresher.adapters import login_record
from refresher.adapters.aws_errors import describe
from refresher.domain.errors import AccountDiscoveryError, UnknownAccountError
from refresher.domain.models import Account, Discovery, Refusal, SecretChange
from refresher.domain.names import is_under, parameter_name_problem, same_secret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import FilterTypeDef

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
        auth_urls: Mapping[str, str],
        default_environment: str,
        configured: Account | None = None,
    ) -> None:
        self._path = path
        self._client_factory = client_factory
        self._auth_urls = auth_urls
        self._default_environment = default_environment
        self._configured = configured

    def discover(self) -> Discovery:
        return self._claims(self._list([{"Key": "tag-key", "Values": [PARAMETER_TAG]}]))

    def account_for(self, parameter: str) -> Account:
        """One ListSecrets call for the secrets whose tag names ``parameter``, and the same
        rules as a whole listing among them."""
        if self._configured is not None and self._configured.parameter == parameter:
            return self._configured
        found = self._claims(
            self._list(
                [
                    {"Key": "tag-key", "Values": [PARAMETER_TAG]},
                    {"Key": "tag-value", "Values": [parameter]},
                ]
            )
        )
        for account in found.accounts:
            if account.parameter == parameter:
                return account
        refused = [(r.secret, r.problem) for r in found.refused if r.parameter == parameter]
        raise UnknownAccountError.of(parameter, refused)

    def account_of(self, change: SecretChange) -> Account | None:
        """The changed secret's account: one listing call for a secret that is not ours."""
        configured = self._configured
        if configured is not None and same_secret(configured.secret_id, change.secret, change.name):
            return configured
        entries = self._list(
            [
                {"Key": "name", "Values": [change.name]},
                {"Key": "tag-key", "Values": [PARAMETER_TAG]},
            ]
        )
        entry = next((e for e in entries if e.get("ARN") == change.secret), None)
        if entry is None:
            return None
        parameter = _tags(entry).get(PARAMETER_TAG, "").strip()
        if parameter_name_problem(parameter) or not is_under(self._path, parameter):
            return None
        try:
            owner = self.account_for(parameter)
        except UnknownAccountError:
            return None
        # Two secrets claiming one parameter: only the one that keeps it is an account.
        return owner if owner.secret_id == change.secret else None

    def _claims(self, entries: Iterable[dict[str, Any]]) -> Discovery:
        accounts: list[Account] = [self._configured] if self._configured else []
        claimed = {a.parameter: a.secret_id for a in accounts}
        refused: list[Refusal] = []
        for entry in sorted(entries, key=_age_order):
            name = str(entry.get("Name") or entry.get("ARN"))
            tags = _tags(entry)
            if PARAMETER_TAG not in tags:  # the filter matches tag keys by prefix
                continue
            found = self._account(name, entry, tags)
            if isinstance(found, Account) and found.parameter in claimed:
                found = Refusal(
                    name,
                    f"its tag {PARAMETER_TAG} names {found.parameter!r}, which secret "
                    f"{claimed[found.parameter]!r} already claims; give it a parameter of its own",
                    parameter=found.parameter,
                )
            if isinstance(found, Refusal):
                refused.append(found)
                continue
            claimed[found.parameter] = name
            accounts.append(found)
        return Discovery(accounts=tuple(accounts), refused=tuple(refused))

    def _account(self, name: str, entry: dict[str, Any], tags: dict[str, str]) -> Account | Refusal:
        parameter = tags.get(PARAMETER_TAG, "").strip()
        problem = parameter_name_problem(parameter)
        if problem:
            return Refusal(name, f"its tag {PARAMETER_TAG} {problem}")
        if not is_under(self._path, parameter):
            return Refusal(
                name,
                f"its tag {PARAMETER_TAG} names {parameter!r}, outside this stack's parameter "
                f"path {self._path}/ (another stack's? if not, tag it with a name under the path)",
                elsewhere=True,
                parameter=parameter,
            )
        environment = tags.get(ENVIRONMENT_TAG, "").strip() or self._default_environment
        if environment not in self._auth_urls:
            return Refusal(
                name,
                f"its tag {ENVIRONMENT_TAG} must be {_either(self._auth_urls)}, "
                f"got {environment!r}",
                parameter=parameter,
            )
        arn = str(entry["ARN"])
        return Account(
            parameter=parameter,
            secret_id=arn,
            auth_url=self._auth_urls[environment],
            credentials=login_record.credential_state(
                arn, entry.get("Tags"), entry.get("SecretVersionsToStages")
            ),
        )

    def _list(self, filters: list[FilterTypeDef]) -> list[dict[str, Any]]:
        try:
            pages = (
                self._client_factory()
                .get_paginator("list_secrets")
                .paginate(
                    Filters=filters,
                    PaginationConfig={"PageSize": 100},  # the most one call may return
                )
            )
            return [dict(e) for page in pages for e in page.get("SecretList", [])]
        except (ClientError, BotoCoreError) as err:
            raise AccountDiscoveryError(
                f"Could not list the secrets tagged {PARAMETER_TAG}: {describe(err)}"
            ) from None


def _tags(entry: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(t.get("Key")): str(t.get("Value") or "")
        for t in entry.get("Tags", [])
        if t.get("Key") is not None
    }


def _either(names: Iterable[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return " or ".join(quoted)


def _age_order(entry: dict[str, Any]) -> tuple[datetime, str]:
    created = entry.get("CreatedDate") or _EPOCH
    return created, str(entry.get("ARN", ""))
