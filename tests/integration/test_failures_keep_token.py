"""Every failure class leaves the stored token byte-identical, fails the invocation, and
logs one clear error that names the cause and holds no secret."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from infra.local.aws_fault_proxy import AwsFault
from infra.local.joor_auth_server import Fault
from refresher.domain import errors
from refresher.timing import RESERVED_SECONDS
from tests.integration.conftest import Harness

pytestmark = pytest.mark.integration


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/auth/"


def secret_with(harness: Harness, **changes: object) -> str:
    data = json.loads(harness.stack.credentials_json())
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None})


@dataclass(frozen=True)
class Case:
    id: str
    arrange: Callable[[Harness], None]
    error: type[errors.RefreshError]
    phrase: str


CASES = [
    Case(
        "config-missing-variable",
        lambda h: h.configure(TOKEN_PARAMETER_NAME=None),
        errors.ConfigurationError,
        "Invalid configuration: TOKEN_PARAMETER_NAME is not set",
    ),
    Case(
        "config-invalid-window",
        lambda h: h.configure(REFRESH_WINDOW_SECONDS="soon"),
        errors.ConfigurationError,
        "REFRESH_WINDOW_SECONDS must be a whole number",
    ),
    Case(
        "secret-missing",
        lambda h: h.configure(CREDENTIALS_SECRET_ID="joor/nope"),
        errors.SecretUnavailableError,
        "Could not read secret 'joor/nope': it does not exist",
    ),
    Case(
        "secret-access-denied",
        lambda h: h.stack.proxy.inject(  # type: ignore[union-attr]
            AwsFault("secretsmanager.GetSecretValue", "AccessDeniedException", "not allowed")
        ),
        errors.SecretUnavailableError,
        "access denied (AccessDeniedException: not allowed)",
    ),
    Case(
        "secret-not-json",
        lambda h: h.stack.put_secret("client_id=x;password=y"),
        errors.SecretMalformedError,
        "is not valid JSON",
    ),
    Case(
        "secret-missing-keys",
        lambda h: h.stack.put_secret(secret_with(h, password=None, username=None)),
        errors.SecretMalformedError,
        "is missing keys: username, password",
    ),
    Case(
        "joor-rejects-password",
        lambda h: h.stack.put_secret(secret_with(h, password="wrong-password-value")),
        errors.CredentialsRejectedError,
        "HTTP 401, invalid_grant: Invalid user credentials",
    ),
    Case(
        "joor-rejects-client-secret",
        lambda h: h.stack.put_secret(secret_with(h, client_secret="wrong-client-secret")),
        errors.CredentialsRejectedError,
        "HTTP 401, unauthorized_client",
    ),
    Case(
        "joor-200-html",
        lambda h: h.stack.joor.queue(
            Fault("status", 200, b"<html>maintenance</html>", {"Content-Type": "text/html"})
        ),
        errors.InvalidTokenResponseError,
        "body is not JSON",
    ),
    Case(
        "joor-unreachable",
        lambda h: h.configure(JOOR_AUTH_URL=closed_port_url()),
        errors.EndpointUnavailableError,
        "JOOR /auth/ unavailable after 4 attempts",
    ),
    Case(
        "joor-503-until-the-time-runs-out",
        lambda h: h.stack.joor.queue(
            *[Fault("status", 503, b"", {"Retry-After": "4"}) for _ in range(10)]
        ),
        errors.EndpointUnavailableError,
        "would not leave time for another attempt",
    ),
    Case(
        "ssm-read-refused",
        lambda h: h.stack.proxy.inject(  # type: ignore[union-attr]
            AwsFault("AmazonSSM.DescribeParameters", "AccessDeniedException", "no describe")
        ),
        errors.TokenStoreReadError,
        "Could not read parameter '/joor/sandbox/access-token': AccessDeniedException",
    ),
    Case(
        "ssm-write-refused",
        lambda h: h.stack.proxy.inject(  # type: ignore[union-attr]
            AwsFault("AmazonSSM.PutParameter", "AccessDeniedException", "no put")
        ),
        errors.TokenStoreWriteError,
        "the stored token is unchanged: AccessDeniedException: no put",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_failed_refresh_keeps_the_stored_token(harness: Harness, case: Case) -> None:
    harness.invoke({})
    harness.configure(REFRESH_WINDOW_SECONDS="36000")  # the stored token is now stale
    before = harness.snapshot()
    assert before.value is not None
    harness.start_counting()
    case.arrange(harness)

    # 7 s left for JOOR: one attempt, a 4 s Retry-After, then too little time for another.
    short = RESERVED_SECONDS + 7.0
    run = harness.invoke({}, timeout_seconds=short if "time-runs-out" in case.id else 90.0)

    assert isinstance(run.error, case.error), run.error
    assert case.phrase in str(run.error)
    assert harness.snapshot() == before
    (error_line,) = run.logs_at("ERROR")
    assert error_line["message"] == str(run.error)
    assert error_line["reason"] == case.error.reason
    assert run.failure_reasons() == [case.error.reason]
    assert run.result is None
    for secret in harness.stack.fixture_secrets():
        assert secret not in run.output
        assert secret not in str(run.error)


def test_rejected_credentials_cost_exactly_one_joor_call(harness: Harness) -> None:
    harness.stack.put_secret(secret_with(harness, password="wrong-password-value"))

    run = harness.invoke({})

    assert isinstance(run.error, errors.CredentialsRejectedError)
    assert harness.joor_calls == 1


def test_a_transient_failure_then_success_replaces_the_token(harness: Harness) -> None:
    harness.invoke({})
    before = harness.snapshot()
    harness.stack.joor.queue(Fault("status", 502), Fault("drop"))
    harness.start_counting()

    run = harness.invoke({"force": True})

    assert run.error is None
    assert harness.joor_calls == 3
    after = harness.snapshot()
    assert after.version == (before.version or 0) + 1
    assert after.value != before.value


def test_throttling_on_write_is_retried_by_the_sdk_and_succeeds(harness: Harness) -> None:
    harness.stack.proxy.inject(  # type: ignore[union-attr]
        AwsFault("AmazonSSM.PutParameter", "ThrottlingException", "Rate exceeded", times=2)
    )

    run = harness.invoke({})

    assert run.error is None
    assert harness.stack.proxy.seen["AmazonSSM.PutParameter"] == 3  # type: ignore[union-attr]


def test_an_unforeseen_error_is_reported_without_its_message(harness: Harness) -> None:
    import app

    harness.invoke({})
    before = harness.snapshot()
    store = app.get_refresher()._store  # type: ignore[attr-defined]

    def put_parameter_that_quotes_its_value(**kwargs: str) -> None:
        raise ValueError(f"cannot store {kwargs['Value']}")

    store._client.put_parameter = put_parameter_that_quotes_its_value

    run = harness.invoke({"force": True})

    assert isinstance(run.error, errors.UnexpectedError)
    assert str(run.error).startswith("Unexpected ValueError at ssm_token_store.py:")
    assert harness.snapshot() == before
    (error_line,) = run.logs_at("ERROR")
    assert error_line["reason"] == "unexpected"
    for secret in harness.stack.fixture_secrets():
        assert secret not in run.output
        assert secret not in str(run.error)
