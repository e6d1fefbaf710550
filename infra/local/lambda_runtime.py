"""The Python runtime inside one local execution environment: running the handler once.

``run_once`` does what Lambda's Python runtime does around one invocation: the function's
environment variables and its own stdout/stderr while the handler runs (``ExecutionEnvironment``,
shared by invocations that overlap), the context, the ``START``/``END``/``REPORT`` log lines,
and, when the handler raised or returned what JSON cannot hold, the runtime's error payload
``{"errorMessage", "errorType", "requestId", "stackTrace"}`` (awslambdaric
``bootstrap.make_error``) with its ``[ERROR]`` log line. ``RefresherHandler`` is the
refresher's own ``app.lambda_handler``, imported on first use as a fresh environment would.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "token_refresher"
LATEST = "$LATEST"

Handler = Callable[[Any, Any], Any]


class ContextFactory(Protocol):
    def __call__(self, *, request_id: str, invoked_function_arn: str) -> Any: ...


@dataclass(frozen=True)
class Outcome:
    """One run of the handler: the payload Lambda answers, the error type (None when the
    handler returned) and the invocation's whole log (the tail is its last 4 KB)."""

    payload: bytes
    error_type: str | None
    log: str


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
                # First on the path, as Lambda puts the function's folder (/var/task).
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


class ExecutionEnvironment:
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


def run_once(
    handler: Handler,
    event: Any,
    execution: ExecutionEnvironment,
    *,
    request_id: str,
    make_context: Callable[[], Any],
    memory_mb: int,
    before: Callable[[], None] = lambda: None,
) -> Outcome:
    """Run the handler once, as the runtime does; ``before`` runs first, inside the
    environment (the platform's own overhead, for benchmarks)."""
    log = io.StringIO()
    log.write(f"START RequestId: {request_id} Version: {LATEST}\n")
    started = time.monotonic()
    error_type = None
    with execution.entered(log):
        try:
            before()
            result = handler(event, make_context())
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
                log.write(error_log_line(failure))
                payload = json.dumps(failure).encode()
        except Exception as error:  # noqa: BLE001 - the runtime reports any exception
            failure = error_payload(error, request_id)
            error_type = failure["errorType"]
            log.write(error_log_line(failure))
            payload = json.dumps(failure).encode()
    elapsed_ms = (time.monotonic() - started) * 1000
    log.write(f"END RequestId: {request_id}\n")
    log.write(
        f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(elapsed_ms)} ms\tMemory Size: {memory_mb} MB\t\n"
    )
    return Outcome(payload, error_type, log.getvalue())


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """What the Python runtime returns for an exception (awslambdaric ``make_error``)."""
    frames = traceback.extract_tb(error.__traceback__)
    # The runtime drops its own frames (bootstrap.py) from the top; this module's are dropped.
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def error_log_line(payload: Mapping[str, Any]) -> str:
    """The runtime's text-format ``[ERROR]`` record: one record, lines joined by CR."""
    lines = [f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"]
    lines.append("Traceback (most recent call last):")
    for element in payload["stackTrace"]:
        lines.extend(element.splitlines())
    return "\r".join(lines) + "\n"
