"""Section 4, peak memory of an invocation: the peak RSS of a fresh process (from the calls
and cold-start sections' processes) against the template's MemorySize, and the Python heap's
peaks under tracemalloc (full runs only: tracemalloc slows a run several times over)."""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Profile, cold, memory_limit

# The calls section's scenarios measured here, and how the worker invokes each again.
RUNS = (
    ("fresh token", {}, ()),
    ("operator's forced refresh", {"force": True}, ("--operator",)),
)


def measure(
    env: dict[str, str], calls: dict[str, Any], cold_start: dict[str, Any], profile: Profile
) -> dict[str, Any]:
    limit_mb, limit_source = memory_limit()
    rows = []
    by_scenario = {row["scenario"]: row for row in calls["rows"]}
    for title, event, flags in RUNS:
        rss_kb = by_scenario[title]["maxrss_kb"]
        row = _row(f"refresher, {title}, fresh process", rss_kb, limit_mb, refresher=True)
        if not profile.quick:
            traced, _, _ = cold("handler", env, event, "--tracemalloc", *flags)
            row["python_heap_peak_import_mb"] = traced["tracemalloc_import_peak_b"] / 2**20
            row["python_heap_peak_invocation_mb"] = traced["tracemalloc_invoke_peak_b"] / 2**20
        rows.append(row)
    for variant in ("minimal", "naive"):
        rss_kb = cold_start["variants"][variant]["maxrss_kb"]["median"]
        rows.append(
            _row(f"{cold_start['titles'][variant]}, fresh token", rss_kb, limit_mb, refresher=False)
        )
    return {"limit_mb": limit_mb, "limit_source": limit_source, "rows": rows}


def _row(run: str, rss_kb: float, limit_mb: int, *, refresher: bool) -> dict[str, Any]:
    return {
        "run": run,
        "refresher": refresher,
        "maxrss_mb": rss_kb / 1024,
        "share_of_limit": rss_kb / 1024 / limit_mb,
    }
