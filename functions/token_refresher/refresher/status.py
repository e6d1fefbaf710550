"""Every token the refresher keeps, one line each: what ``python -m refresher status`` and
``make status`` show.

Metadata only, through the function's own adapters: DescribeParameters for the tokens (50 to
a call), the fleet's listing of its tagged secrets (ListSecrets, 100 to a call, which carries
what JOOR said to each one's last login), and DescribeSecret for an account named in the
configuration. No secret value is read and nothing is decrypted, so a status costs no KMS
call and needs no permission on the token's value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from refresher.adapters.secrets_manager import SecretsManagerCredentials
from refresher.adapters.ssm_token_store import SsmTokenInventory, SsmTokenStore, format_expiry
from refresher.adapters.tagged_secrets import TaggedSecretsDirectory
from refresher.config import AUTH_URLS, Settings
from refresher.domain.errors import ConfigurationError, RefreshError
from refresher.domain.fleet import MISSING, unclaimed
from refresher.domain.models import Account, CredentialState, Refusal, StoredToken

if TYPE_CHECKING:
    import boto3

FRESH = "fresh"  # at least the refresh window left: no run logs in for it
DUE = "due"  # less than the window left: the next run logs in
MISSING_STATE = "missing"  # a token the function keeps, not written yet (or unreadable)
UNCLAIMED = "unclaimed"  # under a fleet's path, no secret claims it any more: not refreshed
REJECTED = "credentials rejected"  # JOOR rejected the secret's current version: no run logs in
STATES = (FRESH, DUE, MISSING_STATE, UNCLAIMED, REJECTED)


@dataclass(frozen=True)
class Guarantee:
    """The least life a workload finds on a token while JOOR answers, and how it is known."""

    seconds: int
    source: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Guarantee:
        window = int(settings.refresh_window.total_seconds())
        interval = int(settings.schedule_interval.total_seconds())
        return cls(
            window - interval,
            f"REFRESH_WINDOW_SECONDS - SCHEDULE_INTERVAL_SECONDS = {window} - {interval}",
        )


@dataclass(frozen=True)
class Target:
    """What to look at: an account named in the configuration, a fleet's path, or both."""

    named: Account | None
    path: str | None
    window: timedelta
    guarantee: Guarantee
    joor_environment: str = "sandbox"

    @classmethod
    def from_settings(cls, settings: Settings) -> Target:
        named = None
        if settings.credentials_secret_id and settings.token_parameter_name:
            named = Account(settings.token_parameter_name, settings.credentials_secret_id, "")
        return cls(
            named=named,
            path=settings.parameter_path,
            window=settings.refresh_window,
            guarantee=Guarantee.from_settings(settings),
            joor_environment=settings.joor_environment,
        )


@dataclass(frozen=True)
class TokenStatus:
    parameter: str
    state: str
    stored: StoredToken
    secret: str | None  # where its credentials come from; None for an unclaimed token
    seconds_left: float | None
    below_guarantee: bool
    credentials: CredentialState | None = None

    def as_dict(self) -> dict[str, Any]:
        last = self.credentials.last_login if self.credentials else None
        return {
            "parameter": self.parameter,
            "state": self.state,
            "version": self.stored.version,
            "seconds_left": None if self.seconds_left is None else int(self.seconds_left),
            "expires_at": _time(self.stored.expires_at),
            "written_at": _time(self.stored.last_modified),
            "secret": self.secret,
            "below_guarantee": self.below_guarantee,
            "last_login": None
            if last is None
            else {"result": last.result, "at": _time(last.at), "secret_version": last.version},
        }


