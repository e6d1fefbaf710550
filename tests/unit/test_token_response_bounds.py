"""JOOR's token response at the edges of what is accepted, and each refusal word for word."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from refresher.adapters.joor_auth import parse_token_response
from refresher.domain.errors import InvalidTokenResponseError
from tests.unit.fakes import START

# The limits the refresher promises, as numbers: 8 KB, what an Advanced parameter holds; 30
# days, beyond which a lifetime is a broken answer.
MAX_TOKEN_BYTES = 8 * 1024
MAX_EXPIRES_IN = 30 * 24 * 3600


def answer(**fields: object) -> bytes:
    data: dict[str, object] = {"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 300}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def refusal(raw: bytes, content_type: str = "") -> str:
    with pytest.raises(InvalidTokenResponseError) as caught:
        parse_token_response(raw, START, content_type)
    return str(caught.value)


@pytest.mark.parametrize("token", ["!", "~", "!" + "x" * (MAX_TOKEN_BYTES - 2) + "~"])
def test_every_visible_ascii_character_and_the_largest_size_are_accepted(token: str) -> None:
    assert parse_token_response(answer(access_token=token), START).access_token == token


@pytest.mark.parametrize("token", ["a b", "a\x7fb", "a\u00e9b"])
def test_a_space_a_control_character_or_non_ascii_is_refused(token: str) -> None:
    assert refusal(answer(access_token=token)) == (
        "JOOR's access_token contains characters that cannot go in an HTTP header"
    )


def test_one_byte_over_what_a_parameter_holds_is_refused() -> None:
    assert refusal(answer(access_token="x" * (MAX_TOKEN_BYTES + 1))) == (
        f"JOOR's access_token is {MAX_TOKEN_BYTES + 1} bytes, more than the {MAX_TOKEN_BYTES} "
        "bytes a parameter can hold"
    )


@pytest.mark.parametrize("seconds", [1, 0.5, MAX_EXPIRES_IN])
def test_any_positive_lifetime_up_to_thirty_days_is_accepted(seconds: float) -> None:
    token = parse_token_response(answer(expires_in=seconds), START)

    assert token.lifetime == timedelta(seconds=seconds)


def test_a_body_that_is_not_json_names_its_size_and_that_it_had_no_content_type() -> None:
    with pytest.raises(InvalidTokenResponseError) as caught:
        parse_token_response(b"<html/>", START)  # no content type given at all

    assert str(caught.value) == (
        "JOOR answered HTTP 200 but the body is not JSON (7 bytes, no content type)"
    )
    assert refusal(b"<html/>", "text/html") == (
        "JOOR answered HTTP 200 but the body is not JSON (7 bytes, content type 'text/html')"
    )


def test_json_that_is_not_an_object_is_named_by_its_type() -> None:
    assert refusal(b"[1, 2]") == "JOOR answered HTTP 200 with JSON that is not an object (list)"


def test_an_answer_without_a_token_says_so() -> None:
    assert refusal(answer(access_token=...)) == "JOOR answered HTTP 200 without an access_token"


def test_a_token_type_that_is_not_a_string_is_shown_as_it_came() -> None:
    assert refusal(answer(token_type=5)) == "JOOR's token_type is 5, expected 'Bearer'"


def test_a_long_token_type_is_cut_at_forty_characters() -> None:
    assert refusal(answer(token_type="m" * 41)) == (
        f"JOOR's token_type is {'m' * 40 + '... [1 more characters]'!r}, expected 'Bearer'"
    )


def test_a_negative_lifetime_is_shown_with_its_type() -> None:
    assert refusal(answer(expires_in=-5)) == (
        "JOOR's expires_in is int -5; expected a positive number of seconds"
    )


def test_a_lifetime_over_thirty_days_is_not_trusted() -> None:
    assert refusal(answer(expires_in=MAX_EXPIRES_IN + 1)) == (
        f"JOOR's expires_in is {MAX_EXPIRES_IN + 1} s, over {MAX_EXPIRES_IN} s (30 days); not "
        "trusted"
    )
