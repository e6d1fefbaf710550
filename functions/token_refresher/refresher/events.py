"""What an invocation asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from refresher.domain.errors import InvalidEventError


@dataclass(frozen=True)
class RefreshRequest:
    force: bool = False


def parse_event(event: Any) -> RefreshRequest:
    """A schedule's payload (EventBridge Scheduler or rule) or ``{}`` refreshes only if needed;
    ``{"force": true}`` refreshes now."""
    if event is None:
        return RefreshRequest()
    if not isinstance(event, dict):
        raise InvalidEventError(
            f'The event must be a JSON object such as {{}} or {{"force": true}}, '
            f"got {type(event).__name__}"
        )
    force = event.get("force", False)
    if not isinstance(force, bool):
        raise InvalidEventError(
            f"The event's 'force' must be true or false, got {type(force).__name__}"
        )
    return RefreshRequest(force=force)
