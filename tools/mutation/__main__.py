"""make mutate: a fresh mutmut run over functions/ and clients/python/joor_token, then the
score per area and docs/mutation.md (tools/mutation/report.py).

    python -m tools.mutation [--jobs N] [--keep]

``--keep`` reuses the previous run's mutants/ (mutmut then tests only the mutants of
functions that changed); without it every mutant is tested again.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tools.mutation import report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--keep", action="store_true", help="reuse mutants/ from the last run")
    args = parser.parse_args(argv)
    if not args.keep:
        shutil.rmtree(report.MUTANTS, ignore_errors=True)
    started = time.monotonic()
    # A process of its own: mutmut forks per mutant and leaves the working directory and
    # sys.path as its tests left them.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.mutation.mutmut_layout",
            "run",
            f"--max-children={args.jobs}",
        ],
        check=False,
    )
    seconds = time.monotonic() - started
    print(f"\nmutmut took {seconds / 60:.1f} minutes (exit code {run.returncode})")
    if run.returncode != 0:
        log = Path(report.MUTANTS) / "mutmut-debug.log"
        print(f"mutmut failed; see its output above{f' and {log}' if log.exists() else ''}")
        return run.returncode
    return report.main([f"--seconds={seconds:.0f}"])


if __name__ == "__main__":
    sys.exit(main())
