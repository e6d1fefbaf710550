"""A local stand-in for the AWS Lambda Invoke API that runs the real handler in this process.

moto cannot run a function without Docker, so this small HTTP server speaks Lambda's REST-JSON
``Invoke`` (botocore's ``lambda/2015-03-31`` model) to the real boto3 client, reached through
``AWS_ENDPOINT_URL_LAMBDA`` or ``endpoint_url``:

``GET /2015-03-31/functions/{FunctionName}/configuration``: ``GetFunctionConfiguration``,
  the function's name, ARN, runtime, handler, timeout and memory.

``POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=...]``
  FunctionName is a name, ``name:qualifier``, a full ARN or a partial ARN
  (``123456789012:function:name``); the qualifiers are ``$LATEST`` and the function's aliases
  (``aliases``: ``operator``, as the stack makes it), each pointing at ``$LATEST``. The
  handler's context carries the ARN the caller addressed (``invoked_function_arn``), alias
  included, as Lambda's does.
  ``X-Amz-Invocation-Type``:
    ``RequestResponse`` (default): runs the handler, answers 200 with what it returned (JSON).
      If it raised: 200 with ``X-Amz-Function-Error: Unhandled`` and the Python runtime's
      payload ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` (awslambdaric
      ``bootstrap.make_error``); boto3 returns ``FunctionError="Unhandled"`` and that payload.
    ``Event``: 202 at once; the event waits in a queue and runs in the background, one at a
      time, when the reserved concurrency has room (Lambda queues asynchronous events and
      retries throttled ones itself; the template sets no retry of failed ones).
    ``DryRun``: 204, nothing runs.
  ``POST /local-eventbridge/events``: not an AWS API; the stand-in for the stack's EventBridge
  rule. moto (infra/local/moto_fidelity.py) posts Secrets Manager's events here; while
  ``rule_enabled``, each runs as an ``Event`` invocation of the function, as EventBridge
  delivers to a Lambda target; ``rule_events`` keeps every event received.
  ``X-Amz-Log-Type: Tail``: ``X-Amz-Log-Result`` is the base64 of the last 4 KB of the
  invocation's log: ``START``/``END``/``REPORT`` lines around what the handler printed and
  logged, and the runtime's ``[ERROR]`` line when it raised. Every answer carries
  ``x-amzn-RequestId`` (also the context's ``aws_request_id``) and the 200 answers
  ``X-Amz-Executed-Version: $LATEST``.

Errors, shaped as Lambda sends them (``x-amzn-ErrorType`` header plus a JSON body):
  429 ``TooManyRequestsException`` ``{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
  "Type": "User", "message": "Rate Exceeded."}`` to a synchronous invocation that finds every
  reserved slot taken (``reserved_concurrency``, 1 like the template; None for no reservation,
  0 throttles everything as Lambda does); 404 ``ResourceNotFoundException``
  ``{"Type": "User", "Message": "Function not found: <arn>"}`` for any other function or
  qualifier; 400 ``InvalidRequestContentException`` for a payload that is not JSON.

What it does not do: check SigV4 signatures, stop a handler at its timeout (the handler sees
the timeout through ``context.get_remaining_time_in_millis()`` only), isolate invocations in
separate processes, or measure memory.

botocore and a 429 ``TooManyRequestsException`` (read in botocore 1.44, the version this
project installs: ``botocore/configprovider.py``, ``botocore/args.py``,
``botocore/retries/standard.py``, ``botocore/data/_retry.json``, ``botocore/retryhandler.py``):
  * The retry mode comes from ``Config(retries={"mode": ...})``, ``AWS_RETRY_MODE`` or the
    config file's ``retry_mode``; botocore 1.44 defaults to ``standard`` (older releases
    defaulted to ``legacy``), so a consumer should not rely on the default either way.
  * ``standard`` (and ``adaptive``, which adds client-side rate limiting on top): the error
    code ``TooManyRequestsException`` is in ``ThrottledRetryableChecker``'s list, so it IS
    retried automatically: 3 attempts in all by default (``DEFAULT_MAX_ATTEMPTS``), with
    throttling backoff ``rand(0, 1) * min(1 s * 2**i, 20 s)`` before each retry, while the
    client's retry quota lasts (500, 5 per throttled retry).
  * ``legacy``: ``_retry.json``'s ``too_many_requests`` policy retries every HTTP 429: 5
    attempts in all by default (``max_attempts: 5`` in ``__default__``; nothing specific for
    Lambda), with backoff ``rand(0, 1) * 2**(attempt - 1)`` seconds.
  * ``Config(retries={"total_max_attempts": 1})`` (or ``{"max_attempts": 0}``) turns retries
    off in either mode: one attempt, and the caller gets the exception. (``AWS_MAX_ATTEMPTS``
    or the config file's ``max_attempts`` also change the count when the client sets none.)
  * The model lets a 429 carry ``Retry-After`` (``retryAfterSeconds``); this stand-in sends
    none, and standard mode only reads ``x-amz-retry-after`` anyway.
  So a consumer that keeps the SDK's retries runs the refresher again as soon as the running
  invocation ends (its retry takes the freed slot): it must turn them off for Invoke.
  tests/integration/test_lambda_invoke.py shows the attempts each setting makes, and that
  second run.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from infra.local.lambda_context import LocalLambdaContext

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "token_refresher"

DEFAULT_FUNCTION_NAME = "joor-token-refresher-local-token-refresher"
DEFAULT_REGION = "eu-west-1"
DEFAULT_ACCOUNT_ID = "123456789012"
LATEST = "$LATEST"
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_CONFIGURATION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
RULE_PATH = "/local-eventbridge/events"
_PARTIAL_ARN = re.compile(r"^(?P<account>\d{12}):function:(?P<rest>.+)$")

Handler = Callable[[Any, Any], Any]


class ContextFactory(Protocol):
    def __call__(self, *, request_id: str, invoked_function_arn: str) -> Any: ...


@dataclass(frozen=True)
class InvocationCounts:
    """Invocations since start or ``reset``: each started one ends completed or failed."""

    started: int = 0
    completed: int = 0
    failed: int = 0
    throttled: int = 0  # synchronous requests answered 429


@dataclass(frozen=True)
class InvocationRecord:
    request_id: str
    invocation_type: str
    event: Any
    error_type: str | None  # None when the handler returned
    log: str  # the whole log of the invocation (the tail is its last 4 KB)


class RefresherHandler:
    """``app.lambda_handler`` of functions/token_refresher, imported on first use.

    The import waits for the first invocation because the module reads its environment
    (Powertools settings) when imported, as it does in a fresh Lambda execution environment.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._app: Any = None

    def _module(self) -> Any:
        with self._lock:
            if self._app is None:
                if str(FUNCTION_DIR) not in sys.path:
                    sys.path.insert(0, str(FUNCTION_DIR))
                import app

                self._app = app
            return self._app

    def __call__(self, event: Any, context: Any) -> Any:
        app = self._module()
        # Powertools' logger keeps the stdout it found at import: give it the current one,
        # which during an invocation is the server's per-invocation log.
        app.logger.registered_handler.setStream(sys.stdout)
        return app.lambda_handler(event, context)

    def recycle(self) -> None:
        """A new execution environment: settings and clients are built again on next use."""
        if self._app is not None:
            self._app._refresher = None


