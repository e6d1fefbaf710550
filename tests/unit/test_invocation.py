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
    with pytest.raises(OperatorOnlyError) as caught:
        parse_event({"retry_rejected": True})

    assert caught.value.reason == "operator_only"
    assert str(caught.value).startswith(
        "Retrying credentials JOOR rejected is an operator's action: invoke the function's "
        "alias 'operator' "
    )


def test_a_secret_label_updated_event_as_aws_sends_it_is_a_secret_change() -> None:
    event = json.loads((EVENTS / "secret-label-updated.json").read_text())

    request = parse_event(event)

    assert request.secret_change == SecretChange(
        secret="arn:aws:secretsmanager:eu-west-1:123456789012:secret:joor/sandbox/api-credentials-a1b2c3",
        name="joor/sandbox/api-credentials",
        version="a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    )
    assert (request.force, request.operator) == (False, False)


NEEDS = (
    "The Secret Label Updated event needs the secret's ARN in 'resources' and 'name' and "
    "'versionId' in 'detail'"
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"detail": {"labelUpdated": "AWSPENDING"}},
            "The Secret Label Updated event moved label 'AWSPENDING'; only a move of AWSCURRENT "
            "changes the credentials a login uses",
        ),
        ({"detail": None}, "The Secret Label Updated event has no 'detail' object"),
        ({"resources": []}, NEEDS),
        ({"detail": {"labelUpdated": "AWSCURRENT", "name": "n"}}, NEEDS),
    ],
)
def test_a_secret_event_without_what_it_needs_is_refused(
    change: dict[str, Any], message: str
) -> None:
    event = {**json.loads((EVENTS / "secret-label-updated.json").read_text()), **change}

    with pytest.raises(InvalidEventError) as caught:
        parse_event(event)

    assert str(caught.value) == message


def test_an_operators_secret_change_is_still_an_operators() -> None:
    event = json.loads((EVENTS / "secret-label-updated.json").read_text())

    assert parse_event(event, operator=True).operator is True


@pytest.mark.parametrize(
    "event",
    [
        {"source": "aws.secretsmanager", "detail-type": "AWS API Call via CloudTrail"},
        {"source": "aws.events", "detail-type": "Secret Label Updated"},
    ],
)
def test_only_secrets_managers_label_event_is_a_secret_change(event: dict[str, Any]) -> None:
    request = parse_event(event)

    assert (request.secret_change, request.force) == (None, False)


def test_an_operators_null_event_is_an_operators_scheduled_run() -> None:
    request = parse_event(None, operator=True)

    assert (request.force, request.operator) == (False, True)


def test_the_first_version_may_be_reported() -> None:
    assert parse_event({"force": True, "seen_version": 1}).seen_version == 1


SEEN = (
    "The event's 'seen_version' must be a positive whole number (the parameter version JOOR "
    "rejected), got "
)
NEEDS_FORCE = (
    "The event's 'seen_version' needs 'force': true, e.g. {\"force\": true, \"seen_version\": 7}"
)
PARAMETER = "The event's 'parameter' must be the name of the token parameter, got "


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"force": "yes"}, "The event's 'force' must be true or false, got str"),
        (
            [1],
            'The event must be a JSON object such as {} or {"force": true}, got list',
        ),
        ({"force": True, "seen_version": True}, SEEN + "bool True"),
        ({"force": True, "seen_version": "7"}, SEEN + "str"),
        ({"force": True, "seen_version": 0}, SEEN + "int 0"),
        ({"force": True, "seen_version": -2}, SEEN + "int -2"),
        ({"force": True, "seen_version": 7.0}, SEEN + "float"),
        ({"force": True, "seen_version": None}, SEEN + "NoneType"),
        ({"seen_version": 7}, NEEDS_FORCE),
        ({"force": False, "seen_version": 7}, NEEDS_FORCE),
        ({"force": True, "parameter": 3}, PARAMETER + "int"),
        ({"force": True, "parameter": " "}, PARAMETER + "str"),
        ({"retry_rejected": 1}, "The event's 'retry_rejected' must be true or false, got int"),
    ],
)
def test_an_unusable_event_is_refused_with_the_reason(event: Any, message: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(event)

    assert str(caught.value) == message


def test_a_retry_is_not_a_report() -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event({"retry_rejected": True, "force": True, "seen_version": 3}, operator=True)

    assert str(caught.value) == (
        "The event's 'retry_rejected' and 'seen_version' do not go together: a retry of "
        "rejected credentials is not a report of a rejected token"
    )
