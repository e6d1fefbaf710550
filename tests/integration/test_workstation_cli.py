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


def cli_env(harness: Harness) -> dict[str, str]:
    return {**os.environ, **harness.stack.env(), "PYTHONPATH": str(FUNCTION_DIR)}


def run_cli(
    harness: Harness, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = cli_env(harness) if env is None else env
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


def test_aws_region_alone_is_enough(harness: Harness) -> None:
    env = cli_env(harness)
    region = env.pop("AWS_DEFAULT_REGION")
    env["AWS_REGION"] = region

    result = run_cli(harness, "--force", env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "refreshed"


def test_without_any_region_it_exits_1_naming_every_way_to_set_one(
    harness: Harness, tmp_path: Path
) -> None:
    env = cli_env(harness)
    env.pop("AWS_DEFAULT_REGION")
    env.pop("AWS_REGION", None)
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")

    result = run_cli(harness, "--force", env=env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "error (no_region): no AWS Region: export AWS_REGION (or AWS_DEFAULT_REGION), or set "
        "region in your AWS profile"
    )
    assert "Traceback" not in result.stderr
