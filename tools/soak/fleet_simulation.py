"""A fleet soak: the real ``FleetRefresher`` keeps many JOOR accounts on the simulated clock.

The fakes are tools/soak/fakes.py's: each account has a store, a secret and a JOOR of its own, and
JOOR fails for one account at a time, in outages of its own at random moments (errors,
timeouts, refused connections, garbage); AWS throttles any call at random, for every account
alike (a failed listing fails the whole run). The real ``FleetRefresher`` runs every 15
minutes with the function's bounds: 4 logins in flight, 3 started a second, and the JOOR time
the function's timeout leaves after the reserve (refresher/timing.py).

``FleetRefresher`` runs its logins on the worker pool it is given (threads, in Lambda). Here
``SimulatedPool`` is that pool: each login runs whole when it is started, on its own view of
the simulated clock, and gives its slot back at the simulated moment it ended. So the bounds
act as they do in Lambda (a login stuck in timeouts holds one slot for its 15 s, the other
slots go on) and the same seed gives the same figures.

The guarantee is checked for each account: the least life a consumer could find on its
token (just before each replacement) against window - interval, counting only the stretches
when JOOR answered for that account.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from refresher.config import (
    DEFAULT_FLEET_LOGINS_IN_FLIGHT,
    DEFAULT_FLEET_LOGINS_PER_SECOND,
    DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS,
)
from refresher.domain.errors import (
    FleetRefreshError,
    RefreshError,
)
from refresher.domain.gate import GatePolicy
from refresher.domain.models import Account, FleetOutcome, RefreshRequest
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from tests.unit.fakes import FakeClock
from tools.soak.fakes import (
    START,
    Aws,
    Outage,
    OutageJoor,
    ThrottledDirectory,
    ThrottledInventory,
    ThrottledSecrets,
    ThrottledStore,
)
from tools.soak.simulation import (
    DAY,
    INTERVAL,
    LAMBDA_TIMEOUT,
    LIFETIME,
    RESERVED,
    WINDOW,
    Band,
    _hm,
    place_outages,
)

PATH = "/joor/soak-fleet"
POLICY = GatePolicy(
    window=timedelta(seconds=WINDOW),
    min_interval=timedelta(seconds=DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS),
)
ACCOUNTS = 100
# Each account's own outages, up to W - I: the longest one account can ride out (README).
OUTAGES = Band("per account, up to W-I", 300, WINDOW - INTERVAL - 1)
# What the AWS SDK does on a failed call attempt: the reasons a run or an account can fail
# because of AWS rather than JOOR.
AWS_REASONS = frozenset(
    {"account_discovery", "secret_unavailable", "token_store_read", "token_store_write"}
)


# --- concurrency on the simulated clock -----------------------------------------------


class TaskClock(FakeClock):
    """The simulated clock, seen from the run (``main``) or from the login running now."""

    def __init__(self) -> None:
        self._main = 0.0
        self._task: float | None = None
        super().__init__(START, mono=0.0)

    @property
    def t(self) -> float:  # type: ignore[override]
        return self._main if self._task is None else self._task

    @t.setter
    def t(self, value: float) -> None:
        if self._task is None:
            self._main = value
        else:
            self._task = value

    def begin_task(self) -> None:
        self._task = self._main

    def end_task(self) -> float:
        assert self._task is not None
        ended, self._task = self._task, None
        return ended


class SimulatedPool:
    """The fleet's worker pool on the simulated clock (the ``WorkerPool`` port): a login runs
    whole when it is started, on its own view of the clock, and holds its slot until the
    run's clock reaches the moment it ended. Waiting for room lets simulated time pass."""

    def __init__(self, clock: TaskClock, size: int) -> None:
        self.clock = clock
        self.size = size
        self.most_in_flight = 0
        self.started: list[float] = []  # when each job started, on the run's clock
        self._in_flight: list[tuple[float, int]] = []  # (ended at, start order)
        self._results: list[Any] = []

    def _settle(self) -> None:
        while self._in_flight and self._in_flight[0][0] <= self.clock.t:
            heapq.heappop(self._in_flight)

    def wait_for_room(self) -> None:
        self._settle()
        while len(self._in_flight) >= self.size:
            ended, _ = heapq.heappop(self._in_flight)
            self.clock.advance_to(ended)

    def start(self, job: Callable[[], Any]) -> None:
        assert len(self._in_flight) < self.size, "started without room"
        self.started.append(self.clock.t)
        self.clock.begin_task()
        try:
            self._results.append(job())
        finally:
            ended = self.clock.end_task()
        heapq.heappush(self._in_flight, (ended, len(self._results)))
        self.most_in_flight = max(self.most_in_flight, len(self._in_flight))

    def finish(self) -> list[Any]:
        while self._in_flight:
            ended, _ = heapq.heappop(self._in_flight)
            self.clock.advance_to(ended)
        return self._results


