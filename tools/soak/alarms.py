"""A model of how CloudWatch evaluates a metric alarm, to replay the stack's alarms against a
simulated timeline of the values the function reported.

The alarm's settings come from template.yaml, evaluated for a set of parameters
(``template_alarms``), never from numbers written here. What the model does, and the CloudWatch
documentation each rule comes from:

* **Every minute, over a sliding window.** "For any period of one minute or longer, an alarm is
  evaluated every minute and the evaluation is based on the window of time defined by the
  Period and Evaluation Periods": with a 5-minute period, at the end of minute 5 from the data
  of minutes 1 to 5, at the end of minute 6 from minutes 2 to 6 (User Guide, "Alarm
  evaluation"). Without ``EvaluationWindow`` an alarm uses a ``SlidingWindow``, which "advances
  each time the alarm is evaluated" ("Alarm evaluation window"). So here a datapoint is the
  statistic of the values whose minute falls in ``[T - (k+1)·Period, T - k·Period)`` at each
  whole minute ``T``; there is no alignment of periods to the clock.
* **The evaluation range.** "CloudWatch attempts to retrieve a higher number of data points
  than specified by Evaluation Periods"; the number "depends on the length of the alarm period"
  and is not published, except in the example where 3 evaluation periods retrieve 5 ("How
  alarm state is evaluated when data is missing"). ``lookback`` is that number of periods; its
  default, Evaluation Periods + 2, follows the example. What it changes is shown where it
  matters (the replaced function-errors alarm) rather than assumed.
* **Missing data.** With no datapoint missing, or at least Evaluation Periods of them present,
  the most recent Evaluation Periods existing datapoints decide and ``TreatMissingData`` is not
  consulted. With fewer, the missing ones are filled as the setting says: ``breaching``,
  ``notBreaching``; ``missing`` goes to INSUFFICIENT_DATA when the whole range is empty;
  ``ignore`` keeps the current state. ALARM when at least Datapoints to Alarm of the evaluated
  points breach, else OK (same page, with its two tables; tests/soak/test_alarm_model.py
  replays their rows).
* **State and actions.** "When this operation creates an alarm, the alarm state is
  immediately set to INSUFFICIENT_DATA. The alarm is then evaluated and its state is set
  appropriately. Any actions associated with the new state are then executed" (API Reference,
  PutMetricAlarm). Alarms "invoke actions for sustained state changes only"; for SNS, "no
  additional actions are invoked" while the state holds ("Using Amazon CloudWatch alarms").
  So a notification is a change of state into a state that has actions (AlarmActions,
  OKActions, InsufficientDataActions), the first one after creation included.

Not modelled: metric math, percentiles, units, a ``WallClockWindow``, and the delay between a
report and its datapoint being visible (a minute or so; it shifts every change alike).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
MINUTE = 60

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

_STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "Maximum": max,
    "Minimum": min,
    "Sum": math.fsum,
    "Average": lambda values: math.fsum(values) / len(values),
    "SampleCount": len,
}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
# Properties that change the evaluation in ways this model does not follow.
_UNSUPPORTED = (
    "Metrics",
    "ExtendedStatistic",
    "Unit",
    "EvaluationWindow",
    "ThresholdMetricId",
    "EvaluateLowSampleCountPercentile",
)


@dataclass(frozen=True)
class MetricKey:
    """One CloudWatch metric: namespace, name and the exact set of dimensions."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, namespace: str, name: str, **dimensions: str) -> MetricKey:
        return cls(namespace, name, tuple(sorted(dimensions.items())))


@dataclass(frozen=True)
class Alarm:
    """One AWS::CloudWatch::Alarm's evaluation settings."""

    name: str
    metric: MetricKey
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str
    actions: frozenset[str]  # the states whose entry notifies (has actions)

    @classmethod
    def from_properties(cls, name: str, properties: Mapping[str, Any]) -> Alarm:
        """From the resolved Properties of an AWS::CloudWatch::Alarm resource."""
        unsupported = sorted(p for p in _UNSUPPORTED if p in properties)
        if unsupported:
            raise ValueError(f"Alarm {name}: {', '.join(unsupported)} not modelled")
        statistic = properties["Statistic"]
        comparison = properties["ComparisonOperator"]
        treat = properties.get("TreatMissingData", "missing")
        if statistic not in _STATISTICS:
            raise ValueError(f"Alarm {name}: Statistic {statistic!r} not modelled")
        if comparison not in _COMPARISONS:
            raise ValueError(f"Alarm {name}: ComparisonOperator {comparison!r} not modelled")
        if treat not in _TREATMENTS:
            raise ValueError(
                f"Alarm {name}: TreatMissingData {treat!r} is not one of {_TREATMENTS}"
            )
        period = int(properties["Period"])
        if period < MINUTE or period % MINUTE:
            raise ValueError(f"Alarm {name}: Period {period} is not a whole number of minutes")
        periods = int(properties["EvaluationPeriods"])
        datapoints = int(properties.get("DatapointsToAlarm", periods))
        if not 1 <= datapoints <= periods:
            raise ValueError(
                f"Alarm {name}: DatapointsToAlarm {datapoints} must be 1 to EvaluationPeriods"
            )
        enabled = properties.get("ActionsEnabled", True) not in (False, "false")
        actions = {
            state
            for state, key in (
                (ALARM, "AlarmActions"),
                (OK, "OKActions"),
                (INSUFFICIENT_DATA, "InsufficientDataActions"),
            )
            if enabled and properties.get(key)
        }
        dimensions = {d["Name"]: str(d["Value"]) for d in properties.get("Dimensions", [])}
        return cls(
            name=name,
            metric=MetricKey.of(properties["Namespace"], properties["MetricName"], **dimensions),
            statistic=statistic,
            period=period,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            threshold=float(properties["Threshold"]),
            comparison=comparison,
            treat_missing=treat,
            actions=frozenset(actions),
        )

    def breaches(self, value: float) -> bool:
        return _COMPARISONS[self.comparison](value, self.threshold)

    def decide(self, datapoints: Sequence[float | None], current: str) -> str:
        """The state one evaluation sets, from the evaluation range's datapoints (oldest
        first, None where missing) and the current state."""
        existing = [d for d in datapoints if d is not None]
        n, m = self.evaluation_periods, self.datapoints_to_alarm
        if len(existing) >= n:
            breaching = sum(self.breaches(d) for d in existing[-n:])
            return ALARM if breaching >= m else OK
        fill = n - len(existing)
        if self.treat_missing in ("breaching", "notBreaching"):
            filled = fill if self.treat_missing == "breaching" else 0
            breaching = sum(self.breaches(d) for d in existing) + filled
            return ALARM if breaching >= m else OK
        if not existing:
            return current if self.treat_missing == "ignore" else INSUFFICIENT_DATA
        breaching = sum(self.breaches(d) for d in existing)
        if breaching >= m:
            return ALARM
        if breaching < len(existing):
            return OK  # a real datapoint within the threshold
        # Only breaching points, too few to alarm: the documented tables give INSUFFICIENT_DATA
        # (missing) and "retain current state" (ignore) when they are the newest; for the one
        # row where the lone breaching point is the oldest (3 of 3, "X - - - -") they give ALARM
        # under "missing", by position, which no stated rule explains and this model does not
        # follow. No alarm of this stack can meet the case: each has one evaluation period.
        return current if self.treat_missing == "ignore" else INSUFFICIENT_DATA


