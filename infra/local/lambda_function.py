"""The local function's execution model: who it is, how many run at once, what ran.

``LocalFunction`` is one function as Lambda runs it, without the HTTP in front
(lambda_server.py adds that):

- Its name, ARN and aliases (``aliases``: ``operator``, as the stack makes it); what addresses
  it is lambda_arns.py's. The handler's context carries the ARN the caller addressed
  (``invoked_function_arn``), alias included, as Lambda's does.
- Its reserved concurrency (``reserved_concurrency``, 1 like the template; None for no
  reservation, 0 throttles everything as Lambda does): a synchronous invocation that finds
  every slot taken is throttled; an asynchronous event waits in a queue and runs in the
  background, one at a time, when a slot is free (Lambda queues asynchronous events and
  retries throttled ones itself; the template sets no retry of failed ones).
- What ran: counts, events and records of each invocation, for tests to read.

What it does not do: stop a handler at its timeout (the handler sees the timeout through
``context.get_remaining_time_in_millis()`` only), isolate invocations in separate processes,
or measure memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.local.lambda_arns import function_arn, resolve
from infra.local.lambda_context import LocalLambdaContext
from infra.local.lambda_runtime import (
    LATEST,
    ContextFactory,
    ExecutionEnvironment,
    Handler,
    Outcome,
    RefresherHandler,
    run_once,
)

DEFAULT_FUNCTION_NAME = "joor-token-refresher-local-token-refresher"
DEFAULT_REGION = "eu-west-1"
DEFAULT_ACCOUNT_ID = "123456789012"


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


class LocalFunction:
    """One function, running ``handler`` in this process.

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
        self.extra_latency = extra_latency
        self._sleep = sleep
        self.environment: dict[str, str] = dict(environment or {})
        self._context_factory = context_factory or self._default_context
        self._execution = ExecutionEnvironment(self.environment)
        self._cond = threading.Condition()
        self._running = 0
        self._queue: deque[tuple[Any, str, str]] = deque()
        self._pending_events = 0
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._counts = InvocationCounts()
        self._events: list[Any] = []
        self._records: list[InvocationRecord] = []

    # -- who it is -------------------------------------------------------------------------

    @property
    def function_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.function_name)

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

    def resolve(self, name: str, qualifier: str | None = None) -> str:
        """The ARN an invocation of ``name`` addresses; ``ApiError`` 404 if it is not ours."""
        return resolve(name, qualifier, self.function_arn, self.aliases)

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

    def invoke_now(self, event: Any, request_id: str, invoked_arn: str) -> Outcome | None:
        """A synchronous invocation: its outcome, or None (counted as a throttle) when every
        reserved slot is taken."""
        with self._cond:
            if not self._has_room():
                self._counts = _bump(self._counts, throttled=1)
                return None
            self._running += 1
        try:
            return self._execute(event, request_id, invoked_arn, "RequestResponse")
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def enqueue(self, event: Any, request_id: str, invoked_arn: str) -> None:
        """An asynchronous (``Event``) invocation: it runs in the background when it can."""
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
    ) -> Outcome:
        """Run the handler once and record what happened."""
        with self._cond:
            self._counts = _bump(self._counts, started=1)
            self._events.append(event)
        outcome = run_once(
            self.handler,
            event,
            self._execution,
            request_id=request_id,
            make_context=lambda: self._context_factory(
                request_id=request_id, invoked_function_arn=invoked_arn
            ),
            memory_mb=self.memory_mb,
            before=self._platform_overhead,
        )
        with self._cond:
            if outcome.error_type is None:
                self._counts = _bump(self._counts, completed=1)
            else:
                self._counts = _bump(self._counts, failed=1)
            self._records.append(
                InvocationRecord(
                    request_id, invocation_type, event, outcome.error_type, outcome.log
                )
            )
        return outcome

    def _platform_overhead(self) -> None:
        if self.extra_latency > 0:
            self._sleep(self.extra_latency)

    def stop_events(self) -> None:
        """Queued events that have not started never will; the background worker ends."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)


def _bump(counts: InvocationCounts, **increments: int) -> InvocationCounts:
    values = {name: getattr(counts, name) + n for name, n in increments.items()}
    return InvocationCounts(**{**counts.__dict__, **values})
