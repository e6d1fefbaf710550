"""Fleet figures for ``make bench``, measured: what a run over many JOOR accounts costs and how
many accounts one deployment can keep within the guarantee. ``render_fleet`` in
benchmarks/render.py shows them; benchmarks/measure.py runs this section after the others.

    .venv/bin/python -m benchmarks.fleet [--quick]     # this section alone, printed

Each run is the real handler in a fresh process (``workers/fleet_run.py``) with the template's
Lambda timeout (100 s), against moto server (reached directly) and the local JOOR server
answering every login after ``LOGIN_LATENCY`` seconds, with the function's defaults: 4 logins
in flight, 3 started a second, unless a row says otherwise. AWS calls are counted at moto's
recorder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions" / "token_refresher"))

from infra.local.fleet_accounts import add_account, write_tokens  # noqa: E402
from infra.local.stack import LocalStack  # noqa: E402
from refresher.config import (  # noqa: E402
    DEFAULT_FLEET_LOGINS_IN_FLIGHT,
    DEFAULT_FLEET_LOGINS_PER_SECOND,
    DEFAULT_REFRESH_WINDOW_SECONDS,
    DEFAULT_SCHEDULE_INTERVAL_SECONDS,
)
from refresher.timing import FUNCTION_TIMEOUT_SECONDS, RESERVED_SECONDS  # noqa: E402

PATH = "/joor/fleet"
LOGIN_LATENCY = 0.3  # seconds per JOOR login: about what a real one takes
# The function's timeout (template.yaml's Timeout, checked to cover it by tests/template).
LAMBDA_TIMEOUT = float(FUNCTION_TIMEOUT_SECONDS)
HIGHER_RATE = 10  # FLEET_LOGINS_PER_SECOND with Parameter Store's higher throughput
STALE_SECONDS_LEFT = 3600  # inside the 3 h window: every token is due
FRESH_SECONDS_LEFT = 35_000
# A listing page on AWS is slower than on loopback; to size the fleet we assume this much.
ASSUMED_AWS_PAGE_SECONDS = 0.1
PAGES_PER_ACCOUNT = 1 / 100 + 1 / 50  # ListSecrets (100 a call) + DescribeParameters (50)

BaseEnv = Callable[[LocalStack], dict[str, str]]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    fresh: int  # accounts in the fresh-fleet run (calls and memory)
    stale: tuple[int, ...]  # fleet sizes of the stale runs, each at both rates
    timeout: float  # the Lambda context's timeout for the stale runs
    quick: bool  # no warm or tracemalloc runs

    @property
    def tracemalloc(self) -> bool:
        return not self.quick

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:  # a smoke run: a few seconds; the short timeout still leaves some behind
            budget = 1.0
            return cls(60, (60,), RESERVED_SECONDS + 2.0 + budget, quick=True)
        return cls(1000, (100, 1000), LAMBDA_TIMEOUT, quick=False)


def parameter(i: int) -> str:
    return f"{PATH}/brand-{i:04d}/access-token"


def worker_env(base: dict[str, str], rate: int) -> dict[str, str]:
    return {
        **base,
        "TOKEN_PARAMETER_PATH": PATH,
        "CREDENTIALS_SECRET_ID": "",
        "TOKEN_PARAMETER_NAME": "",
        "FLEET_LOGINS_IN_FLIGHT": str(DEFAULT_FLEET_LOGINS_IN_FLIGHT),
        "FLEET_LOGINS_PER_SECOND": str(rate),
    }


def make_fleet(stack: LocalStack, size: int) -> list[str]:
    """An empty moto, then ``size`` JOOR accounts and their tagged secrets."""
    stack.moto.reset()
    stack.joor.reset()
    stack.joor.state.accounts.clear()
    names = [parameter(i) for i in range(size)]
    for i, name in enumerate(names):
        add_account(stack, f"joor/fleet/brand-{i:04d}", name)
    return names


def one_run(
    stack: LocalStack, env: dict[str, str], run_worker: Callable[..., Any], **options: Any
) -> dict[str, Any]:
    """One scheduled run in a fresh process; its figures and the AWS calls it made."""
    args = ["{out}", "--timeout", str(options.get("timeout", LAMBDA_TIMEOUT))]
    if options.get("warm"):
        args.append("--warm")
    if options.get("tracemalloc"):
        args.append("--tracemalloc")
    stack.moto.reset_recording()
    joor_before = stack.joor.calls
    figures, _, _ = run_worker("fleet_run.py", args, env)
    figures["aws_calls"] = dict(Counter(op.split(".")[-1] for op in stack.moto.recorded_calls()))
    figures["joor_calls"] = stack.joor.calls - joor_before
    if figures["error"]:
        raise RuntimeError(f"the fleet run failed: {figures['error']}: {figures['summary']}")
    if figures["wall_s"] >= figures["timeout_s"]:
        raise RuntimeError(f"the run took {figures['wall_s']:.1f} s, past its Lambda timeout")
    return figures


def measure(
    quick: bool,
    stack: LocalStack,
    base_env: BaseEnv,
    run_worker: Callable[..., Any],
    log: Log = print,
) -> dict[str, Any]:
    """Every fleet figure, on ``stack`` (emptied first; its JOOR server gets the latency)."""
    plan = Plan.of(quick)
    rates = (DEFAULT_FLEET_LOGINS_PER_SECOND, HIGHER_RATE)
    results: dict[str, Any] = {
        "login_latency_s": LOGIN_LATENCY,
        "logins_in_flight": DEFAULT_FLEET_LOGINS_IN_FLIGHT,
        "lambda_timeout_s": LAMBDA_TIMEOUT,
        "stale_timeout_s": plan.timeout,
        "token_lifetime_s": stack.joor.state.expires_in,
        "window_s": DEFAULT_REFRESH_WINDOW_SECONDS,
        "interval_s": DEFAULT_SCHEDULE_INTERVAL_SECONDS,
        "stale_runs": [],
    }
    base = base_env(stack)
    latency_before = stack.joor.login_latency
    stack.joor.login_latency = LOGIN_LATENCY
    try:
        for size in sorted({plan.fresh, *plan.stale}):
            log(f"  fleet: {size} tagged secrets")
            names = make_fleet(stack, size)
            if size == plan.fresh:
                results["fresh"] = measure_fresh(stack, base, names, plan, run_worker)
            if size not in plan.stale:
                continue
            for rate in rates:
                log(f"  fleet: {size} stale tokens, {rate} logins a second")
                write_tokens(stack, names, STALE_SECONDS_LEFT)
                run = one_run(stack, worker_env(base, rate), run_worker, timeout=plan.timeout)
                results["stale_runs"].append(stale_row(size, rate, run))
            if plan.tracemalloc and size == max(plan.stale):
                log(f"  fleet: {size} stale tokens again, under tracemalloc")
                write_tokens(stack, names, STALE_SECONDS_LEFT)
                env = worker_env(base, DEFAULT_FLEET_LOGINS_PER_SECOND)
                traced = one_run(stack, env, run_worker, timeout=plan.timeout, tracemalloc=True)
                results["stale_traced"] = memory_of(traced) | {
                    "accounts": size,
                    "refreshed": traced["summary"]["refreshed"],
                }
    finally:
        stack.joor.login_latency = latency_before
    results["capacity"] = capacity(results)
    return results


def measure_fresh(
    stack: LocalStack,
    base: dict[str, str],
    names: list[str],
    plan: Plan,
    run_worker: Callable[..., Any],
) -> dict[str, Any]:
    write_tokens(stack, names, FRESH_SECONDS_LEFT)
    env = worker_env(base, DEFAULT_FLEET_LOGINS_PER_SECOND)
    run = one_run(stack, env, run_worker)
    size = len(names)
    floor = {
        "ListSecrets": math.ceil(size / 100),
        "DescribeParameters": math.ceil(size / 50),
    }
    fresh = {
        "accounts": size,
        "skipped": run["summary"]["skipped"],
        "aws_calls": run["aws_calls"],
        "floor_aws_calls": floor,
        "at_floor": run["aws_calls"] == floor and run["joor_calls"] == 0,
        "joor_calls": run["joor_calls"],
        "wall_s": run["wall_s"],
        **memory_of(run),
    }
    if not plan.quick:
        # The same run in a warm process: the listing's own time, without the cold start.
        fresh["warm_wall_s"] = one_run(stack, env, run_worker, warm=True)["wall_s"]
    if plan.tracemalloc:
        traced = one_run(stack, env, run_worker, tracemalloc=True)
        fresh["python_heap_peak_mb"] = traced["tracemalloc_invoke_peak_b"] / 2**20
    return fresh


def memory_of(run: dict[str, Any]) -> dict[str, Any]:
    figures = {"maxrss_mb": run["maxrss_kb"] / 1024}
    if "tracemalloc_invoke_peak_b" in run:
        figures["python_heap_peak_mb"] = run["tracemalloc_invoke_peak_b"] / 2**20
    return figures


def stale_row(size: int, rate: int, run: dict[str, Any]) -> dict[str, Any]:
    summary = run["summary"]
    refreshed = summary["refreshed"]
    left = summary["left_for_next_run"]
    calls = run["aws_calls"]
    return {
        "accounts": size,
        "logins_per_second": rate,
        "refreshed": refreshed,
        "left_for_next_run": left,
        "wall_s": run["wall_s"],
        "timeout_s": run["timeout_s"],
        # Each refresh: one GetSecretValue and one PutParameter, beside the listing.
        "calls_per_refresh": {
            op: calls.get(op, 0) / refreshed if refreshed else 0.0
            for op in ("GetSecretValue", "PutParameter")
        },
        "joor_calls": run["joor_calls"],
        # A run that left some behind did all it could: that is its capacity.
        "capacity": refreshed if left else None,
        "runs_for_backlog": runs_for_backlog(size, refreshed, left),
        **memory_of(run),
    }


def runs_for_backlog(size: int, refreshed: int, left: int) -> int | None:
    """Runs until every token of the fleet is refreshed: 1 when the run did them all, else
    the fleet over the capacity (each later run lists the same fleet, so has the same time)."""
    if not left:
        return 1
    return math.ceil(size / refreshed) if refreshed else None


def capacity(results: dict[str, Any]) -> dict[str, Any]:
    """The largest fleet each rate keeps within the guarantee, from the measured capacity.

    In steady state a token falls due once per (lifetime - window), so about
    N * interval / (lifetime - window) tokens fall due per run; the guarantee holds while that
    is at most the capacity C of one run.
    """
    lifetime, window, interval = (
        results["token_lifetime_s"],
        results["window_s"],
        results["interval_s"],
    )
    runs_per_cycle = (lifetime - window) / interval
    fresh = results.get("fresh", {})
    listing_pages = sum(fresh.get("aws_calls", {}).values())
    page_s = fresh.get("warm_wall_s", 0.0) / listing_pages if listing_pages else 0.0
    largest_run = max((r["accounts"] for r in results["stale_runs"]), default=0)
    rows = []
    for row in results["stale_runs"]:
        if row["capacity"] is None or row["accounts"] != largest_run:
            continue
        c, rate, size = row["capacity"], row["logins_per_second"], row["accounts"]
        largest = math.floor(c * runs_per_cycle)
        # Listing grows with the fleet and comes out of the same time budget: with listing
        # pages of p seconds, C(N) = C - rate * p * pages(N) (conservative: C already paid for
        # this run's listing); N = k * C(N) gives the fleet below.
        p = ASSUMED_AWS_PAGE_SECONDS
        k = runs_per_cycle
        planned = math.floor(k * c / (1 + k * rate * p * PAGES_PER_ACCOUNT))
        rows.append(
            {
                "logins_per_second": rate,
                "capacity_per_run": c,
                "measured_with_accounts": size,
                "largest_fleet": largest,
                "largest_fleet_with_slow_listing": planned,
            }
        )
    return {
        "runs_per_token_cycle": runs_per_cycle,
        "due_share_per_run": 1 / runs_per_cycle,
        "listing_page_s_measured": page_s,
        "assumed_aws_page_s": ASSUMED_AWS_PAGE_SECONDS,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    from benchmarks.measure import lambda_env, log, memory_limit, run_worker
    from benchmarks.render import render_fleet

    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    memory_mb, _ = memory_limit()
    with LocalStack(secret_events=False) as stack:
        results = measure(args.quick, stack, lambda s: lambda_env(s, memory_mb), run_worker, log)
    print(json.dumps(results, indent=2, default=str), file=sys.stderr)
    print(render_fleet(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
