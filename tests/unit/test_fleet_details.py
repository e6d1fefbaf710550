"""A fleet run's details: what each account's result says, the boundaries of its time and
notices, and the work it does not do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refresher.domain.errors import (
    CredentialsRejectedError,
    FleetRefreshError,
    InvalidEventError,
    UnknownAccountError,
)
from refresher.domain.models import Account, FleetOutcome, RefreshOutcome, Refusal
from refresher.service_layer.account import TokenRefresher
from tests.unit.test_fleet import fleet_whose_secret_reads_take
from tests.unit.worlds import INTERVAL, MIN_AGE, PATH, WINDOW, Fleet, name, stored


class CountingFleet(Fleet):
    """Records each account a refresher is built for."""

    def __init__(self, lives: list[float | None]) -> None:
        self.built: list[str] = []
        super().__init__(lives)

    def refresher_for(self, account: Account) -> TokenRefresher:
        self.built.append(account.parameter)
        return super().refresher_for(account)


def test_a_fresh_token_gets_no_refresher_and_is_reported_skipped_under_its_name() -> None:
    fleet = CountingFleet([30000.0, 60.0])

    outcome = fleet.run()

    assert fleet.built == [name(1)]
    fresh = outcome.results[0].outcome
    assert fresh is not None
    assert (fresh.parameter, fresh.reason, fresh.refreshed) == (name(0), "fresh", False)
    assert outcome.forced is False
    assert [r.outcome.forced for r in outcome.results if r.outcome] == [False, False]
    # What the listing said of the fresh account's credentials, kept with its outcome.
    assert fresh.credentials == fleet.credentials[name(0)].state()


def test_a_due_token_is_refreshed_without_reading_it_again() -> None:
    fleet = Fleet([60.0])

    fleet.run()

    assert fleet.stores[name(0)].reads == 0
    assert len(fleet.stores[name(0)].writes) == 1


def test_each_refreshed_account_reports_the_life_of_its_new_token() -> None:
    fleet = Fleet([60.0, 30000.0])

    outcome = fleet.run()

    refreshed = outcome.results[0]
    assert refreshed.outcome is not None
    assert refreshed.seconds_left == refreshed.outcome.seconds_left == 36000.0 - 0.1
    assert outcome.least_seconds_left == 30000.0


def test_a_failed_account_reports_its_error_and_the_life_of_the_token_it_kept() -> None:
    fleet = Fleet([60.0, 90.0])
    error = CredentialsRejectedError(401, "invalid_grant", "", "secret-b")
    fleet.credentials[name(1)].fail = error

    with pytest.raises(FleetRefreshError) as caught:
        fleet.run()

    outcome = caught.value.outcome
    assert isinstance(outcome, FleetOutcome)
    failed = outcome.results[1]
    assert (failed.failure, failed.message, failed.seconds_left) == (
        "credentials_rejected",
        str(error),
        pytest.approx(89.9),  # 90 s when the run began; the first account's login took 0.1 s
    )


@pytest.mark.parametrize(
    ("accounts", "tail"), [(5, ""), (6, "; and 1 more (see the log)")], ids=["five", "six"]
)
def test_the_failure_message_shows_five_failures_and_counts_the_rest(
    accounts: int, tail: str
) -> None:
    fleet = Fleet([60.0] * accounts)
    for credentials in fleet.credentials.values():
        credentials.fail = CredentialsRejectedError(401, "e", "")

    with pytest.raises(FleetRefreshError) as caught:
        fleet.run()

    detail = f"credentials_rejected ({CredentialsRejectedError(401, 'e', '')})"
    shown = "; ".join(f"{name(i)}: {detail}" for i in range(5))
    assert str(caught.value) == (
        f"{accounts} of {accounts} accounts failed, the others were served: {shown}{tail}"
    )


def test_a_missing_token_goes_before_an_expired_one() -> None:
    fleet = Fleet([-600.0, None])

    fleet.run()

    assert fleet.logins == [name(1), name(0)]


def test_a_login_starts_with_exactly_the_least_start_time_left() -> None:
    fleet = Fleet([60.0])

    outcome = fleet.run(time_limit=2.0)

    assert outcome.count("refreshed") == 1


def test_a_login_starts_with_more_than_the_least_start_time_left() -> None:
    fleet = Fleet([60.0])

    outcome = fleet.run(time_limit=2.5)

    assert outcome.count("refreshed") == 1


def test_accounts_left_for_the_next_run_report_the_life_their_tokens_have() -> None:
    fleet = Fleet([60.0, 120.0])

    outcome = fleet.run(time_limit=1.0)

    assert [(r.status, r.seconds_left) for r in outcome.results] == [
        ("left_for_next_run", 60.0),
        ("left_for_next_run", 120.0),
    ]


@pytest.mark.parametrize(
    ("left", "announced"),
    [
        (WINDOW.total_seconds(), False),
        (WINDOW.total_seconds() - 1, True),
        ((WINDOW - INTERVAL).total_seconds(), True),
        ((WINDOW - INTERVAL).total_seconds() - 1, False),
    ],
    ids=["at-the-window", "inside-it", "one-interval-inside", "further-inside"],
)
def test_an_unclaimed_token_is_announced_by_the_one_run_that_finds_it_first_inside_the_window(
    left: float, announced: bool
) -> None:
    fleet = Fleet([30000.0])
    fleet.inventory.extra[f"{PATH}/gone/access-token"] = stored(left)

    warnings = fleet.run().warnings

    assert len(warnings) == (1 if announced else 0)


def test_the_notice_of_an_unclaimed_token_says_what_to_do() -> None:
    fleet = Fleet([30000.0])
    fleet.inventory.extra[f"{PATH}/gone/access-token"] = stored(10000.0)

    assert fleet.run().warnings == (
        f"Parameter '{PATH}/gone/access-token' is no longer refreshed: no secret tagged for it. "
        "Its token expires in 10000 s; delete the parameter once no workload reads it.",
    )


# --- an event naming one parameter ----------------------------------------------------


def test_a_rate_limited_report_names_its_parameter_and_when_to_ask_again() -> None:
    fleet = Fleet([30000.0, 30000.0])
    fleet.stores[name(1)].stored = stored(30000.0, version=3, written_ago=60)

    outcome = fleet.one(force=True, seen_version=3, parameter=name(1))

    assert isinstance(outcome, RefreshOutcome)
    assert (outcome.parameter, outcome.reason, outcome.retry_after) == (
        name(1),
        "rate_limited",
        int((MIN_AGE - timedelta(seconds=60)).total_seconds()),
    )


def test_a_report_of_the_stored_version_is_a_forced_refresh_after_one_read() -> None:
    fleet = Fleet([30000.0, 30000.0])

    outcome = fleet.one(force=True, seen_version=3, parameter=name(1))

    assert isinstance(outcome, RefreshOutcome)
    assert (outcome.refreshed, outcome.forced, outcome.reason) == (True, True, "rejected")
    assert fleet.stores[name(1)].reads == 1


def test_an_unknown_account_names_the_secret_refused_for_that_parameter() -> None:
    fleet = Fleet([30000.0])
    fleet.directory.refused = [
        Refusal("other", "its tag names '/joor/other/access-token', outside", elsewhere=True),
        Refusal(
            "brand-z",
            f"its tag names {name(5)!r}, which secret 's' already claims",
            parameter=name(5),
        ),
    ]

    with pytest.raises(UnknownAccountError) as caught:
        fleet.one(force=True, parameter=name(5))

    assert str(caught.value) == (
        f"No secret tagged for parameter {name(5)!r} in this fleet; refused: secret 'brand-z': "
        f"its tag names {name(5)!r}, which secret 's' already claims"
    )


def test_an_unknown_account_no_secret_asked_for_says_only_that() -> None:
    fleet = Fleet([30000.0])
    fleet.directory.refused = [Refusal("other", "its tag names '/joor/fleet/x/access-token'")]

    with pytest.raises(UnknownAccountError) as caught:
        fleet.one(force=True, parameter=name(5))

    assert str(caught.value) == f"No secret tagged for parameter {name(5)!r} in this fleet"


def test_a_version_report_without_a_parameter_says_what_is_missing() -> None:
    with pytest.raises(InvalidEventError) as caught:
        Fleet([30000.0]).one(force=True, seen_version=3)

    assert str(caught.value) == (
        "The event's 'seen_version' needs 'parameter' in a fleet: name the parameter whose "
        "version JOOR rejected"
    )


def test_a_missing_token_has_no_life_to_report_when_left() -> None:
    fleet = Fleet([None])

    outcome = fleet.run(time_limit=0.5)

    assert outcome.results[0].status == "left_for_next_run"
    assert outcome.results[0].seconds_left is None


def test_an_account_whose_secret_read_took_the_time_left_reports_its_tokens_life() -> None:
    fleet = fleet_whose_secret_reads_take(1.0, accounts=3)

    outcome = fleet.run(time_limit=3.5)

    left = [r for r in outcome.results if r.left_for_next_run]
    assert left
    assert all(r.seconds_left is not None and 50.0 < r.seconds_left < 60.0 for r in left)
