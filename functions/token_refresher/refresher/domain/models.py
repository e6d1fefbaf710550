"""Value objects the refresher passes between its ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The failures an operator fixes in the secret (JOOR rejected what it holds, or it does not
# hold credentials at all), by their errors' reasons: what the credentials alarm counts. Every
# other failure is JOOR or AWS not answering, or a bug: what the refresh-failing alarm counts.
CREDENTIAL_REASONS = frozenset(
    {"credentials_rejected", "credentials_rejected_earlier", "secret_malformed"}
)


@dataclass(frozen=True)
class Credentials:
    """What JOOR's /auth/ needs. Secret fields are kept out of ``repr``."""

    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    username: str = field(repr=False)
    password: str = field(repr=False)
    grant_type: str = "password"
    source: str = ""  # the secret it came from: a name, never a value
    version: str = ""  # the secret version they were read from
    version_created: datetime | None = None

    def secret_values(self) -> tuple[str, ...]:
        """Every value that must never appear in output, for redaction."""
        return (self.client_id, self.client_secret, self.username, self.password)


LOGIN_RESULTS = ("ok", "rejected", "failed")


@dataclass(frozen=True)
class LoginRecord:
    """What JOOR answered the last login made with an account's credentials.

    ``result`` is "ok", "rejected" (JOOR refused the credentials) or "failed" (no verdict on
    them: JOOR unavailable, or an answer that was not a token).
    """

    result: str
    at: datetime
    version: str  # the secret version the credentials came from
    version_created: datetime | None = None


@dataclass(frozen=True)
class CredentialState:
    """An account's credentials as the login gate sees them, without their value: which version
    of the secret is current, and what JOOR said to the last login."""

    secret: str
    current_version: str | None = None  # None: not known before the value is read
    last_login: LoginRecord | None = None

    @property
    def rejected(self) -> bool:
        """JOOR rejected the current version: logging in with it again could lock the account."""
        last = self.last_login
        return (
            last is not None
            and last.result == "rejected"
            and self.current_version is not None
            and last.version == self.current_version
        )


@dataclass(frozen=True)
class IssuedToken:
    """A token JOOR just issued. ``expires_at`` is counted from before the request was sent."""

    access_token: str = field(repr=False)
    expires_at: datetime
    lifetime: timedelta


@dataclass(frozen=True)
class StoredToken:
    """What the store knows about the token it holds, without decrypting it."""

    exists: bool
    expires_at: datetime | None = None  # None: missing, or no readable expiry
    version: int | None = None
    last_modified: datetime | None = None  # when the stored version was written

    def seconds_left(self, now: datetime) -> float | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds()

    def is_fresh(self, now: datetime, window: timedelta) -> bool:
        """Fresh means it still has at least ``window`` to live. Unknown expiry is stale."""
        left = self.seconds_left(now)
        return left is not None and left >= window.total_seconds()


@dataclass(frozen=True)
class SecretChange:
    """Secrets Manager's word that a secret's AWSCURRENT label moved to a new version."""

    secret: str  # the secret's ARN
    name: str
    version: str


@dataclass(frozen=True)
class RefreshRequest:
    """What one invocation asks for, and whether an operator asks it.

    ``operator`` is true only for a caller IAM lets act as one (the function's operator alias,
    or the workstation run with the operator's own credentials); the payload cannot claim it.
    """

    force: bool = False
    # The parameter version a consumer found rejected by JOOR (only with force).
    seen_version: int | None = None
    # The parameter the caller reads; it must be one this function keeps.
    parameter: str | None = None
    # An operator's deliberate second try of credentials JOOR rejected.
    retry_rejected: bool = False
    secret_change: SecretChange | None = None
    operator: bool = False


@dataclass(frozen=True)
class RefreshOutcome:
    """What one run did. Safe to return and log: it holds no token."""

    refreshed: bool
    forced: bool
    parameter: str
    expires_at: datetime | None
    version: int | None  # the version a consumer should read next
    seconds_left: float | None
    # Why the run did what it did: refreshed because the token was "missing", "expiring",
    # "forced", "rejected" (a consumer reported it), "credentials_changed" (a new secret
    # version) or "retried" (an operator retried rejected credentials); skipped because it was
    # "fresh", "already_replaced", "rate_limited" (the login budget) or
    # "credentials_unchanged" (a secret change whose version was already used).
    reason: str = ""
    # With "rate_limited": seconds until this caller may make JOOR log in.
    retry_after: int | None = None
    joor_attempts: int = 0
    warnings: tuple[str, ...] = ()
    # What the run learned of the credentials (None: it did not need to look).
    credentials: CredentialState | None = None

    def summary(self) -> dict[str, object]:
        summary: dict[str, object] = {
            "result": "refreshed" if self.refreshed else "skipped",
            "reason": self.reason,
            "forced": self.forced,
            "parameter": self.parameter,
            "version": self.version,
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z")
            if self.expires_at
            else None,
            "seconds_left": int(self.seconds_left) if self.seconds_left is not None else None,
        }
        if self.retry_after is not None:
            summary["retry_after_seconds"] = self.retry_after
        return summary