@dataclass(frozen=True)
class Transition:
    at: float  # seconds on the timeline: the evaluation that changed the state
    old: str
    new: str
    notified: bool


@dataclass
class Replay:
    """An alarm evaluated every minute from its creation to ``until``."""

    alarm: Alarm
    created: float
    until: float
    lookback: int
    transitions: list[Transition] = field(default_factory=list)

    @property
    def notifications(self) -> list[Transition]:
        return [t for t in self.transitions if t.notified]

    def state_at(self, t: float) -> str:
        index = bisect.bisect_right([x.at for x in self.transitions], t)
        return self.transitions[index - 1].new if index else INSUFFICIENT_DATA

    def time_in(self, state: str) -> float:
        """Seconds spent in ``state`` between creation and ``until``."""
        total, since, current = 0.0, self.created, INSUFFICIENT_DATA
        for x in self.transitions:
            if current == state:
                total += x.at - since
            since, current = x.at, x.new
        if current == state:
            total += self.until - since
        return total


def replay(
    alarm: Alarm,
    datapoints: Iterable[tuple[float, float]],
    *,
    until: float,
    created: float = 0.0,
    lookback: int | None = None,
) -> Replay:
    """Evaluate ``alarm`` each minute after ``created`` up to ``until`` over ``datapoints``
    ((seconds, value) of its metric, as reported). ``lookback``: the evaluation range in
    periods (at least Evaluation Periods; by default Evaluation Periods + 2)."""
    lookback = alarm.evaluation_periods + 2 if lookback is None else lookback
    if lookback < alarm.evaluation_periods:
        raise ValueError("the evaluation range cannot be shorter than the evaluation periods")
    # CloudWatch keeps standard-resolution data per minute: a value counts in its minute.
    points = sorted((math.floor(t / MINUTE) * MINUTE, v) for t, v in datapoints)
    times = [t for t, _ in points]
    statistic = _STATISTICS[alarm.statistic]
    result = Replay(alarm, created, until, lookback)
    state = INSUFFICIENT_DATA
    evaluation = math.floor(created / MINUTE) * MINUTE + MINUTE
    while evaluation <= until:
        values: list[float | None] = []
        for k in range(lookback, 0, -1):  # oldest window first
            low = bisect.bisect_left(times, evaluation - k * alarm.period)
            high = bisect.bisect_left(times, evaluation - (k - 1) * alarm.period)
            window = [v for _, v in points[low:high]]
            values.append(statistic(window) if window else None)
        new = alarm.decide(values, state)
        if new != state:
            result.transitions.append(
                Transition(evaluation, state, new, notified=new in alarm.actions)
            )
            state = new
        evaluation += MINUTE
    return result


# --- the stack's alarms ------------------------------------------------------------------------


def template_alarms(
    parameters: Mapping[str, str], *, stack_name: str, template: Path = TEMPLATE
) -> dict[str, Alarm]:
    """Every AWS::CloudWatch::Alarm template.yaml creates for ``parameters``, by logical id,
    with its intrinsic functions resolved the way tests/template evaluates the template."""
    from infra.deploy.names import load_template
    from tests.template.conftest import CfnEvaluator

    evaluator = CfnEvaluator(load_template(template), dict(parameters), stack_name)
    return alarms_of(evaluator.resources())


def alarms_of(resources: Mapping[str, Mapping[str, Any]]) -> dict[str, Alarm]:
    """The alarms among resolved resources (``CfnEvaluator.resources()``)."""
    return {
        logical_id: Alarm.from_properties(logical_id, resource["Properties"])
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def function_errors_alarm(function_name: str) -> Alarm:
    """The alarm the state alarms replaced, as the stack defined it: any error of the function
    in five minutes, missing data not breaching, a notification each way."""
    return Alarm.from_properties(
        "FunctionErrorsAlarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": function_name}],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": ["topic"],
            "OKActions": ["topic"],
        },
    )
