"""What a run tells operators: one log line and a few EMF metrics, never a secret."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from refresher.domain.errors import RefreshError
from refresher.domain.models import RefreshOutcome

_SKIPPED = {
    "fresh": "Stored token still fresh; nothing to do",
    "already_replaced": "The rejected version was already replaced; nothing to do",
    "rate_limited": (
        "A consumer reported a rejected token written too recently to replace; not logging in"
    ),
}


def report_outcome(logger: Logger, metrics: Metrics, outcome: RefreshOutcome) -> None:
    for warning in outcome.warnings:
        logger.warning(warning)
    if outcome.refreshed:
        metrics.add_metric(name="TokenRefreshed", unit=MetricUnit.Count, value=1)
        logger.info("Token refreshed", extra=outcome.summary())
    else:
        metrics.add_metric(name="TokenRefreshSkipped", unit=MetricUnit.Count, value=1)
        if outcome.reason == "rate_limited":
            # A consumer keeps reporting rejections of tokens this new: worth a graph line.
            metrics.add_metric(name="TokenRefreshRateLimited", unit=MetricUnit.Count, value=1)
        logger.info(_SKIPPED[outcome.reason], extra=outcome.summary())
    report_seconds_left(metrics, outcome.seconds_left)


def report_failure(
    logger: Logger, metrics: Metrics, error: RefreshError, seconds_left: float | None
) -> None:
    logger.error(str(error), extra={"reason": error.reason, "error_type": type(error).__name__})
    # The total, beside the service's other metrics; and the same count per reason below.
    metrics.add_metric(name="TokenRefreshFailed", unit=MetricUnit.Count, value=1)
    # A dimension of its own, so that one alarm or graph line exists per reason.
    dimensions = {"Reason": error.reason}
    if metrics.provider.service:
        dimensions["service"] = metrics.provider.service
    with single_metric(
        name="TokenRefreshFailed",
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.provider.namespace,
        default_dimensions=dimensions,
    ):
        pass
    report_seconds_left(metrics, seconds_left)


def report_seconds_left(metrics: Metrics, seconds_left: float | None) -> None:
    if seconds_left is not None:
        metrics.add_metric(
            name="TokenSecondsRemaining", unit=MetricUnit.Seconds, value=max(0, int(seconds_left))
        )
