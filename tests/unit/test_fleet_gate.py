"""A fleet's runs through the login gate: each account's rejection remembered and honoured
from the listing alone, operators' actions kept for operators, secret changes routed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refresher.domain.errors import (
    CredentialsRejectedError,
    FleetRefreshError,
    InvalidTokenResponseError,
    LoginRecordError,
    OperatorOnlyError,
)
from refresher.domain.models import (
    CredentialState,
    FleetOutcome,
    IgnoredEvent,
    LoginRecord,
    RefreshRequest,
    SecretChange,
)
from tests.unit.fakes import START
from tests.unit.worlds import Fleet, name, stored


def reject(fleet: Fleet, i: int, hours_ago: float = 2) -> None:
    """JOOR rejected account i's current credentials, as a record on its secret says."""
    credentials = fleet.credentials[name(i)]
    credentials.last_login = LoginRecord(
        "rejected", START - timedelta(hours=hours_ago), credentials.version
    )


def failed_outcome(fleet: Fleet, **request: object) -> FleetOutcome:
    with pytest.raises(FleetRefreshError) as caught:
        fleet.run(**request)
    return caught.value.outcome


def test_an_account_whose_credentials_were_rejected_fails_without_reading_its_secret() -> None:
    fleet = Fleet([60.0, 60.0])
    reject(fleet, 0)

    outcome = failed_outcome(fleet)

    assert [(r.parameter, r.failure) for r in outcome.failed] == [
        (name(0), "credentials_rejected_earlier")
    ]
    assert fleet.logins == [name(1)]
    assert fleet.endpoint.calls == 1
    assert outcome.credentials_rejected == (name(0),)
    assert outcome.failing == ()


def test_a_rejected_account_with_a_fresh_token_is_kept_and_still_counted() -> None:
    fleet = Fleet([30000.0, 30000.0])
    reject(fleet, 1)

    outcome = fleet.run()

    assert outcome.failed == ()
    assert outcome.credentials_rejected == (name(1),)
    assert outcome.summary()["outcomes"][name(1)]["credentials"] == "rejected"  # type: ignore[index]


def test_a_rejection_in_a_run_is_recorded_and_the_next_run_does_not_log_in_again() -> None:
    fleet = Fleet([60.0])
    fleet.endpoint.script.append(CredentialsRejectedError(401, "invalid_grant", ""))

    first = failed_outcome(fleet)
    fleet.clock.advance(900)
    second = failed_outcome(fleet)

    assert [r.failure for r in first.failed] == ["credentials_rejected"]
    assert [r.failure for r in second.failed] == ["credentials_rejected_earlier"]
    assert fleet.endpoint.calls == 1
    assert fleet.credentials[name(0)].results == ["rejected"]


def test_forcing_every_account_is_an_operators_action() -> None:
    fleet = Fleet([30000.0])

    with pytest.raises(OperatorOnlyError) as caught:
        fleet.run(force=True)

    assert str(caught.value) == (
        "Forcing every account of a fleet is an operator's action: invoke the function's alias "
        "'operator' (the stack's TokenOperatorPolicy allows it). Consumers' policies allow only "
        "the function itself, where forced refreshes share a budget."
    )
    assert fleet.endpoint.calls == 0


def test_an_operators_force_of_every_account_still_honours_rejections() -> None:
    fleet = Fleet([30000.0, 30000.0])
    reject(fleet, 0)

    outcome = failed_outcome(fleet, force=True, operator=True)

    assert outcome.count("refreshed") == 1
    assert [r.failure for r in outcome.failed] == ["credentials_rejected_earlier"]


def test_an_operators_retry_tries_the_rejected_accounts_and_leaves_the_rest_to_the_schedule() -> (
    None
):
    fleet = Fleet([30000.0, 30000.0, 60.0])
    reject(fleet, 0)

    outcome = fleet.run(retry_rejected=True, operator=True)

    reasons = {r.parameter: r.outcome.reason for r in outcome.results if r.outcome}
    assert reasons == {name(0): "retried", name(1): "fresh", name(2): "expiring"}
    assert outcome.credentials_rejected == ()


