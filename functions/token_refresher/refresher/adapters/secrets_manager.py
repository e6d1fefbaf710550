"""Credentials from a Secrets Manager secret holding a JSON object, and the login gate's
memory of what JOOR said to them (a tag on the same secret: adapters/login_record.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from refresher.adapters import login_record
from refresher.adapters.aws_errors import describe, error_code
from refresher.domain.errors import LoginRecordError, SecretMalformedError, SecretUnavailableError
from refresher.domain.models import Credentials, CredentialState, LoginRecord

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

REQUIRED_KEYS = ("client_id", "client_secret", "username", "password")
OPTIONAL_KEYS = ("grant_type",)


class SecretsManagerCredentials:
    """Reads the secret on each refresh, so a rotated password is picked up at once.

    The client comes from a factory: a run that finds the token fresh never creates it.
    ``state`` is what a listing of the secret already said (a fleet's): then ``describe``
    makes no call.
    """

    def __init__(
        self,
        secret_id: str,
        client_factory: Callable[[], SecretsManagerClient],
        state: CredentialState | None = None,
    ) -> None:
        self._secret_id = secret_id
        self._client_factory = client_factory
        self._client: SecretsManagerClient | None = None
        self._state = state

    @property
    def secret_id(self) -> str:
        return self._secret_id

    def _secrets(self) -> SecretsManagerClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def describe(self) -> CredentialState:
        """One DescribeSecret call (tags and version stages), unless the listing told."""
        if self._state is not None:
            return self._state
        try:
            response = self._secrets().describe_secret(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as err:
            raise SecretUnavailableError(
                f"Could not describe secret {self._secret_id!r}: {_why(err)}"
            ) from None
        return login_record.credential_state(
            self._secret_id,
            response.get("Tags"),  # type: ignore[arg-type]
            response.get("VersionIdsToStages"),
        )

    def load(self) -> Credentials:
        try:
            response = self._secrets().get_secret_value(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as err:
            raise SecretUnavailableError(
                f"Could not read secret {self._secret_id!r}: {_why(err)}"
            ) from None
        if "SecretString" not in response:
            raise SecretMalformedError(
                f"Secret {self._secret_id!r} holds binary data; it must be a JSON object "
                f"with keys {', '.join(REQUIRED_KEYS)}"
            )
        return parse_secret(
            self._secret_id,
            response["SecretString"],
            login_record.version_key(response.get("VersionId", "")),
            response.get("CreatedDate"),
        )

    def record(self, record: LoginRecord) -> None:
        """One TagResource call; the function's role may set only this tag."""
        try:
            self._secrets().tag_resource(
                SecretId=self._secret_id,
                Tags=[{"Key": login_record.TAG, "Value": login_record.encode(record)}],
            )
        except (ClientError, BotoCoreError) as err:
            raise LoginRecordError(
                f"Could not tag secret {self._secret_id!r} with {login_record.TAG}: {describe(err)}"
            ) from None


def _why(err: ClientError | BotoCoreError) -> str:
    code = error_code(err)
    if code == "ResourceNotFoundException":
        return "it does not exist (check CREDENTIALS_SECRET_ID and the region)"
    if code in ("AccessDeniedException", "AccessDenied"):
        return f"access denied ({describe(err)})"
    return describe(err)


def parse_secret(
    secret_id: str, text: str, version: str = "", version_created: datetime | None = None
) -> Credentials:
    """Validate the secret's shape; errors name the secret and keys, never a value."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise SecretMalformedError(
            f"Secret {secret_id!r} is not valid JSON; it must be a JSON object with keys "
            f"{', '.join(REQUIRED_KEYS)}"
        ) from None
    if not isinstance(data, dict):
        raise SecretMalformedError(
            f"Secret {secret_id!r} is JSON but not an object (found {type(data).__name__}); "
            f"it must be an object with keys {', '.join(REQUIRED_KEYS)}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise SecretMalformedError(f"Secret {secret_id!r} is missing keys: {', '.join(missing)}")
    bad = [
        key
        for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS)
        if key in data and (not isinstance(data[key], str) or not data[key].strip())
    ]
    if bad:
        raise SecretMalformedError(
            f"Secret {secret_id!r} has empty or non-string values for keys: {', '.join(bad)}"
        )
    return Credentials(
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        username=data["username"],
        password=data["password"],
        grant_type=data.get("grant_type", "password"),
        source=secret_id,
        version=version,
        version_created=version_created,
    )
