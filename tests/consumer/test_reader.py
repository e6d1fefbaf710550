"""TokenReader against in-memory SSM and Lambda clients: caching, renewal, coalescing, errors."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from joor_token import (
    ConfigurationError,
    JoorTokenError,
    RefreshFailedError,
    RefreshRateLimitedError,
    TokenReader,
    TokenUnavailableError,
)
from joor_token._aws import TokenRead
from tests.consumer.fakes import (
    FUNCTION,
    PARAMETER,
    Entrants,
    FakeClock,
    FakeLambda,
    FakeRefresher,
    FakeSsm,
    client_error,
    function_timeout,
)
from tests.leakwatch import WATCH

MakeReader = Callable[..., TokenReader]


def run_threads(count: int, target: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Start ``count`` threads at once on ``target``; their results and errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            result = target()
        except BaseException as error:  # noqa: BLE001 - collected for the test
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return results, errors


# --- caching ------------------------------------------------------------------------------


def test_the_first_token_costs_one_decrypting_read_and_later_ones_none(
    make_reader: MakeReader, ssm: FakeSsm
) -> None:
    reader = make_reader()

    first = reader.token()
    again = [reader.token() for _ in range(50)]

    assert ssm.calls == [PARAMETER]
    assert first == ssm.versions[-1].value
    assert set(again) == {first}


def test_a_cached_token_is_read_again_once_it_is_max_age_old(
    make_reader: MakeReader, ssm: FakeSsm, clock: FakeClock
) -> None:
    reader = make_reader(max_age_seconds=300)
    reader.token()
    newer = ssm.write()

    clock.advance(299.9)
    before = reader.token()
    clock.advance(0.1)
    after = reader.token()

    assert before == ssm.versions[0].value
    assert after == newer
    assert ssm.calls == [PARAMETER, PARAMETER]


def test_concurrent_first_calls_make_one_read(make_reader: MakeReader, ssm: FakeSsm) -> None:
    reader = make_reader()
    ssm.gate = Entrants(expected=20)

    tokens, errors = run_threads(20, reader.token)

    assert errors == []
    assert set(tokens) == {ssm.versions[-1].value}
    assert len(ssm.calls) == 1


def test_a_read_that_loses_a_race_with_a_renewal_does_not_bring_back_the_old_token(
    make_reader: MakeReader, ssm: FakeSsm, clock: FakeClock
) -> None:
    # GIVEN a cache about to expire, and a read of it held inside GetParameter
    reader = make_reader()
    old = reader.token()
    clock.advance(300)
    held, release = threading.Event(), threading.Event()

    def hold_first_read() -> None:
        if not held.is_set():
            held.set()
            ssm.gate = None
            release.wait(10)

    ssm.gate = hold_first_read
    answered: dict[str, str] = {}
    slow = threading.Thread(target=lambda: answered.setdefault("slow", reader.token()))
    slow.start()
    assert held.wait(10)
    # WHEN a renewal replaces the token while that read (which saw the old version) is held,
    # time passing before and after it: the held read is answered last, but was sent first
    ssm.calls.clear()
    clock.advance(5)
    renewed = reader.refresh_after_rejection(rejected_token=old)
    clock.advance(5)
    release.set()
    slow.join(10)

    # THEN the reader keeps the renewed token
    assert renewed == ssm.versions[-1].value != old
    assert reader.token() == renewed


def test_an_older_version_read_at_the_same_clock_reading_does_not_replace_the_newer(
    make_reader: MakeReader,
) -> None:
    # A coarse clock can give a renewal's read and a slower read of the old version the same
    # reading: the version decides, and the reader keeps the newer token.
    reader = make_reader()
    newer = reader._install(TokenRead("token-v2", 2, 10.0))

    kept = reader._install(TokenRead("token-v1", 1, 10.0))

    assert kept is newer
    assert reader._install(TokenRead("token-v1", 1, 10.5)).version == 1  # read later: it wins


def test_a_tokens_age_counts_from_before_its_read_was_sent(
    make_reader: MakeReader, ssm: FakeSsm, clock: FakeClock
) -> None:
    # GIVEN a first read that takes 100 s to be answered
    ssm.gate = lambda: clock.advance(100)
    reader = make_reader()  # max_age_seconds=300
    reader.token()
    ssm.gate = None
    ssm.calls.clear()

    # WHEN 250 s pass after the answer: 350 s after the read was sent
    clock.advance(250)
    reader.token()

    # THEN the token is older than 300 s, and read again
    assert ssm.calls == [PARAMETER]


# --- max age ------------------------------------------------------------------------------


@pytest.mark.parametrize("max_age", [3600.1, 7200, 36000])
def test_a_max_age_beyond_the_stacks_least_guarantee_is_refused(max_age: float) -> None:
    with pytest.raises(ConfigurationError) as caught:
        TokenReader(PARAMETER, max_age_seconds=max_age)

    assert "max_age_seconds must be more than 0 and at most 3600 seconds" in str(caught.value)
    assert "the least life any configuration of the stack guarantees" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("max_age", [0, -1, math.nan, math.inf, True, "300"])
def test_a_max_age_that_is_not_a_positive_number_is_refused(max_age: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_age_seconds must be"):
        TokenReader(PARAMETER, max_age_seconds=max_age)


def test_the_longest_allowed_max_age_is_the_least_guarantee(
    make_reader: MakeReader, ssm: FakeSsm, clock: FakeClock
) -> None:
    reader = make_reader(max_age_seconds=3600)
    reader.token()
    clock.advance(3599)
    reader.token()
    clock.advance(1)
    reader.token()

    assert len(ssm.calls) == 2


# --- configuration ------------------------------------------------------------------------


def test_defaults_come_from_the_environment_when_the_reader_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOOR_TOKEN_PARAMETER", "/joor/production/access-token")
    monkeypatch.setenv("JOOR_TOKEN_REFRESHER_FUNCTION", "arn:aws:lambda:eu-west-1:1:function:f")
    reader = TokenReader()
    monkeypatch.setenv("JOOR_TOKEN_PARAMETER", "/changed")

    assert reader.parameter_name == "/joor/production/access-token"
    assert reader.refresher_function == "arn:aws:lambda:eu-west-1:1:function:f"


def test_without_a_parameter_name_the_error_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOOR_TOKEN_PARAMETER", raising=False)

    with pytest.raises(ConfigurationError, match="JOOR_TOKEN_PARAMETER"):
        TokenReader()


def test_building_a_reader_makes_no_aws_call(ssm: FakeSsm, lambda_: FakeLambda) -> None:
    TokenReader(PARAMETER, refresher_function=FUNCTION, ssm_client=ssm, lambda_client=lambda_)  # type: ignore[arg-type]

    assert ssm.calls == []
    assert lambda_.calls == []


# --- renewal after a rejection ------------------------------------------------------------


def test_a_rejection_invokes_the_refresher_with_the_version_and_reads_the_one_it_names(
    make_reader: MakeReader, ssm: FakeSsm, lambda_: FakeLambda, refresher: FakeRefresher
) -> None:
    reader = make_reader()
    rejected = reader.token()

    renewed = reader.refresh_after_rejection()

    assert lambda_.events == [{"force": True, "seen_version": 1, "parameter": PARAMETER}]
    assert lambda_.calls == [{"FunctionName": FUNCTION, "InvocationType": "RequestResponse"}]
    assert ssm.calls == [PARAMETER, f"{PARAMETER}:2"]
    assert renewed == ssm.versions[1].value != rejected
    assert reader.token() == renewed
    assert refresher.logins == 1


def test_already_replaced_reads_the_version_the_refresher_names(
    reader_with_token: TokenReader, ssm: FakeSsm, lambda_: FakeLambda, refresher: FakeRefresher
) -> None:
    ssm.write()  # another process got version 2 written meanwhile
    third = ssm.write()

    renewed = reader_with_token.refresh_after_rejection()

    assert renewed == third
    assert ssm.calls[-1] == f"{PARAMETER}:3"
    assert refresher.logins == 0


def test_threads_reporting_the_same_version_make_one_invocation_and_all_get_the_new_token(
    make_reader: MakeReader, ssm: FakeSsm, lambda_: FakeLambda, refresher: FakeRefresher
) -> None:
    reader = make_reader()
    rejected = reader.token()
    lambda_.gate = Entrants(expected=20)

    tokens, errors = run_threads(
        20, lambda: reader.refresh_after_rejection(rejected_token=rejected)
    )

    assert errors == []
    assert len(lambda_.events) == 1
    assert refresher.logins == 1
    assert set(tokens) == {ssm.versions[-1].value}
    assert ssm.version == 2


class PausingLock:
    """Stands in for the reader's lock: the thread named ``name`` runs ``pause`` before it
    takes the lock for the ``nth`` time. The reader has no other seam between admitting a
    report and taking its lock, so this is the one place a test reaches into it."""

    def __init__(self, name: str, nth: int, pause: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._name, self._nth, self._pause = name, nth, pause
        self._taken = 0

    def __enter__(self) -> PausingLock:
        if threading.current_thread().name == self._name:
            self._taken += 1
            if self._taken == self._nth:
                self._pause()
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_a_report_looks_for_a_renewal_in_flight_under_the_lock_that_starts_one(
    make_reader: MakeReader, lambda_: FakeLambda, ssm: FakeSsm
) -> None:
    # GIVEN two threads reporting the same token, where the second has read the cache and is
    # about to take the lock to look for a renewal in flight when the first starts one
    reader = make_reader()
    rejected = reader.token()
    second_paused, first_invoking, release = (threading.Event() for _ in range(3))

    def pause() -> None:
        second_paused.set()
        assert first_invoking.wait(10)

    def hold_invocations() -> None:
        first_invoking.set()
        release.wait(10)

    reader._lock = PausingLock("second", 2, pause)  # type: ignore[assignment]
    lambda_.gate = hold_invocations
    threads = [
        threading.Thread(
            target=reader.refresh_after_rejection, kwargs={"rejected_token": rejected}, name=name
        )
        for name in ("second", "first")
    ]
    threads[0].start()
    assert second_paused.wait(10)

    # WHEN the first starts its renewal while the second waits for the lock
    threads[1].start()
    assert first_invoking.wait(10)
    threading.Event().wait(0.3)  # time for a second invocation, were there one
    release.set()
    for thread in threads:
        thread.join(10)

    # THEN the second found the first's renewal and waited for it: one invocation
    assert lambda_.events == [{"force": True, "seen_version": 1, "parameter": PARAMETER}]
    assert reader.token() == ssm.versions[-1].value != rejected


def test_a_thread_reporting_a_token_already_replaced_gets_the_new_one_without_any_call(
    make_reader: MakeReader, ssm: FakeSsm, lambda_: FakeLambda
) -> None:
    reader = make_reader()
    five = reader.token()
    six = reader.refresh_after_rejection(rejected_token=five)
    calls = (len(ssm.calls), len(lambda_.events))

    late = reader.refresh_after_rejection(rejected_token=five)

    assert late == six
    assert (len(ssm.calls), len(lambda_.events)) == calls


def test_a_rejection_reported_before_any_token_was_read_reads_then_renews(
    make_reader: MakeReader, ssm: FakeSsm, lambda_: FakeLambda
) -> None:
    reader = make_reader()

    renewed = reader.refresh_after_rejection()

    assert lambda_.events == [{"force": True, "seen_version": 1, "parameter": PARAMETER}]
    assert renewed == ssm.versions[-1].value


def test_two_processes_reporting_the_same_version_make_one_login(
    ssm: FakeSsm, refresher: FakeRefresher, clock: FakeClock
) -> None:
    # Two readers (two processes) share the parameter and the refresher, not their memory.
    readers = [
        TokenReader(
            PARAMETER,
            refresher_function=FUNCTION,
            ssm_client=ssm,  # type: ignore[arg-type]
            lambda_client=FakeLambda(refresher),  # type: ignore[arg-type]
            clock=clock,
            sleep=clock.sleep,
        )
        for _ in range(2)
    ]
    rejected = [reader.token() for reader in readers]

    renewed = [reader.refresh_after_rejection() for reader in readers]

    assert rejected[0] == rejected[1]
    assert renewed[0] == renewed[1] == ssm.versions[-1].value
    assert refresher.logins == 1


# --- a busy refresher (429) ---------------------------------------------------------------


def test_while_the_refresher_is_busy_the_reader_waits_for_the_version_it_is_writing(
    reader_with_token: TokenReader, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    lambda_.script = ["busy"]
    # The busy run is another consumer's renewal: it writes version 2 while this one waits.
    clock.on_sleep = lambda _: ssm.version == 1 and ssm.write()

    renewed = reader_with_token.refresh_after_rejection()

    assert renewed == ssm.versions[1].value
    assert len(lambda_.events) == 1
    assert len(clock.slept) == 1


def test_when_the_busy_run_wrote_nothing_the_reader_invokes_again(
    reader_with_token: TokenReader,
    ssm: FakeSsm,
    lambda_: FakeLambda,
    refresher: FakeRefresher,
    clock: FakeClock,
) -> None:
    lambda_.script = ["busy", "busy"]  # a scheduled run that found the token fresh

    renewed = reader_with_token.refresh_after_rejection()

    assert renewed == ssm.versions[-1].value
    assert len(lambda_.events) == 3
    assert refresher.logins == 1
    assert len(clock.slept) == 2
    assert clock.slept[1] > clock.slept[0] / 2  # backs off, it does not hammer


def test_a_refresher_busy_past_the_wait_limit_is_a_clear_error(
    make_reader: MakeReader, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    reader = make_reader(busy_wait_seconds=30)
    reader.token()
    lambda_.script = ["busy"] * 1000
    started = clock()

    with pytest.raises(RefreshFailedError) as caught:
        reader.refresh_after_rejection()

    waited = clock() - started
    assert 30 <= waited <= 30.001
    assert "stayed busy" in str(caught.value)
    assert "busy_wait_seconds" in str(caught.value)
    assert max(clock.slept) <= 5
    assert len(lambda_.events) == len(clock.slept)


def test_the_default_wait_covers_a_refresh_that_runs_for_the_functions_whole_timeout(
    reader_with_token: TokenReader, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    lambda_.script = ["busy"] * 1000
    started = clock()
    # The busy run writes its token at the very end of the function's timeout (template.yaml),
    # counted from this reader's first 429.
    timeout = function_timeout()
    clock.on_sleep = lambda _: clock() - started >= timeout and ssm.version == 1 and ssm.write()

    renewed = reader_with_token.refresh_after_rejection()

    assert renewed == ssm.versions[1].value


# --- the refresher declines or fails ------------------------------------------------------


def test_rate_limited_raises_an_error_that_says_what_to_check(
    reader_with_token: TokenReader, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    reader_with_token.refresh_after_rejection()  # version 2, written just now
    clock.advance(60)

    with pytest.raises(RefreshRateLimitedError) as caught:
        reader_with_token.refresh_after_rejection()

    error = caught.value
    assert isinstance(error, RefreshFailedError)
    assert error.retry_after_seconds == 241
    message = str(error)
    assert "minimum interval" in message
    assert "sandbox or production" in message
    assert "rights" in message
    assert ssm.version == 2


def test_a_rate_limited_version_is_not_sent_again_until_the_refresher_would_accept_it(
    reader_with_token: TokenReader, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    reader_with_token.refresh_after_rejection()
    clock.advance(60)
    with pytest.raises(RefreshRateLimitedError):
        reader_with_token.refresh_after_rejection()
    invocations = len(lambda_.events)

    for _ in range(10):
        clock.advance(20)
        with pytest.raises(RefreshRateLimitedError):
            reader_with_token.refresh_after_rejection()
    assert len(lambda_.events) == invocations
    clock.advance(41)
    renewed = reader_with_token.refresh_after_rejection()

    assert len(lambda_.events) == invocations + 1
    assert renewed == ssm.versions[-1].value
    assert ssm.version == 3


def test_a_refresher_failure_names_its_error_type_and_message_not_its_stack(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    lambda_.script = [
        (
            "function_error",
            "CredentialsRejectedError",
            "JOOR rejected the credentials in secret 'joor/sandbox/api-credentials' (HTTP 401, "
            "invalid_grant: Invalid user credentials).",
        )
    ]

    with pytest.raises(RefreshFailedError) as caught:
        reader_with_token.refresh_after_rejection()

    message = str(caught.value)
    assert message.startswith(
        f"The token refresher '{FUNCTION}' failed: CredentialsRejectedError: JOOR rejected"
    )
    assert "invalid_grant" in message
    assert "app.py" not in message
    assert not isinstance(caught.value, RefreshRateLimitedError)


def test_threads_waiting_on_a_failed_renewal_all_get_its_error_and_cause_one_invocation(
    make_reader: MakeReader, lambda_: FakeLambda
) -> None:
    reader = make_reader()
    rejected = reader.token()
    lambda_.script = [("function_error", "EndpointUnavailableError", "JOOR /auth/ unavailable")]
    lambda_.gate = Entrants(expected=10)

    results, errors = run_threads(10, lambda: reader.refresh_after_rejection(rejected))

    assert results == []
    assert len(errors) == 10
    assert all(isinstance(e, RefreshFailedError) for e in errors)
    assert len(lambda_.events) == 1


def test_an_invoke_the_role_may_not_make_says_which_permission_is_missing(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    denied = client_error(
        "Invoke", "AccessDeniedException", "not authorized to perform: lambda:InvokeFunction", 403
    )
    lambda_.script = [denied]

    with pytest.raises(RefreshFailedError, match="lambda:InvokeFunction") as caught:
        reader_with_token.refresh_after_rejection()

    assert caught.value.__cause__ is denied


def test_an_unknown_function_says_which_variable_to_check(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    lambda_.script = [
        client_error("Invoke", "ResourceNotFoundException", "Function not found", 404)
    ]

    with pytest.raises(RefreshFailedError, match="JOOR_TOKEN_REFRESHER_FUNCTION"):
        reader_with_token.refresh_after_rejection()


@pytest.mark.parametrize(
    "summary",
    [
        {"result": "skipped", "reason": "fresh", "version": 1, "parameter": PARAMETER},
        {"result": "refreshed", "reason": "forced", "version": None, "parameter": PARAMETER},
        {"result": "refreshed", "reason": "rejected", "version": 2, "parameter": "/other"},
    ],
    ids=["no newer version", "no version", "another parameter"],
)
def test_a_summary_that_names_no_usable_version_is_an_error(
    reader_with_token: TokenReader, lambda_: FakeLambda, summary: dict[str, Any]
) -> None:
    lambda_.script = [summary]

    with pytest.raises(RefreshFailedError):
        reader_with_token.refresh_after_rejection()


# --- without a refresher ------------------------------------------------------------------


@pytest.fixture
def reader_without_refresher(
    make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch
) -> TokenReader:
    """A reader with no refresher function, from its arguments or the environment, holding
    version 1."""
    monkeypatch.delenv("JOOR_TOKEN_REFRESHER_FUNCTION", raising=False)
    reader = make_reader(refresher_function=None)
    reader.token()
    return reader


def test_without_a_refresher_a_rejection_reads_the_parameter_again(
    reader_without_refresher: TokenReader, ssm: FakeSsm
) -> None:
    newer = ssm.write()

    assert reader_without_refresher.refresh_after_rejection() == newer


def test_without_a_refresher_and_nothing_newer_the_error_says_how_to_get_one(
    reader_without_refresher: TokenReader, lambda_: FakeLambda
) -> None:
    with pytest.raises(RefreshFailedError, match="JOOR_TOKEN_REFRESHER_FUNCTION"):
        reader_without_refresher.refresh_after_rejection()
    assert lambda_.events == []


# --- reading failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("ParameterNotFound", "JOOR_TOKEN_PARAMETER"),
        ("AccessDeniedException", "TokenReaderPolicy"),
        ("KMS.AccessDeniedException", "kms:Decrypt"),
        ("ThrottlingException", "ThrottlingException"),
    ],
)
def test_a_parameter_that_cannot_be_read_raises_an_error_saying_what_to_check(
    make_reader: MakeReader, ssm: FakeSsm, code: str, hint: str
) -> None:
    failure = client_error("GetParameter", code, "refused")
    ssm.errors = [failure]
    reader = make_reader()

    with pytest.raises(TokenUnavailableError, match=hint) as caught:
        reader.token()

    assert caught.value.__cause__ is failure
    assert PARAMETER in str(caught.value)


# --- no token anywhere --------------------------------------------------------------------


def test_nothing_logged_or_raised_holds_a_token(
    make_reader: MakeReader,
    ssm: FakeSsm,
    lambda_: FakeLambda,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reader = make_reader()
    first = reader.token()
    texts = [repr(reader)]
    reader.refresh_after_rejection()
    lambda_.script = [
        "busy",
        ("function_error", "UnexpectedError", f"bad {ssm.versions[-1].value}"),
    ]
    with pytest.raises(JoorTokenError) as failed:
        reader.refresh_after_rejection()
    clock.advance(400)
    reader.refresh_after_rejection()
    clock.advance(1)
    with pytest.raises(RefreshRateLimitedError) as limited:
        reader.refresh_after_rejection()
    texts += [str(failed.value), repr(failed.value), str(limited.value), caplog.text]
    for text in texts:
        WATCH.record("consumer unit test output", text)

    tokens = [v.value for v in ssm.versions]
    assert first in tokens
    assert "[redacted]" in str(failed.value)
    assert "Token refresher" in caplog.text  # the busy warning was logged
    for text in texts:
        for token in tokens:
            assert token not in text
            assert token[:12] not in text
