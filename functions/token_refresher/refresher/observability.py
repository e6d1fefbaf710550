"""What a run tells operators: a log line per account and a few EMF metrics, never a secret.

Metrics stay aggregate however many accounts a fleet has (a dimension per account would cost
as a custom metric each); per-account detail goes to the structured log, one line per
account per run.
"""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from refresher.domain.errors import FleetRefreshError, RefreshError
from refresher.domain.models import AccountResult, FleetOutcome, RefreshOutcome

_SKIPPED = {
    "fresh": "Stored token still fresh; nothing to do",
    "already_replaced": "The rejected version was already replaced; nothing to do",
    "rate_limited": (
        "A consumer reported a rejected token written too recently to replace; not logging in"
    ),
}


def report_outcome(
    logger: Logger, metrics: Metrics, outcome: RefreshOutcome | FleetOutcome
) -> None:
    if isinstance(outcome, FleetOutcome):
        report_fleet(logger, metrics, outcome)
        return
    for warning in outcome.warnings:
        logger.warning(warning)
    _log_outcome(logger, outcome)
    _count(metrics, "TokenRefreshed" if outcome.refreshed else "TokenRefreshSkipped", 1)
    if outcome.reason == "rate_limited":
        # A consumer keeps reporting rejections of tokens this new: worth a graph line.
        _count(metrics, "TokenRefreshRateLimited", 1)
    report_seconds_left(metrics, outcome.seconds_left)


def report_failure(
    logger: Logger, metrics: Metrics, error: RefreshError, seconds_left: float | None
) -> None:
    if isinstance(error, FleetRefreshError) and isinstance(error.outcome, FleetOutcome):
        report_fleet(logger, metrics, error.outcome)
        return
    logger.error(str(error), extra={"reason": error.reason, "error_type": type(error).__name__})
    # The total, beside the service's other metrics; and the same count per reason below.
    _count(metrics, "TokenRefreshFailed", 1)
    _count_reason(metrics, error.reason, 1)
    report_seconds_left(metrics, seconds_left)


def report_fleet(logger: Logger, metrics: Metrics, outcome: FleetOutcome) -> None:
    """One line per account, the run's warnings and refusals, then the counts."""
    for result in outcome.results:
        _log_result(logger, result)
    refused = [r for r in outcome.refused if not r.elsewhere]
    for refusal in refused:
        logger.warning(
            f"Secret {refusal.secret!r} refused: {refusal.problem}",
            extra={"secret": refusal.secret},
        )
    elsewhere = [r.secret for r in outcome.refused if r.elsewhere]
    if elsewhere:
        logger.info(
            f"{len(elsewhere)} tagged secret(s) name a parameter outside this fleet's path "
            "(another stack's, or a tag to fix); not served here",
            extra={"secrets": elsewhere[:20]},
        )
    for warning in outcome.warnings:
        logger.warning(warning)
    summary = {k: v for k, v in outcome.summary().items() if k != "outcomes"}
    (logger.error if outcome.failed else logger.info)("Fleet run", extra=summary)
    _count(metrics, "TokenRefreshed", outcome.count("refreshed"))
    _count(metrics, "TokenRefreshSkipped", outcome.count("skipped"))
    _count(metrics, "TokenRefreshFailed", len(outcome.failed))
    _count(metrics, "TokensLeftForNextRun", outcome.count("left_for_next_run"))
    _count(metrics, "SecretsRefused", len(refused))
    rate_limited = sum(
        1 for r in outcome.results if r.outcome is not None and r.outcome.reason == "rate_limited"
    )
    if rate_limited:
        _count(metrics, "TokenRefreshRateLimited", rate_limited)
    for reason, count in sorted(Counter(r.failure for r in outcome.failed).items()):
        _count_reason(metrics, reason, count)
    # The fleet's least: the remaining-life alarm watches the account closest to expiry.
    report_seconds_left(metrics, outcome.least_seconds_left)


def report_seconds_left(metrics: Metrics, seconds_left: float | None) -> None:
    if seconds_left is not None:
        metrics.add_metric(
            name="TokenSecondsRemaining", unit=MetricUnit.Seconds, value=max(0, int(seconds_left))
        )


def _log_outcome(logger: Logger, outcome: RefreshOutcome) -> None:
    message = "Token refreshed" if outcome.refreshed else _SKIPPED[outcome.reason]
    logger.info(message, extra=outcome.summary())


def _log_result(logger: Logger, result: AccountResult) -> None:
    if result.outcome is not None:
        for warning in result.outcome.warnings:
            logger.warning(warning, extra={"parameter": result.parameter})
        _log_outcome(logger, result.outcome)
    elif result.left_for_next_run:
        logger.warning("Left for the next run: no time left in this one", extra=result.summary())
    else:
        logger.error(result.message, extra=result.summary())


def _count(metrics: Metrics, name: str, value: int) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _count_reason(metrics: Metrics, reason: str, value: int) -> None:
    # A dimension of its own, so that one alarm or graph line exists per reason.
    dimensions = {"Reason": reason}
    if metrics.provider.service:
        dimensions["service"] = metrics.provider.service
    with single_metric(
        name="TokenRefreshFailed",
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.provider.namespace,
        default_dimensions=dimensions,
    ):
        pass
