"""The fault matrix: every fault at every step, as one list of rows.

Each row says how to make an outside system misbehave and what a user must observe: the
outcome (refreshed, or the error class), a phrase of the one log message, and how many
requests reached JOOR. ``test_fault_matrix.py`` runs each row the same way and checks the
same four things; docs/fault-matrix.md's table is rendered from what the runs observed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra.local.aws_fault_proxy import AwsFault
from infra.local.joor_auth_server import Fault, keycloak_error
from infra.local.stack import SECRET_ID
from refresher.domain.errors import (
    ConfigurationError,
    CredentialsRejectedEarlierError,
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    NoTimeToLogInError,
    RefreshError,
    SecretMalformedError,
    SecretUnavailableError,
    TokenStoreReadError,
    TokenStoreWriteError,
    UnexpectedError,
)
from refresher.domain.models import LoginRecord
from refresher.domain.retry import RetryPolicy
from refresher.timing import AWS_ATTEMPTS, RESERVED_SECONDS
from tests.faults.peers import UnacceptingPort, refused_url
from tests.leakwatch import WATCH

if TYPE_CHECKING:
    from tests.faults.peers import CountingServer
    from tests.integration.conftest import Harness, Invocation

GET_SECRET = "secretsmanager.GetSecretValue"
DESCRIBE_SECRET = "secretsmanager.DescribeSecret"
TAG = "secretsmanager.TagResource"
DESCRIBE = "AmazonSSM.DescribeParameters"
PUT = "AmazonSSM.PutParameter"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Four attempts as in production, but short waits and a 0.75 s attempt timeout, so the matrix
# runs in about a minute. Passed through composition, the way any caller chooses a policy.
FAST = RetryPolicy(
    max_attempts=4, base_delay=0.05, max_delay=0.2, attempt_timeout=0.75, min_attempt_time=0.2
)
# Attempts at JOOR under FAST; a throttled or 5xx AWS call gets AWS_ATTEMPTS (botocore's).
ATTEMPTS = FAST.max_attempts
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


@dataclass(frozen=True, kw_only=True)
class Case:
    """One row: which step, what goes wrong there, and what a user must observe."""

    id: str
    step: str
    fault: str
    inject: Callable[[FaultContext], None]
    # None: the run must refresh (the fault was retried away); else the error it must raise.
    error: type[RefreshError] | None
    phrase: str
    # Requests the local JOOR server must see; None where the fault is a different peer.
    joor_calls: int | None
    # The Lambda context's timeout for the run.
    timeout_seconds: float = 100.0
    # False: the default retry policy, and the refresher the handler already has or builds
    # itself from the environment (where the fault is in the configuration, or in that
    # refresher's own clients).
    fast_retries: bool = True
    # Anything more this row must show, after the four checks.
    check: Callable[[FaultContext, Invocation], None] | None = None
    # The run must skip with this reason instead (no login, the token kept, no failure).
    skip: str | None = None
    # A WARNING line with this phrase must come with the one message.
    warning: str | None = None

    @property
    def recovers(self) -> bool:
        return self.error is None and self.skip is None


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


def _unforeseen_put_error(ctx: FaultContext) -> None:
    import app

    client = app.get_refresher()._store._client  # type: ignore[union-attr]

    def put_parameter_that_quotes_its_value(**kwargs: Any) -> None:
        raise ValueError(f"cannot store {ctx.secret(kwargs['Value'])}")

    client.put_parameter = put_parameter_that_quotes_its_value
    ctx.cleanups.append(lambda: delattr(client, "put_parameter"))


def _names_where_not_what(ctx: FaultContext, run: Invocation) -> None:
    # Where the error came from, never its own message: that quoted the token.
    assert str(run.error).startswith("Unexpected ValueError at ssm_token_store.py:")
    assert "cannot store" not in str(run.error)


_HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
    b"</body></html>"
)


def _recorded(
    result: str, ago: float, *, older_version: bool = False
) -> Callable[[FaultContext], None]:
    """What the login gate finds on the secret: a login ``ago`` seconds back with ``result``,
    with the current version or, with ``older_version``, the one before a new value."""

    def inject(ctx: FaultContext) -> None:
        from refresher.adapters.secrets_manager import SecretsManagerCredentials

        stack = ctx.harness.stack
        client = stack.client("secretsmanager")
        source = SecretsManagerCredentials(SECRET_ID, lambda: client)
        version = source.describe().current_version or ""
        source.record(LoginRecord(result, datetime.now(UTC) - timedelta(seconds=ago), version))
        if older_version:
            stack.put_secret()  # a new value: AWSCURRENT moves on

    return inject


# The step a row's fault hits, as the table's "step" column names it.
JOOR = "JOOR /auth/"
SECRETS = "Secrets Manager"
GATE = "login gate"
SSM_READ = "SSM read"
SSM_WRITE = "SSM/KMS write"
LAMBDA_TIME = "Lambda time"
CONFIG = "configuration"

CASES: list[Case] = [
    # JOOR: the network
    Case(
        id="joor-refused",
        step=JOOR,
        fault="connection refused",
        inject=_refused,
        error=EndpointUnavailableError,
        phrase="Connection refused",
        joor_calls=None,
    ),
    Case(
        id="joor-connect-timeout",
        step=JOOR,
        fault="connect timeout (port never accepts)",
        inject=_unaccepting,
        error=EndpointUnavailableError,
        phrase="no answer from JOOR within",
        joor_calls=None,
    ),
    Case(
        id="joor-read-timeout",
        step=JOOR,
        fault="read timeout (answer later than the attempt timeout)",
        inject=_joor(*[lambda _: Fault(kind="delay", seconds=1.25)] * ATTEMPTS),
        error=EndpointUnavailableError,
        phrase="no answer from JOOR within",
        joor_calls=ATTEMPTS,
    ),
    Case(
        id="joor-read-timeout-recovers",
        step=JOOR,
        fault="read timeout once, then an answer",
        inject=_joor(lambda _: Fault(kind="delay", seconds=1.25)),
        error=None,
        phrase="Token refreshed",
        joor_calls=2,
    ),
    Case(
        id="joor-dropped",
        step=JOOR,
        fault="connection closed without an answer",
        inject=_joor(*[lambda _: Fault(kind="drop")] * ATTEMPTS),
        error=EndpointUnavailableError,
        phrase="could not connect to JOOR",
        joor_calls=ATTEMPTS,
    ),
    Case(
        id="joor-dropped-recovers",
        step=JOOR,
        fault="connection closed once, then an answer",
        inject=_joor(lambda _: Fault(kind="drop")),
        error=None,
        phrase="Token refreshed",
        joor_calls=2,
    ),
    Case(
        id="joor-502-then-dropped-recovers",
        step=JOOR,
        fault="HTTP 502, then connection closed, then an answer",
        inject=_joor(lambda _: Fault(kind="status", status=502), lambda _: Fault(kind="drop")),
        error=None,
        phrase="Token refreshed",
        joor_calls=3,
    ),
    Case(
        id="joor-slow-body",
        step=JOOR,
        fault="body trickles in past the attempt timeout",
        inject=_joor(
            *[lambda _: Fault(kind="slow_body", body=b"{" + b" " * 400 + b"}", seconds=1.5)]
            * ATTEMPTS
        ),
        error=EndpointUnavailableError,
        phrase="still arriving at the time limit",
        joor_calls=ATTEMPTS,
    ),
    # JOOR: server errors and throttling
    *[
        Case(
            id=f"joor-{code}",
            step=JOOR,
            fault=f"HTTP {code} on every attempt",
            inject=_status(code),
            error=EndpointUnavailableError,
            phrase=f"JOOR answered HTTP {code}",
            joor_calls=ATTEMPTS,
        )
        for code in (500, 502, 503, 504)
    ],
    *[
        Case(
            id=f"joor-{code}-recovers",
            step=JOOR,
            fault=f"HTTP {code} once, then an answer",
            inject=_status(code, 1),
            error=None,
            phrase="Token refreshed",
            joor_calls=2,
        )
        for code in (500, 502, 503, 504)
    ],
    Case(
        id="joor-429",
        step=JOOR,
        fault="HTTP 429 without Retry-After on every attempt",
        inject=_status(429),
        error=EndpointUnavailableError,
        phrase="JOOR answered HTTP 429",
        joor_calls=ATTEMPTS,
    ),
    Case(
        id="joor-429-recovers",
        step=JOOR,
        fault="HTTP 429 without Retry-After once, then an answer",
        inject=_status(429, 1),
        error=None,
        phrase="Token refreshed",
        joor_calls=2,
    ),
    Case(
        id="joor-429-retry-after-1",
        step=JOOR,
        fault="HTTP 429 with Retry-After: 1 once, then an answer",
        inject=_status(429, 1, **{"Retry-After": "1"}),
        error=None,
        phrase="Token refreshed",
        joor_calls=2,
    ),
    Case(
        id="joor-429-retry-after-120",
        step=JOOR,
        fault="HTTP 429 with Retry-After: 120 (beyond the time left)",
        inject=_status(429, ATTEMPTS, **{"Retry-After": "120"}),
        error=EndpointUnavailableError,
        phrase="waiting 120.0 s more would not leave time",
        joor_calls=1,
    ),
    # JOOR: rejections (auth-endpoint-facts.md); never retried
    Case(
        id="joor-wrong-password",
        step=JOOR,
        fault="wrong password (real server: 401 invalid_grant)",
        inject=_wrong_password,
        error=CredentialsRejectedError,
        phrase="HTTP 401, invalid_grant: Invalid user credentials",
        joor_calls=1,
    ),
    Case(
        id="joor-wrong-password-400",
        step=JOOR,
        fault="wrong password, older Keycloak (400 invalid_grant)",
        inject=_rejection(400, "invalid_grant", "Invalid user credentials"),
        error=CredentialsRejectedError,
        phrase="HTTP 400, invalid_grant",
        joor_calls=1,
    ),
    Case(
        id="joor-bad-client-secret",
        step=JOOR,
        fault="bad client secret (real server: 401 unauthorized_client)",
        inject=_wrong_client_secret,
        error=CredentialsRejectedError,
        phrase="HTTP 401, unauthorized_client",
        joor_calls=1,
    ),
    Case(
        id="joor-invalid-client",
        step=JOOR,
        fault="bad client secret (401 invalid_client)",
        inject=_rejection(401, "invalid_client"),
        error=CredentialsRejectedError,
        phrase="HTTP 401, invalid_client",
        joor_calls=1,
    ),
    Case(
        id="joor-direct-grants-disabled",
        step=JOOR,
        fault="direct grants disabled (400 unauthorized_client)",
        inject=_rejection(
            400, "unauthorized_client", "Client not allowed for direct access grants"
        ),
        error=CredentialsRejectedError,
        phrase="Client not allowed for direct access grants",
        joor_calls=1,
    ),
    Case(
        id="joor-account-not-set-up",
        step=JOOR,
        fault="account not fully set up (400 invalid_grant)",
        inject=_rejection(400, "invalid_grant", "Account is not fully set up"),
        error=CredentialsRejectedError,
        phrase="Account is not fully set up",
        joor_calls=1,
    ),
    Case(
        id="joor-account-disabled",
        step=JOOR,
        fault="account disabled (400 invalid_grant)",
        inject=_rejection(400, "invalid_grant", "Account disabled"),
        error=CredentialsRejectedError,
        phrase="Account disabled",
        joor_calls=1,
    ),
    Case(
        id="joor-missing-grant-type",
        step=JOOR,
        fault="missing grant_type (400 invalid_request)",
        inject=_rejection(400, "invalid_request", "Missing form parameter: grant_type"),
        error=CredentialsRejectedError,
        phrase="Missing form parameter: grant_type",
        joor_calls=1,
    ),
    Case(
        id="joor-unknown-grant-type",
        step=JOOR,
        fault="unknown grant_type (real server: 400 unsupported_grant_type)",
        inject=_unknown_grant_type,
        error=CredentialsRejectedError,
        phrase="unsupported_grant_type",
        joor_calls=1,
    ),
    Case(
        id="joor-401-html",
        step=JOOR,
        fault="401 with an HTML body",
        inject=_raw(401, _HTML, "text/html"),
        error=CredentialsRejectedError,
        phrase="HTTP 401, no error code",
        joor_calls=1,
    ),
    Case(
        id="joor-forged-log-line",
        step=JOOR,
        fault="error_description with a newline and a fake JSON log line",
        inject=_forged_log_line,
        error=CredentialsRejectedError,
        phrase="Invalid user credentials\\n",
        joor_calls=1,
        check=_log_line_is_escaped,
    ),
    Case(
        id="joor-description-echoes-user-name",
        step=JOOR,
        fault="error_description quoting the user name",
        inject=_echoed_user_name,
        error=CredentialsRejectedError,
        phrase="Invalid user credentials for [redacted]",
        joor_calls=1,
        check=_redacted,
    ),
    Case(
        id="joor-wrong-path-404",
        step=JOOR,
        fault="JOOR_AUTH_URL with a wrong path (real server: 404)",
        inject=lambda c: c.configure(
            JOOR_AUTH_URL=c.harness.stack.joor.url.replace("/auth/", "/v4/auth/")
        ),
        error=InvalidTokenResponseError,
        phrase="no token endpoint there. Check JOOR_AUTH_URL",
        joor_calls=None,
    ),
    # JOOR: redirects (credentials must not follow)
    *[
        Case(
            id=f"joor-redirect-{code}",
            step=JOOR,
            fault=f"redirect (HTTP {code}) to another server",
            inject=_redirect(code),
            error=InvalidTokenResponseError,
            phrase="it was not followed",
            joor_calls=1,
            check=_nothing_reached_the_redirect_target,
        )
        for code in (301, 302, 307, 308)
    ],
    # JOOR: HTTP 200 that is not a usable token
    Case(
        id="joor-empty-body",
        step=JOOR,
        fault="HTTP 200, empty body",
        inject=_raw(200, b""),
        error=InvalidTokenResponseError,
        phrase="body is not JSON (0 bytes",
        joor_calls=1,
    ),
    Case(
        id="joor-not-json",
        step=JOOR,
        fault="HTTP 200, body not JSON",
        inject=_raw(200, b"access_token=abc&expires_in=1", "text/plain"),
        error=InvalidTokenResponseError,
        phrase="body is not JSON",
        joor_calls=1,
    ),
    Case(
        id="joor-html-200",
        step=JOOR,
        fault="HTTP 200 with an HTML error page",
        inject=_raw(200, _HTML, "text/html"),
        error=InvalidTokenResponseError,
        phrase="content type 'text/html'",
        joor_calls=1,
    ),
    Case(
        id="joor-json-array",
        step=JOOR,
        fault="HTTP 200, JSON that is not an object",
        inject=_raw(200, b"[1, 2, 3]"),
        error=InvalidTokenResponseError,
        phrase="not an object (list)",
        joor_calls=1,
    ),
    Case(
        id="joor-no-access-token",
        step=JOOR,
        fault="JSON without access_token",
        inject=_joor(lambda c: c.answer(access_token=_MISSING)),
        error=InvalidTokenResponseError,
        phrase="without an access_token",
        joor_calls=1,
    ),
    Case(
        id="joor-empty-access-token",
        step=JOOR,
        fault="access_token empty",
        inject=_joor(lambda c: c.answer(access_token="")),
        error=InvalidTokenResponseError,
        phrase="without an access_token",
        joor_calls=1,
    ),
    Case(
        id="joor-token-bad-characters",
        step=JOOR,
        fault="access_token with a space and a newline",
        inject=_joor(lambda c: c.answer(access_token=c.secret(secrets.token_urlsafe(30)) + " \nX")),
        error=InvalidTokenResponseError,
        phrase="cannot go in an HTTP header",
        joor_calls=1,
    ),
    Case(
        id="joor-token-too-big",
        step=JOOR,
        fault="access_token of 9 KB (SSM holds 8 KB)",
        inject=_joor(lambda c: c.answer(access_token=c.secret(secrets.token_urlsafe(6912)))),
        error=InvalidTokenResponseError,
        phrase="more than the 8192 bytes",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-missing",
        step=JOOR,
        fault="expires_in missing",
        inject=_joor(lambda c: c.answer(expires_in=_MISSING)),
        error=InvalidTokenResponseError,
        phrase="expires_in is missing",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-zero",
        step=JOOR,
        fault="expires_in 0",
        inject=_joor(lambda c: c.answer(expires_in=0)),
        error=InvalidTokenResponseError,
        phrase="expires_in is int 0",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-negative",
        step=JOOR,
        fault="expires_in -36000",
        inject=_joor(lambda c: c.answer(expires_in=-36000)),
        error=InvalidTokenResponseError,
        phrase="expires_in is int -36000",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-string",
        step=JOOR,
        fault='expires_in "36000" (a string)',
        inject=_joor(lambda c: c.answer(expires_in="36000")),
        error=InvalidTokenResponseError,
        phrase="expires_in is a string",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-bool",
        step=JOOR,
        fault="expires_in true",
        inject=_joor(lambda c: c.answer(expires_in=True)),
        error=InvalidTokenResponseError,
        phrase="expires_in is bool True",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-nan",
        step=JOOR,
        fault="expires_in NaN",
        inject=_joor(lambda c: c.answer(expires_in=float("nan"))),
        error=InvalidTokenResponseError,
        phrase="expires_in is float nan",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-in-huge",
        step=JOOR,
        fault="expires_in 10^12 s (absurdly large)",
        inject=_joor(lambda c: c.answer(expires_in=10**12)),
        error=InvalidTokenResponseError,
        phrase="over 2592000 s (30 days)",
        joor_calls=1,
    ),
    Case(
        id="joor-expires-sooner",
        step=JOOR,
        fault="expires_in 3600: sooner than the stored token (2 h left)",
        inject=_joor(lambda c: c.answer(expires_in=3600)),
        error=InvalidTokenResponseError,
        phrase="sooner than the stored one",
        joor_calls=1,
    ),
    Case(
        id="joor-token-type-mac",
        step=JOOR,
        fault='token_type "mac"',
        inject=_joor(lambda c: c.answer(token_type="mac")),
        error=InvalidTokenResponseError,
        phrase="token_type is 'mac'",
        joor_calls=1,
    ),
    Case(
        id="joor-token-type-missing",
        step=JOOR,
        fault="token_type missing",
        inject=_joor(lambda c: c.answer(token_type=_MISSING)),
        error=InvalidTokenResponseError,
        phrase="token_type is None",
        joor_calls=1,
    ),
    Case(
        id="joor-huge-body",
        step=JOOR,
        fault="HTTP 200 with a 2 MB body",
        inject=_raw(200, b'{"access_token": "' + b"a" * 2_000_000 + b'"}'),
        error=InvalidTokenResponseError,
        phrase="larger than 65536 bytes",
        joor_calls=1,
    ),
    # The login gate: what JOOR said last time, kept on the secret
    Case(
        id="gate-rejected-earlier",
        step=GATE,
        fault="JOOR rejected the secret's current version 2 h ago",
        inject=_recorded("rejected", 7200),
        error=CredentialsRejectedEarlierError,
        phrase="not logging in with them again",
        joor_calls=0,
    ),
    Case(
        id="gate-rejected-older-version",
        step=GATE,
        fault="JOOR rejected the version before the current one",
        inject=_recorded("rejected", 60, older_version=True),
        error=None,
        phrase="Token refreshed",
        joor_calls=1,
    ),
    Case(
        id="gate-failed-recently",
        step=GATE,
        fault="a login with these credentials left no token 60 s ago",
        inject=_recorded("failed", 60),
        error=None,
        skip="rate_limited",
        phrase="login budget",
        joor_calls=0,
    ),
    Case(
        id="gate-describe-denied",
        step=GATE,
        fault="DescribeSecret access denied",
        inject=_aws(DESCRIBE_SECRET, "AccessDeniedException", "not authorized"),
        error=SecretUnavailableError,
        phrase="Could not describe secret",
        joor_calls=0,
    ),
    Case(
        id="gate-describe-throttled",
        step=GATE,
        fault="DescribeSecret throttled on every SDK attempt",
        inject=_aws(DESCRIBE_SECRET, "ThrottlingException", "Rate exceeded", times=AWS_ATTEMPTS),
        error=SecretUnavailableError,
        phrase="ThrottlingException",
        joor_calls=0,
    ),
    Case(
        id="gate-record-denied-rejection",
        step=GATE,
        fault="JOOR 401, then TagResource access denied",
        inject=lambda c: (
            c.joor(keycloak_error(401, "invalid_grant", "Invalid user credentials")),
            c.aws(AwsFault(TAG, "AccessDeniedException", "not authorized")),
        ),
        error=CredentialsRejectedError,
        phrase="JOOR rejected the credentials",
        warning="the next run cannot know that JOOR answered with a rejection",
        joor_calls=1,
    ),
    Case(
        id="gate-record-denied-success",
        step=GATE,
        fault="first login with a version, then TagResource access denied",
        inject=_aws(TAG, "AccessDeniedException", "not authorized"),
        error=None,
        phrase="Token refreshed",
        warning="the next run cannot know that JOOR answered with a token",
        joor_calls=1,
    ),
    # Secrets Manager
    Case(
        id="secret-missing",
        step=SECRETS,
        fault="secret does not exist",
        inject=lambda c: c.configure(CREDENTIALS_SECRET_ID="joor/sandbox/no-such-secret"),
        error=SecretUnavailableError,
        phrase="it does not exist",
        joor_calls=0,
    ),
    Case(
        id="secret-access-denied",
        step=SECRETS,
        fault="GetSecretValue access denied",
        inject=_aws(
            GET_SECRET,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/refresher is not authorized to "
            "perform: secretsmanager:GetSecretValue",
        ),
        error=SecretUnavailableError,
        phrase="access denied",
        joor_calls=0,
    ),
    Case(
        id="secret-kms-decrypt",
        step=SECRETS,
        fault="secret's KMS key cannot decrypt (DecryptionFailure)",
        inject=_aws(
            GET_SECRET,
            "DecryptionFailure",
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
        ),
        error=SecretUnavailableError,
        phrase="DecryptionFailure",
        joor_calls=0,
    ),
    Case(
        id="secret-throttled",
        step=SECRETS,
        fault="GetSecretValue throttled on every SDK attempt",
        inject=_aws(GET_SECRET, "ThrottlingException", "Rate exceeded", times=AWS_ATTEMPTS),
        error=SecretUnavailableError,
        phrase="ThrottlingException",
        joor_calls=0,
    ),
    Case(
        id="secret-throttled-recovers",
        step=SECRETS,
        fault="GetSecretValue throttled once (the SDK retries)",
        inject=_aws(GET_SECRET, "ThrottlingException", "Rate exceeded"),
        error=None,
        phrase="Token refreshed",
        joor_calls=1,
    ),
    Case(
        id="secret-500",
        step=SECRETS,
        fault="GetSecretValue InternalServiceError on every SDK attempt",
        inject=_aws(GET_SECRET, "InternalServiceError", "internal error", 500, AWS_ATTEMPTS),
        error=SecretUnavailableError,
        phrase="InternalServiceError",
        joor_calls=0,
    ),
    Case(
        id="secret-binary",
        step=SECRETS,
        fault="secret holds binary, not a string",
        inject=_binary_secret,
        error=SecretMalformedError,
        phrase="holds binary data",
        joor_calls=0,
    ),
    Case(
        id="secret-not-json",
        step=SECRETS,
        fault="secret is not JSON",
        inject=_secret(lambda _: "client_id=abc;password=xyz"),
        error=SecretMalformedError,
        phrase="is not valid JSON",
        joor_calls=0,
    ),
    Case(
        id="secret-json-list",
        step=SECRETS,
        fault="secret is JSON but not an object",
        inject=_secret(lambda _: '["client_id", "client_secret"]'),
        error=SecretMalformedError,
        phrase="not an object (found list)",
        joor_calls=0,
    ),
    Case(
        id="secret-missing-keys",
        step=SECRETS,
        fault="keys password and client_secret missing",
        inject=_secret(lambda c: c.credentials(password=_MISSING, client_secret=_MISSING)),
        error=SecretMalformedError,
        phrase="missing keys: client_secret, password",
        joor_calls=0,
    ),
    Case(
        id="secret-empty-value",
        step=SECRETS,
        fault="password empty",
        inject=_secret(lambda c: c.credentials(password="")),
        error=SecretMalformedError,
        phrase="empty or non-string values for keys: password",
        joor_calls=0,
    ),
    Case(
        id="secret-blank-value",
        step=SECRETS,
        fault="username only spaces",
        inject=_secret(lambda c: c.credentials(username="   ")),
        error=SecretMalformedError,
        phrase="empty or non-string values for keys: username",
        joor_calls=0,
    ),
    Case(
        id="secret-non-string",
        step=SECRETS,
        fault="client_id a number, grant_type null",
        inject=_secret(lambda c: c.credentials(client_id=12345, grant_type=None)),
        error=SecretMalformedError,
        phrase="empty or non-string values for keys: client_id, grant_type",
        joor_calls=0,
    ),
    # SSM: reading the stored token's metadata
    Case(
        id="ssm-read-throttled",
        step=SSM_READ,
        fault="DescribeParameters throttled on every SDK attempt",
        inject=_aws(DESCRIBE, "ThrottlingException", "Rate exceeded", times=AWS_ATTEMPTS),
        error=TokenStoreReadError,
        phrase="ThrottlingException: Rate exceeded",
        joor_calls=0,
    ),
    Case(
        id="ssm-read-throttled-recovers",
        step=SSM_READ,
        fault="DescribeParameters throttled once (the SDK retries)",
        inject=_aws(DESCRIBE, "ThrottlingException", "Rate exceeded"),
        error=None,
        phrase="Token refreshed",
        joor_calls=1,
    ),
    Case(
        id="ssm-read-access-denied",
        step=SSM_READ,
        fault="DescribeParameters access denied",
        inject=_aws(
            DESCRIBE, "AccessDeniedException", "not authorized to perform: ssm:DescribeParameters"
        ),
        error=TokenStoreReadError,
        phrase="AccessDeniedException",
        joor_calls=0,
    ),
    Case(
        id="ssm-read-500",
        step=SSM_READ,
        fault="DescribeParameters InternalServerError on every SDK attempt",
        inject=_aws(DESCRIBE, "InternalServerError", "internal error", 500, AWS_ATTEMPTS),
        error=TokenStoreReadError,
        phrase="InternalServerError",
        joor_calls=0,
    ),
    # SSM and KMS: writing the new token
    Case(
        id="ssm-write-throttled",
        step=SSM_WRITE,
        fault="PutParameter throttled on every SDK attempt",
        inject=_aws(PUT, "ThrottlingException", "Rate exceeded", times=AWS_ATTEMPTS),
        error=TokenStoreWriteError,
        phrase="ThrottlingException: Rate exceeded",
        joor_calls=1,
    ),
    Case(
        id="ssm-write-throttled-recovers",
        step=SSM_WRITE,
        fault="PutParameter throttled once (the SDK retries)",
        inject=_aws(PUT, "ThrottlingException", "Rate exceeded"),
        error=None,
        phrase="Token refreshed",
        joor_calls=1,
    ),
    Case(
        id="ssm-write-throttled-until-the-last-attempt",
        step=SSM_WRITE,
        fault="PutParameter throttled on every SDK attempt but the last",
        inject=_aws(PUT, "ThrottlingException", "Rate exceeded", times=AWS_ATTEMPTS - 1),
        error=None,
        phrase="Token refreshed",
        joor_calls=1,
    ),
    Case(
        id="ssm-write-access-denied",
        step=SSM_WRITE,
        fault="PutParameter access denied",
        inject=_aws(PUT, "AccessDeniedException", "not authorized to perform: ssm:PutParameter"),
        error=TokenStoreWriteError,
        phrase="AccessDeniedException",
        joor_calls=1,
    ),
    Case(
        id="ssm-write-500",
        step=SSM_WRITE,
        fault="PutParameter InternalServerError on every SDK attempt",
        inject=_aws(PUT, "InternalServerError", "internal error", 500, AWS_ATTEMPTS),
        error=TokenStoreWriteError,
        phrase="InternalServerError",
        joor_calls=1,
    ),
    Case(
        id="kms-key-disabled",
        step=SSM_WRITE,
        fault="KMS key disabled",
        inject=_with_kms_key(
            _aws(
                PUT,
                "InvalidKeyId",
                f"{KEY_ARN} is disabled. (Service: AWSKMS; "
                "Status Code: 400; Error Code: DisabledException)",
            )
        ),
        error=TokenStoreWriteError,
        phrase="is disabled",
        joor_calls=1,
    ),
    Case(
        id="kms-key-missing",
        step=SSM_WRITE,
        fault="KMS key does not exist",
        inject=_with_kms_key(
            _aws(
                PUT,
                "InvalidKeyId",
                f"Key '{KEY_ARN}' does not exist (Service: "
                "AWSKMS; Status Code: 400; Error Code: NotFoundException)",
            )
        ),
        error=TokenStoreWriteError,
        phrase="does not exist",
        joor_calls=1,
    ),
    Case(
        id="kms-key-pending-deletion",
        step=SSM_WRITE,
        fault="KMS key pending deletion",
        inject=_with_kms_key(
            _aws(
                PUT,
                "InvalidKeyId",
                f"{KEY_ARN} is pending deletion. (Service: "
                "AWSKMS; Status Code: 400; Error Code: KMSInvalidStateException)",
            )
        ),
        error=TokenStoreWriteError,
        phrase="pending deletion",
        joor_calls=1,
    ),
    Case(
        id="kms-access-denied",
        step=SSM_WRITE,
        fault="no kms:Encrypt on the key",
        inject=_with_kms_key(
            _aws(
                PUT,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:"
                "assumed-role/refresher is not authorized to perform: kms:Encrypt "
                "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)",
            )
        ),
        error=TokenStoreWriteError,
        phrase="kms:Encrypt",
        joor_calls=1,
    ),
    *[
        Case(
            id=f"ssm-write-{code}",
            step=SSM_WRITE,
            fault=f"PutParameter refused: {code}",
            inject=_aws(PUT, code, message),
            error=TokenStoreWriteError,
            phrase=code,
            joor_calls=1,
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
        id="ssm-write-validation-echo",
        step=SSM_WRITE,
        fault="ValidationException quoting the value sent",
        inject=_aws(
            PUT,
            "ValidationException",
            "1 validation error detected: Value '{request.Value}' "
            "at 'value' failed to satisfy constraint: Member must have length less than or "
            "equal to 4096",
        ),
        error=TokenStoreWriteError,
        phrase="ValidationException",
        joor_calls=1,
        check=_redacted,
    ),
    Case(
        id="ssm-write-unforeseen-error",
        step=SSM_WRITE,
        fault="PutParameter raising an error no adapter foresaw, quoting the value",
        inject=_unforeseen_put_error,
        error=UnexpectedError,
        phrase="Unexpected ValueError at ssm_token_store.py:",
        joor_calls=1,
        # The handler's refresher from the stale-token run is the one patched: keep it.
        fast_retries=False,
        check=_names_where_not_what,
    ),
    # The Lambda running out of time: default retry policy, a function timeout that leaves
    # JOOR 4 s after the handler's reserve (refresher.timing.RESERVED_SECONDS).
    Case(
        id="time-read-timeout",
        step=LAMBDA_TIME,
        fault="JOOR silent for the whole invocation (4 s left for JOOR)",
        inject=_joor(lambda _: Fault(kind="delay", seconds=5.0)),
        error=EndpointUnavailableError,
        phrase="stopped after 1 attempt(s)",
        joor_calls=1,
        timeout_seconds=RESERVED_SECONDS + 4.0,
        fast_retries=False,
        check=_finished_in_time,
    ),
    Case(
        id="time-mid-retry",
        step=LAMBDA_TIME,
        fault="HTTP 503 with Retry-After: 1 until time runs out (4 s left for JOOR)",
        inject=_status(503, ATTEMPTS, **{"Retry-After": "1"}),
        error=EndpointUnavailableError,
        phrase="stopped after 2 attempt(s), since waiting",
        joor_calls=2,
        timeout_seconds=RESERVED_SECONDS + 4.0,
        fast_retries=False,
        check=_finished_in_time,
    ),
    Case(
        id="time-none-left",
        step=LAMBDA_TIME,
        fault="invoked with less time than the handler's reserve",
        inject=_status(503, ATTEMPTS),
        error=NoTimeToLogInError,
        phrase="stopped after 0 attempt(s)",
        joor_calls=0,
        timeout_seconds=RESERVED_SECONDS + 1.0,
        fast_retries=False,
    ),
    # Configuration: one that would send credentials where they must not go, then a variable
    # missing and one malformed (each fails before any call)
    Case(
        id="config-http-remote",
        step=CONFIG,
        fault="JOOR_AUTH_URL is http:// to a non-loopback host",
        inject=lambda c: c.configure(JOOR_AUTH_URL="http://atlas-sandbox.jooraccess.com/auth/"),
        error=ConfigurationError,
        phrase="http:// is allowed only for a loopback host",
        joor_calls=0,
        fast_retries=False,
    ),
    Case(
        id="config-missing-variable",
        step=CONFIG,
        fault="TOKEN_PARAMETER_NAME not set",
        inject=lambda c: c.configure(TOKEN_PARAMETER_NAME=None),
        error=ConfigurationError,
        phrase="Invalid configuration: TOKEN_PARAMETER_NAME is not set",
        joor_calls=0,
        fast_retries=False,
    ),
    Case(
        id="config-invalid-window",
        step=CONFIG,
        fault="REFRESH_WINDOW_SECONDS not a number",
        inject=lambda c: c.configure(REFRESH_WINDOW_SECONDS="soon"),
        error=ConfigurationError,
        phrase="REFRESH_WINDOW_SECONDS must be a whole number",
        joor_calls=0,
        fast_retries=False,
    ),
]
