"""Section 3, warm runs: forced refreshes and fresh-token runs through ``lambda_handler`` in one
warm process (workers/warm.py), alternated with the same requests made with bare boto3 and
requests (benchmarks/baselines/bare_calls.py)."""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Profile, run_worker, summary

# Each series, and the floor it is timed against.
FLOORS = {
    "forced_refresh": "bare DescribeSecret + GetSecretValue + requests POST /auth/ + PutParameter",
    "fresh_token": "bare DescribeParameters",
}


def measure(env: dict[str, str], profile: Profile) -> dict[str, Any]:
    figures, _, _ = run_worker(
        "warm.py", ["{out}", str(profile.warm_iterations), str(profile.warm_warmup)], env
    )
    result: dict[str, Any] = {"iterations": profile.warm_iterations}
    for series, floor_title in FLOORS.items():
        handler = summary(figures[series]["handler_s"])
        floor = summary(figures[series]["floor_s"])
        result[series] = {
            "floor": floor_title,
            "handler_s": handler,
            "floor_s": floor,
            "ratio": handler["median"] / floor["median"],
        }
    return result