@dataclass(frozen=True)
class IgnoredEvent:
    """A secret change for a secret that feeds none of this function's tokens."""

    secret: str

    def summary(self) -> dict[str, object]:
        return {"result": "ignored", "reason": "not_our_secret", "secret": self.secret}


@dataclass(frozen=True)
class Account:
    """One JOOR account a fleet keeps a token for: where its credentials and token live."""

    parameter: str  # the token parameter; also how logs and summaries name the account
    secret_id: str  # the credentials secret's ARN or name, never its value
    auth_url: str
    # What the listing of the tagged secrets said of its credentials; None: not listed (the
    # account named in the configuration), read when needed.
    credentials: CredentialState | None = None


@dataclass(frozen=True)
class Refusal:
    """A secret that asks for a token the fleet will not keep, and why."""

    secret: str
    problem: str
    # The tag names a parameter outside this fleet's path: most likely another fleet's (a
    # sandbox and a production stack in one account), so it is noted, not warned about.
    elsewhere: bool = False
    parameter: str = ""  # the parameter it claims, when its tag names a valid one


@dataclass(frozen=True)
class Discovery:
    accounts: tuple[Account, ...]
    refused: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class AccountResult:
    """What a fleet run did for one account: an outcome, or the failure that kept the token."""

    parameter: str
    outcome: RefreshOutcome | None = None
    failure: str = ""  # the failure's metric reason
    message: str = ""  # the failure's message (safe: adapters redact outside text)
    seconds_left: float | None = None  # life left on the token after the run
    left_for_next_run: bool = False
    # The token was kept without a login because JOOR rejected the current credentials before.
    credentials_rejected: bool = False

    @property
    def credentials_to_fix(self) -> bool:
        """After the run, the account's credentials need fixing: JOOR rejected the secret's
        current version (now or earlier), or the secret does not hold credentials."""
        return self.credentials_rejected or self.failure in CREDENTIAL_REASONS

    @property
    def status(self) -> str:
        if self.left_for_next_run:
            return "left_for_next_run"
        if self.outcome is None:
            return "failed"
        return "refreshed" if self.outcome.refreshed else "skipped"

    def summary(self) -> dict[str, object]:
        if self.outcome is not None:
            entry = self.outcome.summary()
        else:
            entry = {"result": self.status, "parameter": self.parameter}
            if self.failure:
                entry.update(reason=self.failure, error=self.message)
            entry["seconds_left"] = None if self.seconds_left is None else int(self.seconds_left)
        if self.credentials_to_fix:
            entry["credentials"] = "rejected"
        return entry


@dataclass(frozen=True)
class FleetOutcome:
    """What a run over every account did. Safe to return and log: no token, no credential."""

    forced: bool
    results: tuple[AccountResult, ...]
    refused: tuple[Refusal, ...] = ()
    unclaimed: tuple[str, ...] = ()  # parameters under the path no secret claims any more
    warnings: tuple[str, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> tuple[AccountResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def credentials_rejected(self) -> tuple[str, ...]:
        """The accounts whose credentials need fixing: what the credentials alarm counts."""
        return tuple(r.parameter for r in self.results if r.credentials_to_fix)

    @property
    def failing(self) -> tuple[str, ...]:
        """The accounts that failed for any other reason: what the refresh-failing alarm counts."""
        return tuple(r.parameter for r in self.failed if not r.credentials_to_fix)

    @property
    def least_seconds_left(self) -> float | None:
        """The least life left on any account's token: what the remaining-life alarm watches."""
        lives = [r.seconds_left for r in self.results if r.seconds_left is not None]
        return min(lives) if lives else None

    def summary(self) -> dict[str, object]:
        least = self.least_seconds_left
        return {
            "result": "failed" if self.failed else "done",
            "forced": self.forced,
            "accounts": len(self.results),
            "refreshed": self.count("refreshed"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "left_for_next_run": self.count("left_for_next_run"),
            "least_seconds_left": None if least is None else int(least),
            "credentials_rejected": list(self.credentials_rejected),
            "refused": [
                {"secret": r.secret, "problem": r.problem} for r in self.refused if not r.elsewhere
            ],
            "outside_path": [
                {"secret": r.secret, "problem": r.problem} for r in self.refused if r.elsewhere
            ],
            "unclaimed": list(self.unclaimed),
            "outcomes": {r.parameter: r.summary() for r in self.results},
        }
