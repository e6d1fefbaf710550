"""The few errors joor_token raises. Their messages say what to check and never hold a token."""

from __future__ import annotations


class JoorTokenError(Exception):
    """Base of every error this package raises."""


class ConfigurationError(JoorTokenError, ValueError):
    """A setting is missing or out of range; the message names it."""


class TokenUnavailableError(JoorTokenError):
    """The token parameter could not be read (missing, access denied, AWS unreachable)."""


class RefreshFailedError(JoorTokenError):
    """JOOR rejected a token and no newer one could be had: the refresher failed, could not be
    invoked, stayed busy past the wait limit, or there is no refresher to ask."""


class RefreshRateLimitedError(RefreshFailedError):
    """The refresher refused to replace a token it wrote moments ago.

    JOOR rejected a token younger than the refresher's minimum interval, so a new one would most
    likely be rejected too (wrong API endpoint, missing rights). ``retry_after_seconds`` says when
    the refresher will accept another rejection of the same version.
    """

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
