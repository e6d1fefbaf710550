"""What an invocation asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from refresher.domain.errors import InvalidEventError

_EXAMPLE = '{"force": true, "seen_version": 7}'


@dataclass(frozen=True)
class RefreshRequest:
    force: bool = False
    # The parameter version a consumer found rejected by JOOR (only with force).
    seen_version: int | None = None
    # The parameter the caller reads; it must be the one this function keeps.
    parameter: str | None = None


def parse_event(event: Any) -> RefreshRequest:
    """A schedule's payload (EventBridge Scheduler or rule) or ``{}`` refreshes only if needed;
    ``{"force": true}`` refreshes now; ``{"force": true, "seen_version": N}`` refreshes only if
    version N is still the stored one (a consumer's report of a rejected token)."""
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
    return RefreshRequest(
        force=force,
        seen_version=_seen_version(event, force),
        parameter=_parameter(event),
    )


def _seen_version(event: dict[str, Any], force: bool) -> int | None:
    if "seen_version" not in event:
        return None
    value = event["seen_version"]
    # bool is an int in Python: refuse it explicitly.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        shown = f"{type(value).__name__} {value!r}" if isinstance(value, int | bool) else None
        raise InvalidEventError(
            "The event's 'seen_version' must be a positive whole number (the parameter "
            f"version JOOR rejected), got {shown or type(value).__name__}"
        )
    if not force:
        raise InvalidEventError(f"The event's 'seen_version' needs 'force': true, e.g. {_EXAMPLE}")
    return value


def _parameter(event: dict[str, Any]) -> str | None:
    if "parameter" not in event:
        return None
    value = event["parameter"]
    if not isinstance(value, str) or not value.strip():
        raise InvalidEventError(
            "The event's 'parameter' must be the name of the token parameter, "
            f"got {type(value).__name__}"
        )
    return value
