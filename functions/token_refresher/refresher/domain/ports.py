"""The outside systems the refresher talks to, as the domain sees them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from refresher.domain.models import (
    Account,
    Credentials,
    CredentialState,
    Discovery,
    IssuedToken,
    LoginRecord,
    SecretChange,
    StoredToken,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines."""

    def sleep(self, seconds: float) -> None: ...


class CredentialsSource(Protocol):
    @property
    def secret_id(self) -> str: ...

    def describe(self) -> CredentialState:
        """The secret's current version and what JOOR said to the last login: metadata only,
        never the value. Raise SecretUnavailableError."""

    def load(self) -> Credentials:
        """The credentials, with the version they came from.

        Raise SecretUnavailableError or SecretMalformedError.
        """

    def record(self, record: LoginRecord) -> None:
        """Remember what JOOR answered, where every later run (and cold start) finds it.

        Raise LoginRecordError.
        """


class TokenEndpoint(Protocol):
    def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
        """One attempt, within ``timeout`` seconds.

        Raise TransientEndpointError (worth retrying), CredentialsRejectedError or
        InvalidTokenResponseError.
        """


class TokenStore(Protocol):
    @property
    def name(self) -> str: ...

    def read(self) -> StoredToken:
        """Metadata only: no decryption. Raise TokenStoreReadError."""

    def write(self, token: IssuedToken) -> int:
        """Store value and expiry in one write; return the new version.

        Raise TokenStoreWriteError.
        """


class AccountDirectory(Protocol):
    def discover(self) -> Discovery:
        """Every account to keep a token for, and the secrets refused with why.

        Raise AccountDiscoveryError.
        """

    def account_for(self, parameter: str) -> Account:
        """The account whose token is ``parameter``, in one listing call where it can.

        Raise UnknownAccountError (naming the refusal, if a secret claims it but was
        refused) or AccountDiscoveryError.
        """

    def account_of(self, change: SecretChange) -> Account | None:
        """The account whose credentials are the changed secret; None when the secret is not
        one of this fleet's. Never reads a value. Raise AccountDiscoveryError."""


class TokenInventory(Protocol):
    def read_all(self) -> dict[str, StoredToken]:
        """Every parameter under the path, by name: metadata only, in as few calls as the
        store allows. Raise TokenStoreReadError."""


class WorkerPool[R](Protocol):
    """Runs jobs in the background, a bounded number at once. Only the run that owns the pool
    starts jobs, so a free slot it waited for is still free when it starts one."""

    def wait_for_room(self) -> None:
        """Return once fewer jobs than the bound are running."""

    def start(self, job: Callable[[], R]) -> None:
        """Run ``job`` in a free slot; the slot frees when it ends."""

    def finish(self) -> list[R]:
        """Wait for every job started, and return their results in the order they started."""
