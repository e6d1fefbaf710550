"""The login gate's rules, as pure functions: what each caller may make JOOR do, and when."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refresher.domain.errors import CredentialsRejectedEarlierError
from refresher.domain.gate import Login, Skip, admit, first_look
from refresher.domain.models import (
    CredentialState,
    LoginRecord,
    RefreshRequest,
    SecretChange,
    StoredToken,
)
from tests.unit.fakes import START
from tests.unit.worlds import MIN_AGE, POLICY, WINDOW, stored_with

NOW = START
CHANGE = SecretChange("arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf", "s", "v2")
MISSING = StoredToken(exists=False)


def state(result: str | None = None, version: str = "v1", ago: float = 600.0) -> CredentialState:
    last = None
    if result is not None:
        last = LoginRecord(result, NOW - timedelta(seconds=ago), version)
    return CredentialState("joor/test", "v1", last)


# --- the first look: the stored token alone ------------------------------------------------


def test_a_scheduled_run_skips_a_fresh_token() -> None:
    assert first_look(RefreshRequest(), stored_with(WINDOW.total_seconds()), NOW, POLICY) == Skip(
        "fresh"
    )


@pytest.mark.parametrize(
    ("stored", "reason"), [(stored_with(60), "expiring"), (MISSING, "missing")]
)
def test_a_scheduled_run_logs_in_for_a_due_token_within_the_budget(
    stored: StoredToken, reason: str
) -> None:
    assert first_look(RefreshRequest(), stored, NOW, POLICY) == Login(reason, budgeted=True)


@pytest.mark.parametrize("operator", [False, True], ids=["consumer", "operator"])
def test_only_a_login_a_non_operator_causes_counts_against_the_budget(operator: bool) -> None:
    old = stored_with(60, version=4, written_ago=MIN_AGE.total_seconds())
    report = RefreshRequest(force=True, seen_version=4, operator=operator)
    budgeted = not operator

    assert first_look(report, MISSING, NOW, POLICY) == Login("missing", budgeted=budgeted)
    assert first_look(report, old, NOW, POLICY) == Login("rejected", budgeted=budgeted)
    assert first_look(RefreshRequest(operator=operator), old, NOW, POLICY) == Login(
        "expiring", budgeted=budgeted
    )


def test_a_consumers_plain_force_of_a_young_token_is_rate_limited() -> None:
    young = stored_with(30000, written_ago=100)

    assert first_look(RefreshRequest(force=True), young, NOW, POLICY) == Skip("rate_limited", 200)


def test_a_consumers_plain_force_of_a_token_as_old_as_the_budget_logs_in() -> None:
    old = stored_with(30000, written_ago=MIN_AGE.total_seconds())

    assert first_look(RefreshRequest(force=True), old, NOW, POLICY) == Login("forced")


def test_an_operators_force_is_not_budgeted() -> None:
    young = stored_with(30000, written_ago=1)

    decision = first_look(RefreshRequest(force=True, operator=True), young, NOW, POLICY)

    assert decision == Login("forced", budgeted=False)


def test_a_report_of_a_version_not_stored_any_more_is_already_replaced() -> None:
    for seen in (3, 5):  # replaced since, or the parameter made anew with fewer versions
        request = RefreshRequest(force=True, seen_version=seen)
        assert first_look(request, stored_with(30000, version=4), NOW, POLICY) == Skip(
            "already_replaced"
        )


def test_a_report_rounds_a_fractional_wait_up() -> None:
    request = RefreshRequest(force=True, seen_version=4)
    young = stored_with(30000, version=4, written_ago=299.25)

    assert first_look(request, young, NOW, POLICY) == Skip("rate_limited", 1)


def test_a_secret_change_always_asks_for_new_credentials() -> None:
    decision = first_look(RefreshRequest(secret_change=CHANGE), stored_with(30000), NOW, POLICY)

    assert decision == Login("credentials_changed", budgeted=False, new_credentials=True)


def test_an_operators_retry_lifts_a_rejection() -> None:
    request = RefreshRequest(retry_rejected=True, operator=True)

    decision = first_look(request, stored_with(30000), NOW, POLICY)

    assert decision == Login("retried", budgeted=False, lifts_rejection=True)


# --- admit: with the credentials' metadata -------------------------------------------------


@pytest.mark.parametrize(
    "login",
    [
        Login("expiring"),
        Login("forced"),
        Login("rejected"),
        Login("forced", budgeted=False),
        Login("credentials_changed", budgeted=False, new_credentials=True),
    ],
    ids=["schedule", "plain force", "report", "operator force", "repeated secret event"],
)
def test_no_login_but_a_retry_uses_credentials_joor_rejected(login: Login) -> None:
    with pytest.raises(CredentialsRejectedEarlierError) as caught:
        admit(login, state("rejected", ago=7200), NOW, POLICY)

    message = str(caught.value)
    assert "secret 'joor/test'" in message
    assert "at 2026-11-28T10:00:00Z, 2 h ago" in message
    assert '{"retry_rejected": true}' in message


def test_the_rejection_names_the_versions_age() -> None:
    last = LoginRecord("rejected", NOW - timedelta(minutes=5), "v1", NOW - timedelta(days=3))

    with pytest.raises(CredentialsRejectedEarlierError, match=r"version v1, saved 3 days ago"):
        admit(Login("expiring"), CredentialState("s", "v1", last), NOW, POLICY)


def test_a_new_version_lifts_the_rejection() -> None:
    rejected_v0 = state("rejected", version="v0")

    assert admit(Login("expiring"), rejected_v0, NOW, POLICY) is None


def test_an_operators_retry_passes_a_rejection() -> None:
    retry = Login("retried", budgeted=False, lifts_rejection=True)

    assert admit(retry, state("rejected", ago=1), NOW, POLICY) is None


def test_a_budgeted_login_waits_for_the_last_failed_attempt_to_age() -> None:
    failed_recently = state("failed", ago=60)

    assert admit(Login("expiring"), failed_recently, NOW, POLICY) == Skip("rate_limited", 240)


def test_a_version_not_tried_yet_is_not_held_back_by_another_versions_failure() -> None:
    failed_with_v0 = state("failed", version="v0", ago=1)

    assert admit(Login("expiring"), failed_with_v0, NOW, POLICY) is None


def test_a_login_that_left_a_fresh_token_holds_back_no_due_one() -> None:
    assert admit(Login("expiring"), state("ok", ago=1), NOW, POLICY) is None


def test_an_operators_login_ignores_the_budget() -> None:
    login = Login("forced", budgeted=False)

    assert admit(login, state("failed", ago=1), NOW, POLICY) is None


def test_a_secret_event_for_a_version_already_used_changes_nothing() -> None:
    login = Login("credentials_changed", budgeted=False, new_credentials=True)

    assert admit(login, state("ok", version="v1"), NOW, POLICY) == Skip("credentials_unchanged")


def test_a_secret_event_for_a_new_version_logs_in_whatever_the_budget() -> None:
    login = Login("credentials_changed", budgeted=False, new_credentials=True)
    just_used_v0 = state("ok", version="v0", ago=1)

    assert admit(login, just_used_v0, NOW, POLICY) is None


def test_a_secret_event_for_a_version_tried_without_a_verdict_is_budgeted() -> None:
    login = Login("credentials_changed", budgeted=False, new_credentials=True)

    skip = admit(login, state("failed", version="v1", ago=10), NOW, POLICY)

    assert skip == Skip("rate_limited", 290)


def test_a_state_whose_current_version_is_unknown_is_not_rejected() -> None:
    last = LoginRecord("rejected", NOW, "v1")

    assert not CredentialState("s", None, last).rejected
    assert CredentialState("s", "v1", last).rejected