# --- one simulated fleet ----------------------------------------------------------------


@dataclass
class AccountFigures:
    parameter: str
    outages: list[Outage]
    writes: int
    # Least life left while JOOR answered for it, leaving aside the runs AWS failed.
    min_life_answering: float | None
    dips_answering: Counter[str]  # replacements below W - I while JOOR answered, by cause
    min_life: float  # least life left at all (negative: lapsed)
    lapsed_seconds: float
    worst_grid_margin: float | None  # as in simulation.py, over this account's outages


@dataclass
class FleetResult:
    accounts: int
    days: int
    seed: int
    logins_per_second: float
    figures: list[AccountFigures]
    runs: int
    failed_runs: Counter[str]  # whole runs that failed before any login (listing)
    account_failures: Counter[str]  # one account's refresh, by reason
    left_for_next_run: int
    runs_leaving_some: int
    most_due_in_a_run: int
    longest_run: float
    joor_calls: int
    forced_runs: int
    guarantee: float = WINDOW - INTERVAL
    slack: float = LAMBDA_TIMEOUT  # the replacing run's own time (simulation.py's allowance)

    @property
    def outages(self) -> list[Outage]:
        return [o for f in self.figures for o in f.outages]

    @property
    def min_life_answering(self) -> float:
        lives = [f.min_life_answering for f in self.figures if f.min_life_answering is not None]
        return min(lives)

    def accounts_held(self, causes: frozenset[str] = frozenset({"capacity", "other"})) -> int:
        """Accounts whose every replacement while JOOR answered came with at least W - I
        left (less the run's own time), leaving aside the dips of other ``causes``."""
        return sum(1 for f in self.figures if not any(f.dips_answering[c] for c in causes))

    @property
    def dips(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.figures:
            total.update(f.dips_answering)
        return total

    @property
    def lapsed_accounts(self) -> int:
        return sum(1 for f in self.figures if f.lapsed_seconds > 0)

    @property
    def worst_grid_margin(self) -> float | None:
        margins = [f.worst_grid_margin for f in self.figures if f.worst_grid_margin is not None]
        return min(margins) if margins else None

    @property
    def calls_per_account_day(self) -> float:
        return self.joor_calls / self.accounts / self.days


@dataclass
class _Events:
    """What the runs did, for telling a dip's cause afterwards."""

    run_failures: list[tuple[float, str]] = field(default_factory=list)
    account: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: defaultdict(list))


