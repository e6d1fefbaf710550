"""What a malformed credentials secret is told, word for word: the keys, never a value."""

from __future__ import annotations

import pytest

from refresher.adapters.secrets_manager import parse_secret
from refresher.domain.errors import SecretMalformedError

KEYS = "client_id, client_secret, username, password"


def refusal(text: str) -> str:
    with pytest.raises(SecretMalformedError) as caught:
        parse_secret("joor/s", text)
    return str(caught.value)


def test_a_secret_that_is_not_json_lists_the_keys_it_needs() -> None:
    assert refusal("client_id=x") == (
        f"Secret 'joor/s' is not valid JSON; it must be a JSON object with keys {KEYS}"
    )


def test_json_that_is_not_an_object_names_what_it_found() -> None:
    assert refusal("[1]") == (
        f"Secret 'joor/s' is JSON but not an object (found list); it must be an object with "
        f"keys {KEYS}"
    )


def test_empty_or_non_string_values_are_named_by_their_keys() -> None:
    text = '{"client_id": "", "client_secret": 5, "username": "u", "password": "p"}'

    assert refusal(text) == (
        "Secret 'joor/s' has empty or non-string values for keys: client_id, client_secret"
    )
