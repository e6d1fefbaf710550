"""A consumer reports a rejected token version: one login per rejected version, never a loop."""

from __future__ import annotations

import time

import pytest

from refresher.domain.errors import InvalidEventError
from tests.integration.conftest import Harness

pytestmark = pytest.mark.integration

DESCRIBE = "AmazonSSM.DescribeParameters"
GET_SECRET = "secretsmanager.GetSecretValue"
PUT = "AmazonSSM.PutParameter"
PARAMETER = "/joor/sandbox/access-token"


def _stored_and_aged(harness: Harness, min_age: int = 1) -> int:
    """A token stored by a run, older than the configured minimum age; its version."""
    harness.configure(REJECTED_TOKEN_MIN_AGE_SECONDS=str(min_age))
    first = harness.invoke({})
    assert first.result is not None, first.error
    time.sleep(min_age + 0.2)  # real time must pass: SSM stamps LastModifiedDate itself
    harness.start_counting()
    return int(first.result["version"])


def test_a_rejected_version_still_stored_is_replaced_at_the_cost_of_a_scheduled_refresh(
    harness: Harness,
) -> None:
    version = _stored_and_aged(harness)
    rejected = harness.stored_token()

    run = harness.invoke({"force": True, "seen_version": version, "parameter": PARAMETER})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert run.result["reason"] == "rejected"
    assert run.result["version"] == version + 1
    assert harness.snapshot().version == version + 1
    assert harness.stored_token() != rejected
    assert harness.aws_calls() == [DESCRIBE, "secretsmanager.DescribeSecret", GET_SECRET, PUT]
    assert harness.joor_calls == 1


def test_a_rejected_version_already_replaced_costs_one_aws_call_and_no_login(
    harness: Harness,
) -> None:
    version = _stored_and_aged(harness)
    harness.invoke({"force": True, "seen_version": version})
    harness.start_counting()

    run = harness.invoke({"force": True, "seen_version": version, "parameter": PARAMETER})

    assert run.result is not None, run.error
    assert run.result["result"] == "skipped"
    assert run.result["reason"] == "already_replaced"
    assert run.result["version"] == version + 1  # the version to read next
    assert harness.aws_calls() == [DESCRIBE]
    assert harness.joor_calls == 0
    assert run.metric_values("TokenRefreshSkipped") == [1.0]


def test_a_rejection_of_a_token_written_moments_ago_is_rate_limited_and_counted(
    harness: Harness,
) -> None:
    first = harness.invoke({})  # the default minimum age: 300 s
    assert first.result is not None, first.error
    harness.start_counting()

    run = harness.invoke({"force": True, "seen_version": first.result["version"]})

    assert run.result is not None, run.error
    assert run.result["result"] == "skipped"
    assert run.result["reason"] == "rate_limited"
    assert 290 <= run.result["retry_after_seconds"] <= 300
    assert run.result["version"] == first.result["version"]
    assert harness.aws_calls() == [DESCRIBE]
    assert harness.joor_calls == 0
    assert run.metric_values("TokenRefreshRateLimited") == [1.0]
    (info,) = run.logs_at("INFO")
    assert "login budget" in info["message"]


def test_a_rejection_when_no_token_is_stored_logs_in(harness: Harness) -> None:
    run = harness.invoke({"force": True, "seen_version": 1})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert run.result["reason"] == "missing"
    assert harness.joor_calls == 1


@pytest.mark.parametrize(
    ("event", "phrase"),
    [
        ({"force": True, "seen_version": "3"}, "'seen_version' must be a positive whole number"),
        ({"force": True, "seen_version": True}, "got bool True"),
        ({"seen_version": 3}, "needs 'force': true"),
        ({"force": True, "parameter": "/joor/other/token"}, "this function keeps"),
    ],
)
def test_a_bad_report_fails_with_a_clear_message_and_touches_nothing(
    harness: Harness, event: dict[str, object], phrase: str
) -> None:
    harness.invoke({})
    before = harness.snapshot()
    harness.start_counting()

    run = harness.invoke(event)

    assert isinstance(run.error, InvalidEventError)
    assert phrase in str(run.error)
    assert run.failure_reasons() == ["invalid_event"]
    assert harness.snapshot() == before
    assert harness.aws_calls() == []
    assert harness.joor_calls == 0
