"""A local stand-in for the AWS Lambda Invoke API that runs the real handler in this process.

moto cannot run a function without Docker, so this small HTTP server speaks Lambda's REST-JSON
``Invoke`` (botocore's ``lambda/2015-03-31`` model) to the real boto3 client, reached through
``AWS_ENDPOINT_URL_LAMBDA`` or ``endpoint_url``:

``GET /2015-03-31/functions/{FunctionName}/configuration``: ``GetFunctionConfiguration``,
  the function's name, ARN, runtime, handler, timeout and memory.

``POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=...]``
  FunctionName and Qualifier address the function as lambda_arns.py reads them.
  ``X-Amz-Invocation-Type``:
    ``RequestResponse`` (default): runs the handler, answers 200 with what it returned (JSON).
      If it raised: 200 with ``X-Amz-Function-Error: Unhandled`` and the Python runtime's
      payload ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` (awslambdaric
      ``bootstrap.make_error``); boto3 returns ``FunctionError="Unhandled"`` and that payload.
    ``Event``: 202 at once; the event runs in the background when the reserved concurrency
      has room (lambda_function.py).
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
  reserved slot taken (``reserved_concurrency``: lambda_function.py); 404 ``ResourceNotFoundException``
  ``{"Type": "User", "Message": "Function not found: <arn>"}`` for any other function or
  qualifier; 400 ``InvalidRequestContentException`` for a payload that is not JSON.

What it does not do: check SigV4 signatures (and what the function model leaves out:
lambda_function.py).

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
import json
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from infra.local.http_stand_in import HttpStandIn, LoopbackServer, QuietHandler
from infra.local.lambda_arns import ApiError
from infra.local.lambda_function import LocalFunction
from infra.local.lambda_runtime import LATEST, Handler

LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_CONFIGURATION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
RULE_PATH = "/local-eventbridge/events"


class _Handler(QuietHandler):
    server: LoopbackServer[LambdaServer]
    server_version = "lambda-local/1.0"

    def do_POST(self) -> None:  # noqa: N802 - http.server's names
        body = self.read_body()
        request_id = str(uuid.uuid4())
        if urlsplit(self.path).path == RULE_PATH:
            self.server.owner.rule_delivery(_parse_payload(body), request_id)
            self._answer(202, b"", {})
            return
        try:
            self._invoke(body, request_id)
        except ApiError as error:
            self._answer_error(error, {"x-amzn-RequestId": request_id})

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self.read_body()
        parts = urlsplit(self.path)
        match = _CONFIGURATION_PATH.match(parts.path)
        if match is None:
            self._unknown_operation()
            return
        function = self.server.owner
        try:
            arn = function.resolve(unquote(match["name"]), _qualifier(parts.query))
        except ApiError as error:
            self._answer_error(error)
            return
        self._answer(200, json.dumps(function.configuration(arn)).encode(), {})

    def do_PUT(self) -> None:  # noqa: N802 - http.server's names
        self.read_body()
        self._unknown_operation()

    do_DELETE = do_PUT  # noqa: N815 - http.server's names

    def _unknown_operation(self) -> None:
        self._answer_error(
            ApiError(
                404, "UnknownOperationException", {"Type": "User", "message": "Unknown operation"}
            )
        )

    def _invoke(self, body: bytes, request_id: str) -> None:
        function = self.server.owner
        parts = urlsplit(self.path)
        match = _INVOKE_PATH.match(parts.path)
        if match is None:
            raise ApiError(
                404, "UnknownOperationException", {"Type": "User", "message": "Unknown operation"}
            )
        invoked_arn = function.resolve(unquote(match["name"]), _qualifier(parts.query))
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            raise ApiError(
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
            function.enqueue(event, request_id, invoked_arn)
            self._answer(202, b"", ids)
            return
        outcome = function.invoke_now(event, request_id, invoked_arn)
        if outcome is None:
            raise ApiError(
                429,
                "TooManyRequestsException",
                {
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                    "Type": "User",
                    "message": "Rate Exceeded.",
                },
            )
        headers = {**ids, "X-Amz-Executed-Version": LATEST, "Content-Type": "application/json"}
        if outcome.error_type is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if (self.headers.get("X-Amz-Log-Type") or "None") == "Tail":
            tail = outcome.log.encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        self._answer(200, outcome.payload, headers)

    def _answer_error(self, error: ApiError, headers: Mapping[str, str] | None = None) -> None:
        headers = {**(headers or {}), "x-amzn-ErrorType": error.code}
        self._answer(error.status, json.dumps(error.body).encode(), headers)

    def _answer(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        if "Content-Type" not in headers and body:
            headers = {**headers, "Content-Type": "application/json"}
        # A caller whose read timeout ran out has gone: Lambda finishes the run all the same.
        with contextlib.suppress(OSError):
            self.send_body(status, body, headers)


def _qualifier(query: str) -> str | None:
    return parse_qs(query).get("Qualifier", [None])[0]


def _parse_payload(body: bytes) -> Any:
    if not body.strip():
        return {}  # Lambda hands an empty payload to the function as {}
    try:
        return json.loads(body)
    except ValueError as error:
        raise ApiError(
            400,
            "InvalidRequestContentException",
            {"Type": "User", "message": f"Could not parse request body into json: {error}"},
        ) from None


class LambdaServer(LocalFunction, HttpStandIn):
    """The Invoke API of one function (lambda_function.py's ``LocalFunction``, whose settings
    it takes) on a free loopback port, or ``port``; and the stand-in for the stack's
    EventBridge rule, which turns each event posted to ``rule_url`` into an ``Event``
    invocation while ``rule_enabled``. ``url`` is what ``AWS_ENDPOINT_URL_LAMBDA`` (or a
    client's ``endpoint_url``) takes."""

    def __init__(self, handler: Handler | None = None, *, port: int = 0, **settings: Any) -> None:
        LocalFunction.__init__(self, handler, **settings)
        HttpStandIn.__init__(self, _Handler, port)
        self.rule_enabled = True
        self.rule_events: list[Any] = []
        self._rule_arrived = threading.Condition()

    @property
    def rule_url(self) -> str:
        """Where the stand-in for the stack's EventBridge rule takes events."""
        return f"{self.url}{RULE_PATH}"

    def rule_delivery(self, event: Any, request_id: str) -> None:
        with self._rule_arrived:
            self.rule_events.append(event)
            self._rule_arrived.notify_all()
        if self.rule_enabled:
            self.enqueue(event, request_id, self.function_arn)

    def wait_for_rule_events(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until the rule has received ``count`` events in all and their runs ended."""
        with self._rule_arrived:
            arrived = self._rule_arrived.wait_for(lambda: len(self.rule_events) >= count, timeout)
        return arrived and self.wait_idle(timeout)

    def stop(self) -> None:
        HttpStandIn.stop(self)
        self.stop_events()
