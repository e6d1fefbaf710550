"""What an invocation asks for: its payload, and whether it came through the operator alias."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refresher.domain.errors import InvalidEventError, OperatorOnlyError
from refresher.domain.models import SecretChange
from refresher.invocation import invoked_by_operator
from refresher.invocation import parse_invocation as parse_event

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


def test_a_plain_force_has_no_seen_version() -> None:
    assert parse_event({"force": True}).seen_version is None


FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:stack-TokenRefresherFunction-AbC"


@pytest.mark.parametrize(
    ("invoked", "operator"),
    [
        (FUNCTION, False),
        (f"{FUNCTION}:operator", True),
        (f"{FUNCTION}:$LATEST", False),
        (f"{FUNCTION}:operators", False),
        ("arn:aws:lambda:eu-west-1:123456789012:layer:x:operator", False),
    ],
)
def test_only_the_operator_alias_makes_an_operator(invoked: str, operator: bool) -> None:
    assert invoked_by_operator(invoked) is operator


def test_the_payload_cannot_claim_to_be_an_operator() -> None:
    assert parse_event({"force": True, "operator": True}).operator is False


def test_an_operator_may_retry_rejected_credentials() -> None:
    event = json.loads((EVENTS / "retry-rejected.json").read_text())

    request = parse_event(event, operator=True)

    assert (request.retry_rejected, request.operator) == (True, True)


def test_a_consumer_may_not_retry_rejected_credentials() -> None:
    with pytest.raises(OperatorOnlyError, match="alias 'operator'") as caught:
        parse_event({"retry_rejected": True})

    assert caught.value.reason == "operator_only"


def test_a_secret_label_updated_event_as_aws_sends_it_is_a_secret_change() -> None:
    event = json.loads((EVENTS / "secret-label-updated.json").read_text())

    request = parse_event(event)

    assert request.secret_change == SecretChange(
        secret="arn:aws:secretsmanager:eu-west-1:123456789012:secret:joor/sandbox/api-credentials-a1b2c3",
        name="joor/sandbox/api-credentials",
        version="a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    )
    assert (request.force, request.operator) == (False, False)


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"detail": {"labelUpdated": "AWSPENDING"}}, "moved label 'AWSPENDING'"),
        ({"detail": None}, "no 'detail' object"),
        ({"resources": []}, "needs the secret's ARN"),
        ({"detail": {"labelUpdated": "AWSCURRENT", "name": "n"}}, "needs the secret's ARN"),
    ],
)
def test_a_secret_event_without_what_it_needs_is_refused(
    change: dict[str, Any], phrase: str
) -> None:
    event = {**json.loads((EVENTS / "secret-label-updated.json").read_text()), **change}

    with pytest.raises(InvalidEventError, match=phrase):
        parse_event(event)


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
        ({"retry_rejected": "yes"}, "'retry_rejected' must be true or false"),
    ],
)
def test_an_unusable_event_is_refused_with_the_reason(event: Any, phrase: str) -> None:
    with pytest.raises(InvalidEventError, match=phrase):
        parse_event(event)


def test_a_retry_is_not_a_report() -> None:
    with pytest.raises(InvalidEventError, match="do not go together"):
        parse_event({"retry_rejected": True, "force": True, "seen_version": 3}, operator=True)
