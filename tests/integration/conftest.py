"""Fixtures that run the real handler over real HTTP: moto server, the local JOOR server and
the Lambda Invoke stand-in."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.joor_auth_server import Account, JoorAuthServer
from infra.local.lambda_context import LocalLambdaContext
from infra.local.lambda_server import LambdaServer
from infra.local.stack import PARAMETER_NAME, REGION, LocalStack
from tests.leakwatch import WATCH


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    # A test that saves a secret runs the function only when it turns the rule on.
    with LocalStack(secret_events=False) as stack:
        WATCH.add_secrets(*stack.fixture_secrets())
        yield stack


@dataclass(frozen=True)
class Snapshot:
    """The stored token as a consumer sees it, byte for byte."""

    value: bytes | None
    version: int | None
    description: str | None


@dataclass
class Invocation:
    result: dict[str, Any] | None
    error: Exception | None
    output: str
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    def logs_at(self, level: str) -> list[dict[str, Any]]:
        return [line for line in self.log_lines if line.get("level") == level]

    def metric_values(self, name: str) -> list[float]:
        return [v for blob in self.metrics for v in blob.get(name, [])]

    def failure_reasons(self) -> list[str]:
        return [blob["Reason"] for blob in self.metrics if "Reason" in blob]


class Harness:
    """One test's view of the stack: invoke the handler, inspect what is stored."""

    def __init__(self, stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stack = stack
        self._monkeypatch = monkeypatch
        self.ssm = stack.client("ssm")

    def configure(self, **env: str | None) -> None:
        """Override or (with None) remove refresher environment variables."""
        for name, value in env.items():
            if value is None:
                self._monkeypatch.delenv(name, raising=False)
            else:
                self._monkeypatch.setenv(name, value)
        self.reset_handler()

    def reset_handler(self) -> None:
        import app

        app._refresher = None  # a new execution environment: settings and clients re-read

    def invoke(
        self, event: Any = None, timeout_seconds: float = 100.0, *, operator: bool = False
    ) -> Invocation:
        """The handler, as the schedule or a consumer invokes it (the function's own ARN), or
        with ``operator`` through the operator alias."""
        import app

        buffer = io.StringIO()
        app.logger.registered_handler.setStream(buffer)
        event = {} if event is None else event
        result, error = None, None
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdout", buffer)
            try:
                context = LocalLambdaContext(timeout_seconds)
                if operator:
                    context.invoked_function_arn += ":operator"
                result = app.lambda_handler(event, context)
            except Exception as caught:  # noqa: BLE001 - the test inspects it
                error = caught
        output = buffer.getvalue()
        WATCH.record("handler output", output)
        WATCH.record("handler result", json.dumps(result))
        if error is not None:
            WATCH.record("handler error", f"{type(error).__name__}: {error}")
        WATCH.add_secrets(*self.stack.fixture_secrets())
        invocation = Invocation(result, error, output)
        for raw in output.splitlines():
            entry = json.loads(raw)
            (invocation.metrics if "_aws" in entry else invocation.log_lines).append(entry)
        return invocation

    def snapshot(self) -> Snapshot:
        with self.stack.moto.unrecorded():
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        try:
            parameter = self.ssm.get_parameter(Name=PARAMETER_NAME, WithDecryption=True)[
                "Parameter"
            ]
        except self.ssm.exceptions.ParameterNotFound:
            return Snapshot(None, None, None)
        meta = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [PARAMETER_NAME]}]
        )["Parameters"][0]
        return Snapshot(parameter["Value"].encode(), parameter["Version"], meta.get("Description"))

    def store_earlier_token(self, seconds_left: float) -> Snapshot:
        """A token JOOR issued, stored with ``seconds_left`` of life as an earlier run would
        have stored it: a login at the JOOR stand-in and the refresher's own store adapter,
        with nothing remembered on the secret (the earlier run is long past)."""
        from refresher.adapters.ssm_token_store import SsmTokenStore
        from refresher.domain.models import IssuedToken

        access_token = joor_login(self.stack.joor, self.stack.account)
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds_left)
        token = IssuedToken(access_token, expires_at, timedelta(seconds=36000))
        with self.stack.moto.unrecorded():
            SsmTokenStore(PARAMETER_NAME, self.ssm).write(token)
        WATCH.add_secrets(*self.stack.fixture_secrets())
        return self.snapshot()

    def stored_token(self) -> str:
        value = self.snapshot().value
        assert value is not None, "no token stored"
        return value.decode()

    def aws_calls(self) -> list[str]:
        return self.stack.moto.recorded_calls()

    def start_counting(self) -> None:
        """Count calls from here on. Queued faults stay queued."""
        self.stack.moto.reset_recording()
        if self.stack.proxy:
            self.stack.proxy.seen.clear()
        self._joor_calls_before = self.stack.joor.calls

    @property
    def joor_calls(self) -> int:
        return self.stack.joor.calls - self._joor_calls_before


