"""``make bench`` keeps working: a quick run produces every section. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_quick_bench_run_reports_every_section_with_runs_at_their_call_floor(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bench.json"

    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--no-artifact", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert set(results) >= {
        "meta",
        "calls",
        "cold_start",
        "warm",
        "memory",
        "artifact",
        "consumer",
        "goals",
    }
    scenarios = {row["scenario"]: row for row in results["calls"]["rows"]}
    assert set(scenarios) == {"missing parameter", "fresh token", "stale token", "forced refresh"}
    assert all(row["at_floor"] for row in scenarios.values()), scenarios
    assert scenarios["fresh token"]["aws_clients_created"] == ["ssm"]
    assert scenarios["fresh token"]["requests_imported"] is False
    assert set(results["cold_start"]["variants"]) == {"handler", "minimal", "naive"}
    assert results["warm"]["forced_refresh"]["ratio"] > 0
    assert results["warm"]["fresh_token"]["ratio"] > 0
    assert results["memory"]["rows"][0]["maxrss_mb"] > 0
    assert results["artifact"] == {"skipped": "--no-artifact"}
    assert "| goal | figure | met |" in done.stdout
    consumer = results["consumer"]
    assert consumer["first_read"]["aws_operations"] == ["AmazonSSM.GetParameter"]
    assert consumer["cached_token"]["ratio"] > 0
    assert consumer["stampede"]["max_joor_logins"] == 1
    assert "### 6. Consumers" in done.stdout
    fleet = results["fleet"]
    assert fleet["fresh"]["at_floor"], fleet["fresh"]
    assert {(r["logins_per_second"], r["refreshed"] > 0) for r in fleet["stale_runs"]} == {
        (3, True),
        (10, True),
    }
    assert "### 7. A fleet" in done.stdout
