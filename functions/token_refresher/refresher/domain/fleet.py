"""A fleet's rules: which token is most urgent, what is no longer claimed, how to say it."""

from __future__ import annotations

from datetime import datetime, timedelta

from refresher.domain.models import FleetOutcome, StoredToken

MISSING = StoredToken(exists=False)
# A fleet failure's message names this many accounts; the log names every one.
NAMED_IN_MESSAGE = 5


def urgency(stored: StoredToken, now: datetime) -> tuple[int, float]:
    """Sort key, most urgent first: no token at all, then the least life left."""
    left = stored.seconds_left(now)
    return (0, 0.0) if left is None else (1, left)


def unclaimed(stored_all: dict[str, StoredToken], claimed: set[str]) -> list[str]:
    """Tokens under the path that no account's secret claims any more (written by us: they
    carry an expiry), by name."""
    return sorted(
        name
        for name, stored in stored_all.items()
        if name not in claimed and stored.expires_at is not None
    )


def no_longer_refreshed(
    names: list[str],
    stored_all: dict[str, StoredToken],
    now: datetime,
    window: timedelta,
    interval: timedelta,
) -> list[str]:
    """Said once per unclaimed parameter: by the run that would have refreshed it, the first to
    find it inside the window (the run before found it outside)."""
    notices = []
    low, high = (window - interval).total_seconds(), window.total_seconds()
    for name in names:
        left = stored_all[name].seconds_left(now)
        if left is not None and low <= left < high:
            notices.append(
                f"Parameter {name!r} is no longer refreshed: no secret tagged for it. Its "
                f"token expires in {int(left)} s; delete the parameter once no workload "
                "reads it."
            )
    return notices


def failure_message(outcome: FleetOutcome) -> str:
    failed = outcome.failed
    shown = "; ".join(
        f"{r.parameter}: {r.failure} ({r.message})" for r in failed[:NAMED_IN_MESSAGE]
    )
    more = len(failed) - NAMED_IN_MESSAGE
    tail = f"; and {more} more (see the log)" if more > 0 else ""
    return (
        f"{len(failed)} of {len(outcome.results)} accounts failed, the others were served: "
        f"{shown}{tail}"
    )
