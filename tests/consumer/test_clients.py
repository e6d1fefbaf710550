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
