"""`make demo`'s scenes tell what they claim, over the real stack, and show no secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.demo import account_scenes
from infra.local.demo_fleet import FLEET_ENV, fleet_scenes, parameter
from infra.local.stack import LocalStack
from tests.integration.conftest import Harness
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration


def scene(output: str, number: int) -> str:
    """The text of scene ``number``, up to the next scene."""
    start = output.index(f"== {number}. ")
    end = output.find("\n== ", start + 1)
    return output[start : end if end != -1 else None]


@pytest.fixture
def demo_stack(rule_on: LocalStack) -> Iterator[LocalStack]:
    """The harness's clean stack with secret changes running the function, as deployed."""
    yield rule_on
    rule_on.settle("REJECTED_TOKEN_MIN_AGE_SECONDS", *FLEET_ENV)
    rule_on.lambda_.configure(**rule_on.env())


def test_the_account_scenes_show_a_wrong_password_tried_once_and_a_fix_used_at_once(
    demo_stack: LocalStack, harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    account_scenes(demo_stack, configure=harness.configure)
    output = capsys.readouterr().out
    WATCH.record("account demo output", output)

    assert "'secretsmanager.TagResource'" in scene(output, 1)
    assert "returned: {'result': 'skipped', 'reason': 'rate_limited'" in scene(output, 4)
    wrong = scene(output, 5)
    assert "event 'Secret Label Updated': AWSCURRENT -> version" in wrong
    assert "JOOR rejected the credentials" in wrong
    assert "JOOR: 0 login(s) that issued a token, 1 refused" in wrong
    for number in (6, 7):
        refused = scene(output, number)
        assert "not logging in with them again" in refused
        assert "invocation failed: CredentialsRejectedEarlierError" in refused
    assert "Stored token still fresh" in scene(output, 8)
    assert "JOOR refused 1 login(s) in all" in scene(output, 8)
    fixed = scene(output, 9)
    assert "log     INFO: Token refreshed" in fixed
    assert "JOOR: 1 login(s) that issued a token, 0 refused" in fixed
    assert "JOOR accepts it: True" in fixed


def test_the_fleet_scenes_show_one_failure_isolated_an_account_added_and_one_removed(
    demo_stack: LocalStack, harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = fleet_scenes(demo_stack, configure=harness.configure)
    for account in accounts:
        WATCH.add_secrets(*account.secret_values())
    WATCH.add_secrets(*demo_stack.fixture_secrets())
    output = capsys.readouterr().out
    WATCH.record("fleet demo output", output)

    first = scene(output, 13)
    assert f"{parameter('brand-a')}: Token refreshed (missing), version 1" in first
    assert f"{parameter('brand-b')}: Token refreshed (missing), version 1" in first
    assert f"{parameter('brand-c')}: failed (credentials_rejected)" in first
    assert "run: accounts 3, refreshed 2, skipped 0, failed 1, left_for_next_run 0" in first
    assert "invocation failed, FleetRefreshError: 1 of 3 accounts failed" in first
    assert f"{parameter('brand-c')}: no parameter (never written)" in first
    assert first.count("JOOR accepts it: True") == 2

    again = scene(output, 14)
    assert f"{parameter('brand-c')}: failed (credentials_rejected_earlier)" in again
    assert "JOOR logins tried: 0" in again
    assert "GetSecretValue" not in again

    fixed = scene(output, 15)
    assert f"{parameter('brand-c')}: Token refreshed (credentials_changed), version 1" in fixed
    assert "JOOR logins tried: 1" in fixed

    second = scene(output, 16)
    assert "run: accounts 4, refreshed 1, skipped 3, failed 0" in second
    assert f"{parameter('brand-d')}: Token refreshed (missing), version 1" in second
    assert f"{parameter('brand-a')}: Stored token still fresh; nothing to do (fresh)" in second
    assert (
        "AWS calls: 1 DescribeParameters, 1 GetSecretValue, 1 ListSecrets, 1 PutParameter, "
        "1 TagResource; JOOR logins tried: 1"
    ) in second

    third = scene(output, 17)
    assert "run: accounts 3, refreshed 0, skipped 3, failed 0" in third
    assert f"unclaimed ['{parameter('brand-a')}']" in third
    assert f"{parameter('brand-a')}: version 1, token <" in third
    assert f"{parameter('brand-a')}: Stored" not in third
