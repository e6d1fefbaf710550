"""The Lambda Invoke stand-in, seen through the real boto3 Lambda client over HTTP.

Some tests run the real refresher behind it (``lambda_stack``); the others give it a small
handler of their own, to hold an invocation open or make it fail on purpose.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import botocore.retries.standard
import botocore.retryhandler
import pytest

from infra.local.lambda_server import LambdaServer
from infra.local.stack import FUNCTION_NAME, LocalStack
from tests.integration.conftest import Harness, lambda_client, record_lambda_logs
from tests.processes import run_process

pytestmark = pytest.mark.integration

WAIT = 30.0  # seconds a test waits for something that should happen at once


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for: {what}"
        time.sleep(0.01)


class Gate:
    """A handler that holds its invocation open until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released the gate"
        return {"event": event, "request_id": context.aws_request_id}


@pytest.fixture
def serve() -> Iterator[Callable[..., LambdaServer]]:
    """Start a stand-in around a handler of the test's own; stopped (and scanned) afterwards."""
    servers: list[LambdaServer] = []

    def start(handler: Callable[[Any, Any], Any], **options: Any) -> LambdaServer:
        server = LambdaServer(handler, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.wait_idle()
        record_lambda_logs(server)
        server.stop()


def payload(response: dict[str, Any]) -> Any:
    return json.loads(response["Payload"].read())


# -- the real refresher behind the stand-in --------------------------------------------------


def test_a_request_response_invoke_returns_the_refreshers_summary(
    lambda_stack: LocalStack, harness: Harness
) -> None:
    client = lambda_client(lambda_stack.lambda_url)

    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    summary = payload(response)
    assert summary["result"] == "refreshed"
    assert summary["version"] == 1
    assert summary["parameter"] == "/joor/sandbox/access-token"
    assert harness.snapshot().version == 1
    assert lambda_stack.joor.state.is_valid(harness.stored_token())


def test_a_refresher_failure_arrives_as_function_error_unhandled(
    lambda_stack: LocalStack, harness: Harness
) -> None:
    good = json.loads(lambda_stack.credentials_json())
    lambda_stack.put_secret(json.dumps({**good, "password": "not-the-password"}))
    client = lambda_client(lambda_stack.lambda_url)

    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"force": true}')

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert error["errorType"] == "CredentialsRejectedError"
    assert "rejected" in error["errorMessage"].lower()
    assert error["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert isinstance(error["stackTrace"], list)
    assert harness.snapshot().value is None, "nothing may be stored after a failed login"


def test_the_log_tail_holds_the_refreshers_log_lines_of_that_invocation(
    lambda_stack: LocalStack,
) -> None:
    client = lambda_client(lambda_stack.lambda_url)

    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b"{}", LogType="Tail")

    request_id = response["ResponseMetadata"]["RequestId"]
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[-2] == f"END RequestId: {request_id}"
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    entries = [json.loads(line) for line in lines[1:-2]]
    logged = [e for e in entries if "level" in e]
    assert logged, "the refresher's Powertools log lines must be in the tail"
    assert {e["function_request_id"] for e in logged} == {request_id}
    assert any("_aws" in e for e in entries), "the EMF metrics line must be in the tail"


CONSUMER = """
import json, os, urllib.error, urllib.request
import boto3
from botocore.config import Config

session = boto3.Session()  # credentials, region and endpoints: all from the environment
invoked = session.client("lambda", config=Config(retries={"total_max_attempts": 1})).invoke(
    FunctionName=os.environ["JOOR_TOKEN_REFRESHER_FUNCTION"], Payload=b"{}"
)
token = session.client("ssm").get_parameter(
    Name=os.environ["JOOR_TOKEN_PARAMETER"], WithDecryption=True
)["Parameter"]["Value"]
request = urllib.request.Request(
    os.environ["JOOR_API_URL"], headers={"Authorization": "Bearer " + token}
)
with urllib.request.urlopen(request, timeout=10) as response:
    api = {"status": response.status, "body": json.load(response)}
print(json.dumps({"summary": json.load(invoked["Payload"]), "api": api}))
"""


def test_a_consumer_process_needs_nothing_but_the_consumer_environment(
    lambda_stack: LocalStack,
) -> None:
    # Only the basics of a process environment, then what consumer_env() gives.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    env.update(lambda_stack.consumer_env())

    run = run_process([sys.executable, "-c", CONSUMER], "consumer process", env=env)

    seen = json.loads(run.stdout)
    assert seen["summary"]["result"] == "refreshed"
    assert seen["api"] == {
        "status": 200,
        "body": {"account": lambda_stack.account.client_id, "resource": "local stand-in"},
    }
    assert lambda_stack.lambda_.counts.completed == 1


