"""Lambda entry point: parse the event, run the refresher, return a summary without secrets."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from refresher.config import Settings
from refresher.domain.errors import RefreshError, UnexpectedError
from refresher.invocation import invoked_by_operator, parse_invocation
from refresher.observability import report_failure, report_outcome
from refresher.timing import RESERVED_SECONDS

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from refresher.domain.models import RefreshRequest
    from refresher.service_layer.account import TokenRefresher
    from refresher.service_layer.fleet import FleetRefresher

logger = Logger()
metrics = Metrics()
# An ignored secret change (another secret of the account) has nothing to count.
warnings.filterwarnings("ignore", message="No application metrics to publish")


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
    request: RefreshRequest | None = None
    try:
        request = parse_invocation(
            event, operator=invoked_by_operator(context.invoked_function_arn)
        )
        refresher = get_refresher()
        time_limit = context.get_remaining_time_in_millis() / 1000 - RESERVED_SECONDS
        outcome = refresher.run(request, time_limit=time_limit)
    except RefreshError as error:
        report_failure(logger, metrics, error, error.seconds_left, states=_states(request))
        raise
    except Exception as error:  # noqa: BLE001 - reported without its message, then re-raised
        unexpected = UnexpectedError.wrap(error)
        report_failure(logger, metrics, unexpected, None, states=_states(request))
        raise unexpected from None
    report_outcome(logger, metrics, outcome, states=_states(request))
    return outcome.summary()


def _states(request: RefreshRequest | None) -> bool:
    """Whether the run may report the state metrics: it knows of every account it keeps."""
    if request is None:
        return False
    from refresher.service_layer.fleet import FleetRefresher

    whole = request.parameter is None and request.secret_change is None
    return whole or not isinstance(_refresher, FleetRefresher)
