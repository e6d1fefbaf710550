"""A fleet's runs through the login gate: each account's rejection remembered and honoured
from the listing alone, operators' actions kept for operators, secret changes routed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refresher.domain.errors import (
    CredentialsRejectedError,
    FleetRefreshError,
    OperatorOnlyError,
)
from refresher.domain.models import (
    FleetOutcome,
    IgnoredEvent,
    LoginRecord,
    RefreshRequest,
    SecretChange,
)
from tests.unit.fakes import START
from tests.unit.worlds import Fleet, name


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

    with pytest.raises(OperatorOnlyError, match="Forcing every account"):
        fleet.run(force=True)

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
