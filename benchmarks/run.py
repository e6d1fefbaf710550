"""``make bench``: what a run costs, side by side with its floor, in one run on one machine.

    .venv/bin/python -m benchmarks.run            # full run; writes the results
    .venv/bin/python -m benchmarks.run --quick    # smoke run: few samples, writes nothing
    .venv/bin/python -m benchmarks.run --render-only   # the page again from the last results

Each section measures in its own module of benchmarks/sections/ (calls, cold_start, warm,
memory, artifact, consumer, fleet), through benchmarks/harness.py (loopback only: moto server
for AWS, the local JOOR auth server); benchmarks/goals.py checks the goals and
benchmarks/render.py writes docs/benchmarks.md's block. Figures are ratios to a floor measured
in the same run; absolute times are only context.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.goals import goals
from benchmarks.harness import ROOT, Profile, lambda_env, log
from benchmarks.render import render
from benchmarks.sections import artifact, calls, cold_start, consumer, fleet, memory, warm
from infra.local.stack import LocalStack
from tools.docs_section import write_section

RESULTS_JSON = ROOT / "benchmarks" / "results" / "latest.json"
RESULTS_MD = ROOT / "docs" / "benchmarks.md"
SECTION = "bench"
COMMAND = "make bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few samples, for a smoke test")
    parser.add_argument("--json", type=Path, help=f"write the JSON here (full run: {RESULTS_JSON})")
    parser.add_argument("--no-artifact", action="store_true", help="skip the artifact size")
    parser.add_argument("--no-write", action="store_true", help="print only; write no files")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help=f"measure nothing: write the page from {RESULTS_JSON.relative_to(ROOT)} again "
        "(after a change to benchmarks/render.py)",
    )
    args = parser.parse_args(argv)
    if args.render_only:
        write_section(RESULTS_MD, SECTION, render(json.loads(RESULTS_JSON.read_text())))
        log(f"bench: table written to {RESULTS_MD.relative_to(ROOT)}")
        return 0
    results = measure_all(Profile(args.quick), artifact_size=not args.no_artifact)
    table = render(results)
    print(table)
    write_files = not args.no_write and not args.quick
    json_path = args.json or (RESULTS_JSON if write_files else None)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(f"bench: JSON written to {json_path}")
    if write_files:
        write_section(RESULTS_MD, SECTION, table)
        log(f"bench: table written to {RESULTS_MD.relative_to(ROOT)}")
    log(f"bench: done in {results['meta']['duration_s']:.0f} s")
    return 0


def measure_all(profile: Profile, *, artifact_size: bool = True) -> dict[str, Any]:
    """Every section in one run, as the results dict that render.py and the JSON file take.
    ``artifact_size=False`` skips the build artifact (its size and the cold starts from it)."""
    started = time.monotonic()
    meta = {
        "command": COMMAND + (" (quick)" if profile.quick else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "quick": profile.quick,
    }
    with contextlib.ExitStack() as cleanup:
        # The artifact first: the cold-start section also loads the handler from it.
        folders: dict[str, str] = {}
        size: dict[str, Any] = {"skipped": "--no-artifact"}
        if artifact_size:
            log("bench: 5. artifact size (first: the cold starts load the artifact)")
            scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-no-pyc-"))
            size, folders = artifact.measure_with_copies(Path(scratch), log)
        log("bench: starting moto server and the local JOOR auth server (loopback)...")
        stack = cleanup.enter_context(LocalStack(secret_events=False))
        stack.put_secret()
        env = lambda_env(stack)
        log("bench: 1. calls per run")
        calls_figures = calls.measure(stack, env)
        # Timed sections: the recorder would only add file writes to every request.
        with stack.moto.unrecorded():
            log("bench: 2. cold start")
            cold_figures = cold_start.measure(env, profile, folders)
            log("bench: 3. warm runs")
            warm_figures = warm.measure(env, profile)
            log("bench: 4. memory")
            memory_figures = memory.measure(env, calls_figures, cold_figures, profile)
        log("bench: 6. consumers (joor_token)")
        consumer_figures = consumer.measure(stack, env, profile)
        log("bench: 7. a fleet of JOOR accounts (empties the stack first)")
        fleet_figures = fleet.measure(stack, profile)
    results: dict[str, Any] = {
        "meta": meta,
        "calls": calls_figures,
        "cold_start": cold_figures,
        "warm": warm_figures,
        "memory": memory_figures,
        "artifact": size,
        "consumer": consumer_figures,
        "fleet": fleet_figures,
    }
    results["goals"] = goals(results)
    meta["duration_s"] = round(time.monotonic() - started, 1)
    return results


def machine() -> dict[str, Any]:
    """The machine the run is on, and how busy it was at the start."""
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return {
        "uname_m": platform.machine(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg()[0],
    }


def versions() -> dict[str, str]:
    """The versions of the packages the figures depend on."""
    found = {}
    for name in ("boto3", "botocore", "aws-lambda-powertools", "requests", "moto"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


if __name__ == "__main__":
    sys.exit(main())