@dataclass(frozen=True)
class Status:
    at: datetime
    guarantee: Guarantee
    tokens: tuple[TokenStatus, ...]
    refused: tuple[Refusal, ...] = ()
    warnings: tuple[str, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def below_guarantee(self) -> tuple[str, ...]:
        """The kept tokens with less life left than the guarantee (a missing one included)."""
        return tuple(t.parameter for t in self.tokens if t.below_guarantee)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": _time(self.at),
            "guarantee_seconds": self.guarantee.seconds,
            "guarantee_from": self.guarantee.source,
            "tokens": [t.as_dict() for t in self.tokens],
            "below_guarantee": list(self.below_guarantee),
            "refused": [{"secret": r.secret, "problem": r.problem} for r in self.refused],
            "warnings": list(self.warnings),
            "aws_calls": dict(self.calls),
        }

    def lines(self) -> list[str]:
        """The table an operator reads, then what needs a look, then what it cost."""
        rows = [("PARAMETER", "VERSION", "LIFE LEFT", "WRITTEN", "STATE", "SECRET")]
        for t in self.tokens:
            rows.append(
                (
                    t.parameter,
                    "-" if t.stored.version is None else str(t.stored.version),
                    _life(t.seconds_left),
                    _time(t.stored.last_modified) or "-",
                    t.state,
                    "-" if t.secret is None else _secret_name(t.secret),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [
            f"guarantee: {_life(self.guarantee.seconds)} ({self.guarantee.seconds} s; "
            f"{self.guarantee.source})"
        ]
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if not self.tokens:
            lines.append("(no token kept yet)")
        for t in self.tokens:
            if t.state == REJECTED and t.credentials and t.credentials.last_login:
                lines.append(
                    f"{t.parameter}: JOOR rejected the current version of {t.secret} at "
                    f"{_time(t.credentials.last_login.at)}; no run logs in with it: save the "
                    "right credentials in the secret (docs/operations.md, When JOOR rejects the "
                    "credentials)"
                )
        for refusal in self.refused:
            lines.append(f"refused: secret {refusal.secret}: {refusal.problem}")
        lines += [f"warning: {w}" for w in self.warnings]
        below = self.below_guarantee
        if below:
            lines.append(
                f"{len(below)} of {sum(t.state != UNCLAIMED for t in self.tokens)} token(s) "
                f"have less life left than the guarantee: {', '.join(below)}"
            )
        else:
            lines.append("every kept token has at least the guarantee left")
        calls = ", ".join(f"{n} {op}" for op, n in sorted(self.calls.items())) or "none"
        lines.append(f"AWS calls: {calls} (metadata only: no secret value read, nothing decrypted)")
        return lines


class StatusReader:
    """Reads the status through the function's adapters, counting every AWS call it makes."""

    def __init__(
        self, session: boto3.Session, clock_now: Callable[[], datetime] | None = None
    ) -> None:
        from botocore.config import Config

        from refresher.adapters.system_clock import SystemClock

        config = Config(retries={"mode": "standard", "total_max_attempts": 3})
        self.calls: Counter[str] = Counter()
        self._ssm = session.client("ssm", config=config)
        self._secrets = session.client("secretsmanager", config=config)
        for client in (self._ssm, self._secrets):
            client.meta.events.register("before-call", self._count)
        self._now = clock_now or SystemClock().now

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def read(self, target: Target) -> Status:
        """Raises the adapters' RefreshError when a listing cannot be read."""
        now = self._now()
        warnings: list[str] = []
        refused: tuple[Refusal, ...] = ()
        if target.path is None:
            if target.named is None:  # Settings requires one without a path
                raise ConfigurationError("CREDENTIALS_SECRET_ID", "is not set")
            accounts: tuple[Account, ...] = (target.named,)
            name = target.named.parameter
            stored_all = {name: SsmTokenStore(name, self._ssm).read()}
        else:
            discovery = TaggedSecretsDirectory(
                target.path,
                lambda: self._secrets,
                {environment: environment for environment in AUTH_URLS},
                target.joor_environment,
                target.named,
            ).discover()
            accounts = discovery.accounts
            refused = tuple(r for r in discovery.refused if not r.elsewhere)
            stored_all = SsmTokenInventory(target.path, self._ssm).read_all()
        tokens = [
            self._account(a, stored_all.get(a.parameter, MISSING), target, now, warnings)
            for a in accounts
        ]
        for name in unclaimed(stored_all, {a.parameter for a in accounts}):
            stored = stored_all[name]
            tokens.append(
                TokenStatus(name, UNCLAIMED, stored, None, stored.seconds_left(now), False)
            )
        tokens.sort(key=lambda t: t.parameter)
        return Status(
            now, target.guarantee, tuple(tokens), refused, tuple(warnings), dict(self.calls)
        )

    def _account(
        self,
        account: Account,
        stored: StoredToken,
        target: Target,
        now: datetime,
        warnings: list[str],
    ) -> TokenStatus:
        credentials = account.credentials
        if credentials is None:
            try:
                # The gate's own DescribeSecret and reading of its tag.
                credentials = SecretsManagerCredentials(
                    account.secret_id, lambda: self._secrets
                ).describe()
            except RefreshError as err:
                warnings.append(f"{account.parameter}: its credentials' state is unknown: {err}")
        left = stored.seconds_left(now)
        if credentials is not None and credentials.rejected:
            state = REJECTED
        elif not stored.exists or left is None:
            state = MISSING_STATE
        elif stored.is_fresh(now, target.window):
            state = FRESH
        else:
            state = DUE
        below = left is None or left < target.guarantee.seconds
        return TokenStatus(
            account.parameter, state, stored, account.secret_id, left, below, credentials
        )


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_expiry(moment)


def _life(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    if seconds <= 0:
        return "expired"
    minutes = int(seconds) // 60
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _secret_name(secret: str) -> str:
    """``joor/fleet/brand-a`` from its ARN (which ends in a six-character suffix); a name as is."""
    if ":secret:" not in secret:
        return secret
    name = secret.split(":secret:", 1)[1]
    head, _, suffix = name.rpartition("-")
    return head if head and len(suffix) == 6 else name
