"""The refresh `make deploy` runs after `sam deploy`: one attempt, and a failure fails the command.

moto cannot run a function without Docker, so Lambda is the local Invoke API stand-in
(infra/local/lambda_server.py) running a handler each test chooses: it answers a function
error as HTTP 200 with X-Amz-Function-Error, and a second concurrent invocation of a function
with reserved concurrency 1 as HTTP 429 TooManyRequestsException. CloudFormation (the stack's
outputs) is moto server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.deploy import invoke_refresher
from infra.deploy.invoke_refresher import main
from infra.local.lambda_server import LambdaServer
from tests.deploy.conftest import REGION, LocalAws, function_stack, samconfig

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


class CredentialsRejectedError(Exception):
    """Named like the refresher's own error, as the Invoke API reports it by class name."""


@pytest.fixture
def stack(local_aws: LocalAws, tmp_path: Path) -> Path:
    """A stack in moto whose outputs name the function, and a samconfig.toml pointing at it."""
    stack_name = f"joor-token-refresher-{uuid.uuid4().hex[:8]}"
    function_stack(stack_name, FUNCTION_NAME)
    return samconfig(tmp_path, stack_name)


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., LambdaServer]]:
    started: list[LambdaServer] = []

    def start(handler: Callable[[dict[str, Any]], Any], timeout: int = 90) -> LambdaServer:
        api = LambdaServer(
            lambda event, _context: handler(event),
            function_name=FUNCTION_NAME,
            region=REGION,
            timeout_seconds=timeout,
        ).start()
        started.append(api)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", api.url)
        return api

    yield start
    for api in started:
        api.stop()


def test_a_successful_refresh_prints_its_summary_and_exits_0(
    stack: Path, lambda_api: Callable[..., LambdaServer], capsys: pytest.CaptureFixture[str]
) -> None:
    api = lambda_api(lambda _event: SUMMARY)

    code = main(["--config-file", str(stack)])

    out = capsys.readouterr().out
    assert code == 0
    first, rest = out.split("\n", 1)
    assert first.startswith(f"invoking {FUNCTION_NAME}")
    assert json.loads(rest) == SUMMARY
    assert api.events == [{"force": True}]


def test_it_invokes_the_operator_alias_and_a_consumer_the_function(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoked: list[str] = []
    api = LambdaServer(
        lambda _event, context: invoked.append(context.invoked_function_arn) or SUMMARY,
        function_name=FUNCTION_NAME,
        region=REGION,
    ).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", api.url)
    try:
        operator = main(["--config-file", str(stack)])
        consumer = main(["--config-file", str(stack), "--consumer", "--event", "{}"])
    finally:
        api.stop()

    assert (operator, consumer) == (0, 0)
    assert [arn.rsplit(":", 2)[1:] for arn in invoked] == [
        [FUNCTION_NAME, "operator"],
        ["function", FUNCTION_NAME],
    ]


def test_a_failed_refresh_exits_1_with_the_function_s_error(
    stack: Path, lambda_api: Callable[..., LambdaServer], capsys: pytest.CaptureFixture[str]
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
    assert len(api.events) == 1


def test_a_throttled_invocation_exits_1_and_is_not_retried(
    stack: Path, lambda_api: Callable[..., LambdaServer], capsys: pytest.CaptureFixture[str]
) -> None:
    running = threading.Event()
    release = threading.Event()

    def scheduled_then_deploy(event: dict[str, Any]) -> Any:
        if not running.is_set():  # the scheduled run: holds the one reserved execution
            running.set()
            release.wait(timeout=30)
        return SUMMARY

    api = lambda_api(scheduled_then_deploy)
    boto3.client("lambda").invoke(FunctionName=FUNCTION_NAME, InvocationType="Event", Payload=b"{}")
    assert running.wait(timeout=10)
    try:
        code = main(["--config-file", str(stack)])
    finally:
        release.set()
        api.wait_idle()

    err = capsys.readouterr().err
    assert code == 1
    assert "Lambda throttled the invocation" in err
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in err
    # botocore's default retry modes retry HTTP 429; here the one attempt is the only one.
    assert api.counts.throttled == 1
    assert api.events == [{}]


def test_the_wait_follows_the_function_s_timeout_and_a_timeout_is_not_retried(
    stack: Path,
    lambda_api: Callable[..., LambdaServer],
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
    assert len(api.events) == 1


def test_a_function_slower_than_the_margin_but_within_its_timeout_succeeds(
    stack: Path,
    lambda_api: Callable[..., LambdaServer],
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
    assert len(api.events) == 1


def test_a_stack_that_does_not_exist_exits_1(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config-file", str(samconfig(tmp_path, "no-such-stack"))])

    assert code == 1
    assert "stack no-such-stack not found" in capsys.readouterr().err


def test_aws_region_alone_is_enough(
    stack: Path,
    lambda_api: Callable[..., LambdaServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = lambda_api(lambda _event: SUMMARY)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)

    code = main(["--config-file", str(stack)])

    assert code == 0, capsys.readouterr().err
    assert api.events == [{"force": True}]


def test_without_any_region_it_names_every_way_to_set_one(
    stack: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))

    code = main(["--config-file", str(stack)])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "FAILED: no AWS Region: export AWS_REGION (or AWS_DEFAULT_REGION), or set region in "
        "your AWS profile, add region to samconfig.toml [default], or pass --region"
    )


def test_a_profile_that_does_not_exist_is_named_with_where_profiles_come_from(
    local_aws: LocalAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    code = main(["--config-file", str(samconfig(tmp_path, "s")), "--profile", "nowhere"])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "FAILED: The config profile (nowhere) could not be found: check AWS_PROFILE, --profile, "
        "or profile in samconfig.toml"
    )
