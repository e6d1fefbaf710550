"""Typed configuration, built once from the environment; every error names its variable."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

from refresher.domain.errors import ConfigurationError
from refresher.domain.names import is_under, parameter_name_problem, path_problem

AUTH_URLS: Final = {
    "sandbox": "https://atlas-sandbox.jooraccess.com/auth/",
    "production": "https://atlas.jooraccess.com/auth/",
}
DEFAULT_REFRESH_WINDOW_SECONDS: Final = 10_800  # 3 h: docs/operations.md, "The guarantee"
MAX_REFRESH_WINDOW_SECONDS: Final = 86_400
# A consumer's report of a rejected token logs in only if the stored token is at least this
# old: at most one consumer-caused JOOR login per 5 minutes, whatever consumers do
# (docs/operations.md, "The login gate").
DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS: Final = 300
MAX_REJECTED_TOKEN_MIN_AGE_SECONDS: Final = 3600

# A fleet: how many JOOR logins may be in flight at once, and how many may start each second.
# Three a second is Parameter Store's default PutParameter throughput: logging in faster than
# the new tokens can be written would only waste logins on throttled writes.
DEFAULT_FLEET_LOGINS_IN_FLIGHT: Final = 4
DEFAULT_FLEET_LOGINS_PER_SECOND: Final = 3
DEFAULT_SCHEDULE_INTERVAL_SECONDS: Final = 900

# Every variable Settings reads, and what it means: `python -m refresher --help` lists them,
# and the template's tests check that the SAM template sets each one it should.
VARIABLES: Final = (
    ("CREDENTIALS_SECRET_ID", "the credentials secret's name or ARN (one named account)"),
    ("TOKEN_PARAMETER_NAME", "the parameter its token is written to (one named account)"),
    ("TOKEN_PARAMETER_PATH", "a fleet: every secret tagged joor-token-parameter=<a name under it>"),
    ("JOOR_ENVIRONMENT", "sandbox (default) or production: which /auth/ URL, unless tagged"),
    ("JOOR_AUTH_URL", "an /auth/ URL overriding both (https://, or http:// on loopback)"),
    ("REFRESH_WINDOW_SECONDS", "refresh a token with less than this left (default 10800)"),
    ("TOKEN_KMS_KEY_ID", "KMS key for the SecureString (default: aws/ssm)"),
    (
        "REJECTED_TOKEN_MIN_AGE_SECONDS",
        "the login budget: seconds between non-operator logins (300)",
    ),
    ("SCHEDULE_INTERVAL_SECONDS", "the schedule's interval (default 900)"),
    ("FLEET_LOGINS_IN_FLIGHT", "a fleet: JOOR logins at once at most (default 4)"),
    ("FLEET_LOGINS_PER_SECOND", "a fleet: JOOR logins started a second at most (default 3)"),
)

_KMS_KEY = re.compile(r"^[A-Za-z0-9:/_\-]{1,2048}$")


@dataclass(frozen=True)
class Settings:
    joor_environment: str  # the default for accounts that do not name theirs
    auth_url_override: str | None  # JOOR_AUTH_URL: every account's /auth/ (a local stand-in)
    # The one account configured by name; None in a fleet that finds all of its accounts.
    credentials_secret_id: str | None
    token_parameter_name: str | None
    parameter_path: str | None  # a fleet: the path its tagged secrets' parameters live under
    refresh_window: timedelta
    kms_key_id: str | None
    rejected_token_min_age: timedelta
    schedule_interval: timedelta
    fleet_logins_in_flight: int
    fleet_logins_per_second: int

    @property
    def auth_url(self) -> str:
        return self.auth_url_for(self.joor_environment)

    def auth_url_for(self, environment: str) -> str:
        return self.auth_url_override or AUTH_URLS[environment]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = _get(env, "JOOR_ENVIRONMENT") or "sandbox"
        if environment not in AUTH_URLS:
            raise ConfigurationError(
                "JOOR_ENVIRONMENT", f"must be 'sandbox' or 'production', got {environment!r}"
            )
        override = _get(env, "JOOR_AUTH_URL") or None
        if override:
            _check_auth_url(override)
        path = _path(_get(env, "TOKEN_PARAMETER_PATH"))
        secret_id, parameter = _configured_account(env, path)
        return cls(
            joor_environment=environment,
            auth_url_override=override,
            credentials_secret_id=secret_id,
            token_parameter_name=parameter,
            parameter_path=path,
            refresh_window=timedelta(seconds=_window(env)),
            kms_key_id=_kms_key(_get(env, "TOKEN_KMS_KEY_ID")),
            rejected_token_min_age=timedelta(
                seconds=_seconds(
                    env,
                    "REJECTED_TOKEN_MIN_AGE_SECONDS",
                    DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS,
                    1,
                    MAX_REJECTED_TOKEN_MIN_AGE_SECONDS,
                )
            ),
            schedule_interval=timedelta(
                seconds=_seconds(
                    env, "SCHEDULE_INTERVAL_SECONDS", DEFAULT_SCHEDULE_INTERVAL_SECONDS, 60, 86_400
                )
            ),
            fleet_logins_in_flight=_seconds(
                env, "FLEET_LOGINS_IN_FLIGHT", DEFAULT_FLEET_LOGINS_IN_FLIGHT, 1, 32, "logins"
            ),
            fleet_logins_per_second=_seconds(
                env, "FLEET_LOGINS_PER_SECOND", DEFAULT_FLEET_LOGINS_PER_SECOND, 1, 100, "logins"
            ),
        )


def _path(raw: str) -> str | None:
    if not raw:
        return None
    path = raw.rstrip("/") or "/"
    problem = path_problem(path)
    if problem:
        raise ConfigurationError("TOKEN_PARAMETER_PATH", problem)
    return path


def _configured_account(env: Mapping[str, str], path: str | None) -> tuple[str | None, str | None]:
    """The account named by CREDENTIALS_SECRET_ID and TOKEN_PARAMETER_NAME: required without a
    fleet path; with one, optional, but both or neither, and under the path."""
    secret_id = _get(env, "CREDENTIALS_SECRET_ID")
    parameter = _get(env, "TOKEN_PARAMETER_NAME")
    if path is None or secret_id or parameter:
        secret_id = _required(env, "CREDENTIALS_SECRET_ID")
        parameter = _parameter_name(_required(env, "TOKEN_PARAMETER_NAME"))
    if path is not None and parameter and not is_under(path, parameter):
        raise ConfigurationError(
            "TOKEN_PARAMETER_NAME",
            f"must lie under TOKEN_PARAMETER_PATH {path!r} when both are set, got {parameter!r}",
        )
    return secret_id or None, parameter or None


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _required(env: Mapping[str, str], name: str) -> str:
    value = _get(env, name)
    if not value:
        raise ConfigurationError(name, "is not set")
    return value


def _check_auth_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError("JOOR_AUTH_URL", f"must be an absolute https:// URL, got {url!r}")
    if parts.username or parts.password:
        raise ConfigurationError("JOOR_AUTH_URL", "must not carry a user name or password")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            "JOOR_AUTH_URL",
            f"must use https:// (http:// is allowed only for a loopback host), got {url!r}",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parameter_name(name: str) -> str:
    problem = parameter_name_problem(name)
    if problem:
        raise ConfigurationError("TOKEN_PARAMETER_NAME", problem)
    return name


def _window(env: Mapping[str, str]) -> int:
    name = "REFRESH_WINDOW_SECONDS"
    return _seconds(env, name, DEFAULT_REFRESH_WINDOW_SECONDS, 60, MAX_REFRESH_WINDOW_SECONDS)


def _seconds(  # noqa: PLR0917 - private, called with the range in reading order
    env: Mapping[str, str], name: str, default: int, low: int, high: int, unit: str = "seconds"
) -> int:
    raw = _get(env, name)
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigurationError(name, f"must be a whole number of {unit}, got {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise ConfigurationError(name, f"must be between {low} and {high}, got {value}")
    return value


def _kms_key(value: str) -> str | None:
    if not value:
        return None
    if not _KMS_KEY.match(value):
        raise ConfigurationError(
            "TOKEN_KMS_KEY_ID", f"must be a KMS key id, ARN or alias, got {value!r}"
        )
    return value
