"""What counts as a usable answer from JOOR's /auth/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from refresher.adapters.joor_auth import parse_retry_after, parse_token_response
from refresher.domain.errors import InvalidTokenResponseError

ISSUED_AT = datetime(2026, 11, 28, 12, 0, 0, 400000, tzinfo=UTC)
GOOD: dict[str, Any] = {
    "access_token": "aaaaaaaaaa.bbbbbbbbbb.cccccccccc-dddddddddd",
    "expires_in": 36000,
    "refresh_expires_in": 86400,
    "refresh_token": "eeeeeeeeee.ffffffffff.gggggggggg",
    "token_type": "Bearer",
    "not-before-policy": 0,
    "session_state": "hhhhhhhhhh-jjjj-kkkk-llll-mmmmmmmmmmmm",
    "scope": "email profile",
}


def body(**changes: Any) -> bytes:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_the_documented_example_is_accepted_with_expiry_rounded_down_to_the_second() -> None:
    token = parse_token_response(body(), ISSUED_AT)

    assert token.access_token == GOOD["access_token"]
    assert token.expires_at == datetime(2026, 11, 28, 22, 0, 0, tzinfo=UTC)
    assert token.lifetime == timedelta(seconds=36000)


@pytest.mark.parametrize("token_type", ["bearer", "BEARER"])
def test_token_type_is_compared_case_insensitively(token_type: str) -> None:
    assert parse_token_response(body(token_type=token_type), ISSUED_AT).access_token


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        (b"", "not JSON"),
        (b"<html><body>Service Unavailable</body></html>", "not JSON"),
        (b"[1, 2]", "not an object"),
        (body(access_token=...), "without an access_token"),
        (body(access_token=""), "without an access_token"),
        (body(access_token="has space"), "cannot go in an HTTP header"),
        (body(access_token="x" * 9000), "more than the 8192 bytes"),
        (body(token_type="mac"), "token_type is 'mac'"),
        (body(token_type=...), "token_type is None"),
        (body(expires_in=...), "expires_in is missing"),
        (body(expires_in=0), "positive number"),
        (body(expires_in=-5), "positive number"),
        (body(expires_in="36000"), "a string"),
        (body(expires_in=True), "positive number"),
        (body(expires_in=10**12), "not trusted"),
    ],
)
def test_an_unusable_body_is_refused_with_a_precise_reason(raw: bytes, phrase: str) -> None:
    with pytest.raises(InvalidTokenResponseError, match=phrase) as caught:
        parse_token_response(raw, ISSUED_AT)

    assert GOOD["access_token"] not in str(caught.value)


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7", ISSUED_AT) == 7.0


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after("Sat, 28 Nov 2026 12:00:30 GMT", ISSUED_AT) == pytest.approx(29.6)


@pytest.mark.parametrize("value", [None, "", "soon"])
def test_an_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, ISSUED_AT) is None
