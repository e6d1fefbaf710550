"""The settings and the worlds the unit tests share: one account's TokenRefresher, and a
fleet's FleetRefresher, over the in-memory fakes; and what a stored token looks like at a
given age and life left."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from refresher.adapters.thread_pool import ThreadWorkerPool
from refresher.domain.gate import GatePolicy
from refresher.domain.models import (
    Account,
    Credentials,
    CredentialState,
    FleetOutcome,
    LoginRecord,
    RefreshOutcome,
    RefreshRequest,
    SecretChange,
    StoredToken,
)
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from tests.unit.fakes import (
    START,
    FakeClock,
    FakeCredentials,
    FakeDirectory,
    FakeEndpoint,
    FakeInventory,
    FakeStore,
)

WINDOW = timedelta(hours=3)
MIN_AGE = timedelta(minutes=5)
POLICY = GatePolicy(window=WINDOW, min_interval=MIN_AGE)
PARAMETER = "/joor/test/access-token"


@contextmanager
def machine_zone(zone: str) -> Iterator[None]:
    """The machine's local time zone is ``zone`` (a POSIX TZ string) inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", zone)
        time.tzset()
        try:
            yield
        finally:
            patch.undo()
            time.tzset()


def stored_with(seconds_left: float, version: int = 4, written_ago: float = 3600.0) -> StoredToken:
    return StoredToken(
        exists=True,
        expires_at=START + timedelta(seconds=seconds_left),
        version=version,
        last_modified=START - timedelta(seconds=written_ago),
    )


class World:
    """One account: a store, a secret, a JOOR, and the refresher over them."""

    def __init__(self, stored: StoredToken | None = None, retry: RetryPolicy | None = None) -> None:
        self.clock = FakeClock()
        self.store = FakeStore(stored=stored or StoredToken(exists=False), clock=self.clock)
        self.credentials = FakeCredentials()
        self.endpoint = FakeEndpoint(self.clock)
        self.retry = retry or RetryPolicy(rng=random.Random(7))
        self.refresher = self.build()

    def build(self) -> TokenRefresher:
        return TokenRefresher(
            store=self.store,
            credentials=self.credentials,
            endpoint=self.endpoint,
            clock=self.clock,
            policy=POLICY,
            retry=self.retry,
        )

    def run(
        self, force: bool = False, time_limit: float = 82.0, **request: object
    ) -> RefreshOutcome:
        """A consumer's (or the schedule's) request; ``operator=True`` for an operator's."""
        outcome = self.refresher.run(
            RefreshRequest(force=force, **request),  # type: ignore[arg-type]
            time_limit=time_limit,
        )
        assert isinstance(outcome, RefreshOutcome)
        return outcome

    def secret_saved(self, version: str) -> RefreshOutcome:
        """A new value saved in the secret, and the event that says so."""
        self.credentials.change(version)
        change = SecretChange(
            f"arn:aws:secretsmanager:eu-west-1:1:secret:{self.credentials.secret}-AbCdEf",
            self.credentials.secret,
            version,
        )
        outcome = self.refresher.run(RefreshRequest(secret_change=change), time_limit=82.0)
        assert isinstance(outcome, RefreshOutcome)
        return outcome


INTERVAL = timedelta(minutes=15)
PATH = "/joor/fleet"


def name(i: int) -> str:
    return f"{PATH}/brand-{i}/access-token"


def stored(seconds_left: float, version: int = 3, written_ago: float = 7200) -> StoredToken:
    return stored_with(seconds_left, version, written_ago)


class Fleet:
    """Accounts brand-0, brand-1, ... each with a store and a secret, one JOOR, and the fleet
    refresher over them on real threads. ``logins`` lists the accounts whose value was read,
    in order."""

    def __init__(
        self, lives: list[float | None], *, in_flight: int = 1, per_second: float = 1000.0
    ) -> None:
        self.clock = FakeClock()
        self.stores = {
            name(i): FakeStore(
                stored=StoredToken(exists=False) if life is None else stored(life),
                clock=self.clock,
                parameter=name(i),
            )
            for i, life in enumerate(lives)
        }
        self.credentials = {n: FakeCredentials(secret=f"secret-{n}") for n in self.stores}
        self.endpoint = FakeEndpoint(self.clock)
        self.configured: set[str] = set()
        self.directory = FakeDirectory(
            [Account(n, f"secret-{n}", "https://joor") for n in self.stores],
            state_of=self.listed_state,
        )
        self.inventory = FakeInventory(self.stores)
        self.logins: list[str] = []
        self.fleet = FleetRefresher(
            path=PATH,
            directory=self.directory,
            inventory=self.inventory,
            refresher_for=self.refresher_for,
            store_for=lambda n: self.stores.get(n) or FakeStore(parameter=n),
            pool_for=ThreadWorkerPool,
            clock=self.clock,
            policy=POLICY,
            interval=INTERVAL,
            logins_in_flight=in_flight,
            logins_per_second=per_second,
        )

    def listed_state(self, account: Account) -> CredentialState | None:
        """What the listing says of an account's credentials: nothing for the account the
        configuration names (``configured``), whose login reads its secret's metadata itself."""
        if account.parameter in self.configured:
            return None
        return self.credentials[account.parameter].state()

    def refresher_for(self, account: Account) -> TokenRefresher:
        return TokenRefresher(
            store=self.stores[account.parameter],
            credentials=_Listed(self, account),
            endpoint=self.endpoint,
            clock=self.clock,
            policy=POLICY,
            retry=RetryPolicy(rng=random.Random(3)),
        )

    def run(self, time_limit: float = 58.0, **request: object) -> FleetOutcome:
        """A run over every account; ``force=True`` needs ``operator=True``."""
        outcome = self.fleet.run(RefreshRequest(**request), time_limit=time_limit)  # type: ignore[arg-type]
        assert isinstance(outcome, FleetOutcome)
        return outcome

    def one(self, time_limit: float = 58.0, **request: object) -> RefreshOutcome:
        """A run for the one account ``parameter`` names."""
        outcome = self.fleet.run(RefreshRequest(**request), time_limit=time_limit)  # type: ignore[arg-type]
        assert isinstance(outcome, RefreshOutcome)
        return outcome


class _Listed:
    """An account's secret as the fleet sees it: its metadata from the listing, when listed
    (as SecretsManagerCredentials does), its value and records from the account's fake."""

    def __init__(self, fleet: Fleet, account: Account) -> None:
        self._fleet = fleet
        self._account = account
        self._fake = fleet.credentials[account.parameter]

    @property
    def secret_id(self) -> str:
        return self._account.secret_id

    def describe(self) -> CredentialState:
        if self._account.credentials is not None:
            return self._account.credentials
        return self._fake.describe()

    def load(self) -> Credentials:
        self._fleet.logins.append(self._account.parameter)
        return self._fake.load()

    def record(self, record: LoginRecord) -> None:
        self._fake.record(record)
