"""The token in SSM Parameter Store: value = bare token, Description = its expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from refresher.adapters.aws_errors import describe
from refresher.domain.errors import TokenStoreReadError, TokenStoreWriteError
from refresher.domain.models import IssuedToken, StoredToken

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import ParameterMetadataTypeDef, PutParameterRequestTypeDef

# How a parameter this function wrote says so (the deploy tools recognise its tokens by it).
WRITTEN_BY = "Written by joor-token-refresher"
# Consumers may parse this too: "expires_at=" then an ISO 8601 UTC time to the second.
DESCRIPTION_FORMAT = "JOOR access token (Bearer). expires_at={expires_at}. " + WRITTEN_BY + "."
_EXPIRES_AT = re.compile(r"expires_at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def format_expiry(expires_at: datetime) -> str:
    return expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_description(description: str | None) -> datetime | None:
    """The expiry written by ``SsmTokenStore.write``, or None if there is none readable."""
    match = _EXPIRES_AT.search(description or "")
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def stored_token(parameter: ParameterMetadataTypeDef) -> StoredToken:
    """What DescribeParameters says of one parameter. Only a SecureString's expiry is trusted:
    a plain String could have been written by anyone with the description copied."""
    expires_at = None
    if parameter.get("Type") == "SecureString":
        expires_at = parse_description(parameter.get("Description"))
    return StoredToken(
        exists=True,
        expires_at=expires_at,
        version=parameter.get("Version"),
        last_modified=parameter.get("LastModifiedDate"),
    )


class SsmTokenInventory:
    """Every token parameter under a fleet's path, listed 50 to a DescribeParameters call."""

    def __init__(self, path: str, client: SSMClient) -> None:
        self._path = path
        self._client = client

    @property
    def path(self) -> str:
        return self._path

    def read_all(self) -> dict[str, StoredToken]:
        found: dict[str, StoredToken] = {}
        pages = self._client.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [self._path]}],
            PaginationConfig={"PageSize": 50},  # the most one call may return
        )
        try:
            for page in pages:
                for parameter in page.get("Parameters", []):
                    found[parameter["Name"]] = stored_token(parameter)
            return found
        except (ClientError, BotoCoreError) as err:
            raise TokenStoreReadError(
                f"Could not list the parameters under {self._path!r}: {describe(err)}"
            ) from None


class SsmTokenStore:
    def __init__(self, name: str, client: SSMClient, kms_key_id: str | None = None) -> None:
        self._name = name
        self._client = client
        self._kms_key_id = kms_key_id

    @property
    def name(self) -> str:
        return self._name

    def read(self) -> StoredToken:
        """One DescribeParameters call: metadata only, so no decryption and no KMS."""
        try:
            response = self._client.describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [self._name]}]
            )
        except (ClientError, BotoCoreError) as err:
            raise TokenStoreReadError(
                f"Could not read parameter {self._name!r}: {describe(err)}"
            ) from None
        found = [p for p in response.get("Parameters", []) if p.get("Name") == self._name]
        if not found:
            return StoredToken(exists=False)
        return stored_token(found[0])

    def write(self, token: IssuedToken) -> int:
        """Value and expiry in one PutParameter, so no reader ever sees them disagree."""
        description = DESCRIPTION_FORMAT.format(expires_at=format_expiry(token.expires_at))
        request: PutParameterRequestTypeDef = {
            "Name": self._name,
            "Value": token.access_token,
            "Type": "SecureString",
            "Overwrite": True,
            "Description": description,
            # Standard (4 KB) unless the token needs Advanced (8 KB).
            "Tier": "Intelligent-Tiering",
        }
        if self._kms_key_id:
            request["KeyId"] = self._kms_key_id
        try:
            response = self._client.put_parameter(**request)
        except (ClientError, BotoCoreError) as err:
            # AWS validation messages can echo the value sent: redact the token from them.
            raise TokenStoreWriteError(
                f"Could not write parameter {self._name!r}; the stored token is unchanged: "
                f"{describe(err, (token.access_token,))}"
            ) from None
        return int(response["Version"])
