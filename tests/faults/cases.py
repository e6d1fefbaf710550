"""The fault matrix: every fault at every step, as one list of rows.

Each row says how to make an outside system misbehave and what a user must observe: the
outcome (refreshed, or the error class), a phrase of the one log message, and how many
requests reached JOOR. ``test_fault_matrix.py`` runs each row the same way and checks the
same four things; the README's table is rendered from what the runs observed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.local.aws_fault_proxy import AwsFault
from infra.local.joor_auth_server import Fault, keycloak_error
from refresher.domain.errors import (
    ConfigurationError,
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    NoTimeToLogInError,
    RefreshError,
    SecretMalformedError,
    SecretUnavailableError,
    TokenStoreReadError,
    TokenStoreWriteError,
)
from refresher.timing import RESERVED_SECONDS
from tests.faults.peers import UnacceptingPort, refused_url
from tests.leakwatch import WATCH

if TYPE_CHECKING:
    from tests.faults.peers import CountingServer
    from tests.integration.conftest import Harness, Invocation

GET_SECRET = "secretsmanager.GetSecretValue"
DESCRIBE = "AmazonSSM.DescribeParameters"
PUT = "AmazonSSM.PutParameter"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# botocore's standard mode makes three attempts at a throttled or 5xx call.
SDK_ATTEMPTS = 3
# The fast retry policy the matrix uses (see test_fault_matrix.FAST) makes four attempts.
ATTEMPTS = 4
_MISSING = object()


@dataclass
class FaultContext:
    """What a row's ``inject`` can use; ``close`` undoes what it set up."""

    harness: Harness
    redirect_target: CountingServer
    made: list[str] = field(default_factory=list)
    aws_faults: list[AwsFault] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    elapsed: float = 0.0
    harness_timeout: float = 100.0

    def joor(self, *faults: Fault) -> None:
        self.harness.stack.joor.queue(*faults)

    def aws(self, *faults: AwsFault) -> None:
        assert self.harness.stack.proxy is not None
        self.aws_faults.extend(faults)
        self.harness.stack.proxy.inject(*faults)

    def secret(self, value: str) -> str:
        """A made-up secret value this row uses: the leak scans look for it too."""
        self.made.append(value)
        WATCH.add_secrets(value)
        return value

    def token(self, size: int = 96) -> str:
        return self.secret(secrets.token_urlsafe(size))

    def answer(
        self, status: int = 200, content_type: str = "application/json", **fields: Any
    ) -> Fault:
        """A token response with ``fields`` changed (``_MISSING`` drops one)."""
        body: dict[str, Any] = {
            "access_token": self.token(),
            "expires_in": 36000,
            "refresh_expires_in": 86400,
            "refresh_token": self.token(48),
            "token_type": "Bearer",
            "scope": "email profile",
        }
        for name, value in fields.items():
            if value is _MISSING:
                body.pop(name, None)
            else:
                body[name] = value
        return Fault(
            kind="status",
            status=status,
            body=json.dumps(body).encode(),
            headers={"Content-Type": content_type},
        )

    def put_secret(self, value: str) -> None:
        self.harness.stack.put_secret(value)

    def credentials(self, **changes: Any) -> str:
        data = json.loads(self.harness.stack.credentials_json())
        for name, value in changes.items():
            if value is _MISSING:
                data.pop(name, None)
            else:
                data[name] = value
        return json.dumps(data)

    def configure(self, **env: str | None) -> None:
        self.harness.configure(**env)

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()


@dataclass(frozen=True)
class Case:
    id: str
    step: str
    fault: str
    inject: Callable[[FaultContext], None]
    # None: the run must refresh (the fault was retried away); else the error it must raise.
    error: type[RefreshError] | None
    phrase: str
    # Requests the local JOOR server must see; None where the fault is a different peer.
    joor_calls: int | None
    timeout_seconds: float = 100.0
    fast_retries: bool = True
    check: Callable[[FaultContext, Invocation], None] | None = None

    @property
    def recovers(self) -> bool:
        return self.error is None


def _status(code: int, times: int = ATTEMPTS, **headers: str) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.joor(*[Fault(kind="status", status=code, headers=dict(headers)) for _ in range(times)])

    return inject


def _joor(*make: Callable[[FaultContext], Fault]) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.joor(*[m(ctx) for m in make])

    return inject


def _aws(
    operation: str, code: str, message: str = "", status: int = 400, times: int = 1
) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.aws(AwsFault(operation, code, message or f"{code} (injected)", status, times))

    return inject


