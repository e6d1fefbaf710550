"""Read the JOOR V4 API token kept by the JOOR token refresher, and recover when JOOR rejects it.

    from joor_token import TokenReader, JoorBearerAuth

    reader = TokenReader()          # JOOR_TOKEN_PARAMETER, JOOR_TOKEN_REFRESHER_FUNCTION
    requests.get(url, auth=JoorBearerAuth(reader))  # on a 401: one renewal, one resend
    token = reader.token()          # the bare token, for any other HTTP client

Importing the package creates no client, reads no environment variable and configures no
logging. ``JoorBearerAuth`` needs ``requests`` (the ``requests`` extra); ``TokenReader`` does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from joor_token._errors import (
    ConfigurationError,
    JoorTokenError,
    RefreshFailedError,
    RefreshRateLimitedError,
    TokenUnavailableError,
)
from joor_token._reader import TokenReader

if TYPE_CHECKING:
    from joor_token._requests_auth import JoorBearerAuth

__all__ = [
    "ConfigurationError",
    "JoorBearerAuth",
    "JoorTokenError",
    "RefreshFailedError",
    "RefreshRateLimitedError",
    "TokenReader",
    "TokenUnavailableError",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # JoorBearerAuth is imported on first use, so that the package works without requests.
    if name == "JoorBearerAuth":
        try:
            from joor_token._requests_auth import JoorBearerAuth
        except ModuleNotFoundError as err:
            if (err.name or "").partition(".")[0] != "requests":
                raise
            raise ImportError(
                "joor_token.JoorBearerAuth needs the requests package: install joor-token with "
                'its requests extra ("joor-token[requests]" in the requirement) or install requests'
            ) from err
        return JoorBearerAuth
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
