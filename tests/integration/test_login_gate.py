"""The login gate over real HTTP: a wrong password costs one failed JOOR login whatever path
asks next, the fixed secret is used at once through Secrets Manager's event, and the budget
holds against a consumer that keeps forcing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from infra.local.stack import PARAMETER_NAME, SECRET_ID, LocalStack
from refresher.adapters.login_record import TAG
from refresher.domain.errors import CredentialsRejectedEarlierError, CredentialsRejectedError
from tests.integration.conftest import Harness

pytestmark = pytest.mark.integration

REPORT = {"force": True, "parameter": PARAMETER_NAME}


def refused_logins(stack: LocalStack) -> int:
    """Logins JOOR answered without a token: the failed logins that count towards a lock."""
    state = stack.joor.state
    return state.requests - state.logins


def save_wrong_password(harness: Harness) -> None:
    wrong = {**json.loads(harness.stack.credentials_json()), "password": "not-the-password"}
    harness.stack.put_secret(json.dumps(wrong))


@pytest.fixture
def rejected(harness: Harness) -> Harness:
    """A stored token inside the window, and a secret holding a wrong password JOOR has
    rejected once (the scheduled run that found the token due). The login budget is 1 s and
    has passed, so that only the rejection holds logins back."""
    harness.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    harness.store_earlier_token(7200)
    time.sleep(1.1)
    save_wrong_password(harness)
    harness.start_counting()
    first = harness.invoke({})
    assert isinstance(first.error, CredentialsRejectedError)
    assert refused_logins(harness.stack) == 1
    return harness


@pytest.mark.parametrize(
    ("event", "operator"),
    [({}, False), ("report", False), ({"force": True}, False), ({"force": True}, True)],
    ids=["schedule", "report", "plain force", "operator force"],
)
def test_after_a_rejection_no_path_logs_in_with_the_same_password(
    rejected: Harness, event: Any, operator: bool
) -> None:
    if event == "report":
        event = {**REPORT, "seen_version": rejected.snapshot().version}
    rejected.start_counting()

    run = rejected.invoke(event, operator=operator)

    assert isinstance(run.error, CredentialsRejectedEarlierError)
    assert "not logging in with them again" in str(run.error)
    assert refused_logins(rejected.stack) == 1
    assert rejected.joor_calls == 0
    assert "secretsmanager.GetSecretValue" not in rejected.aws_calls()  # not even read
    assert run.failure_reasons() == ["credentials_rejected_earlier"]
    assert run.metric_values("CredentialsRejected") == [1.0]


def test_a_new_execution_environment_remembers_the_rejection(rejected: Harness) -> None:
    rejected.reset_handler()  # a cold start: nothing kept in memory

    run = rejected.invoke({})

    assert isinstance(run.error, CredentialsRejectedEarlierError)
    assert refused_logins(rejected.stack) == 1


def test_the_rejection_is_one_tag_on_the_secret(rejected: Harness) -> None:
    client = rejected.stack.client("secretsmanager")
    with rejected.stack.moto.unrecorded():
        description = client.describe_secret(SecretId=SECRET_ID)
    current = next(v for v, s in description["VersionIdsToStages"].items() if "AWSCURRENT" in s)

    tags = {t["Key"]: t["Value"] for t in description.get("Tags", [])}

    assert set(tags) == {TAG}
    result, _, version = tags[TAG].split()[:3]
    assert (result, version) == ("rejected", current)


def test_an_operators_retry_tries_the_same_password_once_more(rejected: Harness) -> None:
    run = rejected.invoke({"retry_rejected": True}, operator=True)

    assert isinstance(run.error, CredentialsRejectedError)
    assert refused_logins(rejected.stack) == 2
    again = rejected.invoke({})
    assert isinstance(again.error, CredentialsRejectedEarlierError)
    assert refused_logins(rejected.stack) == 2


def test_the_fixed_secret_gives_a_live_token_at_once(
    rejected: Harness, rule_on: LocalStack
) -> None:
    before = rejected.snapshot().version
    events = len(rule_on.lambda_.rule_events)

    rule_on.put_secret()  # the right password
    assert rule_on.lambda_.wait_for_rule_events(events + 1)

    (record,) = rule_on.lambda_.records
    assert record.event["detail-type"] == "Secret Label Updated"
    assert record.error_type is None, record.log
    after = rejected.snapshot()
    assert after.version == (before or 0) + 1
    assert after.value is not None
    assert rule_on.joor.state.is_valid(after.value.decode())
    assert refused_logins(rule_on) == 1


def test_a_change_of_another_secret_is_ignored_without_reading_it(
    harness: Harness, rule_on: LocalStack
) -> None:
    client = rule_on.client("secretsmanager")
    client.create_secret(Name="payments/db", SecretString="{}")
    harness.start_counting()
    events = len(rule_on.lambda_.rule_events)

    client.put_secret_value(SecretId="payments/db", SecretString='{"password": "x"}')
    assert rule_on.lambda_.wait_for_rule_events(events + 1)

    (record,) = rule_on.lambda_.records
    assert record.error_type is None, record.log
    assert '"reason":"not_our_secret"' in record.log.replace(" ", "")
    calls = [c for c in harness.aws_calls() if not c.endswith("PutSecretValue")]
    assert calls == []
    assert harness.joor_calls == 0


def test_a_consumer_forcing_again_and_again_gets_one_login_per_budget(harness: Harness) -> None:
    harness.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    harness.invoke({})
    harness.start_counting()

    answers = [harness.invoke({"force": True}).result for _ in range(30)]

    # Thirty forced runs within a second or two: the first is held back (the token is
    # moments old), and at most one more logs in once the budget's second has passed.
    reasons = [a["reason"] for a in answers if a is not None]
    assert len(reasons) == 30
    assert reasons.count("forced") <= 2
    assert harness.joor_calls == reasons.count("forced")


def test_a_rejection_whose_tag_write_aws_refused_is_still_honoured_while_warm(
    harness: Harness,
) -> None:
    from infra.local.aws_fault_proxy import AwsFault

    harness.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    harness.store_earlier_token(7200)
    save_wrong_password(harness)
    time.sleep(1.1)
    assert harness.stack.proxy is not None
    harness.stack.proxy.inject(
        AwsFault("secretsmanager.TagResource", "ThrottlingException", "Rate exceeded", times=3)
    )
    first = harness.invoke({})
    assert isinstance(first.error, CredentialsRejectedError)
    assert any("cannot know" in w["message"] for w in first.logs_at("WARNING"))

    again = harness.invoke({})

    assert isinstance(again.error, CredentialsRejectedEarlierError)
    assert refused_logins(harness.stack) == 1