def _with_kms_key(inner: Callable[[FaultContext], None]) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.configure(TOKEN_KMS_KEY_ID=KEY_ARN)
        inner(ctx)

    return inject


def _refused(ctx: FaultContext) -> None:
    ctx.configure(JOOR_AUTH_URL=refused_url())


def _unaccepting(ctx: FaultContext) -> None:
    port = UnacceptingPort()
    ctx.cleanups.append(port.close)
    assert port.connect_times_out(0.5), "the loopback port must hang at connect"
    ctx.configure(JOOR_AUTH_URL=port.url)


def _redirect(code: int) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.joor(Fault(kind="status", status=code, headers={"Location": ctx.redirect_target.url}))

    return inject


def _nothing_reached_the_redirect_target(ctx: FaultContext, run: Invocation) -> None:
    assert ctx.redirect_target.hits == 0, "credentials followed a redirect"


def _raw(
    status: int, body: bytes, content_type: str = "application/json"
) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.joor(
            Fault(kind="status", status=status, body=body, headers={"Content-Type": content_type})
        )

    return inject


def _rejection(
    status: int, error: str, description: str | None = None
) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.joor(keycloak_error(status, error, description))

    return inject


def _wrong_password(ctx: FaultContext) -> None:
    ctx.put_secret(ctx.credentials(password=ctx.secret(secrets.token_urlsafe(18))))


def _wrong_client_secret(ctx: FaultContext) -> None:
    ctx.put_secret(ctx.credentials(client_secret=ctx.secret(secrets.token_urlsafe(48))))


def _unknown_grant_type(ctx: FaultContext) -> None:
    ctx.put_secret(ctx.credentials(grant_type="client_credentials"))


def _secret(make: Callable[[FaultContext], str]) -> Callable[[FaultContext], None]:
    def inject(ctx: FaultContext) -> None:
        ctx.put_secret(make(ctx))

    return inject


def _binary_secret(ctx: FaultContext) -> None:
    from infra.local.stack import SECRET_ID

    client = ctx.harness.stack.client("secretsmanager")
    client.put_secret_value(
        SecretId=SECRET_ID, SecretBinary=ctx.harness.stack.credentials_json().encode()
    )


def _forged_log_line(ctx: FaultContext) -> None:
    forged = '\n{"level":"INFO","message":"Token refreshed","forged":true}\r\n' + "x" * 500
    ctx.joor(keycloak_error(401, "invalid_grant", "Invalid user credentials" + forged))


def _echoed_user_name(ctx: FaultContext) -> None:
    user = ctx.harness.stack.account.username
    ctx.joor(keycloak_error(401, "invalid_grant", f"Invalid user credentials for {user}"))


def _log_line_is_escaped(ctx: FaultContext, run: Invocation) -> None:
    # One JSON line only (parsed by the harness), the forged line is text inside it, cut short.
    assert len(run.output.splitlines()) == len(run.log_lines) + len(run.metrics)
    assert not any(line.get("forged") for line in run.log_lines)
    (line,) = run.log_lines
    assert "\\n" in line["message"]
    assert "more characters]" in line["message"]
    assert len(line["message"]) < 800


def _finished_in_time(ctx: FaultContext, run: Invocation) -> None:
    # Lambda kills the function at its timeout: the run must stop within the JOOR budget,
    # leaving (most of) the reserve (refresher.timing) to write or log why.
    limit = ctx.harness_timeout
    assert ctx.elapsed < limit - 4.0, f"ran {ctx.elapsed:.1f} s of a {limit:.0f} s invocation"


def _redacted(ctx: FaultContext, run: Invocation) -> None:
    (line,) = run.log_lines
    assert "[redacted]" in line["message"]


_HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
    b"</body></html>"
)

J = "JOOR /auth/"
SM = "Secrets Manager"
READ = "SSM read"
WRITE = "SSM/KMS write"
TIME = "Lambda time"
CONFIG = "configuration"

