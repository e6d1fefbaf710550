"""The soak's outside systems: the unit tests' in-memory fakes (tests/unit/fakes.py), with the
failures a soak draws at random added on top.

* ``Aws``: every AWS call attempt may be throttled; the SDK makes ``AWS_ATTEMPTS`` attempts
  with botocore's jittered backoff, so a call fails only when all of them are throttled.
* The store, the secret, a fleet's listing and its inventory fail when their AWS call does.
* ``OutageJoor``: JOOR issues real token responses (through the real parser), except during
  an outage, when every attempt fails the way the outage says.
* ``AccountJoor``: the same, and it knows the account's password: a login with credentials
  from a secret version whose password is not the one JOOR holds is rejected, as Keycloak
  rejects it (HTTP 401, ``invalid_grant``), and counted as a failed login.
* ``VersionedSecret``: a secret whose value is saved anew (AWSCURRENT moves to a new version),
  each version with credentials of its own; ``ForgetfulSecret`` is the same secret with the
  login gate's memory taken away (what every path did before the gate).

Each draws from the random generator it is given, in a fixed order, so a seed decides all.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from refresher.adapters.joor_auth import parse_token_response
from refresher.domain.errors import (
    AccountDiscoveryError,
    CredentialsRejectedError,
    LoginRecordError,
    SecretUnavailableError,
    TokenStoreReadError,
    TokenStoreWriteError,
    TransientEndpointError,
)
from refresher.domain.models import (
    Credentials,
    CredentialState,
    Discovery,
    IssuedToken,
    LoginRecord,
    StoredToken,
)
from refresher.timing import AWS_ATTEMPTS
from tests.unit import fakes as unit

START = datetime(2026, 1, 5, tzinfo=UTC)
LIFETIME = 36_000  # JOOR's expires_in


def soak_clock() -> unit.FakeClock:
    """The simulated clock: seconds since START, the monotonic clock counting from 0."""
    return unit.FakeClock(START, mono=0.0)


class Aws:
    """Random throttling of AWS call attempts, retried by the SDK as botocore does."""

    def __init__(self, rng: random.Random, clock: unit.FakeClock, throttle: float) -> None:
        self.rng = rng
        self.clock = clock
        self.throttle = throttle
        self.failed_calls = 0

    def call(self) -> bool:
        """True if the call succeeded within the SDK's attempts."""
        for attempt in range(AWS_ATTEMPTS):
            self.clock.sleep(self.rng.uniform(0.005, 0.05))
            if self.rng.random() >= self.throttle:
                return True
            if attempt < AWS_ATTEMPTS - 1:
                self.clock.sleep(self.rng.uniform(0, 2**attempt))  # botocore's jittered backoff
        self.failed_calls += 1
        return False

    def calls_or_raise(self, error: Exception, calls: int = 1) -> None:
        """Make ``calls`` calls (one, or the pages of a listing); raise ``error`` at the first
        that fails, as the adapter would."""
        for _ in range(calls):
            if not self.call():
                raise error


@dataclass
class ThrottledStore(unit.FakeStore):
    """SSM: the stored token, behind AWS calls that may fail; remembers each write's moment."""

    aws: Aws = field(kw_only=True)
    written: list[tuple[float, datetime]] = field(default_factory=list)  # (t, expires_at)
    shortening_writes: int = 0  # writes of a token that expires before the one it replaced

    def read(self) -> StoredToken:
        self.aws.calls_or_raise(
            TokenStoreReadError("ThrottlingException: Rate exceeded (simulated)")
        )
        return super().read()

    def write(self, token: IssuedToken) -> int:
        self.aws.calls_or_raise(
            TokenStoreWriteError("ThrottlingException: Rate exceeded (simulated)")
        )
        replaced = self.stored.expires_at
        if replaced is not None and token.expires_at < replaced:
            self.shortening_writes += 1
        version = super().write(token)
        assert self.clock is not None, "a soak's store needs the clock to time its writes"
        self.written.append((self.clock.t, token.expires_at))
        return version


@dataclass
class ThrottledSecrets(unit.FakeCredentials):
    """Secrets Manager: the credentials and the login record on them, behind AWS calls that
    may fail."""

    aws: Aws = field(kw_only=True)

    def describe(self) -> CredentialState:
        self.aws.calls_or_raise(
            SecretUnavailableError("Could not describe secret: ThrottlingException (simulated)")
        )
        return super().describe()

    def load(self) -> Credentials:
        self.aws.calls_or_raise(
            SecretUnavailableError("Could not read secret: ThrottlingException (simulated)")
        )
        return super().load()

    def record(self, record: LoginRecord) -> None:
        self.aws.calls_or_raise(
            LoginRecordError("Could not tag secret: ThrottlingException (simulated)")
        )
        super().record(record)


@dataclass
class ThrottledDirectory(unit.FakeDirectory):
    """Secrets Manager's ListSecrets over the tagged secrets: 100 to a call."""

    aws: Aws = field(kw_only=True)

    def discover(self) -> Discovery:
        self.aws.calls_or_raise(
            AccountDiscoveryError("ListSecrets: ThrottlingException (simulated)"),
            calls=math.ceil(len(self.accounts) / 100),
        )
        return super().discover()


