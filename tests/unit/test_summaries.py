"""What a run returns and logs: the exact summaries of one account's outcome and a fleet's."""

from __future__ import annotations

from datetime import timedelta

from refresher.domain.models import (
    AccountResult,
    FleetOutcome,
    IgnoredEvent,
    RefreshOutcome,
    Refusal,
)
from tests.unit.fakes import START


def refreshed(parameter: str = "/joor/fleet/a/access-token") -> RefreshOutcome:
    return RefreshOutcome(
        refreshed=True,
        forced=False,
        parameter=parameter,
        expires_at=START + timedelta(hours=10),
        version=4,
        seconds_left=35999.7,
        reason="expiring",
    )


def test_a_refreshed_outcome_summary_names_every_field_with_the_expiry_in_utc() -> None:
    assert refreshed().summary() == {
        "result": "refreshed",
        "reason": "expiring",
        "forced": False,
        "parameter": "/joor/fleet/a/access-token",
        "version": 4,
        "expires_at": "2026-11-28T22:00:00Z",
        "seconds_left": 35999,
    }


def test_a_skipped_outcome_without_a_token_has_no_expiry_and_no_life_left() -> None:
    outcome = RefreshOutcome(
        refreshed=False,
        forced=True,
        parameter="/p",
        expires_at=None,
        version=None,
        seconds_left=None,
        reason="rate_limited",
        retry_after=120,
    )

    assert outcome.summary() == {
        "result": "skipped",
        "reason": "rate_limited",
        "forced": True,
        "parameter": "/p",
        "version": None,
        "expires_at": None,
        "seconds_left": None,
        "retry_after_seconds": 120,
    }


def test_an_expired_token_reports_its_negative_life_left() -> None:
    outcome = RefreshOutcome(False, False, "/p", START, 1, -30.5, reason="fresh")

    assert outcome.summary()["seconds_left"] == -30


def test_no_life_left_at_all_is_reported_as_zero_not_as_unknown() -> None:
    outcome = RefreshOutcome(False, False, "/p", START, 1, 0.0, reason="fresh")

    assert outcome.summary()["seconds_left"] == 0


def test_a_failed_account_summary_gives_its_reason_message_and_the_kept_tokens_life() -> None:
    failed = AccountResult(
        "/joor/fleet/b/access-token",
        failure="credentials_rejected",
        message="JOOR rejected the credentials",
        seconds_left=600.9,
    )

    assert failed.summary() == {
        "result": "failed",
        "parameter": "/joor/fleet/b/access-token",
        "reason": "credentials_rejected",
        "error": "JOOR rejected the credentials",
        "seconds_left": 600,
        "credentials": "rejected",
    }


def test_an_account_kept_because_its_credentials_were_rejected_earlier_says_so() -> None:
    fresh = RefreshOutcome(False, False, "/joor/fleet/d/access-token", START, 2, 20000.0, "fresh")

    summary = AccountResult(fresh.parameter, fresh, credentials_rejected=True).summary()

    assert (summary["result"], summary["credentials"]) == ("skipped", "rejected")


def test_an_account_left_for_the_next_run_says_so_without_a_reason() -> None:
    left = AccountResult("/joor/fleet/c/access-token", left_for_next_run=True)

    assert left.summary() == {
        "result": "left_for_next_run",
        "parameter": "/joor/fleet/c/access-token",
        "seconds_left": None,
    }


def test_an_account_with_an_outcome_is_summarised_by_that_outcome() -> None:
    outcome = refreshed()

    assert AccountResult(outcome.parameter, outcome).summary() == outcome.summary()


def fleet_outcome() -> FleetOutcome:
    fresh = RefreshOutcome(False, False, "/joor/fleet/d/access-token", START, 2, 20000.0, "fresh")
    return FleetOutcome(
        forced=False,
        results=(
            AccountResult("/joor/fleet/a/access-token", refreshed(), seconds_left=35999.7),
            AccountResult(
                "/joor/fleet/b/access-token", failure="x", message="m", seconds_left=600.9
            ),
            AccountResult("/joor/fleet/c/access-token", left_for_next_run=True, seconds_left=300.2),
            AccountResult(fresh.parameter, fresh, seconds_left=20000.0),
            AccountResult(
                "/joor/fleet/e/access-token", failure="credentials_rejected_earlier", message="m"
            ),
        ),
        refused=(Refusal("brand-z", "its tag is wrong"),),
        unclaimed=("/joor/fleet/old/access-token",),
    )


def test_a_fleet_summary_counts_each_kind_of_result_and_names_the_least_life_left() -> None:
    summary = fleet_outcome().summary()
    outcomes = summary.pop("outcomes")

    assert summary == {
        "result": "failed",
        "forced": False,
        "accounts": 5,
        "refreshed": 1,
        "skipped": 1,
        "failed": 2,
        "left_for_next_run": 1,
        "least_seconds_left": 300,
        "credentials_rejected": ["/joor/fleet/e/access-token"],
        "refused": [{"secret": "brand-z", "problem": "its tag is wrong"}],
        "outside_path": [],
        "unclaimed": ["/joor/fleet/old/access-token"],
    }
    assert isinstance(outcomes, dict)
    assert {p: o["result"] for p, o in outcomes.items()} == {
        "/joor/fleet/a/access-token": "refreshed",
        "/joor/fleet/b/access-token": "failed",
        "/joor/fleet/c/access-token": "left_for_next_run",
        "/joor/fleet/d/access-token": "skipped",
        "/joor/fleet/e/access-token": "failed",
    }


def test_a_fleet_run_without_failures_is_done_and_a_forced_one_says_so() -> None:
    outcome = FleetOutcome(forced=True, results=(AccountResult("/p", refreshed("/p")),))

    summary = outcome.summary()

    assert (summary["result"], summary["forced"], summary["least_seconds_left"]) == (
        "done",
        True,
        None,
    )


def test_a_secret_tagged_for_another_stacks_path_is_listed_apart_from_the_refused() -> None:
    outcome = FleetOutcome(
        forced=False,
        results=(),
        refused=(
            Refusal("brand-z", "its tag is wrong"),
            Refusal("brand-prod", "outside this stack's path", elsewhere=True),
        ),
    )

    summary = outcome.summary()

    assert summary["refused"] == [{"secret": "brand-z", "problem": "its tag is wrong"}]
    assert summary["outside_path"] == [
        {"secret": "brand-prod", "problem": "outside this stack's path"}
    ]


def test_an_ignored_secret_change_summary_names_the_secret_it_ignored() -> None:
    secret = "arn:aws:secretsmanager:eu-west-1:1:secret:other-AbCdEf"

    assert IgnoredEvent(secret).summary() == {
        "result": "ignored",
        "reason": "not_our_secret",
        "secret": secret,
    }
