"""Credentials from a Secrets Manager secret holding a JSON object."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from refresher.adapters.aws_errors import describe, error_code
from refresher.domain.errors import SecretMalformedError, SecretUnavailableError
from refresher.domain.models import Credentials

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

REQUIRED_KEYS = ("client_id", "client_secret", "username", "password")
OPTIONAL_KEYS = ("grant_type",)


class SecretsManagerCredentials:
    """Reads the secret on each refresh, so a rotated password is picked up at once.

    The client comes from a factory: a run that finds the token fresh never creates it.
    """

    def __init__(self, secret_id: str, client_factory: Callable[[], SecretsManagerClient]) -> None:
        self._secret_id = secret_id
        self._client_factory = client_factory
        self._client: SecretsManagerClient | None = None

    def load(self) -> Credentials:
        if self._client is None:
            self._client = self._client_factory()
        try:
            response = self._client.get_secret_value(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as err:
            raise SecretUnavailableError(
                f"Could not read secret {self._secret_id!r}: {_why(err)}"
            ) from None
        if "SecretString" not in response:
            raise SecretMalformedError(
                f"Secret {self._secret_id!r} holds binary data; it must be a JSON object "
                f"with keys {', '.join(REQUIRED_KEYS)}"
            )
        return parse_secret(self._secret_id, response["SecretString"])


def _why(err: ClientError | BotoCoreError) -> str:
    code = error_code(err)
    if code == "ResourceNotFoundException":
        return "it does not exist (check CREDENTIALS_SECRET_ID and the region)"
    if code in ("AccessDeniedException", "AccessDenied"):
        return f"access denied ({describe(err)})"
    return describe(err)


def parse_secret(secret_id: str, text: str) -> Credentials:
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
    )
