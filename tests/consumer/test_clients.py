"""The clients a reader makes for itself when none is passed in."""

from __future__ import annotations

import pytest

from joor_token import _aws


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


def test_the_ssm_client_retries_twice_and_gives_up_on_a_silent_network_in_seconds() -> None:
    client = _aws.new_ssm_client()

    assert client.meta.service_model.service_name == "ssm"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (5, 10)


def test_the_lambda_client_connects_within_seconds() -> None:
    client = _aws.new_lambda_client()

    assert client.meta.service_model.service_name == "lambda"
    assert client.meta.config.connect_timeout == 5


def test_a_reader_given_no_lambda_client_makes_its_own_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from joor_token import TokenReader
    from tests.consumer.fakes import (
        FUNCTION,
        PARAMETER,
        FakeClock,
        FakeLambda,
        FakeRefresher,
        FakeSsm,
    )

    clock = FakeClock()
    ssm = FakeSsm(clock)
    ssm.write()
    clock.advance(3600)
    made: list[FakeLambda] = []

    def new_lambda_client() -> FakeLambda:
        made.append(FakeLambda(FakeRefresher(ssm)))
        return made[-1]

    monkeypatch.setattr(_aws, "new_lambda_client", new_lambda_client)
    reader = TokenReader(PARAMETER, refresher_function=FUNCTION, ssm_client=ssm, clock=clock)  # type: ignore[arg-type]
    reader.token()

    reader.refresh_after_rejection()
    clock.advance(3600)
    reader.refresh_after_rejection()

    assert len(made) == 1
    assert len(made[0].events) == 2
