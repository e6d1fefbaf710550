"""The composition root: which refresher a configuration gets, and what it asks boto3 for.

boto3 clients are made for real (making one opens no socket); the session records each
request for one."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from refresher.composition import build_refresher
from refresher.config import Settings
from refresher.domain.errors import ConfigurationError
from refresher.domain.gate import GatePolicy
from refresher.domain.models import Account
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher

SINGLE = {
    "CREDENTIALS_SECRET_ID": "joor/sandbox/api-credentials",
    "TOKEN_PARAMETER_NAME": "/joor/sandbox/access-token",
    "JOOR_ENVIRONMENT": "sandbox",
}


class RecordingSession:
    """A boto3 session that remembers the clients asked of it."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Any]] = []
        self._session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
        )

    def client(self, service: str, config: Any = None) -> Any:
        self.asked.append((service, config))
        return self._session.client(service, config=config)  # type: ignore[call-overload]


def build(env: dict[str, str], session: RecordingSession) -> TokenRefresher | FleetRefresher:
    return build_refresher(Settings.from_env(env), session=session)  # type: ignore[arg-type]


def test_one_account_gets_a_token_refresher() -> None:
    assert isinstance(build(SINGLE, RecordingSession()), TokenRefresher)


def test_a_parameter_path_gets_a_fleet() -> None:
    assert isinstance(
        build({**SINGLE, "TOKEN_PARAMETER_PATH": "/joor"}, RecordingSession()), FleetRefresher
    )


def test_only_the_ssm_client_is_made_up_front_with_short_timeouts_and_three_attempts() -> None:
    session = RecordingSession()

    build(SINGLE, session)

    assert [service for service, _ in session.asked] == ["ssm"]
    config = session.asked[0][1]
    assert (config.connect_timeout, config.read_timeout) == (3.0, 5.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_the_sdks_debug_logging_is_silenced_since_it_would_log_the_token() -> None:
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)

    build(SINGLE, RecordingSession())

    assert [logging.getLogger(n).level for n in ("botocore", "boto3", "urllib3")] == [
        logging.WARNING
    ] * 3


def test_a_fleet_makes_no_secrets_manager_client_while_building() -> None:
    session = RecordingSession()

    build({**SINGLE, "TOKEN_PARAMETER_PATH": "/joor"}, session)

    assert "secretsmanager" not in [service for service, _ in session.asked]


SETTINGS = {
    "REFRESH_WINDOW_SECONDS": "7200",
    "REJECTED_TOKEN_MIN_AGE_SECONDS": "450",
    "SCHEDULE_INTERVAL_SECONDS": "600",
    "FLEET_LOGINS_IN_FLIGHT": "6",
    "FLEET_LOGINS_PER_SECOND": "5",
}


def test_each_setting_reaches_the_rule_it_sets_for_one_account() -> None:
    refresher = build({**SINGLE, **SETTINGS}, RecordingSession())

    assert isinstance(refresher, TokenRefresher)
    assert refresher._policy == GatePolicy(
        window=timedelta(seconds=7200), min_interval=timedelta(seconds=450)
    )


def test_each_setting_reaches_the_rule_it_sets_for_a_fleet_and_its_accounts() -> None:
    fleet = build({**SINGLE, **SETTINGS, "TOKEN_PARAMETER_PATH": "/joor"}, RecordingSession())

    assert isinstance(fleet, FleetRefresher)
    policy = GatePolicy(window=timedelta(seconds=7200), min_interval=timedelta(seconds=450))
    assert fleet._policy == policy
    assert fleet._path == "/joor"
    assert fleet._interval == timedelta(seconds=600)
    assert fleet._logins_in_flight == 6
    assert fleet._start_spacing == 1 / 5
    assert fleet._min_start_time == 2.0  # one JOOR attempt's least time (RetryPolicy)
    account = fleet._refresher_for(Account("/joor/brand/access-token", "brand-secret", "https://x"))
    assert account._policy == policy


@pytest.mark.parametrize("secret_id", [None, "joor/sandbox/api-credentials"])
def test_settings_without_an_account_or_a_path_are_refused_naming_the_variable(
    secret_id: str | None,
) -> None:
    """Settings.from_env never makes them; settings made another way are checked again. An
    account is its secret and its parameter: one of them alone is none."""
    settings = replace(
        Settings.from_env(SINGLE), credentials_secret_id=secret_id, token_parameter_name=None
    )

    with pytest.raises(ConfigurationError) as caught:
        build_refresher(settings, session=RecordingSession())  # type: ignore[arg-type]

    assert (caught.value.variable, str(caught.value)) == (
        "CREDENTIALS_SECRET_ID",
        "Invalid configuration: CREDENTIALS_SECRET_ID is not set",
    )


def test_the_secrets_manager_client_is_made_on_first_use_once_for_every_account() -> None:
    session = RecordingSession()
    fleet = build({**SINGLE, "TOKEN_PARAMETER_PATH": "/joor"}, session)
    assert isinstance(fleet, FleetRefresher)
    accounts = [Account(f"/joor/{n}/access-token", f"{n}-secret", "https://x") for n in "ab"]

    clients = {id(fleet._refresher_for(a)._credentials._secrets()) for a in accounts}  # type: ignore[attr-defined]

    asked = [(service, config) for service, config in session.asked if service != "ssm"]
    assert len(clients) == 1
    assert [service for service, _ in asked] == ["secretsmanager"]
    config = asked[0][1]
    assert (config.connect_timeout, config.read_timeout) == (3.0, 5.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_a_retry_policy_given_reaches_the_fleets_least_time_to_start_an_account() -> None:
    fleet = build_refresher(
        Settings.from_env({**SINGLE, "TOKEN_PARAMETER_PATH": "/joor"}),
        session=RecordingSession(),  # type: ignore[arg-type]
        retry=RetryPolicy(min_attempt_time=7.5),
    )

    assert isinstance(fleet, FleetRefresher)
    assert fleet._min_start_time == 7.5
