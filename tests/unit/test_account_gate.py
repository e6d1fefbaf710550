"""One account's runs through the login gate: JOOR's answers remembered on the secret, a
rejected password tried once, a new secret version used at once, and the budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refresher.domain.errors import (
    CredentialsRejectedEarlierError,
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    LoginRecordError,
    SecretUnavailableError,
    TokenStoreWriteError,
)
from refresher.domain.models import CredentialState, LoginRecord
from refresher.observability import CREDENTIALS_REJECTED, REFRESH_FAILING, outcome_states
from tests.unit.fakes import START, transient
from tests.unit.worlds import MIN_AGE, World, stored_with


def rejection() -> CredentialsRejectedError:
    return CredentialsRejectedError(401, "invalid_grant", "Invalid user credentials", "joor/test")


def world_with_a_wrong_password(stored_left: float = 60) -> World:
    """The first run's login was rejected: the secret's version-1 is marked."""
    world = World(stored_with(stored_left))
    world.endpoint.script.append(rejection())
    with pytest.raises(CredentialsRejectedError):
        world.run()
    return world


def test_a_rejection_is_remembered_on_the_secret_with_the_version_it_came_from() -> None:
    world = World(stored_with(60))
    world.credentials.created = START - timedelta(days=2)
    world.endpoint.script.append(rejection())

    with pytest.raises(CredentialsRejectedError):
        world.run()

    # When JOOR answered, and which version it judged, saved when: what the next run says.
    assert world.credentials.records == [
        LoginRecord("rejected", world.clock.now(), "version-1", START - timedelta(days=2))
    ]


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"force": True},
        {"force": True, "seen_version": 4},
        {"force": True, "operator": True},
    ],
    ids=["schedule", "plain force", "report", "operator force"],
)
def test_after_a_rejection_no_run_logs_in_with_the_same_version(request_: dict) -> None:
    world = world_with_a_wrong_password()
    world.clock.advance(3600)  # past any budget

    with pytest.raises(CredentialsRejectedEarlierError, match="not logging in with them again"):
        world.run(**request_)

    assert world.endpoint.calls == 1  # the first, rejected login only
    assert world.credentials.loads == 1  # the value is not even read again
    assert world.store.writes == []


def test_the_rejection_survives_a_new_execution_environment() -> None:
    world = world_with_a_wrong_password()
    world.refresher = world.build()  # a cold start: nothing kept in memory
    world.clock.advance(900)

    with pytest.raises(CredentialsRejectedEarlierError):
        world.run()

    assert world.endpoint.calls == 1


def test_a_fixed_secret_logs_in_at_once_and_lifts_the_rejection() -> None:
    world = world_with_a_wrong_password()
    world.clock.advance(5)

    outcome = world.secret_saved("version-2")

    assert outcome.refreshed
    assert outcome.reason == "credentials_changed"
    assert world.endpoint.calls == 2
    assert world.credentials.results == ["rejected", "ok"]
    assert world.run(force=True, seen_version=outcome.version or 0).reason == "rate_limited"


def test_new_credentials_are_proved_even_while_the_token_is_fresh_and_young() -> None:
    world = World(stored_with(30000, written_ago=1))

    outcome = world.secret_saved("version-2")

    assert outcome.refreshed
    assert world.credentials.records[-1].version == "version-2"


def test_a_secret_event_delivered_twice_logs_in_once() -> None:
    world = World(stored_with(30000))

    first = world.secret_saved("version-2")
    again = world.secret_saved("version-2")

    assert (first.reason, again.reason) == ("credentials_changed", "credentials_unchanged")
    assert world.endpoint.calls == 1


def test_wrong_new_credentials_are_tried_once() -> None:
    world = World(stored_with(30000))
    world.endpoint.script.append(rejection())

    with pytest.raises(CredentialsRejectedError):
        world.secret_saved("version-2")
    with pytest.raises(CredentialsRejectedEarlierError):
        world.secret_saved("version-2")

    assert world.endpoint.calls == 1


def test_a_change_event_for_another_secret_is_ignored_without_a_call() -> None:
    from refresher.domain.models import IgnoredEvent, RefreshRequest, SecretChange

    world = World(stored_with(60))
    change = SecretChange("arn:aws:secretsmanager:eu-west-1:1:secret:other-AbCdEf", "other", "v9")

    outcome = world.refresher.run(RefreshRequest(secret_change=change), time_limit=82.0)

    assert outcome == IgnoredEvent(change.secret)
    assert (world.store.reads, world.credentials.describes, world.endpoint.calls) == (0, 0, 0)


def test_an_operators_retry_tries_the_rejected_version_once_more() -> None:
    world = world_with_a_wrong_password()

    outcome = world.run(retry_rejected=True, operator=True)

    assert outcome.refreshed
    assert outcome.reason == "retried"
    assert world.credentials.results == ["rejected", "ok"]


def test_a_retry_rejected_again_stays_rejected() -> None:
    world = world_with_a_wrong_password()
    world.endpoint.script.append(rejection())

    with pytest.raises(CredentialsRejectedError):
        world.run(retry_rejected=True, operator=True)
    with pytest.raises(CredentialsRejectedEarlierError):
        world.run()

    assert world.credentials.results == ["rejected", "rejected"]


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ([transient()] * 4, EndpointUnavailableError),
        (
            [InvalidTokenResponseError("HTTP 200 but the body is not JSON")],
            InvalidTokenResponseError,
        ),
    ],
    ids=["unavailable", "garbage"],
)
def test_an_answer_that_is_not_a_rejection_never_locks(
    answers: list[Exception], error: type[Exception]
) -> None:
    world = World(stored_with(60))
    world.endpoint.script.extend(answers)

    with pytest.raises(error):
        world.run()
    world.clock.advance(MIN_AGE.total_seconds())

    assert world.run().refreshed
    assert world.credentials.results == ["failed", "ok"]


def test_a_failed_login_holds_back_the_next_budgeted_one() -> None:
    world = World(stored_with(60))
    world.endpoint.script.extend([transient()] * 4)
    with pytest.raises(EndpointUnavailableError):
        world.run()
    world.clock.advance(60)

    outcome = world.run(force=True)

    assert (outcome.reason, outcome.forced, outcome.retry_after) == ("rate_limited", True, 240)
    assert world.endpoint.calls == 4
    # What the run learned of the credentials: the refresh is failing, they are not rejected.
    assert outcome_states(outcome) == {CREDENTIALS_REJECTED: 0, REFRESH_FAILING: 1}


def test_no_attempt_made_is_not_a_login_to_remember() -> None:
    world = World(stored_with(60))

    with pytest.raises(EndpointUnavailableError, match="0 attempt"):
        world.run(time_limit=1.0)

    assert world.credentials.records == []


def test_a_routine_refresh_with_unchanged_credentials_writes_no_record() -> None:
    world = World(stored_with(60))
    world.run()  # the first success with version-1 is remembered
    world.store.stored = stored_with(60, version=5, written_ago=7200)

    world.run()

    assert world.credentials.results == ["ok"]


def not_recorded(said: str) -> str:
    return f"Could not tag secret 'joor/test'; the next run cannot know that JOOR answered {said}"


def test_a_record_that_cannot_be_written_is_a_warning_on_success() -> None:
    world = World(stored_with(60))
    world.credentials.fail_record = LoginRecordError("Could not tag secret 'joor/test'")

    outcome = world.run()

    assert outcome.refreshed
    assert outcome.warnings == (not_recorded("with a token"),)


@pytest.mark.parametrize(
    ("answer", "write_fails", "error", "said"),
    [
        (rejection(), False, CredentialsRejectedError, "with a rejection"),
        (InvalidTokenResponseError("HTTP 200 but no token"), False, InvalidTokenResponseError, ""),
        (36000.0, True, TokenStoreWriteError, ""),
    ],
    ids=["rejected", "no token", "token not stored"],
)
def test_a_failed_login_that_cannot_be_recorded_says_so_on_the_error(
    answer: Exception | float, write_fails: bool, error: type[Exception], said: str
) -> None:
    world = World(stored_with(60))
    world.credentials.fail_record = LoginRecordError("Could not tag secret 'joor/test'")
    world.endpoint.script.append(answer)
    if write_fails:
        world.store.fail_write = TokenStoreWriteError("Could not write parameter")

    with pytest.raises(error) as caught:
        world.run()

    assert caught.value.warnings == (not_recorded(said or "without a token"),)  # type: ignore[attr-defined]


def test_a_fresh_run_never_reads_the_credentials_metadata() -> None:
    world = World(stored_with(30000))

    world.run()

    assert world.credentials.describes == 0


def test_a_secret_that_cannot_be_described_fails_before_its_value_is_read() -> None:
    world = World(stored_with(60))
    world.credentials.fail_describe = SecretUnavailableError("Could not describe secret")

    with pytest.raises(SecretUnavailableError):
        world.run()

    assert world.credentials.loads == 0


def test_a_version_saved_between_the_metadata_and_the_value_is_judged_on_its_own() -> None:
    world = World(stored_with(60))
    world.credentials.last_login = LoginRecord("rejected", START - timedelta(hours=1), "version-2")
    loads = world.credentials.load

    def load_after_a_save():  # type: ignore[no-untyped-def]
        world.credentials.change("version-2")
        return loads()

    world.credentials.load = load_after_a_save  # type: ignore[method-assign]

    with pytest.raises(CredentialsRejectedEarlierError):
        world.run()

    assert world.endpoint.calls == 0


def saved_before_its_value_is_read(world: World, version: str) -> None:
    """The secret gets ``version`` between the run's look at its metadata and its value."""
    loads = world.credentials.load

    def load_after_a_save():  # type: ignore[no-untyped-def]
        world.credentials.change(version)
        return loads()

    world.credentials.load = load_after_a_save  # type: ignore[method-assign]