def test_after_joor_revokes_the_token_an_operators_forced_invoke_stores_one_the_api_accepts(
    lambda_stack: LocalStack, harness: Harness
) -> None:
    import requests

    client = lambda_client(lambda_stack.lambda_url)
    client.invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")
    old = harness.stored_token()
    lambda_stack.joor.revoke_all()
    refused = requests.get(
        lambda_stack.joor.api_url, headers={"Authorization": f"Bearer {old}"}, timeout=10
    )

    response = client.invoke(
        FunctionName=FUNCTION_NAME, Qualifier="operator", Payload=b'{"force": true}'
    )

    new = harness.stored_token()
    accepted = requests.get(
        lambda_stack.joor.api_url, headers={"Authorization": f"Bearer {new}"}, timeout=10
    )
    assert refused.status_code == 401
    assert payload(response)["version"] == 2
    assert accepted.status_code == 200


def test_the_same_forced_invoke_without_the_alias_is_held_to_the_login_budget(
    lambda_stack: LocalStack, harness: Harness
) -> None:
    client = lambda_client(lambda_stack.lambda_url)
    client.invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")
    harness.start_counting()

    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"force": true}')

    assert payload(response)["reason"] == "rate_limited"
    assert harness.joor_calls == 0


def test_a_retry_of_rejected_credentials_without_the_alias_is_refused(
    lambda_stack: LocalStack, harness: Harness
) -> None:
    client = lambda_client(lambda_stack.lambda_url)

    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"retry_rejected": true}')

    assert response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert error["errorType"] == "OperatorOnlyError"
    assert "alias 'operator'" in error["errorMessage"]
    assert harness.joor_calls == 0


def test_an_alias_the_function_does_not_have_is_not_found(lambda_stack: LocalStack) -> None:
    client = lambda_client(lambda_stack.lambda_url)

    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=FUNCTION_NAME, Qualifier="admin", Payload=b"{}")


# -- the Invoke API's shapes -------------------------------------------------------------------


