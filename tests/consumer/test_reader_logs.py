"""What the reader tells the workload's logs while it renews a token, word for word, and how it
waits for a busy refresher: the pauses it takes and the reads between them."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from typing import Any

import pytest

import joor_token
from joor_token import RefreshFailedError, TokenReader, _aws
from tests.consumer.fakes import FUNCTION, PARAMETER, FakeClock, FakeLambda, FakeSsm

Make = Callable[..., TokenReader]


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("joor_token")]


def test_a_renewal_without_a_refresher_says_it_reads_the_parameter_again(
    make_reader: Make, ssm: FakeSsm, caplog: pytest.LogCaptureFixture
) -> None:
    reader = make_reader(refresher_function=None)
    reader.token()
    ssm.write()  # the scheduled run replaced it meanwhile

    with caplog.at_level(logging.INFO, logger="joor_token"):
        reader.refresh_after_rejection()

    assert messages(caplog) == [
        (
            logging.WARNING,
            f"JOOR rejected version 1 of {PARAMETER}; no refresher function configured, "
            "reading the parameter again",
        )
    ]


def test_a_renewal_says_which_function_it_asks_and_which_version_it_got(
    make_reader: Make, caplog: pytest.LogCaptureFixture
) -> None:
    reader = make_reader()
    reader.token()

    with caplog.at_level(logging.INFO, logger="joor_token"):
        reader.refresh_after_rejection()

    assert messages(caplog) == [
        (
            logging.INFO,
            f"JOOR rejected version 1 of {PARAMETER}; asking {FUNCTION} for a new token",
        ),
        (logging.INFO, f"Token version 2 of {PARAMETER} ready (refresher: refreshed, rejected)"),
    ]


def test_a_busy_refresher_is_reported_once_and_the_version_that_appeared_named(
    make_reader: Make,
    ssm: FakeSsm,
    lambda_: FakeLambda,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lambda_.script += ["busy", "busy"]
    reader = make_reader(busy_wait_seconds=60)
    reader.token()

    def busy_run_writes_during_the_second_pause(_seconds: float) -> None:
        if len(clock.slept) == 2:
            ssm.write()

    clock.on_sleep = busy_run_writes_during_the_second_pause

    with caplog.at_level(logging.INFO, logger="joor_token"):
        reader.refresh_after_rejection()

    assert messages(caplog) == [
        (
            logging.INFO,
            f"JOOR rejected version 1 of {PARAMETER}; asking {FUNCTION} for a new token",
        ),
        (
            logging.WARNING,
            f"Token refresher {FUNCTION} is busy "
            "(ReservedFunctionConcurrentInvocationLimitExceeded); waiting up to 60 s for a "
            f"version of {PARAMETER} newer than 1",
        ),
        (logging.INFO, f"Version 2 of {PARAMETER} appeared while the refresher was busy"),
    ]
    assert len(lambda_.calls) == 2


def test_pauses_for_a_busy_refresher_start_at_half_a_second_and_double(
    make_reader: Make, lambda_: FakeLambda, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        ranges.append((low, high))
        return high

    monkeypatch.setattr("joor_token._reader.random.uniform", uniform)
    lambda_.script += ["busy"] * 20
    reader = make_reader(busy_wait_seconds=18)
    reader.token()

    with pytest.raises(RefreshFailedError):
        reader.refresh_after_rejection()

    # Jitter within the upper half of a backoff that doubles up to 5 s; the last pause is cut
    # to the half second left, and taken: the refresher may be done by then.
    assert ranges[:5] == [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.5, 5.0)]
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 0.5]


def test_with_no_time_to_wait_a_busy_refresher_costs_no_pause_and_no_read(
    make_reader: Make, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    lambda_.script.append("busy")
    reader = make_reader(busy_wait_seconds=0)
    reader.token()
    reads = len(ssm.calls)

    with pytest.raises(RefreshFailedError):
        reader.refresh_after_rejection()

    assert clock.slept == []
    assert len(ssm.calls) == reads


def test_a_rejection_after_the_cache_aged_names_the_token_that_was_handed_out(
    make_reader: Make, ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock
) -> None:
    reader = make_reader(max_age_seconds=60)
    sent = reader.token()
    ssm.write()  # version 2, written after the reader's read
    clock.advance(120)  # the cached token is past max_age, but it is the one JOOR rejected

    assert reader.refresh_after_rejection() != sent

    # The refresher hears of version 1, finds 2 already there and does not log in.
    assert [e["seen_version"] for e in lambda_.events] == [1]
    assert lambda_.refresher is not None
    assert lambda_.refresher.logins == 0


def test_a_reader_makes_its_own_ssm_client_once(
    ssm: FakeSsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeSsm] = []

    def new_ssm_client(session: object = None) -> Any:
        made.append(ssm)
        return ssm

    monkeypatch.setattr(_aws, "new_ssm_client", new_ssm_client)
    reader = TokenReader(PARAMETER, max_age_seconds=1, clock=ssm.clock)

    first = reader.token()
    ssm.clock.advance(2)
    assert reader.token() == first

    assert len(made) == 1
    assert ssm.calls == [PARAMETER, PARAMETER]


def test_requests_missing_at_the_top_is_named_as_the_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def without_requests(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "joor_token._requests_auth":
            raise ModuleNotFoundError("No module named 'requests'", name="requests")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(joor_token.__dict__, "JoorBearerAuth", raising=False)
    monkeypatch.setattr(builtins, "__import__", without_requests)

    with pytest.raises(ImportError, match="needs the requests package") as caught:
        _ = joor_token.JoorBearerAuth

    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