def test_a_secret_change_of_an_account_logs_it_in_at_once() -> None:
    fleet = Fleet([30000.0, 30000.0])
    reject(fleet, 1)
    fleet.credentials[name(1)].change("version-2")
    change = SecretChange(f"secret-{name(1)}", "brand-1", "version-2")

    outcome = fleet.fleet.run(RefreshRequest(secret_change=change), time_limit=58.0)

    assert not isinstance(outcome, IgnoredEvent | FleetOutcome)
    assert (outcome.parameter, outcome.reason, outcome.refreshed) == (
        name(1),
        "credentials_changed",
        True,
    )
    assert fleet.logins == [name(1)]


def test_a_secret_change_of_a_secret_that_is_no_account_is_ignored() -> None:
    fleet = Fleet([30000.0])
    change = SecretChange("arn:aws:secretsmanager:eu-west-1:1:secret:other-AbCdEf", "other", "v")

    outcome = fleet.fleet.run(RefreshRequest(secret_change=change), time_limit=58.0)

    assert outcome == IgnoredEvent(change.secret)
    assert fleet.inventory.calls == 0
    assert fleet.logins == []


def failed_a_minute_ago(fleet: Fleet, i: int) -> LoginRecord:
    """Account i's last login, with its current credentials, left no token: JOOR was down."""
    credentials = fleet.credentials[name(i)]
    credentials.last_login = LoginRecord(
        "failed", START - timedelta(seconds=60), credentials.version
    )
    return credentials.last_login


def test_an_account_whose_last_login_failed_waits_out_the_budget_from_the_listing() -> None:
    fleet = Fleet([60.0, 60.0])
    last = failed_a_minute_ago(fleet, 0)

    outcome = fleet.run()

    held = outcome.results[0].outcome
    assert held is not None
    assert (held.reason, held.retry_after, held.forced) == ("rate_limited", 240, False)
    assert held.credentials == CredentialState(f"secret-{name(0)}", "version-1", last)
    assert fleet.logins == [name(1)]
    assert outcome.credentials_rejected == ()


def test_the_configured_account_reads_its_own_metadata_and_is_refreshed() -> None:
    fleet = Fleet([60.0, 60.0])
    fleet.configured.add(name(0))

    outcome = fleet.run()

    assert outcome.summary()["outcomes"][name(0)] == {  # type: ignore[index]
        "result": "refreshed",
        "reason": "expiring",
        "forced": False,
        "parameter": name(0),
        "version": 4,
        "expires_at": "2026-11-28T22:00:00Z",
        "seconds_left": 35999,
    }
    assert fleet.credentials[name(0)].describes == 1
    assert fleet.credentials[name(0)].results == ["ok"]


def test_the_configured_account_held_back_by_its_failed_login_is_skipped_not_rejected() -> None:
    fleet = Fleet([60.0])
    fleet.configured.add(name(0))
    failed_a_minute_ago(fleet, 0)

    outcome = fleet.run()

    [result] = outcome.results
    assert (result.status, result.credentials_rejected) == ("skipped", False)
    assert "credentials" not in result.summary()
    assert fleet.endpoint.calls == 0


def test_a_report_for_an_account_whose_last_login_failed_keeps_the_stored_token() -> None:
    fleet = Fleet([30000.0])
    failed_a_minute_ago(fleet, 0)

    outcome = fleet.one(force=True, seen_version=3, parameter=name(0))

    assert (outcome.reason, outcome.forced, outcome.refreshed) == ("rate_limited", True, False)
    assert (outcome.version, outcome.expires_at) == (3, stored(30000).expires_at)
    assert fleet.endpoint.calls == 0


def test_a_failed_accounts_message_ends_with_what_could_not_be_recorded() -> None:
    fleet = Fleet([60.0])
    fleet.endpoint.script.append(InvalidTokenResponseError("HTTP 200 but no token"))
    fleet.credentials[name(0)].fail_record = LoginRecordError("Could not tag secret 's'")

    [failed] = failed_outcome(fleet).failed

    assert failed.message == (
        "HTTP 200 but no token; Could not tag secret 's'; the next run cannot know that JOOR "
        "answered without a token"
    )