def test_a_handler_exception_arrives_as_the_python_runtimes_error_payload(
    serve: Callable[..., LambdaServer],
) -> None:
    def failing_handler(event: Any, context: Any) -> Any:
        raise ValueError("the event was not what it should be")

    server = serve(failing_handler)

    response = lambda_client(server.url).invoke(FunctionName=server.function_name)

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert set(error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the event was not what it should be"
    assert error["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert "in failing_handler" in error["stackTrace"][0]
    assert server.counts.failed == 1


def test_a_result_that_is_not_json_is_a_runtime_marshal_error(
    serve: Callable[..., LambdaServer],
) -> None:
    server = serve(lambda _event, _context: {"when": object()})

    response = lambda_client(server.url).invoke(FunctionName=server.function_name)

    assert response["FunctionError"] == "Unhandled"
    assert payload(response)["errorType"] == "Runtime.MarshalError"


def test_the_handler_gets_the_event_and_a_context_with_the_request_id_and_timeout(
    serve: Callable[..., LambdaServer],
) -> None:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {
            "event": event,
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }

    server = serve(handler, timeout_seconds=90)

    response = lambda_client(server.url).invoke(
        FunctionName=server.function_name, Payload=b'{"force": true}'
    )

    seen = payload(response)
    assert seen["event"] == {"force": True}
    assert seen["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert seen["function_name"] == server.function_name
    assert 0 < seen["remaining_ms"] <= 100_000


def test_an_empty_payload_reaches_the_handler_as_an_empty_object(
    serve: Callable[..., LambdaServer],
) -> None:
    server = serve(lambda event, _context: {"event": event})

    response = lambda_client(server.url).invoke(FunctionName=server.function_name)

    assert payload(response) == {"event": {}}


@pytest.mark.parametrize(
    ("name", "qualifier"),
    [
        (FUNCTION_NAME, None),
        (f"{FUNCTION_NAME}:$LATEST", None),
        (f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION_NAME}", None),
        (f"123456789012:function:{FUNCTION_NAME}", None),
        (FUNCTION_NAME, "$LATEST"),
    ],
)
def test_the_function_answers_to_its_name_arn_and_latest_qualifier(
    serve: Callable[..., LambdaServer], name: str, qualifier: str | None
) -> None:
    server = serve(lambda _event, _context: {"ok": True}, function_name=FUNCTION_NAME)
    extra = {"Qualifier": qualifier} if qualifier else {}

    response = lambda_client(server.url).invoke(FunctionName=name, **extra)

    assert payload(response) == {"ok": True}


@pytest.mark.parametrize(
    ("name", "qualifier", "arn_in_message"),
    [
        ("another-function", None, "function:another-function"),
        (
            f"arn:aws:lambda:eu-west-1:210987654321:function:{FUNCTION_NAME}",
            None,
            f"210987654321:function:{FUNCTION_NAME}",
        ),
        (FUNCTION_NAME, "live", f"function:{FUNCTION_NAME}:live"),
    ],
)
def test_an_unknown_function_or_qualifier_is_resource_not_found(
    serve: Callable[..., LambdaServer], name: str, qualifier: str | None, arn_in_message: str
) -> None:
    server = serve(lambda _event, _context: {"ok": True}, function_name=FUNCTION_NAME)
    client = lambda_client(server.url)
    extra = {"Qualifier": qualifier} if qualifier else {}

    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.invoke(FunctionName=name, **extra)

    assert caught.value.response["Error"]["Message"].startswith("Function not found: arn:")
    assert arn_in_message in caught.value.response["Error"]["Message"]
    assert server.counts.started == 0


def test_a_payload_that_is_not_json_is_invalid_request_content(
    serve: Callable[..., LambdaServer],
) -> None:
    server = serve(lambda _event, _context: {"ok": True})
    client = lambda_client(server.url)

    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName=server.function_name, Payload=b"{not json")

    assert server.counts.started == 0


def test_a_dry_run_answers_204_and_runs_nothing(serve: Callable[..., LambdaServer]) -> None:
    server = serve(lambda _event, _context: {"ok": True})

    response = lambda_client(server.url).invoke(
        FunctionName=server.function_name, InvocationType="DryRun"
    )

    assert response["StatusCode"] == 204
    assert server.counts.started == 0


def test_an_event_invoke_answers_202_before_the_handler_has_finished(
    serve: Callable[..., LambdaServer],
) -> None:
    gate = Gate()
    server = serve(gate)

    response = lambda_client(server.url).invoke(
        FunctionName=server.function_name, InvocationType="Event", Payload=b'{"n": 1}'
    )

    assert response["StatusCode"] == 202
    assert server.counts.completed == 0, "the handler is still held open"
    gate.release.set()
    assert server.wait_idle(WAIT)
    assert server.counts.completed == 1
    assert server.events == [{"n": 1}]


def test_an_event_invoke_waits_for_the_running_invocation_instead_of_being_throttled(
    serve: Callable[..., LambdaServer],
) -> None:
    gate = Gate()
    server = serve(gate)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            lambda_client(server.url).invoke,
            FunctionName=server.function_name,
            Payload=b'{"n": 1}',
        )
        assert gate.entered.wait(WAIT)

        queued = lambda_client(server.url).invoke(
            FunctionName=server.function_name, InvocationType="Event", Payload=b'{"n": 2}'
        )

        assert queued["StatusCode"] == 202
        assert server.counts.started == 1, "the event must wait for the slot"
        gate.release.set()
        running.result(WAIT)
    assert server.wait_idle(WAIT)
    assert server.events == [{"n": 1}, {"n": 2}]
    assert server.counts.throttled == 0


def test_extra_latency_is_spent_in_each_invocation(serve: Callable[..., LambdaServer]) -> None:
    slept: list[float] = []
    server = serve(lambda _event, _context: {"ok": True}, extra_latency=0.25, sleep=slept.append)
    client = lambda_client(server.url)

    client.invoke(FunctionName=server.function_name)
    client.invoke(FunctionName=server.function_name)

    assert slept == [0.25, 0.25]


# -- reserved concurrency -----------------------------------------------------------------------


def test_with_reserved_concurrency_one_concurrent_invokes_are_throttled_while_one_runs(
    serve: Callable[..., LambdaServer],
) -> None:
    gate = Gate()
    server = serve(gate, reserved_concurrency=1)
    callers = 6

    # One client per caller, made here: creating clients is not safe across threads.
    clients = [lambda_client(server.url) for _ in range(callers)]

    def invoke(n: int) -> dict[str, Any]:
        return clients[n].invoke(  # type: ignore[no-any-return]
            FunctionName=server.function_name, Payload=json.dumps({"n": n}).encode()
        )

    with ThreadPoolExecutor(callers) as pool:
        futures = [pool.submit(invoke, n) for n in range(callers)]
        eventually(lambda: server.counts.throttled == callers - 1, "every other caller throttled")
        gate.release.set()
        outcomes = [_outcome(f) for f in futures]

    succeeded = [o for o in outcomes if isinstance(o, dict)]
    throttled = [o for o in outcomes if not isinstance(o, dict)]
    assert len(succeeded) == 1
    assert payload(succeeded[0])["request_id"] == succeeded[0]["ResponseMetadata"]["RequestId"]
    assert len(throttled) == callers - 1
    for error in throttled:
        assert error.response["Error"]["Code"] == "TooManyRequestsException"
        assert error.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert error.response["ResponseMetadata"]["RetryAttempts"] == 0
    counts = server.counts
    assert (counts.started, counts.completed, counts.failed) == (1, 1, 0)
    assert counts.throttled == callers - 1
    assert len(server.events) == 1


def _outcome(future: Future[dict[str, Any]]) -> Any:
    try:
        return future.result(WAIT)
    except Exception as error:  # noqa: BLE001 - the test sorts successes from throttles
        return error


def test_without_a_reservation_concurrent_invokes_all_run_at_once(
    serve: Callable[..., LambdaServer],
) -> None:
    callers = 4
    # Passes only if all four handlers are inside at the same time.
    together = threading.Barrier(callers, timeout=WAIT)
    server = serve(lambda _event, _context: {"waited": together.wait()}, reserved_concurrency=None)

    clients = [lambda_client(server.url) for _ in range(callers)]

    with ThreadPoolExecutor(callers) as pool:
        responses = list(pool.map(lambda c: c.invoke(FunctionName=server.function_name), clients))

    assert all("FunctionError" not in r for r in responses)
    assert server.counts.started == server.counts.completed == callers
    assert server.counts.throttled == 0


def test_reserved_concurrency_zero_throttles_every_invoke(
    serve: Callable[..., LambdaServer],
) -> None:
    server = serve(lambda _event, _context: {"ok": True}, reserved_concurrency=0)
    client = lambda_client(server.url)

    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName=server.function_name)

    assert server.counts.started == 0


