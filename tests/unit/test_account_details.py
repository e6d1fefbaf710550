"""One account's run in detail: what reaches JOOR, the exact boundaries of the window, of the
time left and of the retry wait, and what each outcome says."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from refresher.domain.errors import (
    EndpointUnavailableError,
    SecretUnavailableError,
    TokenStoreReadError,
)
from refresher.domain.models import Credentials, IssuedToken, StoredToken
from refresher.domain.retry import Deadline, RetryPolicy
from tests.unit.fakes import CREDENTIALS, START, FakeClock, FakeEndpoint, transient
from tests.unit.worlds import WINDOW, World, stored_with


class RecordingEndpoint(FakeEndpoint):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.sent: list[Credentials] = []

    def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
        self.sent.append(credentials)
        return super().request_token(credentials, timeout)


def rebuild(world: World, retry: RetryPolicy, endpoint: FakeEndpoint | None = None) -> None:
    """The world's refresher with this retry policy (and endpoint)."""
    if endpoint is not None:
        world.endpoint = endpoint
    world.retry = retry
    world.refresher = world.build()


def test_the_credentials_loaded_are_the_ones_sent_to_joor() -> None:
    world = World()
    endpoint = RecordingEndpoint(world.clock)
    rebuild(world, RetryPolicy(), endpoint)

    world.run()

    assert endpoint.sent == [replace(CREDENTIALS, version=world.credentials.version)]


def test_a_retry_policy_given_is_the_one_used() -> None:
    world = World()
    rebuild(world, RetryPolicy(max_attempts=2, rng=random.Random(1)))
    world.endpoint.script.extend([transient(), transient(), transient()])

    with pytest.raises(EndpointUnavailableError, match="after 2 attempts"):
        world.run()

    assert world.endpoint.calls == 2


def test_a_refreshed_outcome_names_the_parameter_and_the_new_tokens_life() -> None:
    world = World()

    summary = world.run().summary()

    assert summary["parameter"] == world.store.parameter
    assert summary["seconds_left"] == 35999  # 36000 s from before the request, 0.1 s ago


def test_a_skipped_outcome_names_the_parameter_and_the_kept_token() -> None:
    world = World(stored_with(20000.0, version=4))

    outcome = world.run()

    assert (outcome.refreshed, outcome.forced, outcome.parameter, outcome.version) == (
        False,
        False,
        world.store.parameter,
        4,
    )
    assert outcome.expires_at == START + timedelta(seconds=20000)


def test_a_skipped_report_of_a_replaced_version_counts_as_forced() -> None:
    world = World(stored_with(20000.0, version=5))

    outcome = world.run(force=True, seen_version=4)

    assert (outcome.refreshed, outcome.forced, outcome.reason) == (False, True, "already_replaced")
    assert outcome.expires_at == START + timedelta(seconds=20000)


def test_an_operators_forced_run_that_fails_reports_no_life_left_since_it_read_none() -> None:
    world = World(stored_with(20000.0))
    world.credentials.fail = SecretUnavailableError("gone")

    with pytest.raises(SecretUnavailableError) as caught:
        world.run(force=True, operator=True)

    assert caught.value.seconds_left is None


def test_a_run_whose_store_read_fails_reports_no_life_left() -> None:
    world = World(stored_with(20000.0))
    world.store.fail_read = TokenStoreReadError("Could not read parameter")

    with pytest.raises(TokenStoreReadError) as caught:
        world.run()

    assert caught.value.seconds_left is None


def test_a_lifetime_exactly_as_long_as_the_window_is_written_with_a_warning() -> None:
    world = World()
    world.endpoint.script.append(WINDOW.total_seconds())

    outcome = world.run()

    assert outcome.warnings == (
        "JOOR issued a token living 10800 s, no longer than the refresh window (10800 s): every "
        "run will refresh. Lower REFRESH_WINDOW_SECONDS.",
    )


def test_a_new_token_expiring_exactly_with_the_stored_one_is_written() -> None:
    # The stored token has less than the window left; JOOR's new one ends at the same second.
    world = World(stored_with(3600.0 + 0.0))
    world.endpoint.script.append(3600.0)
    world.endpoint.time_per_call = 0.0

    outcome = world.run()

    assert outcome.refreshed
    assert len(world.store.writes) == 1


def test_with_no_time_for_a_first_attempt_it_says_no_attempt_was_made() -> None:
    world = World()

    with pytest.raises(EndpointUnavailableError) as caught:
        world.run(time_limit=1.0)

    assert str(caught.value) == (
        "JOOR /auth/ unavailable: stopped after 0 attempt(s) with 1.0 s left in the invocation "
        "(last problem: no attempt made)"
    )


def test_an_attempt_starts_with_exactly_the_least_attempt_time_left() -> None:
    world = World()

    assert world.run(time_limit=RetryPolicy().min_attempt_time).refreshed


def test_a_retry_is_made_when_the_wait_leaves_exactly_the_least_attempt_time() -> None:
    world = World()
    rebuild(world, RetryPolicy(base_delay=0.0, rng=random.Random(1)))
    world.endpoint.time_per_call = 0.5
    # After the first attempt 9.5 s are left; waiting 7.5 s leaves exactly 2 s.
    world.endpoint.script.append(transient(retry_after=7.5))

    outcome = world.run(time_limit=10.0)

    assert outcome.refreshed
    assert world.endpoint.calls == 2
    assert world.clock.slept == [7.5]


def test_the_backoff_doubles_from_the_base_delay_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0)

    assert [policy.backoff_cap(a) for a in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 16, 20]


class LowestRandom(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def test_the_jittered_backoff_can_be_no_wait_at_all() -> None:
    assert RetryPolicy(rng=LowestRandom()).backoff(3) == 0.0


def test_a_deadline_passed_leaves_no_time() -> None:
    clock = FakeClock()
    deadline = Deadline(clock, 5.0)
    clock.advance(7.0)

    assert deadline.remaining() == 0.0


def test_a_token_read_without_a_version_is_stale_enough_to_replace() -> None:
    world = World(StoredToken(exists=True, expires_at=None, version=None))

    assert world.run().reason == "expiring"


def test_the_slowest_joor_exchange_is_every_attempt_timing_out_after_the_longest_waits() -> None:
    policy = RetryPolicy(max_attempts=4, attempt_timeout=10.0, base_delay=1.0, max_delay=20.0)

    # Four attempts of 3 s to connect and 10 s to answer, and waits of 1, 2 and 4 s between.
    assert policy.worst_case_seconds(connect_timeout=3.0) == 4 * 13.0 + 7.0
    assert RetryPolicy(max_attempts=1).worst_case_seconds(connect_timeout=3.0) == 13.0
