"""The consumer package over real HTTP: moto server for SSM, the Lambda Invoke stand-in running
the real refresher, and the JOOR stand-in's protected endpoint. Readers build their own boto3
clients from the environment a consumer gets (``LocalStack.consumer_env``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local.stack import FUNCTION_NAME, PARAMETER_NAME, REGION, LocalStack
from infra.local.stampede import Stampede
from joor_token import JoorBearerAuth, RefreshFailedError, TokenReader, TokenUnavailableError
from tests.integration.conftest import Harness, lambda_client, record_lambda_logs
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

MIN_AGE = 1  # REJECTED_TOKEN_MIN_AGE_SECONDS for these tests: real time must pass


@pytest.fixture
def stack(
    lambda_stack: LocalStack, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalStack]:
    """A stored token older than the refresher's minimum age, and a consumer's environment."""
    lambda_stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS=str(MIN_AGE))
    for name, value in lambda_stack.consumer_env().items():
        monkeypatch.setenv(name, value)
    first = invoke(lambda_stack.lambda_url, {})
    assert "FunctionError" not in first, first["Payload"]
    time.sleep(MIN_AGE + 0.2)  # SSM stamps LastModifiedDate itself
    lambda_stack.lambda_.reset()
    yield lambda_stack
    WATCH.add_secrets(*lambda_stack.fixture_secrets())
    # The stack lives for the whole session: leave it as other tests expect it.
    lambda_stack.settle("REJECTED_TOKEN_MIN_AGE_SECONDS")


def invoke(url: str, event: dict[str, object]) -> dict[str, object]:
    """One synchronous invocation through the stand-in, its answer read to the end (a client
    dropped with an unread answer resets the connection, which the server reports)."""
    response = lambda_client(url).invoke(
        FunctionName=FUNCTION_NAME, Payload=json.dumps(event).encode()
    )
    return {**response, "Payload": response["Payload"].read()}


def stored(stack: LocalStack) -> tuple[str, int]:
    with stack.moto.unrecorded():
        parameter = stack.client("ssm").get_parameter(Name=PARAMETER_NAME, WithDecryption=True)
    return parameter["Parameter"]["Value"], parameter["Parameter"]["Version"]


def logins_since(stack: LocalStack, before: int) -> int:
    return stack.joor.logins - before


def test_a_consumer_whose_token_was_revoked_gets_a_401_and_still_succeeds(
    stack: LocalStack,
) -> None:
    reader = TokenReader()
    before = stack.joor.logins
    revoked, version = stored(stack)
    assert reader.token() == revoked
    stack.joor.revoke_all()

    response = requests.get(stack.joor.api_url, auth=JoorBearerAuth(reader), timeout=30)

    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert logins_since(stack, before) == 1
    assert reader.token() == stored(stack)[0] != revoked
    assert stored(stack)[1] == version + 1
    assert stack.lambda_.events == [
        {"force": True, "seen_version": version, "parameter": PARAMETER_NAME}
    ]


def test_the_stampede_of_twenty_consumers_in_four_processes_makes_exactly_one_joor_login(
    stack: LocalStack,
) -> None:
    # A login takes a while, as a real one does: the other processes' invocations meet a
    # running one (429) and wait for the version it writes.
    stack.joor.login_latency = 0.5
    stampede = Stampede(stack, stack.joor.api_url, processes=4, threads=5)
    stampede.start()
    before = stack.joor.logins
    stack.joor.revoke_all()

    result = stampede.go()

    for output in result.outputs:
        WATCH.record("stampede worker output", output)
    assert [c.error for c in result.consumers if c.error] == []
    assert result.statuses == [200] * 20
    assert all(c.renewed for c in result.consumers)
    assert logins_since(stack, before) == 1
    assert stack.lambda_.counts.completed <= 4  # at most one invocation per process


def test_throttled_invokes_end_with_the_new_token(stack: LocalStack) -> None:
    # GIVEN a refresher busy with a slow forced run (a login of 2 s)
    stack.joor.login_latency = 2.0
    before = stack.joor.logins
    old, version = stored(stack)
    reader = TokenReader()
    reader.token()
    busy = threading.Thread(target=invoke, args=(stack.lambda_url, {"force": True}))
    busy.start()
    deadline = time.monotonic() + 30
    while stack.lambda_.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stack.lambda_.running == 1

    # WHEN JOOR rejects the token the reader holds
    renewed = reader.refresh_after_rejection(rejected_token=old)
    busy.join(30)

    # THEN its invocation was throttled, and it waited for the version the busy run wrote
    assert stack.lambda_.counts.throttled >= 1
    assert (renewed, version + 1) == stored(stack)
    assert stack.joor.state.is_valid(renewed)
    assert logins_since(stack, before) == 1


def test_after_a_busy_run_that_wrote_nothing_the_reader_invokes_again(
    stack: LocalStack,
) -> None:
    # GIVEN a slow scheduled run (1.5 s of platform overhead) that finds the token fresh
    stack.lambda_.extra_latency = 1.5
    before = stack.joor.logins
    old, version = stored(stack)
    reader = TokenReader()
    reader.token()
    scheduled = threading.Thread(target=invoke, args=(stack.lambda_url, {}))
    scheduled.start()
    deadline = time.monotonic() + 30
    while stack.lambda_.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    renewed = reader.refresh_after_rejection(rejected_token=old)
    scheduled.join(30)

    assert stack.lambda_.counts.throttled >= 1
    assert (renewed, version + 1) == stored(stack)
    assert logins_since(stack, before) == 1
    # The throttled invocation never started; the one that ran came after the scheduled run.
    assert stack.lambda_.events == [
        {},
        {"force": True, "seen_version": version, "parameter": PARAMETER_NAME},
    ]


def test_an_endpoint_that_always_answers_401_makes_at_most_one_refresh_per_minimum_interval(
    stack: LocalStack,
) -> None:
    min_age = 2
    stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS=str(min_age))
    time.sleep(min_age)  # the stored token is old enough for one refresh
    reader = TokenReader()
    before = stack.joor.logins
    started = time.monotonic()
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        with requests.Session() as session:
            session.auth = JoorBearerAuth(reader)
            for _ in range(10):
                status = session.get(stack.joor.refused_url, timeout=30).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=hammer) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.monotonic() - started

    logins = logins_since(stack, before)
    assert statuses == [401] * 50
    assert 1 <= logins <= 1 + int(elapsed // min_age)
    assert stack.joor.api_calls(401, path="/v4/local/refused") <= 2 * 50
    # The reader does not ask again for a version the refresher declined until it may.
    assert stack.lambda_.counts.completed <= 2 * (1 + int(elapsed // min_age))


def test_a_refresher_failure_reaches_the_consumer_as_a_clear_error(stack: LocalStack) -> None:
    good = json.loads(stack.credentials_json())
    stack.put_secret(json.dumps({**good, "password": "not-the-password"}))
    reader = TokenReader()
    reader.token()
    stack.joor.revoke_all()

    with pytest.raises(RefreshFailedError) as caught:
        requests.get(stack.joor.api_url, auth=JoorBearerAuth(reader), timeout=30)

    message = str(caught.value)
    WATCH.record("consumer error", message)
    assert message.startswith(f"The token refresher '{FUNCTION_NAME}' failed: ")
    assert "CredentialsRejectedError" in message
    assert "invalid_grant" in message
    assert "not-the-password" not in message


def test_no_token_in_any_captured_output(
    stack: LocalStack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG", logger="joor_token")
    reader = TokenReader()
    reader.token()
    stack.joor.revoke_all()
    requests.get(stack.joor.api_url, auth=JoorBearerAuth(reader), timeout=30)
    requests.get(stack.joor.refused_url, auth=JoorBearerAuth(reader), timeout=30)
    record_lambda_logs(stack.lambda_)
    tokens = [r.access_token for r in stack.joor.state.issued]
    WATCH.add_secrets(*tokens)
    captured = caplog.text + "".join(capsys.readouterr())
    WATCH.record("consumer logs", captured)

    assert "asking" in caplog.text  # the reader did log its renewal
    assert len(tokens) >= 2  # the seeded token and its replacement at least
    for token in tokens:
        assert token[:12] not in captured
        assert all(token[:12] not in r.log for r in stack.lambda_.records)


def _example_consumer(monkeypatch: pytest.MonkeyPatch, api_url: str) -> Any:
    """infra/examples/consumer's handler, imported as Lambda would: its module builds the reader."""
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("JOOR_API_URL", api_url)
    path = Path(__file__).parents[2] / "infra" / "examples" / "consumer" / "function" / "app.py"
    spec = importlib.util.spec_from_file_location("example_consumer_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_consumer_calls_joor_and_recovers_from_a_revocation(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _example_consumer(monkeypatch, stack.joor.api_url)
    before = stack.joor.logins

    first = app.lambda_handler({}, None)
    stack.joor.revoke_all()
    second = app.lambda_handler({}, None)

    assert first == {"status": 200, "renewed": False, "bytes": first["bytes"]}
    assert second["status"] == 200
    assert second["renewed"] is True
    assert logins_since(stack, before) == 1


def test_the_example_consumer_returns_a_refusing_endpoint_s_401_without_looping(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _example_consumer(monkeypatch, stack.joor.refused_url)
    before = stack.joor.logins

    answers = [app.lambda_handler({}, None) for _ in range(3)]

    assert [a["status"] for a in answers] == [401, 401, 401]
    assert logins_since(stack, before) <= 1


@pytest.fixture
def only_aws_region(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """A consumer's environment as Lambda and ECS give it: the region in AWS_REGION alone."""
    import os

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    assert os.environ["AWS_REGION"] == REGION
    return stack


def test_a_reader_with_only_aws_region_set_reads_and_renews_the_token(
    only_aws_region: LocalStack,
) -> None:
    stack = only_aws_region
    reader = TokenReader()
    revoked, version = stored(stack)
    assert reader.token() == revoked
    stack.joor.revoke_all()

    response = requests.get(stack.joor.api_url, auth=JoorBearerAuth(reader), timeout=30)

    assert response.status_code == 200
    assert stored(stack)[1] == version + 1


def test_a_parameter_missing_in_the_region_read_names_that_region(
    only_aws_region: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")  # the stack lives in eu-west-1

    with pytest.raises(TokenUnavailableError) as caught:
        TokenReader().token()

    assert str(caught.value).startswith(
        f"Parameter {PARAMETER_NAME!r} does not exist in region ap-southeast-2 of this account. "
        "Check JOOR_TOKEN_PARAMETER"
    )


def test_a_401_the_auth_returns_keeps_its_body_over_a_real_connection(stack: LocalStack) -> None:
    # GIVEN a refresher that declines to replace the stored token (younger than a minute)
    stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="60")
    reader = TokenReader()
    with requests.Session() as session:
        session.auth = JoorBearerAuth(reader)

        # WHEN JOOR answers 401 and no new token is to be had: the refresher declines, then
        # the reader itself declines (it remembers the answer)
        declined = session.get(stack.joor.refused_url, timeout=30)
        remembered = session.get(stack.joor.refused_url, timeout=30)

    # THEN the 401 comes back as JOOR sent it, body and all, though its connection was freed
    for response in (declined, remembered):
        assert response.status_code == 401
        assert response.history == []
        assert response.json() == {
            "error": "invalid_token",
            "error_description": "The access token is invalid, expired or revoked",
        }
    assert [e["seen_version"] for e in stack.lambda_.events] == [1]
