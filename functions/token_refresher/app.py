"""Lambda entry point: parse the event, run the refresher, return a summary without secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from refresher.config import Settings
from refresher.domain.errors import RefreshError, UnexpectedError
from refresher.events import parse_event
from refresher.observability import report_failure, report_outcome
from refresher.timing import RESERVED_SECONDS

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from refresher.domain.fleet import FleetRefresher
    from refresher.domain.service import TokenRefresher

logger = Logger()
metrics = Metrics()


_refresher: TokenRefresher | FleetRefresher | None = None


def get_refresher() -> TokenRefresher | FleetRefresher:
    """Built on first use and reused by warm invocations (clients included)."""
    global _refresher  # noqa: PLW0603 - one refresher per execution environment
    if _refresher is None:
        from refresher.composition import build_refresher

        _refresher = build_refresher(Settings.from_env())
    return _refresher


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, object]:
    try:
        request = parse_event(event)
        refresher = get_refresher()
        time_limit = context.get_remaining_time_in_millis() / 1000 - RESERVED_SECONDS
        outcome = refresher.run(
            force=request.force,
            time_limit=time_limit,
            seen_version=request.seen_version,
            parameter=request.parameter,
        )
    except RefreshError as error:
        report_failure(logger, metrics, error, error.seconds_left)
        raise
    except Exception as error:  # noqa: BLE001 - reported without its message, then re-raised
        unexpected = UnexpectedError.wrap(error)
        report_failure(logger, metrics, unexpected, None)
        raise unexpected from None
    report_outcome(logger, metrics, outcome)
    return outcome.summary()