def joor_login(server: JoorAuthServer, account: Account | None = None, timeout: float = 10) -> str:
    """POST /auth/ as the refresher does (multipart); returns the access token."""
    import requests

    account = account or next(iter(server.state.accounts.values()))
    fields = {
        "client_id": account.client_id,
        "client_secret": account.client_secret,
        "username": account.username,
        "password": account.password,
        "grant_type": "password",
    }
    response = requests.post(
        server.url, files={k: (None, v) for k, v in fields.items()}, timeout=timeout
    )
    assert response.status_code == 200, response.status_code
    token = str(response.json()["access_token"])
    WATCH.add_secrets(token, str(response.json()["refresh_token"]))
    return token


@pytest.fixture
def harness(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A clean stack (no parameter, the right secret) and the refresher's environment."""
    WATCH.add_secrets(*local_stack.fixture_secrets())
    local_stack.moto.reset()
    assert local_stack.proxy is not None
    local_stack.proxy.reset()
    local_stack.joor.reset()
    local_stack.put_secret()
    for name, value in local_stack.env().items():
        monkeypatch.setenv(name, value)
    for name in ("TOKEN_KMS_KEY_ID",):
        monkeypatch.delenv(name, raising=False)
    h = Harness(local_stack, monkeypatch)
    h.reset_handler()
    h.start_counting()
    yield h
    WATCH.add_secrets(*local_stack.fixture_secrets())
    h.reset_handler()


def lambda_client(url: str, *, attempts: int | None = 1, mode: str = "standard") -> Any:
    """A real boto3 Lambda client for the stand-in at ``url``.

    ``attempts=1`` turns the SDK's retries off, as a consumer must for Invoke; None keeps the
    mode's default number of attempts.
    """
    import boto3
    from botocore.config import Config

    retries: dict[str, Any] = {"mode": mode}
    if attempts is not None:
        retries["total_max_attempts"] = attempts
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        # Longer than the function's 100 s timeout: a synchronous invoke waits for the handler.
        config=Config(retries=retries, read_timeout=120, connect_timeout=5),
    )


def record_lambda_logs(server: LambdaServer) -> None:
    """Hand what invocations logged to the leak scan, as CloudWatch would have kept it."""
    for record in server.records:
        WATCH.record(f"lambda log {record.request_id}", record.log)


@pytest.fixture
def lambda_stack(harness: Harness) -> Iterator[LocalStack]:
    """The clean stack of ``harness``, with the refresher behind the Lambda stand-in."""
    server = harness.stack.lambda_
    server.reset()
    server.recycle()
    yield harness.stack
    server.wait_idle()
    record_lambda_logs(server)
    WATCH.add_secrets(*harness.stack.fixture_secrets())
    server.recycle()


@pytest.fixture
def rule_on(harness: Harness) -> Iterator[LocalStack]:
    """The clean stack of ``harness`` with secret changes running the function through the
    Lambda stand-in, as the stack's EventBridge rule does."""
    stack = harness.stack
    stack.lambda_.reset()
    stack.lambda_.rule_enabled = True
    yield stack
    stack.lambda_.rule_enabled = False
    stack.lambda_.wait_idle()
    record_lambda_logs(stack.lambda_)


@pytest.fixture
def aged_token_stack(lambda_stack: LocalStack) -> Iterator[LocalStack]:
    """The stack of ``lambda_stack`` with a stored token older than the refresher's minimum age
    (1 s here), so that a consumer's report of it is acted on."""
    lambda_stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    first = lambda_client(lambda_stack.lambda_url).invoke(
        FunctionName=lambda_stack.lambda_.function_name, Payload=b"{}"
    )
    payload = first["Payload"].read()  # read to the end: an unread answer resets the connection
    assert "FunctionError" not in first, payload
    time.sleep(1.2)  # older than the minimum age: SSM stamps LastModifiedDate itself
    yield lambda_stack
    # The stack lives for the whole session: leave it as other tests expect it.
    lambda_stack.settle("REJECTED_TOKEN_MIN_AGE_SECONDS")