def test_a_version_saved_between_the_metadata_and_the_value_waits_on_its_own_failed_login() -> None:
    world = World(stored_with(60, version=4))
    failed = LoginRecord("failed", START - timedelta(seconds=60), "version-2")
    world.credentials.last_login = failed
    saved_before_its_value_is_read(world, "version-2")

    outcome = world.run(force=True)

    assert world.endpoint.calls == 0
    assert outcome.summary() == {
        "result": "skipped",
        "reason": "rate_limited",
        "forced": True,
        "parameter": "/joor/test/access-token",
        "version": 4,
        "expires_at": "2026-11-28T12:01:00Z",
        "seconds_left": 60,
        "retry_after_seconds": 240,
    }
    assert outcome.credentials == CredentialState("joor/test", "version-2", failed)
    assert outcome_states(outcome) == {CREDENTIALS_REJECTED: 0, REFRESH_FAILING: 1}


def test_a_version_saved_between_the_metadata_and_the_value_logs_in_when_admitted() -> None:
    world = World(stored_with(60))
    saved_before_its_value_is_read(world, "version-2")

    outcome = world.run()

    assert outcome.refreshed
    assert world.credentials.records == [LoginRecord("ok", world.clock.now(), "version-2")]


def test_a_value_read_without_a_version_is_judged_by_the_metadatas_version() -> None:
    world = World(stored_with(60))
    saved_before_its_value_is_read(world, "")

    outcome = world.run()

    assert outcome.refreshed
    assert outcome.credentials is not None
    assert outcome.credentials.current_version == "version-1"


def test_a_refreshed_outcome_holds_what_joor_said_to_its_login() -> None:
    world = World(stored_with(60))
    world.credentials.created = START - timedelta(days=2)

    outcome = world.run()

    record = LoginRecord("ok", world.clock.now(), "version-1", START - timedelta(days=2))
    assert outcome.credentials == CredentialState("joor/test", "version-1", record)


def test_a_token_that_cannot_be_stored_counts_as_a_login_without_a_fresh_token() -> None:
    world = World(stored_with(60))
    world.store.fail_write = TokenStoreWriteError("Could not write parameter")

    with pytest.raises(TokenStoreWriteError):
        world.run()
    world.store.fail_write = None
    world.clock.advance(60)

    assert world.credentials.results == ["failed"]
    assert world.run().reason == "rate_limited"  # even `{}` sent again cannot loop on JOOR
    assert world.endpoint.calls == 1


def test_a_token_living_no_longer_than_the_window_holds_back_the_next_login() -> None:
    world = World(stored_with(60))
    world.endpoint.script.append(3600.0)

    first = world.run()
    world.clock.advance(10)
    second = world.run()

    assert first.refreshed
    assert second.reason == "rate_limited"
    assert world.credentials.results == ["failed"]