@dataclass
class ThrottledInventory(unit.FakeInventory):
    """SSM's DescribeParameters over the path: 50 to a call."""

    aws: Aws = field(kw_only=True)

    def read_all(self) -> dict[str, StoredToken]:
        self.aws.calls_or_raise(
            TokenStoreReadError("DescribeParameters: ThrottlingException (simulated)"),
            calls=math.ceil(len(self.stores) / 50),
        )
        return super().read_all()


@dataclass(frozen=True)
class Outage:
    start: float
    length: float
    kind: str  # errors, timeouts, refused, garbage, mixed

    @property
    def end(self) -> float:
        return self.start + self.length


@dataclass
class OutageJoor(unit.FakeEndpoint):
    """JOOR /auth/: healthy, or failing the way the current outage says. Counts its requests
    as the unit tests' endpoint does (``calls``, one timeout recorded each)."""

    rng: random.Random = field(kw_only=True)
    outages: list[Outage] = field(kw_only=True)

    def _outage(self) -> Outage | None:
        t = self.clock.t
        return next((o for o in self.outages if o.start <= t < o.end), None)

    def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
        self.timeouts.append(timeout)
        issued_at = self.clock.now()
        outage = self._outage()
        if outage is None:
            self.clock.sleep(self.rng.uniform(0.1, 0.8))
            body = json.dumps(
                {
                    "access_token": secrets.token_urlsafe(32),
                    "expires_in": LIFETIME,
                    "token_type": "Bearer",
                }
            ).encode()
            return parse_token_response(body, issued_at, "application/json")
        kind = outage.kind
        if kind == "mixed":
            kind = self.rng.choice(("errors", "timeouts", "refused", "garbage"))
        if kind == "timeouts":
            self.clock.sleep(timeout)
            raise TransientEndpointError(f"no answer from JOOR within {timeout:.1f} s")
        if kind == "refused":
            self.clock.sleep(0.01)
            raise TransientEndpointError("could not connect to JOOR: connection refused")
        if kind == "garbage":
            self.clock.sleep(self.rng.uniform(0.1, 0.5))
            return parse_token_response(b"<html>Bad Gateway</html>", issued_at, "text/html")
        self.clock.sleep(self.rng.uniform(0.05, 0.5))
        if self.rng.random() < 0.3:
            raise TransientEndpointError("JOOR answered HTTP 429", self.rng.choice((1, 5, 30)))
        raise TransientEndpointError(f"JOOR answered HTTP {self.rng.choice((500, 502, 503, 504))}")


@dataclass
class VersionedSecret(ThrottledSecrets):
    """A credentials secret: each ``save`` is a new version, and each version holds credentials
    of its own (long enough for the leak scan to look for them)."""

    name: str = field(kw_only=True, default="joor/soak/api-credentials")
    lost_records: int = 0  # records of JOOR's answer that AWS throttling kept from the secret

    def record(self, record: LoginRecord) -> None:
        try:
            super().record(record)
        except LoginRecordError:
            self.lost_records += 1
            raise

    def save(self, version: str) -> None:
        """A new value saved: AWSCURRENT moves to ``version``."""
        self.change(version)

    def load(self) -> Credentials:
        base = super().load()
        return replace(
            base,
            client_id=self._value("client-id"),
            client_secret=self._value("client-secret"),
            username=self._value("user"),
            password=self._value("password"),
        )

    def _value(self, part: str) -> str:
        digest = hashlib.sha256(f"{self.secret} {self.version} {part}".encode()).hexdigest()
        return f"{part}-{digest[:24]}"

    def secret_values(self, versions: list[str]) -> list[str]:
        """Every credential value of these versions, for the leak scan."""
        current, values = self.version, []
        for version in versions:
            self.version = version
            values += [self._value(p) for p in ("client-id", "client-secret", "user", "password")]
        self.version = current
        return values


@dataclass
class ForgetfulSecret(VersionedSecret):
    """The same secret with the login gate's memory taken away: nothing is recorded, and no run
    learns what JOOR answered the last login. What every path did before the gate."""

    def describe(self) -> CredentialState:
        return replace(super().describe(), last_login=None)

    def record(self, record: LoginRecord) -> None:
        pass


@dataclass
class AccountJoor(OutageJoor):
    """JOOR /auth/ for one account. ``accepted``: the secret versions whose password JOOR holds
    (None: any). While JOOR answers, another version's login is rejected (HTTP 401,
    ``invalid_grant``, as Keycloak answers a wrong password); during an outage nothing is
    checked. Keeps when each request came and each failed login."""

    accepted: set[str] | None = field(kw_only=True, default=None)
    requests: list[float] = field(default_factory=list)
    failed_logins: list[float] = field(default_factory=list)

    def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
        self.requests.append(self.clock.t)
        wrong = self.accepted is not None and credentials.version not in self.accepted
        if wrong and self._outage() is None:
            self.timeouts.append(timeout)
            self.clock.sleep(self.rng.uniform(0.05, 0.3))
            self.failed_logins.append(self.clock.t)
            raise CredentialsRejectedError(
                401, "invalid_grant", "Invalid user credentials", credentials.source
            )
        return super().request_token(credentials, timeout)
