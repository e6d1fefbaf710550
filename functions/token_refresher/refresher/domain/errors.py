"""The few failures the refresher can report; each names its cause and carries a metric reason.

Messages never contain a credential or a token: adapters pass outside text through
``redact`` before it reaches one of these.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from refresher.domain.models import FleetOutcome, LoginRecord

# What an operator sends to retry rejected credentials, named in messages and the docs.
RETRY_EVENT = '{"retry_rejected": true}'
OPERATOR_ALIAS = "operator"


class RefreshError(Exception):
    """A run that could not leave a fresh token behind. The stored token is untouched."""

    reason = "unknown"
    # Life left on the token that was kept, when the run got far enough to know it.
    seconds_left: float | None = None
    # What else went wrong on the way out (e.g. the login's result could not be recorded).
    warnings: tuple[str, ...] = ()


class ConfigurationError(RefreshError):
    """An environment variable is missing or invalid."""

    reason = "configuration"

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"Invalid configuration: {variable} {problem}")


class InvalidEventError(RefreshError):
    """The invocation event is not one the refresher understands."""

    reason = "invalid_event"


class OperatorOnlyError(InvalidEventError):
    """The event asks for what only an operator may (retrying rejected credentials, forcing a
    whole fleet), through the function consumers may invoke."""

    reason = "operator_only"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is an operator's action: invoke the function's alias "
            f"'{OPERATOR_ALIAS}' (the stack's TokenOperatorPolicy allows it). Consumers' "
            "policies allow only the function itself, where forced refreshes share a budget."
        )


class SecretUnavailableError(RefreshError):
    """The credentials secret could not be read (missing, access denied, AWS unreachable)."""

    reason = "secret_unavailable"


class SecretMalformedError(RefreshError):
    """The credentials secret was read but is not the JSON object we need."""

    reason = "secret_malformed"


class CredentialsRejectedError(RefreshError):
    """JOOR refused the credentials (a 4xx answer). Never retried: it could lock the account."""

    reason = "credentials_rejected"

    def __init__(self, status: int, error: str, description: str, secret_id: str = "") -> None:
        self.status = status
        self.error = error
        self.description = description
        self.secret_id = secret_id
        source = f"the credentials in secret {secret_id!r}" if secret_id else "the credentials"
        detail = error or "no error code"
        if description:
            detail = f"{detail}: {description}"
        super().__init__(
            f"JOOR rejected {source} (HTTP {status}, {detail}). Not tried again, since repeated "
            "failed logins can lock the JOOR account: save corrected credentials in the secret "
            "(the new version is tried at once)."
        )


class CredentialsRejectedEarlierError(RefreshError):
    """JOOR rejected the secret's current version before: it is not tried again (the JOOR
    account would lock) until the secret changes or an operator retries it."""

    reason = "credentials_rejected_earlier"

    def __init__(self, secret: str, last: LoginRecord, now: datetime) -> None:
        self.secret_id = secret
        version = f"version {last.version[:8]}"
        if last.version_created is not None:
            version += f", saved {_ago(now, last.version_created)}"
        super().__init__(
            f"JOOR rejected the credentials in secret {secret!r} ({version}) at "
            f"{_iso(last.at)}, {_ago(now, last.at)}; not logging in with them again, since "
            "repeated failed logins can lock the JOOR account. Save corrected credentials in "
            "the secret (the new version is tried at once), or, if JOOR rejected valid "
            f"credentials, retry them once: invoke the alias '{OPERATOR_ALIAS}' with "
            f"{RETRY_EVENT}."
        )


class LoginRecordError(RefreshError):
    """What JOOR answered could not be remembered on the secret."""

    reason = "login_record"


class InvalidTokenResponseError(RefreshError):
    """JOOR answered, but not with a token we can store (bad body, redirect, odd status)."""

    reason = "invalid_token_response"


class EndpointUnavailableError(RefreshError):
    """JOOR could not be reached, or kept failing, within the time the invocation had."""

    reason = "joor_unavailable"


class NoTimeToLogInError(EndpointUnavailableError):
    """Not one attempt at JOOR was made: the invocation had no time left for it. A fleet
    leaves such an account for its next run; for one account it is a JOOR failure."""


class UnexpectedError(RefreshError):
    """A bug or an outside failure no adapter foresaw. Its message names where, not what:
    the original message could quote a value (botocore's parameter validation does)."""

    reason = "unexpected"

    @classmethod
    def wrap(cls, error: BaseException) -> UnexpectedError:
        # The innermost frame of our own code says most about where to look.
        root = str(Path(__file__).resolve().parents[2])
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if f.filename.startswith(root)] or frames
        where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
        return cls(f"Unexpected {type(error).__name__}{where}; the stored token is unchanged")


class TransientEndpointError(Exception):
    """One attempt at JOOR failed in a way worth retrying (raised by the adapter, not reported)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class TokenStoreReadError(RefreshError):
    """The stored token's metadata could not be read."""

    reason = "token_store_read"


class AccountDiscoveryError(RefreshError):
    """The fleet's accounts could not be listed (the secrets that carry the tag)."""

    reason = "account_discovery"


class UnknownAccountError(RefreshError):
    """An event names a parameter under the fleet's path that no secret claims."""

    reason = "unknown_account"

    @classmethod
    def of(cls, parameter: str, refused: list[tuple[str, str]]) -> UnknownAccountError:
        """For ``parameter``, naming the first of the (secret, problem) refusals that claim it."""
        detail = f"; refused: secret {refused[0][0]!r}: {refused[0][1]}" if refused else ""
        return cls(f"No secret tagged for parameter {parameter!r} in this fleet{detail}")


class FleetRefreshError(RefreshError):
    """One or more accounts of a fleet run failed; the others had their chance."""

    reason = "accounts_failed"

    def __init__(self, message: str, outcome: FleetOutcome) -> None:
        self.outcome = outcome  # for the report
        super().__init__(message)


class TokenStoreWriteError(RefreshError):
    """The new token could not be written; the previous value stays in place."""

    reason = "token_store_write"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(now: datetime, then: datetime) -> str:
    """How long ago, to the unit that matters: "45 s ago", "12 min ago", "3 h ago", "2 days ago"."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def redact(text: str, secrets: tuple[str, ...] | list[str], limit: int = 300) -> str:
    """Make outside text safe to log: drop secret values, escape control characters, truncate.

    Control characters are escaped so that text from JOOR or AWS cannot forge extra log lines.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    safe = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    if len(safe) > limit:
        safe = safe[:limit] + f"... [{len(safe) - limit} more characters]"
    return safe
