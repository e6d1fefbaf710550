"""Fixtures for the consumer package's unit tests: fakes only, no sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from joor_token import JoorBearerAuth, TokenReader
from tests.consumer.fakes import (
    FUNCTION,
    PARAMETER,
    FakeClock,
    FakeJoorApi,
    FakeLambda,
    FakeRefresher,
    FakeSsm,
)


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


@pytest.fixture
def reader(make_reader: Callable[..., TokenReader]) -> TokenReader:
    return make_reader()


@pytest.fixture
def reader_with_token(reader: TokenReader) -> TokenReader:
    """A reader that has read the stored token (version 1), as JOOR is about to reject it."""
    reader.token()
    return reader


@pytest.fixture
def api(ssm: FakeSsm) -> FakeJoorApi:
    # JOOR has revoked every token written so far: only later versions work.
    revoked = {v.value for v in ssm.versions}
    return FakeJoorApi(lambda token: token not in revoked)


@pytest.fixture
def session(api: FakeJoorApi, reader: TokenReader) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount("https://", api)
        session.auth = JoorBearerAuth(reader)
        yield session
