"""A fleet run over many accounts, with in-memory fakes: each account by the single account's
rules, failures isolated, the most urgent first, paced, and bounded by the time it has."""

from __future__ import annotations

import threading
import time

import pytest

from refresher.domain.errors import (
    CredentialsRejectedError,
    FleetRefreshError,
    InvalidEventError,
    UnknownAccountError,
)
from refresher.domain.models import (
    Account,
    Credentials,
    FleetOutcome,
    IssuedToken,
    Refusal,
)
from refresher.service_layer.account import TokenRefresher
from tests.unit.fakes import FakeCredentials, FakeEndpoint, transient
from tests.unit.worlds import INTERVAL, PATH, WINDOW, Fleet, name, stored


def test_a_fleet_whose_tokens_are_all_fresh_reads_no_secret_and_calls_no_one() -> None:
    fleet = Fleet([30000.0] * 5)

    outcome = fleet.run()

    assert outcome.count("skipped") == 5
    assert fleet.directory.calls == 1
    assert fleet.inventory.calls == 1
    assert fleet.logins == []
    assert fleet.endpoint.calls == 0
    assert all(s.reads == 0 for s in fleet.stores.values())  # one listing, no per-token read


def test_only_the_due_tokens_are_refreshed_and_each_result_is_named_by_its_parameter() -> None:
    fleet = Fleet([30000.0, 60.0, None, 20000.0])

    outcome = fleet.run()

    summary = outcome.summary()
    outcomes = summary["outcomes"]
    assert isinstance(outcomes, dict)
    assert {p: o["result"] for p, o in outcomes.items()} == {
        name(0): "skipped",
        name(1): "refreshed",
        name(2): "refreshed",
        name(3): "skipped",
    }
    assert outcomes[name(1)]["reason"] == "expiring"
    assert outcomes[name(2)]["reason"] == "missing"
    assert summary["refreshed"] == 2
    assert summary["failed"] == 0
    assert fleet.stores[name(1)].stored.version == 4


def test_the_most_urgent_tokens_are_refreshed_first() -> None:
    fleet = Fleet([9000.0, 60.0, None, 4000.0])

    fleet.run()

    assert fleet.logins == [name(2), name(1), name(3), name(0)]


def test_one_account_failing_does_not_stop_the_others_and_fails_the_run_after_them() -> None:
    fleet = Fleet([60.0, 60.0, 60.0])
    fleet.credentials[name(1)].fail = CredentialsRejectedError(
        401, "invalid_grant", "Invalid user credentials"
    )
    before = fleet.stores[name(1)].stored

    with pytest.raises(FleetRefreshError) as caught:
        fleet.run()

    outcome = caught.value.outcome
    assert isinstance(outcome, FleetOutcome)
    assert outcome.count("refreshed") == 2
    assert [r.parameter for r in outcome.failed] == [name(1)]
    assert outcome.failed[0].failure == "credentials_rejected"
    assert fleet.stores[name(1)].stored == before
    assert fleet.stores[name(1)].writes == []
    assert str(caught.value).startswith("1 of 3 accounts failed, the others were served: ")
    assert name(1) in str(caught.value)


def test_a_bug_in_one_account_is_reported_as_unexpected_and_the_others_go_on() -> None:
    fleet = Fleet([60.0, 60.0])
    fleet.stores[name(0)].fail_write = None

    def broken(account: Account) -> TokenRefresher:
        if account.parameter == name(0):
            raise KeyError("boom")
        return Fleet.refresher_for(fleet, account)

    fleet.fleet._refresher_for = broken  # type: ignore[method-assign]

    with pytest.raises(FleetRefreshError) as caught:
        fleet.run()

    outcome = caught.value.outcome
    assert isinstance(outcome, FleetOutcome)
    assert [r.failure for r in outcome.failed] == ["unexpected"]
    assert "boom" not in str(caught.value)
    assert outcome.count("refreshed") == 1


def test_what_the_time_cannot_fit_is_left_for_the_next_run_and_counted() -> None:
    fleet = Fleet([60.0] * 10)
    fleet.endpoint.time_per_call = 5.0

    outcome = fleet.run(time_limit=20.0)

    assert outcome.count("refreshed") == 4  # at 0, 5, 10 and 15 s; at 20 s no time is left
    assert outcome.count("left_for_next_run") == 6
    assert outcome.summary()["left_for_next_run"] == 6
    assert outcome.failed == ()
    left = [r for r in outcome.results if r.left_for_next_run]
    assert all(fleet.stores[r.parameter].writes == [] for r in left)


