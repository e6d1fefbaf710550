"""In-memory stand-ins for the domain's ports: no sockets, a clock that only moves when told."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from refresher.domain.errors import RefreshError, TransientEndpointError, UnknownAccountError
from refresher.domain.models import (
    Account,
    Credentials,
    CredentialState,
    Discovery,
    IssuedToken,
    LoginRecord,
    Refusal,
    SecretChange,
    StoredToken,
)

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class FakeClock:
    """Wall clock and monotonic clock in one, moved only by ``sleep`` and ``advance``.

    Time is kept as seconds since ``start`` (``t``); the wall clock reads ``start + t`` and the
    monotonic clock ``mono + t``. ``slept`` records every sleep asked for."""

    def __init__(self, start: datetime = START, mono: float = 1000.0) -> None:
        self.start = start
        self.mono_at_start = mono
        self.t = 0.0
        self.slept: list[float] = []

    @property
    def current(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    @property
    def mono(self) -> float:
        return self.mono_at_start + self.t

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    def advance_to(self, t: float) -> None:
        """Move to ``t`` seconds after the start, unless the clock is already past it."""
        self.t = max(self.t, t)


@dataclass
class FakeStore:
    stored: StoredToken = field(default_factory=lambda: StoredToken(exists=False))
    clock: FakeClock | None = None  # stamps each write's last_modified, as SSM does
    parameter: str = "/joor/test/access-token"
    value: str | None = None
    reads: int = 0
    writes: list[IssuedToken] = field(default_factory=list)
    fail_read: RefreshError | None = None
    fail_write: RefreshError | None = None

    @property
    def name(self) -> str:
        return self.parameter

    def read(self) -> StoredToken:
        self.reads += 1
        if self.fail_read:
            raise self.fail_read
        return self.stored

    def write(self, token: IssuedToken) -> int:
        if self.fail_write:
            raise self.fail_write
        self.writes.append(token)
        self.value = token.access_token
        version = (self.stored.version or 0) + 1
        self.stored = StoredToken(
            exists=True,
            expires_at=token.expires_at,
            version=version,
            last_modified=self.clock.now() if self.clock else None,
        )
        return version


CREDENTIALS = Credentials(
    client_id="cid", client_secret="csecret", username="user", password="pw", source="joor/test"
)


@dataclass
class FakeCredentials:
    """A secret: its current version, its value's readers, and the login record kept on it."""

    secret: str = "joor/test"
    version: str = "version-1"
    created: datetime | None = None  # when the current version was saved, when known
    last_login: LoginRecord | None = None
    loads: int = 0
    describes: int = 0
    records: list[LoginRecord] = field(default_factory=list)
    fail: RefreshError | None = None
    fail_describe: RefreshError | None = None
    fail_record: RefreshError | None = None

    @property
    def secret_id(self) -> str:
        return self.secret

    def state(self) -> CredentialState:
        return CredentialState(self.secret, self.version, self.last_login)

    def describe(self) -> CredentialState:
        self.describes += 1
        if self.fail_describe:
            raise self.fail_describe
        return self.state()

    def load(self) -> Credentials:
        self.loads += 1
        if self.fail:
            raise self.fail
        return replace(
            CREDENTIALS, source=self.secret, version=self.version, version_created=self.created
        )

    def record(self, record: LoginRecord) -> None:
        if self.fail_record:
            raise self.fail_record
        self.records.append(record)
        self.last_login = record

    def change(self, version: str) -> None:
        """A new value saved: AWSCURRENT moves to ``version``."""
        self.version = version

    @property
    def results(self) -> list[str]:
        return [r.result for r in self.records]


@dataclass
class FakeEndpoint:
    """Plays a script of answers: an exception to raise, or a lifetime in seconds to issue."""

    clock: FakeClock
    script: deque[Exception | float] = field(default_factory=deque)
    timeouts: list[float] = field(default_factory=list)
    time_per_call: float = 0.1

    def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
        self.timeouts.append(timeout)
        issued_at = self.clock.now()
        self.clock.advance(self.time_per_call)
        answer = self.script.popleft() if self.script else 36000.0
        if isinstance(answer, Exception):
            raise answer
        lifetime = timedelta(seconds=answer)
        return IssuedToken(
            access_token=f"token-{len(self.timeouts)}",
            expires_at=issued_at + lifetime,
            lifetime=lifetime,
        )

    @property
    def calls(self) -> int:
        return len(self.timeouts)


@dataclass
class FakeDirectory:
    """The tagged secrets a fleet finds: its accounts, and the ones it refused. ``state_of``
    gives each listed account's credential state (what ListSecrets returns with the tags)."""

    accounts: list[Account]
    refused: list[Refusal] = field(default_factory=list)
    state_of: Callable[[Account], CredentialState | None] = lambda account: account.credentials
    calls: int = 0

    def _listed(self) -> list[Account]:
        return [replace(a, credentials=self.state_of(a)) for a in self.accounts]

    def discover(self) -> Discovery:
        self.calls += 1
        return Discovery(tuple(self._listed()), tuple(self.refused))

    def account_for(self, parameter: str) -> Account:
        self.calls += 1
        for account in self._listed():
            if account.parameter == parameter:
                return account
        refused = [(r.secret, r.problem) for r in self.refused if r.parameter == parameter]
        raise UnknownAccountError.of(parameter, refused)

    def account_of(self, change: SecretChange) -> Account | None:
        self.calls += 1
        return next((a for a in self._listed() if a.secret_id == change.secret), None)


@dataclass
class FakeInventory:
    """Every stored token under the fleet's path, read from the stores (and ``extra``)."""

    stores: dict[str, FakeStore]
    extra: dict[str, StoredToken] = field(default_factory=dict)
    calls: int = 0

    def read_all(self) -> dict[str, StoredToken]:
        self.calls += 1
        found = {n: s.stored for n, s in self.stores.items() if s.stored.exists}
        return {**found, **self.extra}


def transient(
    message: str = "JOOR answered HTTP 503", retry_after: float | None = None
) -> Exception:
    return TransientEndpointError(message, retry_after)


class InlinePool[R]:
    """A worker pool that runs each job when it is started, on the calling thread."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.results: list[R] = []

    def wait_for_room(self) -> None:
        pass

    def start(self, job: Callable[[], R]) -> None:
        self.results.append(job())

    def finish(self) -> list[R]:
        return self.results
