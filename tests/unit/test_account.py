"""One account's run: the refresh decision, the retry loop and the login record, with
in-memory fakes."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from refresher.domain.errors import (
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    SecretMalformedError,
    TokenStoreReadError,
    TokenStoreWriteError,
)
from refresher.domain.models import StoredToken
from refresher.domain.retry import RetryPolicy
from tests.unit.fakes import START, transient
from tests.unit.worlds import MIN_AGE, WINDOW, World, stored_with


def test_a_token_with_more_than_the_window_left_is_kept_without_touching_credentials() -> None:
    world = World(stored_with(WINDOW.total_seconds() + 1))

    outcome = world.run()

    assert not outcome.refreshed
    assert outcome.version == 4
    assert world.store.reads == 1
    assert world.credentials.loads == 0
    assert world.endpoint.calls == 0
    assert world.store.writes == []


def test_a_token_with_less_than_the_window_left_is_replaced() -> None:
    world = World(stored_with(WINDOW.total_seconds() - 1))

    outcome = world.run()

    assert outcome.refreshed
    assert outcome.version == 5
    assert world.endpoint.calls == 1
    assert world.store.value == "token-1"


@pytest.mark.parametrize(
    "stored",
    [StoredToken(exists=False), StoredToken(exists=True, expires_at=None, version=2)],
    ids=["missing", "no-readable-expiry"],
)
def test_a_missing_token_or_one_without_expiry_is_stale(stored: StoredToken) -> None:
    world = World(stored)

    outcome = world.run()

    assert outcome.refreshed
    assert world.endpoint.calls == 1


def test_an_operators_forced_run_refreshes_a_fresh_token_without_reading_the_store() -> None:
    world = World(stored_with(30000, written_ago=1))

    outcome = world.run(force=True, operator=True)

    assert outcome.refreshed
    assert outcome.forced
    assert world.store.reads == 0


def test_the_expiry_counts_from_before_the_request() -> None:
    world = World()
    world.endpoint.time_per_call = 5.0

    outcome = world.run()

    assert outcome.expires_at == START + timedelta(seconds=36000)


def test_transient_failures_are_retried_until_one_succeeds() -> None:
    world = World()
    world.endpoint.script.extend([transient(), transient("no answer from JOOR within 10 s")])

    outcome = world.run()

    assert outcome.refreshed
    assert outcome.joor_attempts == 3
    assert len(world.clock.slept) == 2
    assert world.store.value == "token-3"


def test_backoff_grows_and_stays_under_its_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, rng=random.Random(1))

    waits = [[policy.backoff(attempt) for _ in range(200)] for attempt in (1, 2, 3, 4, 5)]

    assert [max(w) <= cap for w, cap in zip(waits, (1, 2, 4, 5, 5), strict=True)] == [True] * 5
    assert max(waits[3]) > 4.0 - 0.5  # the fourth attempt can wait past the third's cap


def test_retry_after_longer_than_the_backoff_is_honoured() -> None:
    world = World()
    world.endpoint.script.append(transient("JOOR answered HTTP 429", retry_after=12.0))

    world.run()

    assert world.clock.slept == [12.0]


def test_it_gives_up_after_the_last_attempt_and_names_the_last_problem() -> None:
    world = World()
    world.endpoint.script.extend([transient()] * 4)

    with pytest.raises(EndpointUnavailableError, match=r"after 4 attempts.*HTTP 503"):
        world.run()

    assert world.endpoint.calls == 4
    assert world.store.writes == []


def test_it_stops_retrying_while_there_is_time_left_to_report_why() -> None:
    world = World()
    world.endpoint.script.extend([transient(retry_after=30.0)] * 4)

    with pytest.raises(EndpointUnavailableError, match=r"would not leave time"):
        world.run(time_limit=20.0)

    assert world.endpoint.calls == 1
    assert world.clock.slept == []


def test_no_attempt_starts_when_the_time_is_already_gone() -> None:
    world = World()

    with pytest.raises(EndpointUnavailableError, match=r"stopped after 0 attempt"):
        world.run(time_limit=1.0)

    assert world.endpoint.calls == 0


def test_each_attempt_gets_at_most_the_time_left() -> None:
    world = World()
    world.endpoint.script.append(transient())

    world.run(time_limit=12.0)

    assert world.endpoint.timeouts[0] == 10.0
    assert world.endpoint.timeouts[1] < 12.0 - world.clock.slept[0]


def test_rejected_credentials_are_never_retried() -> None:
    world = World()
    world.endpoint.script.append(
        CredentialsRejectedError(401, "invalid_grant", "Invalid user credentials", "joor/test")
    )

    with pytest.raises(CredentialsRejectedError) as caught:
        world.run()

    assert world.endpoint.calls == 1
    assert world.clock.slept == []
    assert "secret 'joor/test'" in str(caught.value)
    assert "invalid_grant" in str(caught.value)
    assert "can lock the JOOR account" in str(caught.value)


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("credentials", SecretMalformedError("Secret 'joor/test' is missing keys: password")),
        ("write", TokenStoreWriteError("Could not write parameter")),
        ("endpoint", InvalidTokenResponseError("no access_token")),
    ],
)
def test_a_failure_after_reading_reports_the_kept_tokens_life(where: str, error: Exception) -> None:
    world = World(stored_with(600))
    if where == "credentials":
        world.credentials.fail = error  # type: ignore[assignment]
    elif where == "write":
        world.store.fail_write = error  # type: ignore[assignment]
    else:
        world.endpoint.script.append(error)

    with pytest.raises(type(error)) as caught:
        world.run()

    assert caught.value.seconds_left is not None  # type: ignore[attr-defined]
    assert 500 < caught.value.seconds_left <= 600  # type: ignore[attr-defined]


def test_a_read_failure_stops_the_run_before_credentials_are_read() -> None:
    world = World()
    world.store.fail_read = TokenStoreReadError("Could not read parameter: ThrottlingException")

    with pytest.raises(TokenStoreReadError):
        world.run()

    assert world.credentials.loads == 0


def test_a_token_expiring_sooner_than_the_stored_one_is_not_written() -> None:
    world = World(stored_with(3000))
    world.endpoint.script.append(1000.0)

    with pytest.raises(InvalidTokenResponseError, match="sooner than the stored one"):
        world.run()

    assert world.store.writes == []


def test_a_forced_run_replaces_even_a_longer_lived_token() -> None:
    world = World(stored_with(30000))
    world.endpoint.script.append(1000.0)

    outcome = world.run(force=True, operator=True)

    assert outcome.refreshed


def test_a_lifetime_inside_the_window_is_written_with_a_warning() -> None:
    world = World()
    world.endpoint.script.append(3600.0)

    outcome = world.run()

    assert outcome.refreshed
    assert len(outcome.warnings) == 1
    assert "REFRESH_WINDOW_SECONDS" in outcome.warnings[0]


def test_the_summary_holds_no_token() -> None:
    world = World()

    summary = world.run().summary()

    assert "token-1" not in repr(summary)
    assert set(summary) == {
        "result",
        "reason",
        "forced",
        "parameter",
        "version",
        "expires_at",
        "seconds_left",
    }
    assert summary["expires_at"] == "2026-11-28T22:00:00Z"


# --- a consumer reports a rejected version ----------------------------------------------


def test_a_rejected_version_that_is_still_stored_is_replaced_whatever_its_expiry() -> None:
    world = World(stored_with(30000, version=4))

    outcome = world.run(force=True, seen_version=4)

    assert outcome.refreshed
    assert outcome.reason == "rejected"
    assert outcome.version == 5
    assert world.store.reads == 1
    assert world.endpoint.calls == 1


def test_a_rejected_version_already_replaced_costs_one_read_and_no_login() -> None:
    world = World(stored_with(30000, version=5))

    outcome = world.run(force=True, seen_version=4)

    assert not outcome.refreshed
    assert outcome.reason == "already_replaced"
    assert outcome.version == 5
    assert world.store.reads == 1
    assert world.credentials.loads == 0
    assert world.endpoint.calls == 0


def test_reports_of_one_version_from_many_consumers_make_one_login() -> None:
    world = World(stored_with(30000, version=4))

    outcomes = [world.run(force=True, seen_version=4) for _ in range(20)]

    assert world.endpoint.calls == 1
    assert [o.reason for o in outcomes] == ["rejected"] + ["already_replaced"] * 19
    assert {o.version for o in outcomes} == {5}


def test_a_rejection_of_a_token_younger_than_the_minimum_age_does_not_log_in() -> None:
    world = World(stored_with(30000, version=4, written_ago=100))

    outcome = world.run(force=True, seen_version=4)

    assert not outcome.refreshed
    assert outcome.reason == "rate_limited"
    assert outcome.retry_after == 200
    assert outcome.summary()["retry_after_seconds"] == 200
    assert outcome.version == 4
    assert world.endpoint.calls == 0
    assert world.credentials.loads == 0


def test_a_rejection_exactly_at_the_minimum_age_logs_in() -> None:
    world = World(stored_with(30000, version=4, written_ago=MIN_AGE.total_seconds()))

    outcome = world.run(force=True, seen_version=4)

    assert outcome.refreshed


def test_an_endpoint_that_always_rejects_causes_one_login_per_minimum_age() -> None:
    world = World(stored_with(30000, version=1, written_ago=MIN_AGE.total_seconds()))

    # A consumer whose every request gets 401 reports the version it read, every 10 s.
    for _ in range(180):  # 30 minutes
        version = world.store.stored.version
        world.run(force=True, seen_version=version)
        world.clock.advance(10)

    # Once at the start, then once each time the token written last reaches the minimum age.
    assert world.endpoint.calls == 6


def test_a_rejection_without_a_stored_token_logs_in() -> None:
    world = World()

    outcome = world.run(force=True, seen_version=3)

    assert outcome.refreshed
    assert outcome.reason == "missing"


def test_an_operator_force_ignores_the_minimum_age() -> None:
    world = World(stored_with(30000, version=4, written_ago=1))

    outcome = world.run(force=True, operator=True)

    assert outcome.refreshed
    assert outcome.reason == "forced"
    assert world.credentials.describes == 1


def test_a_rejected_token_is_replaced_even_by_one_expiring_sooner() -> None:
    world = World(stored_with(36000 + 3600, version=4))

    outcome = world.run(force=True, seen_version=4)

    assert outcome.refreshed
    assert outcome.expires_at is not None
    assert world.store.writes[0].expires_at < START + timedelta(seconds=36000 + 3600)


def test_an_event_naming_another_parameter_is_refused_before_any_call() -> None:
    from refresher.domain.errors import InvalidEventError

    world = World(stored_with(30000))

    with pytest.raises(InvalidEventError, match=r"names parameter '/other'.*keeps '/joor/test"):
        world.run(force=True, seen_version=4, parameter="/other")
    assert world.store.reads == 0


def test_an_event_naming_this_parameter_is_served() -> None:
    world = World(stored_with(30000, version=4))

    outcome = world.run(force=True, seen_version=4, parameter="/joor/test/access-token")

    assert outcome.refreshed


@pytest.mark.parametrize(
    ("stored", "expected"),
    [(stored_with(30000), "fresh"), (stored_with(60), "expiring"), (None, "missing")],
)
def test_the_outcome_says_why(stored: StoredToken | None, expected: str) -> None:
    assert World(stored).run().reason == expected


def test_a_token_with_exactly_the_window_left_is_still_fresh() -> None:
    world = World(stored_with(WINDOW.total_seconds()))

    outcome = world.run()

    assert not outcome.refreshed
    assert world.endpoint.calls == 0
