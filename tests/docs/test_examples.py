"""The sample credentials file is what the function reads, with placeholders no one could take
for a real credential."""

from __future__ import annotations

import json
from pathlib import Path

from refresher.adapters.secrets_manager import parse_secret

SAMPLE = Path(__file__).resolve().parents[2] / "infra" / "examples" / "credentials.json"


def test_the_sample_credentials_have_every_key_the_function_reads() -> None:
    parse_secret("infra/examples/credentials.json", SAMPLE.read_text(encoding="utf-8"))


def test_every_sample_value_is_an_obvious_placeholder() -> None:
    values = json.loads(SAMPLE.read_text(encoding="utf-8"))

    for key, value in values.items():
        placeholder = value.startswith("REPLACE-WITH-") or value.endswith("@example.com")
        assert placeholder or (key, value) == ("grant_type", "password"), key