# -- what botocore's retries do with the 429 ----------------------------------------------------


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own retry settings, without its sleeps: the tests count attempts, not waits."""
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda _self, _context: 0.0
    )
    # Looked up when a legacy client is created, so the patch applies to clients made after it.
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", lambda **_kwargs: 0.0)


@pytest.mark.parametrize(
    ("mode", "attempts", "requests_sent"),
    [
        ("standard", None, 3),  # botocore's default mode: 3 attempts in all
        ("legacy", None, 5),  # _retry.json: every HTTP 429, 5 attempts in all
        ("standard", 1, 1),  # retries off
        ("legacy", 1, 1),  # retries off
    ],
)
@pytest.mark.usefixtures("no_backoff")
def test_how_many_requests_a_throttled_invoke_sends_per_retry_setting(
    serve: Callable[..., LambdaServer], mode: str, attempts: int | None, requests_sent: int
) -> None:
    gate = Gate()
    server = serve(gate)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(lambda_client(server.url).invoke, FunctionName=server.function_name)
        assert gate.entered.wait(WAIT)
        client = lambda_client(server.url, attempts=attempts, mode=mode)

        with pytest.raises(client.exceptions.TooManyRequestsException):
            client.invoke(FunctionName=server.function_name)

        gate.release.set()
        running.result(WAIT)
    assert server.counts.throttled == requests_sent


def test_with_sdk_retries_on_a_throttled_caller_runs_the_function_again_after_the_first_ends(
    serve: Callable[..., LambdaServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    server = serve(gate)
    first_done = threading.Event()

    def backoff_outlasting_the_running_invocation(self: Any, context: Any) -> float:
        gate.release.set()
        assert first_done.wait(WAIT)
        return 0.0

    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff,
        "delay_amount",
        backoff_outlasting_the_running_invocation,
    )
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(lambda_client(server.url).invoke, FunctionName=server.function_name)
        assert gate.entered.wait(WAIT)
        running.add_done_callback(lambda _: first_done.set())
        retrying = lambda_client(server.url, attempts=None, mode="standard")

        second = retrying.invoke(FunctionName=server.function_name, Payload=b'{"n": 2}')

        running.result(WAIT)
    assert second["ResponseMetadata"]["RetryAttempts"] == 1
    assert payload(second)["event"] == {"n": 2}
    assert server.counts.started == 2, "the throttled caller ran the function a second time"
    assert server.counts.throttled == 1


def test_get_function_configuration_answers_the_function_s_settings(
    lambda_stack: LocalStack,
) -> None:
    client = lambda_client(lambda_stack.lambda_url)

    configuration = client.get_function_configuration(FunctionName=FUNCTION_NAME)

    assert configuration["FunctionName"] == FUNCTION_NAME
    assert configuration["Timeout"] == 100
    assert configuration["MemorySize"] == 256
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_configuration(FunctionName="no-such-function")
