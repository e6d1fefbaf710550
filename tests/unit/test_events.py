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


def test_a_consumer_report_carries_the_rejected_version_and_the_parameter() -> None:
    request = parse_event({"force": True, "seen_version": 7, "parameter": "/joor/a/token"})

    assert request.force is True
    assert request.seen_version == 7
    assert request.parameter == "/joor/a/token"


def test_an_operator_force_has_no_seen_version() -> None:
    assert parse_event({"force": True}).seen_version is None


@pytest.mark.parametrize(
    ("event", "phrase"),
    [
        ({"force": "yes"}, "'force' must be true or false"),
        ([1], "must be a JSON object"),
        ({"force": True, "seen_version": True}, "positive whole number.*got bool True"),
        ({"force": True, "seen_version": "7"}, "positive whole number.*got str"),
        ({"force": True, "seen_version": 0}, "positive whole number.*got int 0"),
        ({"force": True, "seen_version": -2}, "positive whole number.*got int -2"),
        ({"force": True, "seen_version": 7.0}, "positive whole number.*got float"),
        ({"force": True, "seen_version": None}, "positive whole number.*got NoneType"),
        ({"seen_version": 7}, "'seen_version' needs 'force': true"),
        ({"force": False, "seen_version": 7}, "'seen_version' needs 'force': true"),
        ({"force": True, "parameter": 3}, "'parameter' must be the name.*got int"),
        ({"force": True, "parameter": " "}, "'parameter' must be the name.*got str"),
    ],
)
def test_an_unusable_event_is_refused_with_the_reason(event: Any, phrase: str) -> None:
    with pytest.raises(InvalidEventError, match=phrase):
        parse_event(event)
