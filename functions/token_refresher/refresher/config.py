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

AUTH_URLS: Final = {
    "sandbox": "https://atlas-sandbox.jooraccess.com/auth/",
    "production": "https://atlas.jooraccess.com/auth/",
}
DEFAULT_REFRESH_WINDOW_SECONDS: Final = 10_800  # 3 h: see README, "The guarantee"
MAX_REFRESH_WINDOW_SECONDS: Final = 86_400
# A consumer's report of a rejected token logs in only if the stored token is at least this
# old: at most one consumer-caused JOOR login per 5 minutes, whatever consumers do (README,
# "Consumers report a rejected token").
DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS: Final = 300
MAX_REJECTED_TOKEN_MIN_AGE_SECONDS: Final = 3600

# The variables the code needs from whoever deploys it (the SAM template sets them all).
REQUIRED_VARIABLES: Final = ("CREDENTIALS_SECRET_ID", "TOKEN_PARAMETER_NAME")
OPTIONAL_VARIABLES: Final = (
    "JOOR_ENVIRONMENT",
    "JOOR_AUTH_URL",
    "REFRESH_WINDOW_SECONDS",
    "TOKEN_KMS_KEY_ID",
    "REJECTED_TOKEN_MIN_AGE_SECONDS",
)

_PARAMETER_NAME = re.compile(r"^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
_KMS_KEY = re.compile(r"^[A-Za-z0-9:/_\-]{1,2048}$")


@dataclass(frozen=True)
class Settings:
    joor_environment: str
    auth_url: str
    credentials_secret_id: str
    token_parameter_name: str
    refresh_window: timedelta
    kms_key_id: str | None
    rejected_token_min_age: timedelta

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = _get(env, "JOOR_ENVIRONMENT") or "sandbox"
        if environment not in AUTH_URLS:
            raise ConfigurationError(
                "JOOR_ENVIRONMENT", f"must be 'sandbox' or 'production', got {environment!r}"
            )
        auth_url = _get(env, "JOOR_AUTH_URL") or AUTH_URLS[environment]
        _check_auth_url(auth_url)
        return cls(
            joor_environment=environment,
            auth_url=auth_url,
            credentials_secret_id=_required(env, "CREDENTIALS_SECRET_ID"),
            token_parameter_name=_parameter_name(_required(env, "TOKEN_PARAMETER_NAME")),
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
        )


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
    if len(name) > 1011 or not _PARAMETER_NAME.match(name):
        raise ConfigurationError(
            "TOKEN_PARAMETER_NAME",
            f"must be an SSM parameter name such as /joor/sandbox/access-token "
            f"(letters, digits, _ . - and / between path parts), got {name!r}",
        )
    if name.lstrip("/").lower().startswith(("aws", "ssm")):
        raise ConfigurationError(
            "TOKEN_PARAMETER_NAME", f"must not start with 'aws' or 'ssm', got {name!r}"
        )
    return name


def _window(env: Mapping[str, str]) -> int:
    name = "REFRESH_WINDOW_SECONDS"
    return _seconds(env, name, DEFAULT_REFRESH_WINDOW_SECONDS, 60, MAX_REFRESH_WINDOW_SECONDS)


def _seconds(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigurationError(name, f"must be a whole number of seconds, got {raw!r}")
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