def fleet_whose_secret_reads_take(seconds: float, *, accounts: int) -> Fleet:
    """Every account's token inside the window (60 s left), each secret read taking ``seconds``."""
    fleet = Fleet([60.0] * accounts)

    class SlowSecret(FakeCredentials):
        def load(self) -> Credentials:
            fleet.clock.advance(seconds)
            return super().load()

    for parameter in fleet.stores:
        fleet.credentials[parameter] = SlowSecret()
    return fleet


def test_a_login_whose_secret_read_left_no_time_for_joor_is_left_for_the_next_run() -> None:
    # Each secret read takes 1 s. The second login starts with 2.4 s left, enough to start
    # (2 s), but after its secret read only 1.4 s remain: too little for one JOOR attempt.
    # Nothing failed, JOOR was not even asked: the token waits for the next run.
    fleet = fleet_whose_secret_reads_take(1.0, accounts=3)

    outcome = fleet.run(time_limit=3.5)

    assert outcome.count("refreshed") == 1
    assert outcome.count("left_for_next_run") == 2
    assert outcome.failed == ()
    assert fleet.endpoint.calls == 1


def test_an_account_whose_joor_keeps_timing_out_cannot_hold_a_slot_the_others_need() -> None:
    # One login at a time. The two most urgent accounts' JOOR never answers (each attempt
    # costs its whole 10 s timeout); with the single account's retries they would take the
    # run's 58 s between them and leave the three healthy accounts for the next run.
    fleet = Fleet([None, None, 60.0, 60.0, 60.0])
    hanging = FakeEndpoint(fleet.clock)
    hanging.script.extend([transient("no answer from JOOR within 10.0 s")] * 20)
    hanging.time_per_call = 10.0

    def refresher_for(account: Account) -> TokenRefresher:
        refresher = Fleet.refresher_for(fleet, account)
        if account.parameter in (name(0), name(1)):
            refresher._endpoint = hanging
        return refresher

    fleet.fleet._refresher_for = refresher_for  # type: ignore[method-assign]

    with pytest.raises(FleetRefreshError) as caught:
        fleet.run(time_limit=58.0)

    outcome = caught.value.outcome
    assert isinstance(outcome, FleetOutcome)
    assert [r.parameter for r in outcome.failed] == [name(0), name(1)]
    assert outcome.count("refreshed") == 3
    assert outcome.count("left_for_next_run") == 0
    assert hanging.timeouts[0] == 10.0  # each hanging account still had a real attempt
    # Each account's JOOR exchange ends at its 15 s cap: a whole first attempt, then a second
    # cut to what is left after it and the pause between them.
    assert 14.0 < hanging.timeouts[0] + hanging.timeouts[1] < 15.0
    assert len(hanging.timeouts) == 4


def test_logins_start_no_faster_than_the_configured_rate() -> None:
    fleet = Fleet([60.0] * 4, per_second=2.0)
    fleet.endpoint.time_per_call = 0.1

    fleet.run()

    # Each login takes 0.1 s; the next may start 0.5 s after the previous one started.
    assert fleet.clock.slept == pytest.approx([0.4, 0.4, 0.4])


def test_no_more_logins_are_in_flight_than_the_bound() -> None:
    fleet = Fleet([60.0] * 12, in_flight=3)
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    original = fleet.endpoint.request_token

    def slow(credentials: Credentials, timeout: float) -> IssuedToken:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)  # real time, so that logins overlap; nothing here measures it
        with lock:
            state["now"] -= 1
            return original(credentials, timeout)

    fleet.endpoint.request_token = slow  # type: ignore[method-assign]

    outcome = fleet.run()

    assert outcome.count("refreshed") == 12
    assert 1 < state["most"] <= 3


def test_an_operator_force_replaces_every_token_without_listing_them_first() -> None:
    fleet = Fleet([30000.0, 30000.0])

    outcome = fleet.run(force=True, operator=True)

    assert outcome.count("refreshed") == 2
    assert fleet.inventory.calls == 0
    assert [(r.outcome.reason, r.outcome.forced) for r in outcome.results if r.outcome] == [
        ("forced", True),
        ("forced", True),
    ]


def test_refused_secrets_are_reported_and_the_others_served() -> None:
    fleet = Fleet([60.0])
    fleet.directory.refused.append(Refusal("joor/elsewhere", "its tag names '/other', outside"))

    outcome = fleet.run()

    assert outcome.count("refreshed") == 1
    assert outcome.summary()["refused"] == [
        {"secret": "joor/elsewhere", "problem": "its tag names '/other', outside"}
    ]


