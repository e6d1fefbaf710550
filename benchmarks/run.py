"""``make bench``: what a run costs, side by side with its floor, in one run on one machine.

    .venv/bin/python -m benchmarks.run            # full run; writes the results
    .venv/bin/python -m benchmarks.run --quick    # smoke run: few samples, writes nothing

benchmarks/measure.py measures (loopback only: moto server for AWS, the local JOOR auth server),
benchmarks/render.py turns the results into docs/benchmarks.md's block; this is the command.
Figures are ratios to a floor measured in the same run; absolute times are only context.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.measure import ROOT, Profile, log, measure_all
from benchmarks.render import render
from infra.docs_section import write_section

RESULTS_JSON = ROOT / "benchmarks" / "results" / "latest.json"
RESULTS_MD = ROOT / "docs" / "benchmarks.md"
SECTION = "bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few samples, for a smoke test")
    parser.add_argument("--json", type=Path, help=f"write the JSON here (full run: {RESULTS_JSON})")
    parser.add_argument("--no-artifact", action="store_true", help="skip the artifact size")
    parser.add_argument("--no-write", action="store_true", help="print only; write no files")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
