"""One scheduled fleet run in a fresh process, through the real handler and its time budget.

    python benchmarks/workers/fleet_run.py OUT.json [--timeout SECONDS] [--warm] [--tracemalloc]

The environment (TOKEN_PARAMETER_PATH, FLEET_LOGINS_PER_SECOND, the local endpoints) is the
function's. The handler gets a Lambda context of ``--timeout`` seconds (100, as the template
sets, unless told), so the run keeps the same 32 s back for its last write as in Lambda.
``--warm`` times a second invocation of the same process instead of the first. Writes the
run's counts (never its per-account outcomes), its wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.workers.cold import peak_rss_kb
from infra.local.lambda_context import LocalLambdaContext


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--timeout", type=float, default=LocalLambdaContext().timeout_seconds)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--warm", action="store_true", help="invoke once first, untimed")
    args = parser.parse_args()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    import app

    if args.warm:
        app.lambda_handler({}, LocalLambdaContext(args.timeout))
    if args.tracemalloc:
        tracemalloc.reset_peak()
    context = LocalLambdaContext(args.timeout)
    started = time.perf_counter()
    try:
        result = app.lambda_handler({}, context)
        error = None
    except Exception as caught:  # noqa: BLE001 - reported to the orchestrator by type
        result, error = getattr(getattr(caught, "outcome", None), "summary", dict)(), caught
    wall = time.perf_counter() - started
    outcomes = result.pop("outcomes", {})
    figures = {
        "summary": result,
        "error": None if error is None else type(error).__name__,
        "refreshed_parameters": sorted(
            name for name, o in outcomes.items() if o.get("result") == "refreshed"
        ),
        "wall_s": wall,
        "timeout_s": args.timeout,
        "maxrss_kb": peak_rss_kb(),
    }
    if args.tracemalloc:
        figures["tracemalloc_invoke_peak_b"] = tracemalloc.get_traced_memory()[1]
    Path(args.out).write_text(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
