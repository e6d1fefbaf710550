"""The credentials secret's shape; errors name keys, never values."""

from __future__ import annotations

import json

import pytest

from refresher.adapters.secrets_manager import parse_secret
from refresher.domain.errors import SecretMalformedError

GOOD = {"client_id": "cid-1", "client_secret": "s3cret-v", "username": "u@x", "password": "pw-v"}


def test_a_complete_secret_gives_credentials_with_the_default_grant_type() -> None:
    credentials = parse_secret("joor/creds", json.dumps(GOOD))

    assert credentials.grant_type == "password"
    assert credentials.source == "joor/creds"
    assert "s3cret-v" not in repr(credentials)
    assert "pw-v" not in repr(credentials)


def test_a_secret_checked_from_its_text_alone_claims_no_version() -> None:
    # As the deploy checks read it: no version, so none a login gate could compare.
    credentials = parse_secret("joor/creds", json.dumps(GOOD))

    assert (credentials.version, credentials.version_created) == ("", None)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("not json {", "is not valid JSON"),
        ('["a"]', "not an object (found list)"),
        (json.dumps({"client_id": "x"}), "missing keys: client_secret, username, password"),
        (json.dumps({**GOOD, "password": ""}), "empty or non-string values for keys: password"),
        (json.dumps({**GOOD, "client_secret": 7}), "for keys: client_secret"),
        (json.dumps({**GOOD, "grant_type": None}), "for keys: grant_type"),
    ],
)
def test_a_malformed_secret_names_the_secret_and_the_problem(text: str, phrase: str) -> None:
    with pytest.raises(SecretMalformedError) as caught:
        parse_secret("joor/creds", text)

    message = str(caught.value)
    assert "'joor/creds'" in message
    assert phrase in message
    assert "s3cret-v" not in message
    assert "pw-v" not in message
