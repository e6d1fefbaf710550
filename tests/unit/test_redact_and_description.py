"""Outside text made safe for logs; the expiry format consumers can read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT, format_expiry, parse_description
from refresher.domain.errors import redact
from tests.unit.worlds import machine_zone


def test_redact_removes_secret_values() -> None:
    assert (
        redact("bad password hunter2 for user", ["hunter2"]) == "bad password [redacted] for user"
    )


def test_redact_escapes_line_breaks_so_no_log_line_can_be_forged() -> None:
    text = redact('oops\n{"level":"INFO","message":"forged"}', [])

    assert "\n" not in text
    assert "\\n" in text


def test_redact_truncates_long_text_and_says_so() -> None:
    text = redact("x" * 1000, [], limit=50)

    assert text.startswith("x" * 50)
    assert text.endswith("[950 more characters]")


def test_the_description_round_trips_the_expiry() -> None:
    expires_at = datetime(2026, 11, 28, 22, 0, 5, tzinfo=UTC)

    description = DESCRIPTION_FORMAT.format(expires_at=format_expiry(expires_at))

    assert "expires_at=2026-11-28T22:00:05Z" in description
    assert parse_description(description) == expires_at


def test_the_expiry_is_written_in_utc_whatever_the_zone_of_the_machine_and_the_value() -> None:
    expires_at = datetime(2026, 11, 28, 23, 0, 5, tzinfo=timezone(timedelta(hours=1)))

    with machine_zone("XYZ+05"):  # a POSIX zone five hours behind UTC, no tzdata needed
        assert format_expiry(expires_at) == "2026-11-28T22:00:05Z"


def test_a_description_without_an_expiry_reads_as_unknown() -> None:
    assert parse_description("written by hand") is None
    assert parse_description(None) is None
    assert parse_description("expires_at=2026-13-45T99:00:00Z") is None