CASES: list[Case] = [
    # JOOR: the network
    Case(
        "joor-refused",
        J,
        "connection refused",
        _refused,
        EndpointUnavailableError,
        "Connection refused",
        None,
    ),
    Case(
        "joor-connect-timeout",
        J,
        "connect timeout (port never accepts)",
        _unaccepting,
        EndpointUnavailableError,
        "no answer from JOOR within",
        None,
    ),
    Case(
        "joor-read-timeout",
        J,
        "read timeout (answer later than the attempt timeout)",
        _joor(*[lambda _: Fault(kind="delay", seconds=1.25)] * ATTEMPTS),
        EndpointUnavailableError,
        "no answer from JOOR within",
        ATTEMPTS,
    ),
    Case(
        "joor-read-timeout-recovers",
        J,
        "read timeout once, then an answer",
        _joor(lambda _: Fault(kind="delay", seconds=1.25)),
        None,
        "Token refreshed",
        2,
    ),
    Case(
        "joor-dropped",
        J,
        "connection closed without an answer",
        _joor(*[lambda _: Fault(kind="drop")] * ATTEMPTS),
        EndpointUnavailableError,
        "could not connect to JOOR",
        ATTEMPTS,
    ),
    Case(
        "joor-dropped-recovers",
        J,
        "connection closed once, then an answer",
        _joor(lambda _: Fault(kind="drop")),
        None,
        "Token refreshed",
        2,
    ),
    Case(
        "joor-slow-body",
        J,
        "body trickles in past the attempt timeout",
        _joor(
            *[lambda _: Fault(kind="slow_body", body=b"{" + b" " * 400 + b"}", seconds=1.5)]
            * ATTEMPTS
        ),
        EndpointUnavailableError,
        "still arriving at the time limit",
        ATTEMPTS,
    ),
    # JOOR: server errors and throttling
    *[
        Case(
            f"joor-{code}",
            J,
            f"HTTP {code} on every attempt",
            _status(code),
            EndpointUnavailableError,
            f"JOOR answered HTTP {code}",
            ATTEMPTS,
        )
        for code in (500, 502, 503, 504)
    ],
    *[
        Case(
            f"joor-{code}-recovers",
            J,
            f"HTTP {code} once, then an answer",
            _status(code, 1),
            None,
            "Token refreshed",
            2,
        )
        for code in (500, 502, 503, 504)
    ],
    Case(
        "joor-429",
        J,
        "HTTP 429 without Retry-After on every attempt",
        _status(429),
        EndpointUnavailableError,
        "JOOR answered HTTP 429",
        ATTEMPTS,
    ),
    Case(
        "joor-429-recovers",
        J,
        "HTTP 429 without Retry-After once, then an answer",
        _status(429, 1),
        None,
        "Token refreshed",
        2,
    ),
    Case(
        "joor-429-retry-after-1",
        J,
        "HTTP 429 with Retry-After: 1 once, then an answer",
        _status(429, 1, **{"Retry-After": "1"}),
        None,
        "Token refreshed",
        2,
    ),
    Case(
        "joor-429-retry-after-120",
        J,
        "HTTP 429 with Retry-After: 120 (beyond the time left)",
        _status(429, ATTEMPTS, **{"Retry-After": "120"}),
        EndpointUnavailableError,
        "waiting 120.0 s more would not leave time",
        1,
    ),
    # JOOR: rejections (auth-endpoint-facts.md); never retried
    Case(
        "joor-wrong-password",
        J,
        "wrong password (real server: 401 invalid_grant)",
        _wrong_password,
        CredentialsRejectedError,
        "HTTP 401, invalid_grant: Invalid user credentials",
        1,
    ),
    Case(
        "joor-wrong-password-400",
        J,
        "wrong password, older Keycloak (400 invalid_grant)",
        _rejection(400, "invalid_grant", "Invalid user credentials"),
        CredentialsRejectedError,
        "HTTP 400, invalid_grant",
        1,
    ),
    Case(
        "joor-bad-client-secret",
        J,
        "bad client secret (real server: 401 unauthorized_client)",
        _wrong_client_secret,
        CredentialsRejectedError,
        "HTTP 401, unauthorized_client",
        1,
    ),
    Case(
        "joor-invalid-client",
        J,
        "bad client secret (401 invalid_client)",
        _rejection(401, "invalid_client"),
        CredentialsRejectedError,
        "HTTP 401, invalid_client",
        1,
    ),
    Case(
        "joor-direct-grants-disabled",
        J,
        "direct grants disabled (400 unauthorized_client)",
        _rejection(400, "unauthorized_client", "Client not allowed for direct access grants"),
        CredentialsRejectedError,
        "Client not allowed for direct access grants",
        1,
    ),
    Case(
        "joor-account-not-set-up",
        J,
        "account not fully set up (400 invalid_grant)",
        _rejection(400, "invalid_grant", "Account is not fully set up"),
        CredentialsRejectedError,
        "Account is not fully set up",
        1,
    ),
    Case(
        "joor-account-disabled",
        J,
        "account disabled (400 invalid_grant)",
        _rejection(400, "invalid_grant", "Account disabled"),
        CredentialsRejectedError,
        "Account disabled",
        1,
    ),
    Case(
        "joor-missing-grant-type",
        J,
        "missing grant_type (400 invalid_request)",
        _rejection(400, "invalid_request", "Missing form parameter: grant_type"),
        CredentialsRejectedError,
        "Missing form parameter: grant_type",
        1,
    ),
    Case(
        "joor-unknown-grant-type",
        J,
        "unknown grant_type (real server: 400 unsupported_grant_type)",
        _unknown_grant_type,
        CredentialsRejectedError,
        "unsupported_grant_type",
        1,
    ),
    Case(
        "joor-401-html",
        J,
        "401 with an HTML body",
        _raw(401, _HTML, "text/html"),
        CredentialsRejectedError,
        "HTTP 401, no error code",
        1,
    ),
    Case(
        "joor-forged-log-line",
        J,
        "error_description with a newline and a fake JSON log line",
        _forged_log_line,
        CredentialsRejectedError,
        "Invalid user credentials\\n",
        1,
        check=_log_line_is_escaped,
    ),
    Case(
        "joor-description-echoes-user-name",
        J,
        "error_description quoting the user name",
        _echoed_user_name,
        CredentialsRejectedError,
        "Invalid user credentials for [redacted]",
        1,
        check=_redacted,
    ),
    Case(
        "joor-wrong-path-404",
        J,
        "JOOR_AUTH_URL with a wrong path (real server: 404)",
        lambda c: c.configure(
            JOOR_AUTH_URL=c.harness.stack.joor.url.replace("/auth/", "/v4/auth/")
        ),
        InvalidTokenResponseError,
        "no token endpoint there. Check JOOR_AUTH_URL",
        None,
    ),
    # JOOR: redirects (credentials must not follow)
    *[
        Case(
            f"joor-redirect-{code}",
            J,
            f"redirect (HTTP {code}) to another server",
            _redirect(code),
            InvalidTokenResponseError,
            "it was not followed",
            1,
            check=_nothing_reached_the_redirect_target,
        )
        for code in (301, 302, 307, 308)
    ],
    # JOOR: HTTP 200 that is not a usable token
    Case(
        "joor-empty-body",
        J,
        "HTTP 200, empty body",
        _raw(200, b""),
        InvalidTokenResponseError,
        "body is not JSON (0 bytes",
        1,
    ),
    Case(
        "joor-not-json",
        J,
        "HTTP 200, body not JSON",
        _raw(200, b"access_token=abc&expires_in=1", "text/plain"),
        InvalidTokenResponseError,
        "body is not JSON",
        1,
    ),
    Case(
        "joor-html-200",
        J,
        "HTTP 200 with an HTML error page",
        _raw(200, _HTML, "text/html"),
        InvalidTokenResponseError,
        "content type 'text/html'",
        1,
    ),
    Case(
        "joor-json-array",
        J,
        "HTTP 200, JSON that is not an object",
        _raw(200, b"[1, 2, 3]"),
        InvalidTokenResponseError,
        "not an object (list)",
        1,
    ),
    Case(
        "joor-no-access-token",
        J,
        "JSON without access_token",
        _joor(lambda c: c.answer(access_token=_MISSING)),
        InvalidTokenResponseError,
        "without an access_token",
        1,
    ),
    Case(
        "joor-empty-access-token",
        J,
        "access_token empty",
        _joor(lambda c: c.answer(access_token="")),
        InvalidTokenResponseError,
        "without an access_token",
        1,
    ),
    Case(
        "joor-token-bad-characters",
        J,
        "access_token with a space and a newline",
        _joor(lambda c: c.answer(access_token=c.secret(secrets.token_urlsafe(30)) + " \nX")),
        InvalidTokenResponseError,
        "cannot go in an HTTP header",
        1,
    ),
    Case(
        "joor-token-too-big",
        J,
        "access_token of 9 KB (SSM holds 8 KB)",
        _joor(lambda c: c.answer(access_token=c.secret(secrets.token_urlsafe(6912)))),
        InvalidTokenResponseError,
        "more than the 8192 bytes",
        1,
    ),
    Case(
        "joor-expires-in-missing",
        J,
        "expires_in missing",
        _joor(lambda c: c.answer(expires_in=_MISSING)),
        InvalidTokenResponseError,
        "expires_in is missing",
        1,
    ),
    Case(
        "joor-expires-in-zero",
        J,
        "expires_in 0",
        _joor(lambda c: c.answer(expires_in=0)),
        InvalidTokenResponseError,
        "expires_in is int 0",
        1,
    ),
    Case(
        "joor-expires-in-negative",
        J,
        "expires_in -36000",
        _joor(lambda c: c.answer(expires_in=-36000)),
        InvalidTokenResponseError,
        "expires_in is int -36000",
        1,
    ),
    Case(
        "joor-expires-in-string",
        J,
        'expires_in "36000" (a string)',
        _joor(lambda c: c.answer(expires_in="36000")),
        InvalidTokenResponseError,
        "expires_in is a string",
        1,
    ),
    Case(
        "joor-expires-in-bool",
        J,
        "expires_in true",
        _joor(lambda c: c.answer(expires_in=True)),
        InvalidTokenResponseError,
        "expires_in is bool True",
        1,
    ),
    Case(
        "joor-expires-in-nan",
        J,
        "expires_in NaN",
        _joor(lambda c: c.answer(expires_in=float("nan"))),
        InvalidTokenResponseError,
        "expires_in is float nan",
        1,
    ),
    Case(
        "joor-expires-in-huge",
        J,
        "expires_in 10^12 s (absurdly large)",
        _joor(lambda c: c.answer(expires_in=10**12)),
        InvalidTokenResponseError,
        "over 2592000 s (30 days)",
        1,
    ),
    Case(
        "joor-expires-sooner",
        J,
        "expires_in 3600: sooner than the stored token (2 h left)",
        _joor(lambda c: c.answer(expires_in=3600)),
        InvalidTokenResponseError,
        "sooner than the stored one",
        1,
    ),
    Case(
        "joor-token-type-mac",
        J,
        'token_type "mac"',
        _joor(lambda c: c.answer(token_type="mac")),
        InvalidTokenResponseError,
        "token_type is 'mac'",
        1,
    ),
    Case(
        "joor-token-type-missing",
        J,
        "token_type missing",
        _joor(lambda c: c.answer(token_type=_MISSING)),
        InvalidTokenResponseError,
        "token_type is None",
        1,
    ),
    Case(
        "joor-huge-body",
        J,
        "HTTP 200 with a 2 MB body",
        _raw(200, b'{"access_token": "' + b"a" * 2_000_000 + b'"}'),
        InvalidTokenResponseError,
        "larger than 65536 bytes",
        1,
    ),
    # Secrets Manager
    Case(
        "secret-missing",
        SM,
        "secret does not exist",
        lambda c: c.configure(CREDENTIALS_SECRET_ID="joor/sandbox/no-such-secret"),
        SecretUnavailableError,
        "it does not exist",
        0,
    ),
    Case(
        "secret-access-denied",
        SM,
        "GetSecretValue access denied",
        _aws(
            GET_SECRET,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/refresher is not authorized to "
            "perform: secretsmanager:GetSecretValue",
        ),
        SecretUnavailableError,
        "access denied",
        0,
    ),
    Case(
        "secret-kms-decrypt",
        SM,
        "secret's KMS key cannot decrypt (DecryptionFailure)",
        _aws(
            GET_SECRET,
            "DecryptionFailure",
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
        ),
        SecretUnavailableError,
        "DecryptionFailure",
        0,
    ),
    Case(
        "secret-throttled",
        SM,
        "GetSecretValue throttled on every SDK attempt",
        _aws(GET_SECRET, "ThrottlingException", "Rate exceeded", times=SDK_ATTEMPTS),
        SecretUnavailableError,
        "ThrottlingException",
        0,
    ),
    Case(
        "secret-throttled-recovers",
        SM,
        "GetSecretValue throttled once (the SDK retries)",
        _aws(GET_SECRET, "ThrottlingException", "Rate exceeded"),
        None,
        "Token refreshed",
        1,
    ),
    Case(
        "secret-500",
        SM,
        "GetSecretValue InternalServiceError on every SDK attempt",
        _aws(GET_SECRET, "InternalServiceError", "internal error", 500, SDK_ATTEMPTS),
        SecretUnavailableError,
        "InternalServiceError",
        0,
    ),
    Case(
        "secret-binary",
        SM,
        "secret holds binary, not a string",
        _binary_secret,
        SecretMalformedError,
        "holds binary data",
        0,
    ),
    Case(
        "secret-not-json",
        SM,
        "secret is not JSON",
        _secret(lambda _: "client_id=abc;password=xyz"),
        SecretMalformedError,
        "is not valid JSON",
        0,
    ),
    Case(
        "secret-json-list",
        SM,
        "secret is JSON but not an object",
        _secret(lambda _: '["client_id", "client_secret"]'),
        SecretMalformedError,
        "not an object (found list)",
        0,
    ),
    Case(
        "secret-missing-keys",
        SM,
        "keys password and client_secret missing",
        _secret(lambda c: c.credentials(password=_MISSING, client_secret=_MISSING)),
        SecretMalformedError,
        "missing keys: client_secret, password",
        0,
    ),
    Case(
        "secret-empty-value",
        SM,
        "password empty",
        _secret(lambda c: c.credentials(password="")),
        SecretMalformedError,
        "empty or non-string values for keys: password",
        0,
    ),
    Case(
        "secret-blank-value",
        SM,
        "username only spaces",
        _secret(lambda c: c.credentials(username="   ")),
        SecretMalformedError,
        "empty or non-string values for keys: username",
        0,
    ),
    Case(
        "secret-non-string",
        SM,
        "client_id a number, grant_type null",
        _secret(lambda c: c.credentials(client_id=12345, grant_type=None)),
        SecretMalformedError,
        "empty or non-string values for keys: client_id, grant_type",
        0,
    ),
    # SSM: reading the stored token's metadata
    Case(
        "ssm-read-throttled",
        READ,
        "DescribeParameters throttled on every SDK attempt",
        _aws(DESCRIBE, "ThrottlingException", "Rate exceeded", times=SDK_ATTEMPTS),
        TokenStoreReadError,
        "ThrottlingException: Rate exceeded",
        0,
    ),
    Case(
        "ssm-read-throttled-recovers",
        READ,
        "DescribeParameters throttled once (the SDK retries)",
        _aws(DESCRIBE, "ThrottlingException", "Rate exceeded"),
        None,
        "Token refreshed",
        1,
    ),
    Case(
        "ssm-read-access-denied",
        READ,
        "DescribeParameters access denied",
        _aws(
            DESCRIBE, "AccessDeniedException", "not authorized to perform: ssm:DescribeParameters"
        ),
        TokenStoreReadError,
        "AccessDeniedException",
        0,
    ),
    Case(
        "ssm-read-500",
        READ,
        "DescribeParameters InternalServerError on every SDK attempt",
        _aws(DESCRIBE, "InternalServerError", "internal error", 500, SDK_ATTEMPTS),
        TokenStoreReadError,
        "InternalServerError",
        0,
    ),
    # SSM and KMS: writing the new token
    Case(
        "ssm-write-throttled",
        WRITE,
        "PutParameter throttled on every SDK attempt",
        _aws(PUT, "ThrottlingException", "Rate exceeded", times=SDK_ATTEMPTS),
        TokenStoreWriteError,
        "ThrottlingException: Rate exceeded",
        1,
    ),
    Case(
        "ssm-write-throttled-recovers",
        WRITE,
        "PutParameter throttled once (the SDK retries)",
        _aws(PUT, "ThrottlingException", "Rate exceeded"),
        None,
        "Token refreshed",
        1,
    ),
    Case(
        "ssm-write-access-denied",
        WRITE,
        "PutParameter access denied",
        _aws(PUT, "AccessDeniedException", "not authorized to perform: ssm:PutParameter"),
        TokenStoreWriteError,
        "AccessDeniedException",
        1,
    ),
    Case(
        "ssm-write-500",
        WRITE,
        "PutParameter InternalServerError on every SDK attempt",
        _aws(PUT, "InternalServerError", "internal error", 500, SDK_ATTEMPTS),
        TokenStoreWriteError,
        "InternalServerError",
        1,
    ),
    Case(
        "kms-key-disabled",
        WRITE,
        "KMS key disabled",
        _with_kms_key(
            _aws(
                PUT,
                "InvalidKeyId",
                f"{KEY_ARN} is disabled. (Service: AWSKMS; "
                "Status Code: 400; Error Code: DisabledException)",
            )
        ),
        TokenStoreWriteError,
        "is disabled",
        1,
    ),
    Case(
        "kms-key-missing",
        WRITE,
        "KMS key does not exist",
        _with_kms_key(
            _aws(
                PUT,
                "InvalidKeyId",
                f"Key '{KEY_ARN}' does not exist (Service: "
                "AWSKMS; Status Code: 400; Error Code: NotFoundException)",
            )
        ),
        TokenStoreWriteError,
        "does not exist",
        1,
    ),
    Case(
        "kms-key-pending-deletion",
        WRITE,
        "KMS key pending deletion",
        _with_kms_key(
            _aws(
                PUT,
                "InvalidKeyId",
                f"{KEY_ARN} is pending deletion. (Service: "
                "AWSKMS; Status Code: 400; Error Code: KMSInvalidStateException)",
            )
        ),
        TokenStoreWriteError,
        "pending deletion",
        1,
    ),
    Case(
        "kms-access-denied",
        WRITE,
        "no kms:Encrypt on the key",
        _with_kms_key(
            _aws(
                PUT,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:"
                "assumed-role/refresher is not authorized to perform: kms:Encrypt "
                "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)",
            )
        ),
        TokenStoreWriteError,
        "kms:Encrypt",
        1,
    ),
    *[
        Case(
            f"ssm-write-{code}",
            WRITE,
            f"PutParameter refused: {code}",
            _aws(PUT, code, message),
            TokenStoreWriteError,
            code,
            1,
        )
        for code, message in (
            ("TooManyUpdates", "There are concurrent updates for the resource."),
            ("ParameterLimitExceeded", "You have exceeded the number of parameters."),
            ("ParameterMaxVersionLimitExceeded", "The parameter has reached 100 versions."),
            ("HierarchyLevelLimitExceededException", "Parameter hierarchy too deep."),
            ("HierarchyTypeMismatchException", "The parameter type cannot be changed."),
            ("ParameterPatternMismatchException", "The parameter name is not valid."),
            ("UnsupportedParameterType", "The parameter type is not supported."),
            ("IncompatiblePolicyException", "A policy conflicts with the parameter."),
        )
    ],
    Case(
        "ssm-write-validation-echo",
        WRITE,
        "ValidationException quoting the value sent",
        _aws(
            PUT,
            "ValidationException",
            "1 validation error detected: Value '{request.Value}' "
            "at 'value' failed to satisfy constraint: Member must have length less than or "
            "equal to 4096",
        ),
        TokenStoreWriteError,
        "ValidationException",
        1,
        check=_redacted,
    ),
    # The Lambda running out of time: default retry policy, a function timeout that leaves
    # JOOR 4 s after the handler's reserve (refresher.timing.RESERVED_SECONDS).
    Case(
        "time-read-timeout",
        TIME,
        "JOOR silent for the whole invocation (4 s left for JOOR)",
        _joor(lambda _: Fault(kind="delay", seconds=5.0)),
        EndpointUnavailableError,
        "stopped after 1 attempt(s)",
        1,
        timeout_seconds=RESERVED_SECONDS + 4.0,
        fast_retries=False,
        check=_finished_in_time,
    ),
    Case(
        "time-mid-retry",
        TIME,
        "HTTP 503 with Retry-After: 1 until time runs out (4 s left for JOOR)",
        _status(503, ATTEMPTS, **{"Retry-After": "1"}),
        EndpointUnavailableError,
        "stopped after 2 attempt(s), since waiting",
        2,
        timeout_seconds=RESERVED_SECONDS + 4.0,
        fast_retries=False,
        check=_finished_in_time,
    ),
    Case(
        "time-none-left",
        TIME,
        "invoked with less time than the handler's reserve",
        _status(503, ATTEMPTS),
        # A JOOR failure for one account (reason joor_unavailable); a fleet waits instead.
        NoTimeToLogInError,
        "stopped after 0 attempt(s)",
        0,
        timeout_seconds=RESERVED_SECONDS + 1.0,
        fast_retries=False,
    ),
    # Configuration that would send credentials where they must not go
    Case(
        "config-http-remote",
        CONFIG,
        "JOOR_AUTH_URL is http:// to a non-loopback host",
        lambda c: c.configure(JOOR_AUTH_URL="http://atlas-sandbox.jooraccess.com/auth/"),
        ConfigurationError,
        "http:// is allowed only for a loopback host",
        0,
        fast_retries=False,
    ),
]
