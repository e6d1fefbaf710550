"""Retry-After as an HTTP date: counted in UTC from now, never negative."""

from __future__ import annotations

from refresher.adapters.joor_auth import parse_retry_after
from tests.unit.fakes import START


def test_a_date_without_a_zone_is_taken_as_utc() -> None:
    assert parse_retry_after("Sat, 28 Nov 2026 12:00:30 -0000", START) == 30.0
    assert parse_retry_after("Sat, 28 Nov 2026 12:00:30", START) == 30.0


def test_a_date_with_a_zone_is_counted_in_that_zone() -> None:
    assert parse_retry_after("Sat, 28 Nov 2026 13:00:30 +0100", START) == 30.0


def test_a_date_already_past_means_no_wait() -> None:
    assert parse_retry_after("Sat, 28 Nov 2026 11:00:00 GMT", START) == 0.0