def simulate_fleet(
    days: int,
    seed: int,
    *,
    accounts: int = ACCOUNTS,
    band: Band = OUTAGES,
    aws_throttle: float = 0.1,
    logins_in_flight: int = DEFAULT_FLEET_LOGINS_IN_FLIGHT,
    logins_per_second: float = DEFAULT_FLEET_LOGINS_PER_SECOND,
    force_every: float = 3 * DAY,
) -> FleetResult:
    """``accounts`` accounts for ``days`` days. ``force_every``: an operator forces the whole
    fleet at a random moment in each such span (0: never)."""
    rng = random.Random(seed)
    clock = TaskClock()
    aws = Aws(random.Random(rng.random()), clock, aws_throttle)
    names = [f"{PATH}/brand-{i:03d}/access-token" for i in range(accounts)]
    stores = {n: ThrottledStore(clock=clock, parameter=n, aws=aws) for n in names}
    outages = {n: place_outages(random.Random(rng.random()), band, days) for n in names}
    joors = {
        n: OutageJoor(clock, rng=random.Random(rng.random()), outages=outages[n]) for n in names
    }
    secrets = {n: ThrottledSecrets(secret=f"joor/{n}", aws=aws) for n in names}
    refreshers = {
        n: TokenRefresher(
            store=stores[n],
            credentials=secrets[n],
            endpoint=joors[n],
            clock=clock,
            policy=POLICY,
            retry=RetryPolicy(rng=random.Random(rng.random())),
        )
        for n in names
    }
    pools: list[SimulatedPool] = []

    def pool_for(size: int) -> SimulatedPool:
        pools.append(SimulatedPool(clock, size))
        return pools[-1]

    fleet = FleetRefresher(
        path=PATH,
        directory=ThrottledDirectory(
            [Account(n, f"joor/{n}", "https://joor") for n in names],
            aws=aws,
            # As ListSecrets returns each secret with its tags: its current version and what
            # JOOR said to its last login, so a due account's login reads no more metadata.
            state_of=lambda account: secrets[account.parameter].state(),
        ),
        inventory=ThrottledInventory(stores, aws=aws),
        refresher_for=lambda account: refreshers[account.parameter],
        store_for=lambda name: stores[name],
        pool_for=pool_for,
        clock=clock,
        policy=POLICY,
        interval=timedelta(seconds=INTERVAL),
        logins_in_flight=logins_in_flight,
        logins_per_second=logins_per_second,
    )
    schedule = random.Random(rng.random())
    end = days * DAY
    forced = (
        [k * force_every + schedule.uniform(0, force_every) for k in range(int(end // force_every))]
        if force_every
        else []
    )
    events = _Events()
    stats: Counter[str] = Counter()
    most_due = 0
    longest = 0.0

    def run(force: bool) -> None:
        nonlocal most_due, longest
        started = clock.t
        stats["runs"] += 1
        try:
            outcome = fleet.run(
                RefreshRequest(force=force, operator=force), time_limit=LAMBDA_TIMEOUT - RESERVED
            )
        except FleetRefreshError as error:
            outcome = error.outcome
        except RefreshError as error:
            events.run_failures.append((started, error.reason))
            return
        finally:
            longest = max(longest, clock.t - started)
        assert isinstance(outcome, FleetOutcome)
        if not force:
            most_due = max(most_due, len(outcome.results) - outcome.count("skipped"))
        left = outcome.count("left_for_next_run")
        stats["left"] += left
        stats["runs_leaving_some"] += bool(left)
        for result in outcome.results:
            if result.status in ("failed", "left_for_next_run"):
                events.account[result.parameter].append((started, result.failure or "left"))

    tick = 0
    while (start := tick * INTERVAL) < end:
        tick += 1
        while forced and forced[0] < start:
            clock.advance_to(forced.pop(0))
            stats["forced"] += 1
            run(force=True)
        clock.advance_to(start)
        run(force=False)
    assert longest <= LAMBDA_TIMEOUT, f"a run took {longest:.1f} s, past the Lambda timeout"
    figures = [_account_figures(n, stores[n], outages[n], events, end) for n in names]
    return FleetResult(
        accounts=accounts,
        days=days,
        seed=seed,
        logins_per_second=logins_per_second,
        figures=figures,
        runs=stats["runs"],
        failed_runs=Counter(reason for _, reason in events.run_failures),
        account_failures=Counter(
            reason for items in events.account.values() for _, reason in items if reason != "left"
        ),
        left_for_next_run=stats["left"],
        runs_leaving_some=stats["runs_leaving_some"],
        most_due_in_a_run=most_due,
        longest_run=longest,
        joor_calls=sum(j.calls for j in joors.values()),
        forced_runs=stats["forced"],
    )


def _account_figures(
    name: str, store: ThrottledStore, outages: list[Outage], events: _Events, end: float
) -> AccountFigures:
    """Each replacement's low point (life left just before it), and why any fell short."""
    writes = [(t, (expires - START).total_seconds()) for t, expires in store.written]
    assert writes, f"{name}: no token was ever stored"
    answering: list[float] = []
    dips: Counter[str] = Counter()
    lapsed = 0.0
    min_life = math.inf
    for i, (_, expires) in enumerate(writes):
        until = writes[i + 1][0] if i + 1 < len(writes) else end
        life = expires - until
        min_life = min(min_life, life)
        lapsed += max(0.0, -life)
        due_since = expires - WINDOW  # from here, every run should have replaced it
        if any(o.start < until and o.end > due_since for o in outages):
            continue  # JOOR was failing for this account while its token was due
        if life < WINDOW - INTERVAL - LAMBDA_TIMEOUT:
            cause = _cause(name, due_since, until, events)
            dips[cause] += 1
            if cause == "aws":
                continue  # counted apart: AWS failed the run that was due
        answering.append(life)
    margins = []
    for outage in outages:
        index = next((i for i, (t, _) in enumerate(writes) if t >= outage.start), None)
        if index is None or index == 0:
            continue
        life = writes[index - 1][1] - writes[index][0]
        margins.append(life - (WINDOW - INTERVAL - math.ceil(outage.length / INTERVAL) * INTERVAL))
    return AccountFigures(
        parameter=name,
        outages=outages,
        writes=len(writes),
        min_life_answering=min(answering) if answering else None,
        dips_answering=dips,
        min_life=min_life,
        lapsed_seconds=lapsed,
        worst_grid_margin=min(margins) if margins else None,
    )


def _cause(name: str, since: float, until: float, events: _Events) -> str:
    """Why a token JOOR would have replaced waited: AWS failed the run or the account's
    calls, or the run had no time left for it (capacity), or nothing we know of (a bug)."""
    seen = {r for t, r in events.run_failures if since - INTERVAL < t < until}
    seen |= {r for t, r in events.account.get(name, []) if since - INTERVAL < t < until}
    if seen & AWS_REASONS:
        return "aws"
    if "left" in seen:
        return "capacity"
    return "other"


# --- the report -------------------------------------------------------------------------


def fleet_verdicts(result: FleetResult) -> list[str]:
    r = result
    held = r.accounts_held()
    outages = r.outages
    lengths = (
        f"{_hm(min(o.length for o in outages))}-{_hm(max(o.length for o in outages))}"
        if outages
        else "none"
    )
    dips = r.dips
    aws = (
        f"; {dips['aws']} replacements came an interval late because AWS failed"
        if dips["aws"]
        else ""
    )
    grid = "-" if r.worst_grid_margin is None else _hm(r.worst_grid_margin)
    return [
        f"- While JOOR answered for an account: {held} of {r.accounts} accounts always had at "
        f"least W-I = {_hm(r.guarantee)} left (less the replacing run's own time), the least "
        f"being {_hm(r.min_life_answering)}; {dips['capacity']} replacements waited for "
        f"lack of time in a run, {dips['other']} for no known reason{aws}.",
        f"- Each account's own JOOR outages ({len(outages)}, {lengths}, one account at a "
        f"time): {'no lapse' if not r.lapsed_accounts else f'{r.lapsed_accounts} accounts LAPSED'}"
        f"; worst margin against W-I-⌈L/I⌉·I: {grid}.",
        (
            "- One account's failures never held up another: no token"
            if not r.left_for_next_run
            else f"- {r.left_for_next_run} tokens, in {r.runs_leaving_some} runs, were"
        )
        + f" left for a later run in {r.runs} runs; at most {r.most_due_in_a_run} tokens due "
        f"in one scheduled run; the longest run took {r.longest_run:.0f} s of the "
        f"{LAMBDA_TIMEOUT:.0f} s timeout.",
    ]


def fleet_report(
    result: FleetResult, aws_throttle: float, capacity: list[FleetResult] | None = None
) -> str:
    r = result
    failed = ", ".join(f"{k} {v}" for k, v in sorted(r.failed_runs.items())) or "0"
    per_account = ", ".join(f"{k} {v}" for k, v in sorted(r.account_failures.items())) or "0"
    lines = [
        f"Fleet: {r.accounts} accounts for {r.days} days, seed {r.seed}: the real "
        f"FleetRefresher every {INTERVAL // 60} min, {DEFAULT_FLEET_LOGINS_IN_FLIGHT} logins "
        f"in flight, {r.logins_per_second:g} started a second, each account with JOOR "
        f"outages of its own ({OUTAGES.name}: {_hm(OUTAGES.low)} to {_hm(OUTAGES.high)}, "
        f"12-36 h apart), AWS call attempts throttled at random {aws_throttle:.0%} for all "
        f"of them, and {r.forced_runs} runs forcing the whole fleet at random moments.",
        "",
        *fleet_verdicts(r),
        "",
        "| accounts | runs | failed runs (listing) | failed account refreshes | left for a later "
        "run | least life while JOOR answered | accounts that lapsed | JOOR calls/account/day |",
        "|---|---|---|---|---|---|---|---|",
        f"| {r.accounts} | {r.runs} | {failed} | {per_account} | {r.left_for_next_run} | "
        f"{_hm(r.min_life_answering)} | {r.lapsed_accounts} | {r.calls_per_account_day:.2f} |",
    ]
    if capacity:
        lines += ["", *capacity_verdicts(capacity)]
    return "\n".join(lines)


def capacity_verdicts(results: list[FleetResult]) -> list[str]:
    rate = results[0].logins_per_second
    c = _capacity(rate)
    k = (LIFETIME - WINDOW) // INTERVAL
    lines = [
        f"Capacity, tested (no outages, no throttling, no forced runs, {results[0].days} days; "
        "the first runs find no token at all, as after a mass import): at "
        f"{rate:g} logins a second one run refreshes C = {c} tokens, so N · {INTERVAL} / "
        f"({LIFETIME} - {WINDOW}) ≤ C allows {k} · {c} = {k * c} accounts."
    ]
    for r in results:
        lines.append(
            f"- {r.accounts} accounts ({r.accounts / (k * c):.0%} of that): "
            f"{r.accounts_held()} kept the guarantee, least life while JOOR answered "
            f"{_hm(r.min_life_answering)}; {r.dips['capacity']} replacements waited for "
            f"lack of time; {r.left_for_next_run} tokens left for a later run."
        )
    return lines


def fleet_section(
    days: int,
    seed: int,
    aws_throttle: float,
    force_every: float,
    *,
    accounts: int = ACCOUNTS,
    capacity_rate: float = 0.1,
) -> str:
    """``make soak``'s fleet part: the fleet soak, then the capacity reasoning tested."""
    result = simulate_fleet(
        days, seed, accounts=accounts, aws_throttle=aws_throttle, force_every=force_every
    )
    return fleet_report(result, aws_throttle, capacity_check(days, seed, rate=capacity_rate))


def capacity_check(days: int, seed: int, rate: float) -> list[FleetResult]:
    """The capacity reasoning, tested: at ``rate`` logins a second one run does C logins; a
    fleet of at most (lifetime - window) / interval * C accounts keeps the guarantee, a
    larger one does not. No outages, no throttling, no forced runs: capacity alone."""
    runs_per_cycle = (LIFETIME - WINDOW) // INTERVAL
    capacity = _capacity(rate)
    sizes = (int(runs_per_cycle * capacity * 0.9), int(runs_per_cycle * capacity * 1.3))
    return [
        simulate_fleet(
            days,
            seed,
            accounts=size,
            band=Band("no outage", 0, 0),
            aws_throttle=0.0,
            logins_per_second=rate,
            force_every=0,
        )
        for size in sizes
    ]


def _capacity(rate: float) -> int:
    """Logins one run starts at ``rate`` a second: one at 0 s, then one per 1/rate s while at
    least 2 s (RetryPolicy.min_attempt_time) of the JOOR time (timeout less reserve) remain."""
    budget = LAMBDA_TIMEOUT - RESERVED - RetryPolicy().min_attempt_time
    return math.floor(budget * rate) + 1
