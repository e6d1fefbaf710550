"""The clients a reader makes for itself when none is passed in."""

from __future__ import annotations

import threading

import pytest

from joor_token import _aws, _reader


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

    def new_lambda_client(session: object = None) -> FakeLambda:
        assert session is None
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


def test_threads_that_ask_for_a_client_while_it_is_being_made_wait_for_that_one() -> None:
    entered, release = threading.Event(), threading.Event()
    made: list[object] = []

    def make() -> object:
        made.append(object())
        entered.set()
        release.wait()
        return made[-1]

    client = _reader._OnFirstUse(None, make)
    got: list[object] = []
    first = threading.Thread(target=lambda: got.append(client.get()))
    first.start()
    entered.wait()
    second = threading.Thread(target=lambda: got.append(client.get()))
    second.start()
    second.join(0.2)  # time to make a second client, if it would
    release.set()
    first.join()
    second.join()

    assert len(made) == 1
    assert got == [made[0], made[0]]


def test_a_client_given_to_the_reader_is_used_and_none_is_made() -> None:
    given = object()

    def make() -> object:
        raise AssertionError("a client was made although one was given")

    assert _reader._OnFirstUse(given, make).get() is given


# --- the region ---------------------------------------------------------------------------


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No region from anywhere but what the test sets: no profile, no config file."""
    import os

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def test_the_clients_take_aws_region_when_aws_default_region_is_unset(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    no_aws_config.setenv("AWS_REGION", "ap-southeast-2")

    assert _aws.new_ssm_client().meta.region_name == "ap-southeast-2"
    assert _aws.new_lambda_client().meta.region_name == "ap-southeast-2"


def test_aws_default_region_wins_over_aws_region_as_boto3_has_it(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    no_aws_config.setenv("AWS_REGION", "ap-southeast-2")
    no_aws_config.setenv("AWS_DEFAULT_REGION", "eu-central-1")

    assert _aws.new_ssm_client().meta.region_name == "eu-central-1"


def test_without_any_region_reading_the_token_is_a_configuration_error_naming_aws_region(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    from botocore.exceptions import NoRegionError

    from joor_token import ConfigurationError, TokenReader

    reader = TokenReader("/joor/sandbox/access-token")

    with pytest.raises(ConfigurationError) as caught:
        reader.token()

    assert str(caught.value) == (
        "No AWS region to read the token in: set AWS_REGION to the region the stack is deployed "
        "in (e.g. AWS_REGION=eu-west-1; AWS_DEFAULT_REGION or the AWS config profile's region "
        "work too), or pass ssm_client= and lambda_client="
    )
    assert isinstance(caught.value.__cause__, NoRegionError)


def test_without_any_region_a_renewal_is_the_same_configuration_error(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    from botocore.exceptions import NoRegionError

    from joor_token import ConfigurationError, TokenReader
    from tests.consumer.fakes import FUNCTION, PARAMETER, FakeClock, FakeSsm

    clock = FakeClock()
    ssm = FakeSsm(clock)
    ssm.write()
    clock.advance(3600)
    reader = TokenReader(PARAMETER, refresher_function=FUNCTION, ssm_client=ssm, clock=clock)  # type: ignore[arg-type]
    reader.token()

    with pytest.raises(ConfigurationError, match=r"^No AWS region") as caught:
        reader.refresh_after_rejection()

    assert isinstance(caught.value.__cause__, NoRegionError)


def test_a_session_passed_in_gives_its_region_to_both_clients_over_the_environment(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    import boto3

    from joor_token import TokenReader

    no_aws_config.setenv("AWS_REGION", "ap-southeast-2")
    session = boto3.session.Session(region_name="sa-east-1")
    reader = TokenReader("/joor/sandbox/access-token", session=session)

    assert _aws.new_ssm_client(session).meta.region_name == "sa-east-1"
    assert _aws.new_lambda_client(session).meta.region_name == "sa-east-1"
    assert reader._ssm.get().meta.region_name == "sa-east-1"
    assert reader._lambda.get().meta.region_name == "sa-east-1"


def test_a_session_without_a_region_takes_aws_region_like_the_readers_own(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    import boto3

    no_aws_config.setenv("AWS_REGION", " ap-southeast-2 ")
    session = boto3.session.Session()
    assert session.region_name is None

    assert _aws.new_ssm_client(session).meta.region_name == "ap-southeast-2"
    assert _aws.new_lambda_client(session).meta.region_name == "ap-southeast-2"


def test_a_session_without_a_region_and_no_region_anywhere_is_a_configuration_error(
    no_aws_config: pytest.MonkeyPatch,
) -> None:
    import boto3

    from joor_token import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"^No AWS region to read the token in: "):
        _aws.new_ssm_client(boto3.session.Session())
