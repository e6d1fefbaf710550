"""Settings from the environment: defaults, and errors that name the variable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refresher.config import AUTH_URLS, VARIABLES, Settings
from refresher.domain.errors import ConfigurationError

BASE = {
    "CREDENTIALS_SECRET_ID": "joor/sandbox/api-credentials",
    "TOKEN_PARAMETER_NAME": "/joor/sandbox/access-token",
}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults_are_sandbox_and_a_three_hour_window_with_the_aws_managed_key() -> None:
    s = settings()

    assert s.auth_url == "https://atlas-sandbox.jooraccess.com/auth/"
    assert s.refresh_window == timedelta(hours=3)
    assert s.kms_key_id is None
    assert s.rejected_token_min_age == timedelta(minutes=5)


def test_the_minimum_age_of_a_rejected_token_is_configurable() -> None:
    s = settings(REJECTED_TOKEN_MIN_AGE_SECONDS="60")

    assert s.rejected_token_min_age == timedelta(seconds=60)


def test_production_picks_the_documented_production_url() -> None:
    assert settings(JOOR_ENVIRONMENT="production").auth_url == AUTH_URLS["production"]


def test_an_auth_url_override_wins_over_the_environment() -> None:
    s = settings(JOOR_ENVIRONMENT="production", JOOR_AUTH_URL="http://127.0.0.1:8765/auth/")

    assert s.auth_url == "http://127.0.0.1:8765/auth/"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "[::1]"])
def test_plain_http_is_allowed_for_loopback_hosts(host: str) -> None:
    assert settings(JOOR_AUTH_URL=f"http://{host}:9000/auth/").auth_url.startswith("http://")


@pytest.mark.parametrize(
    ("env", "variable", "phrase"),
    [
        ({"CREDENTIALS_SECRET_ID": ""}, "CREDENTIALS_SECRET_ID", "is not set"),
        ({"TOKEN_PARAMETER_NAME": " "}, "TOKEN_PARAMETER_NAME", "is not set"),
        ({"TOKEN_PARAMETER_NAME": "/joor/has space"}, "TOKEN_PARAMETER_NAME", "SSM parameter name"),
        ({"TOKEN_PARAMETER_NAME": "/aws/reserved"}, "TOKEN_PARAMETER_NAME", "must not start"),
        ({"JOOR_ENVIRONMENT": "staging"}, "JOOR_ENVIRONMENT", "'sandbox' or 'production'"),
        ({"JOOR_AUTH_URL": "http://joor.example.com/auth/"}, "JOOR_AUTH_URL", "must use https://"),
        ({"JOOR_AUTH_URL": "http://10.0.0.1/auth/"}, "JOOR_AUTH_URL", "must use https://"),
        ({"JOOR_AUTH_URL": "ftp://example.com/"}, "JOOR_AUTH_URL", "absolute https:// URL"),
        ({"JOOR_AUTH_URL": "https://u:p@example.com/"}, "JOOR_AUTH_URL", "user name or password"),
        ({"REFRESH_WINDOW_SECONDS": "3h"}, "REFRESH_WINDOW_SECONDS", "whole number"),
        ({"REFRESH_WINDOW_SECONDS": "-5"}, "REFRESH_WINDOW_SECONDS", "whole number"),
        ({"REFRESH_WINDOW_SECONDS": "10"}, "REFRESH_WINDOW_SECONDS", "between 60 and"),
        ({"REFRESH_WINDOW_SECONDS": "90000"}, "REFRESH_WINDOW_SECONDS", "between 60 and"),
        ({"TOKEN_KMS_KEY_ID": "not a key!"}, "TOKEN_KMS_KEY_ID", "KMS key id"),
        ({"REJECTED_TOKEN_MIN_AGE_SECONDS": "5m"}, "REJECTED_TOKEN_MIN_AGE_SECONDS", "whole"),
        ({"REJECTED_TOKEN_MIN_AGE_SECONDS": "0"}, "REJECTED_TOKEN_MIN_AGE_SECONDS", "between 1"),
        ({"REJECTED_TOKEN_MIN_AGE_SECONDS": "3601"}, "REJECTED_TOKEN_MIN_AGE_SECONDS", "and 3600"),
    ],
)
def test_a_bad_setting_names_its_variable(env: dict[str, str], variable: str, phrase: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(**env)

    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"Invalid configuration: {variable} ")
    assert phrase in str(caught.value)


def test_a_kms_key_alias_is_accepted() -> None:
    assert settings(TOKEN_KMS_KEY_ID="alias/joor-token").kms_key_id == "alias/joor-token"


# --- a fleet ----------------------------------------------------------------------------


def test_a_parameter_path_alone_configures_a_fleet_without_a_named_account() -> None:
    s = Settings.from_env({"TOKEN_PARAMETER_PATH": "/joor/fleet/"})

    assert s.parameter_path == "/joor/fleet"
    assert s.credentials_secret_id is None
    assert s.token_parameter_name is None
    assert s.fleet_logins_in_flight == 4
    assert s.fleet_logins_per_second == 3
    assert s.schedule_interval == timedelta(minutes=15)


def test_a_fleet_may_also_name_one_account_under_its_path() -> None:
    s = settings(TOKEN_PARAMETER_PATH="/joor", TOKEN_PARAMETER_NAME="/joor/sandbox/access-token")

    assert s.parameter_path == "/joor"
    assert s.token_parameter_name == "/joor/sandbox/access-token"


def test_without_a_path_the_named_account_is_required() -> None:
    with pytest.raises(ConfigurationError, match="CREDENTIALS_SECRET_ID is not set"):
        Settings.from_env({"TOKEN_PARAMETER_NAME": "/joor/a/token"})


def test_each_account_environment_has_its_own_url_unless_overridden() -> None:
    s = settings()
    local = settings(JOOR_AUTH_URL="http://127.0.0.1:9/auth/")

    assert s.auth_url_for("production") == AUTH_URLS["production"]
    assert local.auth_url_for("production") == "http://127.0.0.1:9/auth/"


@pytest.mark.parametrize(
    ("env", "variable", "phrase"),
    [
        ({"TOKEN_PARAMETER_PATH": "joor"}, "TOKEN_PARAMETER_PATH", "starting with '/'"),
        ({"TOKEN_PARAMETER_PATH": "/"}, "TOKEN_PARAMETER_PATH", "starting with '/'"),
        ({"TOKEN_PARAMETER_PATH": "/joor fleet"}, "TOKEN_PARAMETER_PATH", "SSM parameter name"),
        ({"TOKEN_PARAMETER_PATH": "/elsewhere"}, "TOKEN_PARAMETER_NAME", "must lie under"),
        (
            {"TOKEN_PARAMETER_PATH": "/joor", "CREDENTIALS_SECRET_ID": ""},
            "CREDENTIALS_SECRET_ID",
            "is not set",
        ),
        ({"FLEET_LOGINS_IN_FLIGHT": "0"}, "FLEET_LOGINS_IN_FLIGHT", "between 1 and 32"),
        ({"FLEET_LOGINS_PER_SECOND": "2.5"}, "FLEET_LOGINS_PER_SECOND", "whole number of logins"),
        ({"SCHEDULE_INTERVAL_SECONDS": "30"}, "SCHEDULE_INTERVAL_SECONDS", "between 60"),
    ],
)
def test_a_bad_fleet_setting_names_its_variable(
    env: dict[str, str], variable: str, phrase: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(**env)

    assert caught.value.variable == variable
    assert phrase in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "CREDENTIALS_SECRET_ID is not set"),
        (
            {"TOKEN_PARAMETER_PATH": "/joor", "CREDENTIALS_SECRET_ID": "joor/a"},
            "TOKEN_PARAMETER_NAME is not set",
        ),
        (
            {"TOKEN_PARAMETER_PATH": "//"},
            "TOKEN_PARAMETER_PATH must be a parameter path such as /joor/fleet, starting with "
            "'/', got '/'",
        ),
        (
            {**BASE, "JOOR_AUTH_URL": "https://someone@example.com/auth/"},
            "JOOR_AUTH_URL must not carry a user name or password",
        ),
        (
            {**BASE, "REFRESH_WINDOW_SECONDS": "3h"},
            "REFRESH_WINDOW_SECONDS must be a whole number of seconds, got '3h'",
        ),
        (
            {**BASE, "FLEET_LOGINS_IN_FLIGHT": "2.5"},
            "FLEET_LOGINS_IN_FLIGHT must be a whole number of logins, got '2.5'",
        ),
        (
            {**BASE, "SCHEDULE_INTERVAL_SECONDS": "86401"},
            "SCHEDULE_INTERVAL_SECONDS must be between 60 and 86400, got 86401",
        ),
        (
            {**BASE, "FLEET_LOGINS_PER_SECOND": "101"},
            "FLEET_LOGINS_PER_SECOND must be between 1 and 100, got 101",
        ),
    ],
)
def test_a_bad_setting_says_what_is_wrong_in_full(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)

    assert str(caught.value) == f"Invalid configuration: {message}"


def test_each_bound_is_itself_allowed() -> None:
    low = settings(
        REFRESH_WINDOW_SECONDS="60",
        SCHEDULE_INTERVAL_SECONDS="60",
        FLEET_LOGINS_IN_FLIGHT="1",
        FLEET_LOGINS_PER_SECOND="1",
    )
    high = settings(
        REFRESH_WINDOW_SECONDS="86400",
        SCHEDULE_INTERVAL_SECONDS="86400",
        FLEET_LOGINS_IN_FLIGHT="32",
        FLEET_LOGINS_PER_SECOND="100",
    )

    assert (low.refresh_window, low.schedule_interval) == (timedelta(seconds=60),) * 2
    assert (low.fleet_logins_in_flight, low.fleet_logins_per_second) == (1, 1)
    assert (high.refresh_window, high.schedule_interval) == (timedelta(days=1),) * 2
    assert (high.fleet_logins_in_flight, high.fleet_logins_per_second) == (32, 100)


def test_a_paths_trailing_slashes_alone_are_dropped() -> None:
    assert Settings.from_env({"TOKEN_PARAMETER_PATH": "/joor/brandX//"}).parameter_path == (
        "/joor/brandX"
    )


def test_without_a_mapping_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, _ in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREDENTIALS_SECRET_ID", "joor/from-env")
    monkeypatch.setenv("TOKEN_PARAMETER_NAME", "/joor/from-env/token")

    s = Settings.from_env()

    assert (s.credentials_secret_id, s.token_parameter_name) == (
        "joor/from-env",
        "/joor/from-env/token",
    )
