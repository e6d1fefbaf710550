"""One account, or a fleet, behind the function's real handler on the simulated clock.

A world holds the soak's fakes of the outside systems (tools/soak/fakes.py) for each account
(its secret, its JOOR, its stored token), the real refresher over them, and the handler
(tools/soak/function.py). ``Timeline`` plays scheduled runs every interval and whatever else
happens at given moments (a password changed on JOOR's side, a secret saved and its change
event delivered, a consumer's request), in order of time, one invocation after another as
the function's reserved concurrency of one runs them.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count

from refresher.config import (
    DEFAULT_FLEET_LOGINS_IN_FLIGHT,
    DEFAULT_FLEET_LOGINS_PER_SECOND,
)
from refresher.domain.models import Account, StoredToken
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from tests.unit.fakes import FakeClock
from tools.soak.fakes import (
    LIFETIME,
    START,
    AccountJoor,
    Aws,
    ForgetfulSecret,
    ThrottledDirectory,
    ThrottledInventory,
    ThrottledStore,
    VersionedSecret,
    soak_clock,
)
from tools.soak.fleet_simulation import PATH, POLICY, SimulatedPool, TaskClock
from tools.soak.function import ACCOUNT_ID, REGION, Invocation, SimulatedFunction
from tools.soak.simulation import INTERVAL, WINDOW

PARAMETER = "/joor/soak/access-token"
SECRET_NAME = "joor/soak/api-credentials"  # noqa: S105 - a name, not a value
# Event delivery: EventBridge hands a Secret Label Updated event to the function within seconds.
EVENT_DELAY = (1.0, 10.0)


def secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}-AbCdEf"


@dataclass
class SimulatedAccount:
    """One JOOR account's outside systems."""

    parameter: str
    secret: VersionedSecret
    joor: AccountJoor
    store: ThrottledStore
    versions: list[str] = field(default_factory=lambda: ["v1"])  # every version saved

    def save(self, version: str) -> None:
        self.secret.save(version)
        self.versions.append(version)

    def secret_values(self) -> list[str]:
        """Its credentials and every token it was given: what must never be printed."""
        return self.secret.secret_values(self.versions) + [
            t.access_token for t in self.store.writes
        ]

    def refresher(self, clock: FakeClock, rng: random.Random) -> TokenRefresher:
        """The function's refresher for this account, with the stack's policy."""
        return TokenRefresher(
            store=self.store,
            credentials=self.secret,
            endpoint=self.joor,
            clock=clock,
            policy=POLICY,
            retry=RetryPolicy(rng=random.Random(rng.random())),
        )


def _account(
    parameter: str,
    name: str,
    clock: FakeClock,
    aws: Aws,
    rng: random.Random,
    *,
    forgetful: bool = False,
) -> SimulatedAccount:
    kind = ForgetfulSecret if forgetful else VersionedSecret
    secret = kind(secret=secret_arn(name), name=name, version="v1", aws=aws)
    joor = AccountJoor(clock, rng=random.Random(rng.random()), outages=[], accepted={"v1"})
    store = ThrottledStore(clock=clock, parameter=parameter, aws=aws)
    return SimulatedAccount(parameter, secret, joor, store)


@dataclass
class SingleWorld:
    clock: FakeClock
    account: SimulatedAccount
    refresher: TokenRefresher
    function: SimulatedFunction


def single_world(seed: int, *, aws_throttle: float = 0.1, forgetful: bool = False) -> SingleWorld:
    """One JOOR account (CredentialsSecretArn), the default schedule and window."""
    rng = random.Random(seed)
    clock = soak_clock()
    aws = Aws(random.Random(rng.random()), clock, aws_throttle)
    account = _account(PARAMETER, SECRET_NAME, clock, aws, rng, forgetful=forgetful)
    refresher = account.refresher(clock, rng)
    return SingleWorld(clock, account, refresher, SimulatedFunction(refresher, clock))


@dataclass
class FleetWorld:
    clock: TaskClock
    accounts: dict[str, SimulatedAccount]  # by parameter
    directory: ThrottledDirectory
    refresher: FleetRefresher
    function: SimulatedFunction

    def named(self, index: int) -> SimulatedAccount:
        return self.accounts[fleet_parameter(index)]


