"""The refresh `make deploy` runs after `sam deploy`: one attempt, and a failure fails the command.

moto cannot run a function without Docker, so Lambda is served here by MinimalInvokeApi: a
stand-in written for this test only, serving the two Lambda operations the module calls
(GetFunctionConfiguration and a synchronous Invoke) the way Lambda answers them: a function
error as HTTP 200 with X-Amz-Function-Error, a second concurrent invocation of a function with
reserved concurrency 1 as HTTP 429 TooManyRequestsException. CloudFormation (the stack's
outputs) is moto server.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.deploy import invoke_refresher
from infra.deploy.invoke_refresher import main
from tests.deploy.conftest import LocalAws

FUNCTION_NAME = "joor-token-refresher-sandbox-TokenRefresherFunction-AbC123"
SUMMARY = {
    "result": "refreshed",
    "reason": "forced",
    "forced": True,
    "parameter": "/joor/sandbox/access-token",
    "version": 2,
    "expires_at": "2030-01-01T10:00:00Z",
    "seconds_left": 36000,
}


class MinimalInvokeApi:
    """Test-only stand-in for Lambda's GetFunctionConfiguration and synchronous Invoke."""

    def __init__(self, handler: Callable[[dict[str, Any]], Any], timeout: int = 90) -> None:
        self.handler = handler
        self.timeout = timeout
        self.invocations: list[dict[str, Any]] = []
        self.busy = threading.Lock()  # reserved concurrency 1
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (the timeout test)
                    self.wfile.write(data)

            def do_GET(self) -> None:
                match = re.fullmatch(r"/2015-03-31/functions/([^/]+)/configuration/?", self.path)
                assert match, self.path
                self._send(200, {"FunctionName": match.group(1), "Timeout": api.timeout})

            def do_POST(self) -> None:
                assert re.fullmatch(r"/2015-03-31/functions/[^/]+/invocations", self.path)
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                api.invocations.append(event)
                if not api.busy.acquire(blocking=False):
                    self._send(
                        429,
                        {
                            "Type": "User",
                            "message": "Rate Exceeded.",
                            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                        },
                        {"x-amzn-ErrorType": "TooManyRequestsException"},
                    )
                    return
                try:
                    result = api.handler(event)
                except Exception as err:  # noqa: BLE001 - reported as Lambda reports it
                    self._send(
                        200,
                        {"errorMessage": str(err), "errorType": type(err).__name__},
                        {"X-Amz-Function-Error": "Unhandled"},
                    )
                else:
                    self._send(200, result)
                finally:
                    api.busy.release()

        return Handler

    def __enter__(self) -> MinimalInvokeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class CredentialsRejectedError(Exception):
    """Named like the refresher's own error, as the Invoke API reports it by class name."""


@pytest.fixture
def stack(local_aws: LocalAws, tmp_path: Path) -> Path:
    """A stack in moto whose outputs name the function, and a samconfig.toml pointing at it."""
    stack_name = f"joor-token-refresher-{uuid.uuid4().hex[:8]}"
    boto3.client("cloudformation").create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"TokenRefresherFunctionName": {"Value": FUNCTION_NAME}},
            }
        ),
    )
    config = tmp_path / "samconfig.toml"
    config.write_text(
        f'version = 0.1\n[default.global.parameters]\nstack_name = "{stack_name}"\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., MinimalInvokeApi]]:
    started: list[MinimalInvokeApi] = []

    def start(handler: Callable[[dict[str, Any]], Any], timeout: int = 90) -> MinimalInvokeApi:
        api = MinimalInvokeApi(handler, timeout).__enter__()
        started.append(api)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", api.url)
        return api

    yield start
    for api in started:
        api.__exit__()


def test_a_successful_refresh_prints_its_summary_and_exits_0(
    stack: Path, lambda_api: Callable[..., MinimalInvokeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    api = lambda_api(lambda _event: SUMMARY)

    code = main(["--config-file", str(stack)])

    out = capsys.readouterr().out
    assert code == 0
    first, rest = out.split("\n", 1)
    assert first.startswith(f"invoking {FUNCTION_NAME}")
    assert json.loads(rest) == SUMMARY
    assert api.invocations == [{"force": True}]


def test_a_failed_refresh_exits_1_with_the_function_s_error(
    stack: Path, lambda_api: Callable[..., MinimalInvokeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    def rejected(event: dict[str, Any]) -> Any:
        raise CredentialsRejectedError("JOOR rejected the credentials in secret 'joor/sandbox'")

    api = lambda_api(rejected)

    code = main(["--config-file", str(stack)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip() == (
        "FAILED: the refresh failed: CredentialsRejectedError: JOOR rejected the credentials "
        "in secret 'joor/sandbox'"
    )
    assert len(api.invocations) == 1


def test_a_throttled_invocation_exits_1_and_is_not_retried(
    stack: Path, lambda_api: Callable[..., MinimalInvokeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    api = lambda_api(lambda _event: SUMMARY)
    api.busy.acquire()  # a scheduled run holds the one reserved execution
    try:
        code = main(["--config-file", str(stack)])
    finally:
        api.busy.release()

    err = capsys.readouterr().err
    assert code == 1
    assert "Lambda throttled the invocation" in err
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in err
    # botocore's default retry modes retry HTTP 429; here the one attempt is the only one.
    assert len(api.invocations) == 1


def test_the_wait_follows_the_function_s_timeout_and_a_timeout_is_not_retried(
    stack: Path,
    lambda_api: Callable[..., MinimalInvokeApi],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A function configured with a 1 s timeout: the call gives up after 1 s (no margin here),
    not after botocore's default 60 s, and does not invoke the function a second time."""
    monkeypatch.setattr(invoke_refresher, "READ_TIMEOUT_MARGIN_SECONDS", 0)
    release = threading.Event()

    def slow(event: dict[str, Any]) -> Any:
        release.wait(timeout=30)
        return SUMMARY

    api = lambda_api(slow, timeout=1)
    try:
        code = main(["--config-file", str(stack)])
    finally:
        release.set()

    err = capsys.readouterr().err
    assert code == 1
    assert "no answer from" in err
    assert "(its timeout is 1 s)" in err
    assert len(api.invocations) == 1


def test_a_function_slower_than_the_margin_but_within_its_timeout_succeeds(
    stack: Path,
    lambda_api: Callable[..., MinimalInvokeApi],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read timeout is the function's Timeout (here 5 s), so a 2 s run is waited for."""
    monkeypatch.setattr(invoke_refresher, "READ_TIMEOUT_MARGIN_SECONDS", 0)

    def two_seconds(event: dict[str, Any]) -> Any:
        time.sleep(2)
        return SUMMARY

    api = lambda_api(two_seconds, timeout=5)

    code = main(["--config-file", str(stack)])

    assert code == 0, capsys.readouterr().err
    assert len(api.invocations) == 1


def test_a_stack_that_does_not_exist_exits_1(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "no-such-stack"\n',
        encoding="utf-8",
    )

    code = main(["--config-file", str(config)])

    assert code == 1
    assert "stack no-such-stack not found" in capsys.readouterr().err
