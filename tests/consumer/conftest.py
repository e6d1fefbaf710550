"""Fixtures for the consumer package's unit tests: fakes only, no sockets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from joor_token import TokenReader
from tests.consumer.fakes import FUNCTION, PARAMETER, FakeClock, FakeLambda, FakeRefresher, FakeSsm


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ssm(clock: FakeClock) -> FakeSsm:
    ssm = FakeSsm(clock)
    ssm.write()
    clock.advance(3600)  # the stored token is an hour old: a rejection of it is not rate limited
    return ssm


@pytest.fixture
def refresher(ssm: FakeSsm) -> FakeRefresher:
    return FakeRefresher(ssm)


@pytest.fixture
def lambda_(refresher: FakeRefresher) -> FakeLambda:
    return FakeLambda(refresher)


@pytest.fixture
def make_reader(ssm: FakeSsm, lambda_: FakeLambda, clock: FakeClock) -> Callable[..., TokenReader]:
    def make(**options: Any) -> TokenReader:
        options.setdefault("refresher_function", FUNCTION)
        return TokenReader(
            options.pop("parameter_name", PARAMETER),
            ssm_client=ssm,  # type: ignore[arg-type]
            lambda_client=lambda_,  # type: ignore[arg-type]
            clock=clock,
            sleep=clock.sleep,
            **options,
        )

    return make
