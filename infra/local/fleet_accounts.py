"""Fleet accounts on the local stack: a JOOR account and its secret, tagged with the parameter
its token goes to, as a user would create them (README, "Several JOOR accounts").

Used by ``make demo`` and ``make bench``; the values are random per call and never printed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from infra.local.joor_auth_server import Account
from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT, format_expiry
from refresher.adapters.tagged_secrets import ENVIRONMENT_TAG, PARAMETER_TAG

if TYPE_CHECKING:
    from infra.local.stack import LocalStack


@dataclass(frozen=True)
class FleetAccount:
    secret_name: str
    secret_arn: str
    parameter: str
    account: Account

    def secret_values(self) -> tuple[str, ...]:
        return (self.account.client_secret, self.account.password)


def add_account(
    stack: LocalStack,
    secret_name: str,
    parameter: str | None,
    *,
    wrong_password: bool = False,
    environment: str | None = None,
) -> FleetAccount:
    """A JOOR account of its own and its secret, tagged for ``parameter`` (None: untagged).

    ``wrong_password`` stores a password JOOR refuses. The calls are not recorded.
    """
    account = Account(
        client_id=f"client-{secrets.token_hex(6)}",
        client_secret=secrets.token_urlsafe(32),
        username=f"{secret_name.rsplit('/', 1)[-1]}@example.com",
        password=secrets.token_urlsafe(12),
    )
    stack.joor.state.accounts[account.client_id] = account
    value = {
        "client_id": account.client_id,
        "client_secret": account.client_secret,
        "username": account.username,
        "password": "not-the-password" if wrong_password else account.password,
    }
    tags = {} if parameter is None else {PARAMETER_TAG: parameter}
    if environment is not None:
        tags[ENVIRONMENT_TAG] = environment
    with stack.moto.unrecorded():
        created = stack.client("secretsmanager").create_secret(
            Name=secret_name,
            SecretString=json.dumps(value),
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    return FleetAccount(secret_name, str(created["ARN"]), parameter or "", account)


def correct_password(stack: LocalStack, fleet_account: FleetAccount) -> None:
    """Store the account's right password in its secret (put-secret-value)."""
    a = fleet_account.account
    value = {
        "client_id": a.client_id,
        "client_secret": a.client_secret,
        "username": a.username,
        "password": a.password,
    }
    with stack.moto.unrecorded():
        stack.client("secretsmanager").put_secret_value(
            SecretId=fleet_account.secret_arn, SecretString=json.dumps(value)
        )


def write_tokens(stack: LocalStack, parameters: list[str], seconds_left: float) -> None:
    """Store a made-up token in each parameter, as the refresher writes one, expiring in
    ``seconds_left``: a fleet's state before a run, without the logins. Not recorded."""
    ssm = stack.client("ssm")
    expires_at = datetime.now(UTC) + timedelta(seconds=seconds_left)
    description = DESCRIPTION_FORMAT.format(expires_at=format_expiry(expires_at))
    with stack.moto.unrecorded():
        for name in parameters:
            ssm.put_parameter(
                Name=name,
                Value=secrets.token_urlsafe(32),
                Type="SecureString",
                Overwrite=True,
                Description=description,
                Tier="Intelligent-Tiering",
            )