class _OutputRouter(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr during invocations: what a thread that runs an
    invocation writes goes to that invocation's log; other threads write where they did."""

    def __init__(self, outer: Any) -> None:
        self.outer = outer
        self.logs: dict[int, io.StringIO] = {}

    def write(self, text: str) -> int:
        log = self.logs.get(threading.get_ident())
        if log is not None:
            return log.write(text)
        return int(self.outer.write(text))

    def flush(self) -> None:
        if threading.get_ident() not in self.logs:
            # Python flushes sys.stdout at exit; if an invocation is still running then, this
            # router is still in place and pytest may already have closed the stream it wraps.
            with contextlib.suppress(ValueError):
                self.outer.flush()

    def isatty(self) -> bool:
        return False


class _ExecutionEnvironment:
    """What an invocation sees: the function's environment variables and its own stdout.

    Both are process-wide, so they are put in place when the first of the running invocations
    starts and put back when the last one ends.
    """

    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = variables
        self._lock = threading.Lock()
        self._users = 0
        self._saved_env: dict[str, str | None] = {}
        self._out: _OutputRouter | None = None
        self._err: _OutputRouter | None = None

    @contextlib.contextmanager
    def entered(self, log: io.StringIO) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                variables = dict(self.variables)
                self._saved_env = {name: os.environ.get(name) for name in variables}
                os.environ.update(variables)
                self._out, self._err = _OutputRouter(sys.stdout), _OutputRouter(sys.stderr)
                sys.stdout, sys.stderr = self._out, self._err
            self._users += 1
            out, err = self._out, self._err
            assert out is not None
            assert err is not None
            out.logs[threading.get_ident()] = log
            err.logs[threading.get_ident()] = log
        try:
            yield
        finally:
            with self._lock:
                out.logs.pop(threading.get_ident(), None)
                err.logs.pop(threading.get_ident(), None)
                self._users -= 1
                if self._users == 0:
                    for name, value in self._saved_env.items():
                        if value is None:
                            os.environ.pop(name, None)
                        else:
                            os.environ[name] = value
                    # Someone else may have replaced them meanwhile (pytest's capture does
                    # between tests): then theirs stays.
                    if sys.stdout is out:
                        sys.stdout = out.outer
                    if sys.stderr is err:
                        sys.stderr = err.outer


class _ApiError(Exception):
    def __init__(self, status: int, code: str, body: dict[str, str]) -> None:
        super().__init__(code)
        self.status, self.code, self.body = status, code, body


@dataclass(frozen=True)
class _Outcome:
    payload: bytes
    function_error: str | None
    log: str


def _error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """What the Python runtime returns for an exception (awslambdaric ``make_error``)."""
    frames = traceback.extract_tb(error.__traceback__)
    # The runtime drops its own frames (bootstrap.py) from the top; this server's are dropped.
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _error_log_line(payload: Mapping[str, Any]) -> str:
    """The runtime's text-format ``[ERROR]`` record: one record, lines joined by CR."""
    lines = [f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"]
    lines.append("Traceback (most recent call last):")
    for element in payload["stackTrace"]:
        lines.extend(element.splitlines())
    return "\r".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "lambda-local/1.0"
    # TCP_NODELAY, as real servers set it: without it a keep-alive response sent as headers then
    # body waits ~40 ms for the client's delayed ACK (Nagle), and every reused connection pays it.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet, like the other stand-ins: tests read captured output."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        request_id = str(uuid.uuid4())
        if urlsplit(self.path).path == RULE_PATH:
            self.server.owner._rule_delivery(_parse_payload(body), request_id)
            self._answer(202, b"", {})
            return
        try:
            self._invoke(body, request_id)
        except _ApiError as error:
            self._answer(
                error.status,
                json.dumps(error.body).encode(),
                {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code},
            )

    def do_GET(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        match = _CONFIGURATION_PATH.match(parts.path)
        if match is None:
            self._unknown_operation()
            return
        lam = self.server.owner
        try:
            arn = lam._resolve(
                unquote(match["name"]), parse_qs(parts.query).get("Qualifier", [None])[0]
            )
        except _ApiError as error:
            self._answer(
                error.status, json.dumps(error.body).encode(), {"x-amzn-ErrorType": error.code}
            )
            return
        self._answer(200, json.dumps(lam.configuration(arn)).encode(), {})

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._unknown_operation()

    do_DELETE = do_PUT  # noqa: N815 - http.server's names

    def _unknown_operation(self) -> None:
        self._answer(
            404,
            json.dumps({"Type": "User", "message": "Unknown operation"}).encode(),
            {"x-amzn-ErrorType": "UnknownOperationException"},
        )

    def _invoke(self, body: bytes, request_id: str) -> None:
        lam = self.server.owner
        parts = urlsplit(self.path)
        match = _INVOKE_PATH.match(parts.path)
        if match is None:
            raise _ApiError(
                404, "UnknownOperationException", {"Type": "User", "message": "Unknown operation"}
            )
        qualifier = parse_qs(parts.query).get("Qualifier", [None])[0]
        invoked_arn = lam._resolve(unquote(match["name"]), qualifier)
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            raise _ApiError(
                400,
                "InvalidParameterValueException",
                {"Type": "User", "message": f"Unsupported invocation type {invocation_type!r}"},
            )
        event = _parse_payload(body)
        ids = {"x-amzn-RequestId": request_id}
        if invocation_type == "DryRun":
            self._answer(204, b"", ids)
            return
        if invocation_type == "Event":
            lam._enqueue(event, request_id, invoked_arn)
            self._answer(202, b"", ids)
            return
        if not lam._try_acquire():
            raise _ApiError(
                429,
                "TooManyRequestsException",
                {
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                    "Type": "User",
                    "message": "Rate Exceeded.",
                },
            )
        try:
            outcome = lam._execute(event, request_id, invoked_arn, "RequestResponse")
        finally:
            lam._release()
        headers = {**ids, "X-Amz-Executed-Version": LATEST, "Content-Type": "application/json"}
        if outcome.function_error is not None:
            headers["X-Amz-Function-Error"] = outcome.function_error
        if (self.headers.get("X-Amz-Log-Type") or "None") == "Tail":
            tail = outcome.log.encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        self._answer(200, outcome.payload, headers)

    def _answer(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        # A caller whose read timeout ran out has gone: Lambda finishes the run all the same.
        with contextlib.suppress(OSError):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Type" not in headers and body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


def _parse_payload(body: bytes) -> Any:
    if not body.strip():
        return {}  # Lambda hands an empty payload to the function as {}
    try:
        return json.loads(body)
    except ValueError as error:
        raise _ApiError(
            400,
            "InvalidRequestContentException",
            {"Type": "User", "message": f"Could not parse request body into json: {error}"},
        ) from None


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: LambdaServer) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class LambdaServer:
    """The Invoke API of one function, on a free loopback port, running ``handler`` in-process.

    ``handler`` defaults to the refresher's ``app.lambda_handler``; ``context_factory`` builds
    the context of each invocation (default: ``LocalLambdaContext`` with ``timeout_seconds``
    and a fresh ``aws_request_id``). ``environment`` holds the function's environment
    variables, put into ``os.environ`` while invocations run. ``reserved_concurrency`` is how
    many invocations may run at once (None: no reservation). ``extra_latency`` seconds are
    spent (with ``sleep``) in each invocation before the handler runs: the platform's own
    overhead, for benchmarks.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        function_name: str = DEFAULT_FUNCTION_NAME,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        timeout_seconds: float = 100.0,
        memory_mb: int = 256,
        reserved_concurrency: int | None = 1,
        extra_latency: float = 0.0,
        environment: Mapping[str, str] | None = None,
        context_factory: ContextFactory | None = None,
        sleep: Callable[[float], None] = time.sleep,
        port: int = 0,
        aliases: tuple[str, ...] = ("operator",),
    ) -> None:
        self.handler: Handler = handler if handler is not None else RefresherHandler()
        self.function_name = function_name
        self.region = region
        self.account_id = account_id
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.reserved_concurrency = reserved_concurrency
        self.aliases = aliases
        self.rule_enabled = True
        self.rule_events: list[Any] = []
        self.extra_latency = extra_latency
        self._sleep = sleep
        self.environment: dict[str, str] = dict(environment or {})
        self._context_factory = context_factory or self._default_context
        self._execution = _ExecutionEnvironment(self.environment)
        self._cond = threading.Condition()
        self._running = 0
        self._queue: deque[tuple[Any, str, str]] = deque()
        self._pending_events = 0
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._counts = InvocationCounts()
        self._events: list[Any] = []
        self._records: list[InvocationRecord] = []
        self._server = _HttpServer(("127.0.0.1", port), self)
        # A short poll: stop() waits for it, and tests start and stop many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- addresses --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What ``AWS_ENDPOINT_URL_LAMBDA`` (or a client's ``endpoint_url``) takes."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def function_arn(self) -> str:
        return self._arn(self.region, self.account_id, self.function_name)

    @property
    def rule_url(self) -> str:
        """Where the stand-in for the stack's EventBridge rule takes events."""
        return f"{self.url}{RULE_PATH}"

    def wait_for_rule_events(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until the rule has received ``count`` events in all and their runs ended."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self.rule_events) >= count, timeout)
        return arrived and self.wait_idle(timeout)

    def _rule_delivery(self, event: Any, request_id: str) -> None:
        with self._cond:
            self.rule_events.append(event)
            self._cond.notify_all()
        if self.rule_enabled:
            self._enqueue(event, request_id, self.function_arn)

    def configuration(self, arn: str | None = None) -> dict[str, Any]:
        """What ``GetFunctionConfiguration`` answers: the settings a caller reads."""
        return {
            "FunctionName": self.function_name,
            "FunctionArn": arn or self.function_arn,
            "Runtime": "python3.13",
            "Handler": "app.lambda_handler",
            "Timeout": int(self.timeout_seconds),
            "MemorySize": self.memory_mb,
            "Version": LATEST,
            "State": "Active",
        }

    @staticmethod
    def _arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def _resolve(self, name: str, qualifier: str | None = None) -> str:
        """The ARN an invocation of ``name`` addresses; ``_ApiError`` 404 if it is not ours."""
        region, account = self.region, self.account_id
        if name.startswith("arn:"):
            fields = name.split(":")
            if len(fields) < 7 or fields[2] != "lambda" or fields[5] != "function":
                raise self._not_found(name)
            region, account, rest = fields[3], fields[4], ":".join(fields[6:])
        elif match := _PARTIAL_ARN.match(name):
            account, rest = match["account"], match["rest"]
        else:
            rest = name
        function, _, derived = rest.partition(":")
        if qualifier and derived and qualifier != derived:
            raise _ApiError(
                400,
                "InvalidParameterValueException",
                {
                    "Type": "User",
                    "message": "The derived qualifier from the function name does not match "
                    "the specified qualifier.",
                },
            )
        qualifier = qualifier or derived or None
        arn = self._arn(region, account, function, qualifier)
        if (region, account, function) != (self.region, self.account_id, self.function_name):
            raise self._not_found(arn)
        if qualifier not in (None, LATEST, *self.aliases):
            raise self._not_found(arn)
        return arn

    @staticmethod
    def _not_found(arn: str) -> _ApiError:
        return _ApiError(
            404,
            "ResourceNotFoundException",
            {"Type": "User", "Message": f"Function not found: {arn}"},
        )

    def _default_context(self, *, request_id: str, invoked_function_arn: str) -> Any:
        return LocalLambdaContext(
            timeout_seconds=self.timeout_seconds,
            function_name=self.function_name,
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=request_id,
            invoked_function_arn=invoked_function_arn,
            log_group_name=f"/aws/lambda/{self.function_name}",
        )

    # -- what tests read -------------------------------------------------------------------

    @property
    def counts(self) -> InvocationCounts:
        with self._cond:
            return self._counts

    @property
    def events(self) -> list[Any]:
        """The event of every invocation that started, in order."""
        with self._cond:
            return list(self._events)

    @property
    def records(self) -> list[InvocationRecord]:
        with self._cond:
            return list(self._records)

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    def reset(self) -> None:
        """Forget counts, events and records (running invocations still count when they end)."""
        with self._cond:
            self._counts = InvocationCounts()
            self._events.clear()
            self._records.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing runs and no queued ``Event`` invocation waits; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._running == 0 and self._pending_events == 0, timeout
            )

    def configure(self, **variables: str | None) -> None:
        """Set (or with None remove) environment variables, then start a new execution
        environment so that the handler reads them."""
        for name, value in variables.items():
            if value is None:
                self.environment.pop(name, None)
            else:
                self.environment[name] = value
        self.recycle()

    def recycle(self) -> None:
        """The next invocation runs in a fresh execution environment (if the handler has one)."""
        recycle = getattr(self.handler, "recycle", None)
        if callable(recycle):
            recycle()

    # -- running invocations ---------------------------------------------------------------

    def _has_room(self) -> bool:
        limit = self.reserved_concurrency
        return limit is None or self._running < limit

    def _try_acquire(self) -> bool:
        """Take a concurrency slot for a synchronous invocation, or count a throttle."""
        with self._cond:
            if self._has_room():
                self._running += 1
                return True
            self._counts = _bump(self._counts, throttled=1)
            return False

    def _release(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def _enqueue(self, event: Any, request_id: str, invoked_arn: str) -> None:
        with self._cond:
            self._queue.append((event, request_id, invoked_arn))
            self._pending_events += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._run_events, daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def _run_events(self) -> None:
        """Asynchronous events, one at a time, each when a concurrency slot is free."""
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._stopping or (bool(self._queue) and self._has_room())
                )
                if self._stopping:
                    return
                event, request_id, invoked_arn = self._queue.popleft()
                self._running += 1
            try:
                self._execute(event, request_id, invoked_arn, "Event")
            finally:
                with self._cond:
                    self._running -= 1
                    self._pending_events -= 1
                    self._cond.notify_all()

    def _execute(
        self, event: Any, request_id: str, invoked_arn: str, invocation_type: str
    ) -> _Outcome:
        """Run the handler once, as the runtime does, and record what happened."""
        with self._cond:
            self._counts = _bump(self._counts, started=1)
            self._events.append(event)
        log = io.StringIO()
        log.write(f"START RequestId: {request_id} Version: {LATEST}\n")
        started = time.monotonic()
        error_type = None
        with self._execution.entered(log):
            try:
                if self.extra_latency > 0:
                    self._sleep(self.extra_latency)
                context = self._context_factory(
                    request_id=request_id, invoked_function_arn=invoked_arn
                )
                result = self.handler(event, context)
                try:
                    payload = json.dumps(result).encode()
                except (TypeError, ValueError) as error:
                    error_type = "Runtime.MarshalError"
                    failure: dict[str, Any] = {
                        "errorMessage": f"Unable to marshal response: {error}",
                        "errorType": error_type,
                        "requestId": request_id,
                        "stackTrace": [],
                    }
                    log.write(_error_log_line(failure))
                    payload = json.dumps(failure).encode()
            except Exception as error:  # noqa: BLE001 - the runtime reports any exception
                failure = _error_payload(error, request_id)
                error_type = failure["errorType"]
                log.write(_error_log_line(failure))
                payload = json.dumps(failure).encode()
        elapsed_ms = (time.monotonic() - started) * 1000
        log.write(f"END RequestId: {request_id}\n")
        log.write(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(elapsed_ms)} ms\tMemory Size: {self.memory_mb} MB\t\n"
        )
        text = log.getvalue()
        with self._cond:
            if error_type is None:
                self._counts = _bump(self._counts, completed=1)
            else:
                self._counts = _bump(self._counts, failed=1)
            self._records.append(
                InvocationRecord(request_id, invocation_type, event, error_type, text)
            )
        return _Outcome(payload, None if error_type is None else "Unhandled", text)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> LambdaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        if self._worker is not None:
            self._worker.join(timeout=5)

    def __enter__(self) -> LambdaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bump(counts: InvocationCounts, **increments: int) -> InvocationCounts:
    values = {name: getattr(counts, name) + n for name, n in increments.items()}
    return InvocationCounts(**{**counts.__dict__, **values})
