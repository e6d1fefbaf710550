"""What a run tells operators: a log line per account and a few EMF metrics, never a secret.

Metrics stay aggregate however many accounts a fleet has (a dimension per account would cost
as a custom metric each); per-account detail goes to the structured log, one line per
account per run.

Two metrics are states rather than events, so that their alarms change state once when a
problem starts and once when it ends, however many runs see it:

- ``CredentialsRejected``: accounts whose credentials need fixing (JOOR rejected the secret's
  current version, or the secret does not hold credentials);
- ``RefreshFailing``: accounts whose refresh fails for any other reason (JOOR or AWS not
  answering, a bug).

A run reports a state only when it knows it: a run that skipped without looking at the
credentials says nothing of them, and in a fleet only a run over every account reports the
fleet's counts (a run for one account would say nothing of the others).
"""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from refresher.domain.errors import (
    FleetRefreshError,
    InvalidEventError,
    RefreshError,
    UnknownAccountError,
)
from refresher.domain.models import (
    CREDENTIAL_REASONS,
    AccountResult,
    FleetOutcome,
    IgnoredEvent,
    RefreshOutcome,
)

CREDENTIALS_REJECTED = "CredentialsRejected"
REFRESH_FAILING = "RefreshFailing"

_SKIPPED = {
    "fresh": "Stored token still fresh; nothing to do",
    "already_replaced": "The rejected version was already replaced; nothing to do",
    "rate_limited": (
        "A login now would exceed this account's login budget; not logging in "
        "(retry_after_seconds says when one may be asked for)"
    ),
    "credentials_unchanged": (
        "The secret's current version was already used to log in; nothing to do"
    ),
}


def report_outcome(
    logger: Logger,
    metrics: Metrics,
    outcome: RefreshOutcome | FleetOutcome | IgnoredEvent,
    *,
    states: bool = True,
) -> None:
    """``states``: whether this run may report the two state metrics (see the module doc)."""
    if isinstance(outcome, IgnoredEvent):
        logger.info(
            "A secret that feeds none of this function's tokens changed; ignored",
            extra=outcome.summary(),
        )
        return
    if isinstance(outcome, FleetOutcome):
        report_fleet(logger, metrics, outcome)
        return
    for warning in outcome.warnings:
        logger.warning(warning)
    _log_outcome(logger, outcome)
    _count(metrics, "TokenRefreshed" if outcome.refreshed else "TokenRefreshSkipped", 1)
    if outcome.reason == "rate_limited":
        # Someone keeps asking for logins the budget does not allow: worth a graph line.
        _count(metrics, "TokenRefreshRateLimited", 1)
    report_seconds_left(metrics, outcome.seconds_left)
    if states:
        _report_states(metrics, outcome_states(outcome))


def report_failure(
    logger: Logger,
    metrics: Metrics,
    error: RefreshError,
    seconds_left: float | None,
    *,
    states: bool = True,
) -> None:
    if isinstance(error, FleetRefreshError):
        report_fleet(logger, metrics, error.outcome)
        return
    logger.error(str(error), extra={"reason": error.reason, "error_type": type(error).__name__})
    for warning in error.warnings:
        logger.warning(warning, extra={"reason": error.reason})
    # The total, beside the service's other metrics; and the same count per reason below.
    _count(metrics, "TokenRefreshFailed", 1)
    _count_reason(metrics, error.reason, 1)
    report_seconds_left(metrics, seconds_left)
    if states:
        _report_states(metrics, failure_states(error))


def fleet_states(outcome: FleetOutcome) -> dict[str, int]:
    """The state metrics a run over every account of a fleet reports: its counts."""
    return {
        CREDENTIALS_REJECTED: len(outcome.credentials_rejected),
        REFRESH_FAILING: len(outcome.failing),
    }


def outcome_states(outcome: RefreshOutcome) -> dict[str, int]:
    """The state metrics one account's run knows after it ended without failing."""
    if outcome.refreshed:
        return {CREDENTIALS_REJECTED: 0, REFRESH_FAILING: 0}
    state = outcome.credentials
    if state is not None:
        last = state.last_login
        failing = last is not None and last.result == "failed" and not state.rejected
        return {CREDENTIALS_REJECTED: int(state.rejected), REFRESH_FAILING: int(failing)}
    if outcome.reason == "fresh":
        # A token with its life ahead: whatever JOOR does now, nothing is failing yet.
        return {REFRESH_FAILING: 0}
    return {}


def failure_states(error: RefreshError) -> dict[str, int]:
    """The state metrics one account's failed run knows."""
    if error.reason == "credentials_rejected":
        return {CREDENTIALS_REJECTED: 1, REFRESH_FAILING: 0}  # JOOR answered: it is up
    if error.reason in CREDENTIAL_REASONS:
        return {CREDENTIALS_REJECTED: 1}
    if isinstance(error, InvalidEventError | UnknownAccountError):
        return {}  # a caller's mistake says nothing of the refresh
    return {REFRESH_FAILING: 1}


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
    _report_states(metrics, fleet_states(outcome))


def report_seconds_left(metrics: Metrics, seconds_left: float | None) -> None:
    if seconds_left is not None:
        metrics.add_metric(
            name="TokenSecondsRemaining", unit=MetricUnit.Seconds, value=max(0, int(seconds_left))
        )


def _report_states(metrics: Metrics, states: dict[str, int]) -> None:
    for name, value in states.items():
        _count(metrics, name, value)


def _log_outcome(logger: Logger, outcome: RefreshOutcome) -> None:
    message = "Token refreshed" if outcome.refreshed else _SKIPPED[outcome.reason]
    logger.info(message, extra=outcome.summary())


def _log_result(logger: Logger, result: AccountResult) -> None:
    if result.outcome is not None:
        for warning in result.outcome.warnings:
            logger.warning(warning, extra={"parameter": result.parameter})
        if result.credentials_rejected:
            logger.error(
                "JOOR rejected this account's credentials earlier; its token is kept while it "
                "lasts, and no login is made until the secret changes",
                extra=result.summary(),
            )
        else:
            _log_outcome(logger, result.outcome)
    elif result.left_for_next_run:
        logger.warning("Left for the next run: no time left in this one", extra=result.summary())
    else:
        logger.error(result.message, extra=result.summary())


def _count(metrics: Metrics, name: str, value: int) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _count_reason(metrics: Metrics, reason: str, value: int) -> None:
    # A dimension of its own, so that one graph line exists per reason.
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
