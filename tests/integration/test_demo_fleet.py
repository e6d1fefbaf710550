"""`make demo`'s fleet scenes tell what they claim, over the real stack, and show no secret."""

from __future__ import annotations

import pytest

from infra.local.demo_fleet import fleet_scenes, parameter
from tests.integration.conftest import Harness
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration


def scene(output: str, number: int) -> str:
    """The text of scene ``number``, up to the next scene."""
    start = output.index(f"== {number}. ")
    end = output.find("\n== ", start + 1)
    return output[start : end if end != -1 else None]


def test_the_fleet_scenes_show_one_failure_isolated_an_account_added_and_one_removed(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = fleet_scenes(harness.stack, configure=harness.configure)
    for account in accounts:
        WATCH.add_secrets(*account.secret_values())
    WATCH.add_secrets(*harness.stack.fixture_secrets())
    output = capsys.readouterr().out
    WATCH.record("fleet demo output", output)

    first = scene(output, 8)
    assert f"{parameter('brand-a')}: Token refreshed (missing), version 1" in first
    assert f"{parameter('brand-b')}: Token refreshed (missing), version 1" in first
    assert f"{parameter('brand-c')}: failed (credentials_rejected)" in first
    assert "run: accounts 3, refreshed 2, skipped 0, failed 1, left_for_next_run 0" in first
    assert "invocation failed, FleetRefreshError: 1 of 3 accounts failed" in first
    assert f"{parameter('brand-c')}: no parameter (never written)" in first
    assert first.count("JOOR accepts it: True") == 2

    second = scene(output, 9)
    assert "run: accounts 4, refreshed 2, skipped 2, failed 0" in second
    assert f"{parameter('brand-d')}: Token refreshed (missing), version 1" in second
    assert f"{parameter('brand-a')}: Stored token still fresh; nothing to do (fresh)" in second
    assert (
        "AWS calls: 1 DescribeParameters, 2 GetSecretValue, 1 ListSecrets, 2 PutParameter; "
        "JOOR logins tried: 2"
    ) in second

    third = scene(output, 10)
    assert "run: accounts 3, refreshed 0, skipped 3, failed 0" in third
    assert f"unclaimed ['{parameter('brand-a')}']" in third
    assert f"{parameter('brand-a')}: version 1, token <" in third
    assert f"{parameter('brand-a')}: Stored" not in third
