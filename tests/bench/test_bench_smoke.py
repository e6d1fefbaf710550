"""``make bench`` keeps working: a quick run produces every section. No timing is asserted."""

from __future__ import annotations

import json
import py_compile
import shutil
import sys
from pathlib import Path

import pytest

from benchmarks.sections import artifact
from tests.leakwatch import WATCH
from tests.processes import run_process

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "token_refresher"


def test_a_quick_bench_run_reports_every_section_with_runs_at_their_call_floor(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bench.json"

    done = run_process(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--no-artifact", "--json", str(out)],
        "bench: quick run",
        cwd=ROOT,
    )

    WATCH.record("bench: quick run's results", out.read_text())
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
    assert set(scenarios) == {
        "missing parameter",
        "fresh token",
        "stale token",
        "operator's forced refresh",
        "consumer's forced refresh, token just written",
        "credentials rejected earlier",
    }
    assert all(row["at_floor"] for row in scenarios.values()), scenarios
    # A rejected secret costs neither its value nor a login.
    rejected = scenarios["credentials rejected earlier"]
    assert "secretsmanager.GetSecretValue" not in rejected["aws_operations"]
    assert rejected["joor_calls"] == 0
    assert scenarios["fresh token"]["aws_clients_created"] == ["ssm"]
    assert scenarios["fresh token"]["requests_imported"] is False
    assert set(results["cold_start"]["variants"]) == {"handler", "minimal", "naive"}
    assert results["cold_start"]["bytecode_files"] == {}
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


def test_the_no_bytecode_copy_of_a_build_holds_no_pyc(tmp_path: Path) -> None:
    # GIVEN a build with byte-code, as `make sam-build` leaves it (checked-hash .pyc in every
    # __pycache__), and a sourceless .pyc beside the sources as well
    build = tmp_path / "build"
    shutil.copytree(FUNCTION_DIR, build, ignore=shutil.ignore_patterns("__pycache__"))
    artifact.compile_tree(build)
    py_compile.compile(str(build / "app.py"), cfile=str(build / "refresher" / "legacy.pyc"))
    sources = sorted(p.relative_to(build) for p in build.rglob("*.py"))
    in_build = artifact.bytecode_files(build)
    assert in_build == len(sources) + 1

    # WHEN the bench makes the copy its "no byte-code" cold start loads
    copy = artifact.without_bytecode(build, tmp_path / "copy")

    # THEN the copy has every source, byte for byte, and no byte-code at all
    assert artifact.bytecode_files(copy) == 0
    assert not list(copy.rglob("__pycache__"))
    assert sorted(p.relative_to(copy) for p in copy.rglob("*.py")) == sources
    assert all((copy / p).read_bytes() == (build / p).read_bytes() for p in sources)
    assert artifact.bytecode_files(build) == in_build  # the build itself is left as it was
