"""``python -m refresher``: the same refresh from a workstation, over the normal credential chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Harness
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

FUNCTION_DIR = Path(__file__).parents[2] / "functions" / "token_refresher"


def run_cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **harness.stack.env(), "PYTHONPATH": str(FUNCTION_DIR)}
    result = subprocess.run(
        [sys.executable, "-m", "refresher", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    WATCH.record("cli stdout", result.stdout)
    WATCH.record("cli stderr", result.stderr)
    return result


def test_a_forced_cli_run_refreshes_and_prints_the_summary(harness: Harness) -> None:
    result = run_cli(harness, "--force")

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["result"] == "refreshed"
    assert summary["version"] == harness.snapshot().version
    assert harness.stack.joor.state.is_valid(harness.stored_token())


def test_a_cli_run_with_a_fresh_token_skips(harness: Harness) -> None:
    run_cli(harness)

    result = run_cli(harness)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "skipped"


def test_a_failing_cli_run_exits_1_with_the_reason(harness: Harness) -> None:
    harness.stack.put_secret(json.dumps({"client_id": "x"}))

    result = run_cli(harness, "--force")

    assert result.returncode == 1
    assert result.stdout == ""
    assert "error (secret_malformed)" in result.stderr
    assert "missing keys: client_secret, username, password" in result.stderr


def test_with_only_aws_region_set_the_cli_refreshes_in_that_region(harness: Harness) -> None:
    """boto3 reads AWS_DEFAULT_REGION only; the workstation run honours AWS_REGION too."""
    env = {**os.environ, **harness.stack.env(), "PYTHONPATH": str(FUNCTION_DIR)}
    del env["AWS_DEFAULT_REGION"]
    assert env["AWS_REGION"]

    result = subprocess.run(
        [sys.executable, "-m", "refresher", "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    WATCH.record("cli stdout", result.stdout)
    WATCH.record("cli stderr", result.stderr)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "refreshed"