def test_a_parameter_no_secret_claims_is_listed_and_announced_once_when_it_falls_due() -> None:
    fleet = Fleet([30000.0])
    orphan = f"{PATH}/gone/access-token"
    window = WINDOW.total_seconds()

    announced = []
    for left in (window + 1, window - 1, window - INTERVAL.total_seconds() - 1):
        fleet.inventory.extra[orphan] = stored(left)
        outcome = fleet.run()
        assert outcome.unclaimed == (orphan,)
        announced.append(len(outcome.warnings))

    assert announced == [0, 1, 0]
    fleet.inventory.extra[orphan] = stored(window - 1)
    assert "no longer refreshed" in fleet.run().warnings[0]
    assert all(fleet.stores[n].writes == [] for n in fleet.stores)


def test_the_least_life_left_across_the_fleet_is_reported() -> None:
    fleet = Fleet([30000.0, 20000.0, 15000.0])

    outcome = fleet.run()

    assert outcome.least_seconds_left == 15000.0


# --- an event naming one parameter ----------------------------------------------------


def test_a_report_of_a_replaced_version_costs_one_read_and_no_discovery() -> None:
    fleet = Fleet([30000.0, 30000.0])

    outcome = fleet.one(force=True, seen_version=2, parameter=name(1))

    assert not outcome.refreshed  # type: ignore[union-attr]
    assert outcome.summary()["reason"] == "already_replaced"
    assert outcome.forced is True
    assert fleet.stores[name(1)].reads == 1
    assert fleet.directory.calls == 0
    assert fleet.logins == []


def test_a_report_of_the_stored_version_refreshes_that_account_only() -> None:
    fleet = Fleet([30000.0, 30000.0])

    outcome = fleet.one(force=True, seen_version=3, parameter=name(1))

    assert outcome.summary()["reason"] == "rejected"
    assert outcome.summary()["version"] == 4
    assert fleet.logins == [name(1)]
    assert fleet.stores[name(0)].writes == []


def test_an_operator_force_of_one_parameter_refreshes_it() -> None:
    fleet = Fleet([30000.0, 30000.0])

    outcome = fleet.one(force=True, parameter=name(0))

    assert outcome.summary()["reason"] == "forced"
    assert fleet.logins == [name(0)]


@pytest.mark.parametrize(
    "parameter",
    ["/joor/other/token", "/joor/fleetx/access-token", "/joor/fleet", "/joor/fleet-b/token"],
)
def test_a_parameter_outside_the_path_is_refused_before_any_call(parameter: str) -> None:
    fleet = Fleet([30000.0])

    with pytest.raises(InvalidEventError, match=r"outside this fleet's path /joor/fleet/"):
        fleet.one(force=True, seen_version=3, parameter=parameter)
    assert fleet.directory.calls == 0


def test_a_parameter_no_secret_claims_is_an_unknown_account() -> None:
    fleet = Fleet([30000.0])

    with pytest.raises(UnknownAccountError, match="No secret tagged for parameter"):
        fleet.one(force=True, parameter=f"{PATH}/nobody/access-token")


def test_seen_version_without_a_parameter_is_refused_in_a_fleet() -> None:
    fleet = Fleet([30000.0])

    with pytest.raises(InvalidEventError, match="needs 'parameter' in a fleet"):
        fleet.one(force=True, seen_version=3)


def test_an_account_whose_joor_failed_and_whose_retry_no_longer_fits_is_failed_not_left() -> None:
    # The wait before a retry ran over (a sleep is never exact): the retry no longer fits.
    # JOOR was asked and failed, so the account failed; "left for the next run" is only for
    # an account JOOR was never asked about.
    fleet = Fleet([60.0])

    class Oversleeping(type(fleet.clock)):  # type: ignore[misc]
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds + 12.0)  # 14 s: after 1 s asked, less than 2 s left

    fleet.clock.__class__ = Oversleeping
    fleet.endpoint.script.append(transient("JOOR answered HTTP 429", retry_after=1.0))

    with pytest.raises(FleetRefreshError) as caught:
        fleet.run(time_limit=14.0)

    outcome = caught.value.outcome
    assert [(r.parameter, r.failure) for r in outcome.failed] == [(name(0), "joor_unavailable")]
    assert outcome.count("left_for_next_run") == 0
    assert fleet.endpoint.calls == 1
