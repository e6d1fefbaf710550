"""Which invocations force a refresh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refresher.domain.errors import InvalidEventError
from refresher.events import parse_event

EVENTS = Path(__file__).parents[1] / "events"


@pytest.mark.parametrize("name", ["scheduler.json", "eventbridge-rule.json"])
def test_scheduled_payloads_do_not_force(name: str) -> None:
    assert parse_event(json.loads((EVENTS / name).read_text())).force is False


def test_a_null_event_does_not_force() -> None:
    assert parse_event(None).force is False


def test_force_true_forces() -> None:
    assert parse_event(json.loads((EVENTS / "force.json").read_text())).force is True


@pytest.mark.parametrize(
    ("event", "phrase"),
    [({"force": "yes"}, "'force' must be true or false"), ([1], "must be a JSON object")],
)
def test_an_unusable_event_is_refused_with_the_reason(event: Any, phrase: str) -> None:
    with pytest.raises(InvalidEventError, match=phrase):
        parse_event(event)
