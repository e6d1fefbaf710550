"""The real clock: aware UTC time, a monotonic reading, and a sleep."""

from __future__ import annotations

from datetime import UTC

from refresher.adapters.system_clock import SystemClock


def test_now_is_in_utc() -> None:
    assert SystemClock().now().tzinfo is UTC


def test_a_monotonic_reading_never_goes_back() -> None:
    clock = SystemClock()
    first = clock.monotonic()

    clock.sleep(0)

    assert clock.monotonic() >= first
