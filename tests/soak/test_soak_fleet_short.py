"""A short fleet soak in every `make test`: the real FleetRefresher over 100 accounts on the
simulated clock, each with JOOR outages of its own. The long one is `make soak`."""

from __future__ import annotations

import random
from datetime import timedelta

from refresher.domain.models import (
    Account,
    Credentials,
    FleetOutcome,
    IssuedToken,
    RefreshRequest,
    StoredToken,
)
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from tools.soak.fakes import (
    START,
    Aws,
    ThrottledDirectory,
    ThrottledInventory,
    ThrottledSecrets,
    ThrottledStore,
)
from tools.soak.fleet_simulation import (
    PATH,
    POLICY,
    SimulatedPool,
    TaskClock,
    capacity_check,
    fleet_report,
    simulate_fleet,
)
from tools.soak.simulation import INTERVAL, LAMBDA_TIMEOUT, WINDOW

DAYS = 10


def test_every_account_keeps_the_guarantee_while_joor_answers_for_it() -> None:
    # No AWS throttling: any replacement that came late would be the fleet's doing.
    result = simulate_fleet(DAYS, 1, aws_throttle=0.0)

    assert result.outages, "the accounts must actually have outages"
    assert result.account_failures["joor_unavailable"] > 0  # and the runs met them
    assert result.accounts_held() == result.accounts == 100
    assert sum(result.dips.values()) == 0
    assert result.min_life_answering >= WINDOW - INTERVAL - LAMBDA_TIMEOUT
    assert result.left_for_next_run == 0
    # Outages up to W - I never let a token lapse: the single account's bound, per account.
    assert result.lapsed_accounts == 0
    assert result.worst_grid_margin is not None
    assert result.worst_grid_margin >= -LAMBDA_TIMEOUT


def test_with_aws_throttling_only_the_runs_aws_failed_come_late() -> None:
    result = simulate_fleet(DAYS, 2, aws_throttle=0.1)

    assert result.dips["capacity"] == 0
    assert result.dips["other"] == 0
    assert result.lapsed_accounts == 0
    assert result.min_life_answering >= WINDOW - INTERVAL - LAMBDA_TIMEOUT


def test_the_same_seed_gives_the_same_figures() -> None:
    first = simulate_fleet(2, 5, accounts=20)
    again = simulate_fleet(2, 5, accounts=20)

    assert first == again
    assert first.joor_calls > 0


def test_a_fleet_within_the_capacity_keeps_the_guarantee_and_a_larger_one_does_not() -> None:
    # At 0.1 logins a second one run of 100 s (66 s of JOOR time) refreshes 7 tokens;
    # 28 * 7 = 196 accounts is the most the reasoning allows. 90 % of that holds; 130 % falls
    # behind, and shows it.
    within, beyond = capacity_check(3, 1, rate=0.1)

    assert within.accounts == 176
    assert within.accounts_held() == within.accounts
    assert within.min_life_answering >= WINDOW - INTERVAL - LAMBDA_TIMEOUT
    assert beyond.accounts == 254
    assert beyond.dips["capacity"] > 0
    assert beyond.accounts_held() < beyond.accounts


def paced_run(
    login_seconds: list[float], *, in_flight: int, per_second: float
) -> tuple[list[float], SimulatedPool, FleetOutcome]:
    """Due accounts whose logins take these many seconds, in that order of urgency, run by
    the real FleetRefresher on the simulated pool: when each login started, the pool, the run."""
    clock = TaskClock()
    aws = Aws(random.Random(1), clock, throttle=0.0)
    # Less life left, more urgent: the accounts are taken in the order given.
    names = [f"/joor/soak-fleet/{i:02d}/access-token" for i in range(len(login_seconds))]
    stores = {n: ThrottledStore(clock=clock, parameter=n, aws=aws) for n in names}
    for i, store in enumerate(stores.values()):
        store.stored = StoredToken(True, START + timedelta(seconds=60 + i), 1, START)
    started: list[float] = []

    class TimedJoor:
        def __init__(self, seconds: float) -> None:
            self.seconds = seconds

        def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
            started.append(clock.t)
            issued = clock.now()
            clock.sleep(self.seconds)
            return IssuedToken("token", issued + timedelta(hours=10), timedelta(hours=10))

    joors = dict(zip(names, map(TimedJoor, login_seconds), strict=True))

    def refresher_for(account: Account) -> TokenRefresher:
        return TokenRefresher(
            store=stores[account.parameter],
            credentials=ThrottledSecrets(aws=aws),
            endpoint=joors[account.parameter],
            clock=clock,
            policy=POLICY,
            retry=RetryPolicy(rng=random.Random(1)),
        )

    pools: list[SimulatedPool] = []
    fleet = FleetRefresher(
        path=PATH,
        directory=ThrottledDirectory([Account(n, n, "https://joor") for n in names], aws=aws),
        inventory=ThrottledInventory(stores, aws=aws),
        refresher_for=refresher_for,
        store_for=lambda n: stores[n],
        pool_for=lambda size: pools.append(SimulatedPool(clock, size)) or pools[-1],
        clock=clock,
        policy=POLICY,
        interval=timedelta(seconds=INTERVAL),
        logins_in_flight=in_flight,
        logins_per_second=per_second,
    )
    outcome = fleet.run(RefreshRequest(), time_limit=58.0)
    assert isinstance(outcome, FleetOutcome)
    return started, pools[0], outcome


def test_the_simulated_pool_keeps_the_bound_on_logins_in_flight() -> None:
    # 12 due accounts, logins of 10 s each, 4 in flight: three waves, over at 30 s.
    started, pool, outcome = paced_run([10.0] * 12, in_flight=4, per_second=1000)

    assert outcome.count("refreshed") == 12
    assert pool.most_in_flight == 4
    assert sorted(round(t) for t in started) == [0] * 4 + [10] * 4 + [20] * 4


def test_with_several_in_flight_each_start_waits_for_its_slot_and_its_turn() -> None:
    # Two a second, three at once, logins of 2 s: three starts half a second apart, then each
    # freed slot is taken at once (the spacing has passed by then).
    _, pool, _ = paced_run([2.0] * 6, in_flight=3, per_second=2)

    # A login's slot frees a few simulated AWS calls after JOOR's 2 s (the fakes' latency).
    starts = [t - pool.started[0] for t in pool.started]
    assert [round(t, 1) for t in starts[:3]] == [0.0, 0.5, 1.0]
    assert [round(b - a, 1) for a, b in zip(starts[:3], starts[3:], strict=True)] == [2.1] * 3
    assert pool.most_in_flight == 3


def test_after_a_slow_login_the_next_ones_keep_their_spacing_from_then() -> None:
    # One at a time, two a second: the second starts when the slow first ends, and the third
    # half a second after the second, not at once to catch up.
    _, pool, _ = paced_run([3.0, 0.1, 0.1, 0.1], in_flight=1, per_second=2)

    gaps = [round(b - a, 1) for a, b in zip(pool.started, pool.started[1:], strict=False)]
    assert gaps[0] >= 3.0
    assert gaps[1:] == [0.5, 0.5]


def test_the_report_names_the_accounts_and_the_verdicts() -> None:
    result = simulate_fleet(2, 7, accounts=10, aws_throttle=0.1)

    text = fleet_report(result, 0.1, capacity_check(1, 7, rate=0.1))

    assert "Fleet: 10 accounts for 2 days, seed 7" in text
    assert "While JOOR answered for an account:" in text
    assert "| 10 | " in text
    assert "allows 28 · 7 = 196 accounts" in text
    assert "- 176 accounts (90% of that)" in text