def fleet_parameter(index: int) -> str:
    return f"{PATH}/brand-{index:03d}/access-token"


def fleet_world(
    seed: int,
    accounts: int,
    *,
    aws_throttle: float = 0.1,
    logins_per_second: float = DEFAULT_FLEET_LOGINS_PER_SECOND,
    spread_tokens: bool = False,
) -> FleetWorld:
    """A fleet (TokenParameterPath) of tagged secrets, listed with what JOOR said to each one's
    last login as the tags tell it. ``spread_tokens``: every account starts with a token,
    their expiries spread evenly over the part of a lifetime outside the window (a fleet
    running for a while), instead of none (a mass import)."""
    rng = random.Random(seed)
    clock = TaskClock()
    aws = Aws(random.Random(rng.random()), clock, aws_throttle)
    found = {
        fleet_parameter(i): _account(
            fleet_parameter(i), f"joor/soak-fleet/brand-{i:03d}", clock, aws, rng
        )
        for i in range(accounts)
    }
    if spread_tokens:
        usable = LIFETIME - WINDOW
        for i, account in enumerate(found.values()):
            expires = START + timedelta(seconds=WINDOW + (i + 0.5) * usable / accounts)
            written = expires - timedelta(seconds=LIFETIME)
            account.store.stored = StoredToken(True, expires, 1, written)
    refreshers = {name: a.refresher(clock, rng) for name, a in found.items()}
    directory = ThrottledDirectory(
        [Account(n, a.secret.secret_id, "https://joor") for n, a in found.items()],
        aws=aws,
        # What ListSecrets returns with each secret's tags: its current version and the record.
        state_of=lambda account: found[account.parameter].secret.state(),
    )
    fleet = FleetRefresher(
        path=PATH,
        directory=directory,
        inventory=ThrottledInventory({n: a.store for n, a in found.items()}, aws=aws),
        refresher_for=lambda account: refreshers[account.parameter],
        store_for=lambda name: found[name].store,
        pool_for=lambda size: SimulatedPool(clock, size),
        clock=clock,
        policy=POLICY,
        interval=timedelta(seconds=INTERVAL),
        logins_in_flight=DEFAULT_FLEET_LOGINS_IN_FLIGHT,
        logins_per_second=logins_per_second,
    )
    return FleetWorld(clock, found, directory, fleet, SimulatedFunction(fleet, clock))


class Timeline:
    """Scheduled runs every interval from 0, and other moments' actions, in time order."""

    def __init__(self, clock: FakeClock, function: SimulatedFunction, seed: int) -> None:
        self.clock = clock
        self.function = function
        self.rng = random.Random(seed)
        self._queue: list[tuple[float, int, Callable[[], object]]] = []
        self._order = count()
        self._next_run = 0.0

    def at(self, t: float, action: Callable[[], object]) -> None:
        heapq.heappush(self._queue, (t, next(self._order), action))

    def save_secret(self, t: float, account: SimulatedAccount, version: str) -> float:
        """The operator saves a new value at ``t``; its change event reaches the function
        within seconds. Returns when the event is delivered."""
        self.at(t, lambda: account.save(version))
        delivered = t + self.rng.uniform(*EVENT_DELAY)
        secret = account.secret
        self.at(
            delivered, lambda: self.function.secret_changed(secret.secret, secret.name, version)
        )
        return delivered

    def run_until(self, end: float) -> None:
        while True:
            pending = self._queue[0][0] if self._queue else end
            if self._next_run <= pending and self._next_run < end:
                self.clock.advance_to(self._next_run)
                self._next_run += INTERVAL
                self.function.schedule()
                continue
            if not self._queue or pending >= end:
                break
            _, _, action = heapq.heappop(self._queue)
            self.clock.advance_to(pending)
            action()
        self.clock.advance_to(end)

    def invocations(self, kind: str | None = None) -> list[Invocation]:
        return [i for i in self.function.invocations if kind is None or i.kind == kind]
