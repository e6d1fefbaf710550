"""The function's real handler (functions/token_refresher/app.py) invoked on the simulated clock.

Each invocation goes through ``app.lambda_handler`` as Lambda would call it: the event as its
source sends it, a context whose invoked ARN says whether the operator alias was used, and a
remaining time read off the simulated clock. The refresher it runs is the one given (a real
``TokenRefresher`` or ``FleetRefresher`` over the soak's fakes). What the handler printed is
kept: its log lines, and its EMF metrics read the way CloudWatch reads them (namespace, name,
exact dimension set, every value). Lambda's own ``AWS/Lambda`` ``Errors`` (1 when the handler
raised, else 0) and ``Invocations`` are added, as Lambda reports them per invocation.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from refresher.domain.errors import OPERATOR_ALIAS
from tests.unit.fakes import FakeClock as Clock
from tools.soak.alarms import MetricKey
from tools.soak.simulation import LAMBDA_TIMEOUT

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
FUNCTION_NAME = "joor-token-refresher-soak"
NAMESPACE = "JoorTokenRefresher"  # template.yaml's POWERTOOLS_METRICS_NAMESPACE
SERVICE = "joor-token-soak"  # the stack's name: POWERTOOLS_SERVICE_NAME is the stack name
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION_NAME}"
_SECRET_LABEL_UPDATED = (
    Path(__file__).resolve().parents[2] / "tests/events/secret-label-updated.json"
)


def errors_metric() -> MetricKey:
    return MetricKey.of("AWS/Lambda", "Errors", FunctionName=FUNCTION_NAME)


@dataclass(frozen=True)
class Invocation:
    at: float  # when it started, on the simulated clock
    ended: float
    kind: str  # what sent it: "schedule", "secret change", a consumer's "force" ...
    error: str | None  # the raised error's type, None when the handler returned
    result: dict[str, Any] | None
    metrics: dict[MetricKey, tuple[float, ...]]
    logs: tuple[dict[str, Any], ...]
    output: str  # everything it printed

    def value(self, key: MetricKey) -> float | None:
        """The one value reported for ``key`` (None: not reported)."""
        values = self.metrics.get(key)
        if not values:
            return None
        assert len(values) == 1, f"{key.name} reported {len(values)} times in one invocation"
        return values[0]


class _Context:
    """What Lambda hands the handler: names, the invoked ARN, the time left."""

    def __init__(self, clock: Clock, invoked_function_arn: str, request_id: str) -> None:
        self._clock = clock
        self._deadline = clock.t + LAMBDA_TIMEOUT
        self.function_name = FUNCTION_NAME
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
        self.log_stream_name = "soak"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.t) * 1000))


def load_app() -> ModuleType:
    """The handler's module, with the template's Powertools settings when it is first imported
    here (a process that imported it before keeps its own service name: ``service()`` says)."""
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", SERVICE)
    import app

    namespace = app.metrics.provider.namespace
    if namespace != NAMESPACE:
        raise RuntimeError(
            f"app was imported with metrics namespace {namespace!r}; the alarms watch {NAMESPACE}"
        )
    return app


def service() -> str:
    """The ``service`` dimension the handler's metrics carry: the stack name the alarms use."""
    return str(load_app().metrics.provider.service)


class SimulatedFunction:
    """Invokes the handler with ``refresher`` on ``clock``; keeps every invocation."""

    def __init__(self, refresher: Any, clock: Clock) -> None:
        self.refresher = refresher
        self.clock = clock
        self.invocations: list[Invocation] = []
        self._app = load_app()

    def invoke(self, event: Any, *, kind: str, operator: bool = False) -> Invocation:
        app = self._app
        arn = f"{FUNCTION_ARN}:{OPERATOR_ALIAS}" if operator else FUNCTION_ARN
        context = _Context(self.clock, arn, f"soak-{len(self.invocations)}")
        started = self.clock.t
        output = io.StringIO()
        handler = app.logger.registered_handler
        before = app._refresher
        app._refresher = self.refresher
        error: str | None = None
        result = None
        try:
            # Powertools' logger keeps the stream it found at import; metrics are printed.
            handler.setStream(output)
            with contextlib.redirect_stdout(output):
                result = app.lambda_handler(event, context)
        except Exception as raised:  # noqa: BLE001 - what Lambda records as a function error
            error = type(raised).__name__
        finally:
            handler.setStream(sys.stdout)
            app._refresher = before
        text = output.getvalue()
        metrics, logs = _parse(text.splitlines())
        metrics[errors_metric()] = (1.0 if error else 0.0,)
        metrics[MetricKey.of("AWS/Lambda", "Invocations", FunctionName=FUNCTION_NAME)] = (1.0,)
        invocation = Invocation(
            started, self.clock.t, kind, error, result, metrics, tuple(logs), text
        )
        self.invocations.append(invocation)
        return invocation

    def schedule(self) -> Invocation:
        """EventBridge Scheduler's run: the schedule's Input, ``{}``."""
        return self.invoke({}, kind="schedule")

    def secret_changed(self, arn: str, name: str, version: str) -> Invocation:
        """Secrets Manager's Secret Label Updated event for AWSCURRENT, in the shape EventBridge
        delivers it (tests/events/secret-label-updated.json)."""
        return self.invoke(secret_label_updated(arn, name, version), kind="secret change")

    def datapoints(self, key: MetricKey) -> list[tuple[float, float]]:
        """(time, value) of every value reported for ``key``, in order."""
        return [(i.at, v) for i in self.invocations for v in i.metrics.get(key, ())]

    def output(self) -> str:
        return "".join(i.output for i in self.invocations)


def secret_label_updated(arn: str, name: str, version: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(_SECRET_LABEL_UPDATED.read_text(encoding="utf-8"))
    event["resources"] = [arn]
    event["region"] = arn.split(":")[3]
    event["account"] = arn.split(":")[4]
    event["detail"] = {"name": name, "labelUpdated": "AWSCURRENT", "versionId": version}
    return event


def _parse(lines: Iterable[str]) -> tuple[dict[MetricKey, tuple[float, ...]], list[dict[str, Any]]]:
    """EMF blobs into metric values; every other JSON line is a log record."""
    metrics: dict[MetricKey, tuple[float, ...]] = {}
    logs: list[dict[str, Any]] = []
    for line in lines:
        if not line.startswith("{"):
            continue
        blob = json.loads(line)
        if "_aws" not in blob:
            logs.append(blob)
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = {name: str(blob[name]) for name in dimension_set}
                for metric in directive["Metrics"]:
                    raw = blob[metric["Name"]]
                    values = tuple(float(v) for v in (raw if isinstance(raw, list) else [raw]))
                    key = MetricKey.of(directive["Namespace"], metric["Name"], **dimensions)
                    metrics[key] = metrics.get(key, ()) + values
    return metrics, logs
