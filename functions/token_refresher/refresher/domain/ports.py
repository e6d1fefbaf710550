"""The outside systems the refresher talks to, as the domain sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from refresher.domain.models import Credentials, Discovery, IssuedToken, StoredToken


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines."""

    def sleep(self, seconds: float) -> None: ...


class CredentialsSource(Protocol):
    def load(self) -> Credentials:
        """Raise SecretUnavailableError or SecretMalformedError."""


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


class TokenInventory(Protocol):
    @property
    def path(self) -> str: ...

    def read_all(self) -> dict[str, StoredToken]:
        """Every parameter under the path, by name: metadata only, in as few calls as the
        store allows. Raise TokenStoreReadError."""
