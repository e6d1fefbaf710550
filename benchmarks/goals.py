"""``make bench``'s goals: what each figure must reach, and the results checked against them.

Each goal is a ratio to a floor measured in the same run, or a count; none is an absolute time.
"""

from __future__ import annotations

from typing import Any

GOALS = {
    "cold_start": 1.25,
    "warm_forced_refresh": 1.15,
    "warm_fresh_token": 1.15,
    # The consumer package's cached token() is no slower than Powertools' cached get_parameter.
    "consumer_cached_token": 1.0,
}


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every goal, in the order docs/benchmarks.md shows them, with its figure and verdict."""
    return [
        _calls_at_floor(results["calls"]["rows"]),
        _ratio(
            "cold start, fresh token, vs floor",
            results["cold_start"]["ratio_to_floor"]["handler"]["in_process"],
            GOALS["cold_start"],
        ),
        _ratio(
            "warm forced refresh vs bare calls",
            results["warm"]["forced_refresh"]["ratio"],
            GOALS["warm_forced_refresh"],
        ),
        _ratio(
            "warm fresh-token run vs bare call",
            results["warm"]["fresh_token"]["ratio"],
            GOALS["warm_fresh_token"],
        ),
        *_consumer(results["consumer"]),
        *_deployed_cold_start(results["cold_start"], results["artifact"]),
        _memory(results["memory"]),
    ]


def _calls_at_floor(rows: list[dict[str, Any]]) -> dict[str, Any]:
    at_floor = sum(r["at_floor"] for r in rows)
    return {
        "goal": "calls per run at the floor (all scenarios)",
        "value": at_floor,
        "target": len(rows),
        "met": at_floor == len(rows),
        "shown": f"{at_floor}/{len(rows)} at floor",
    }


def _consumer(consumer: dict[str, Any]) -> list[dict[str, Any]]:
    first_calls = consumer["first_read"]["aws_operations"]
    stampede = consumer["stampede"]
    return [
        _ratio(
            "consumer: cached `token()` vs Powertools' cached `get_parameter`",
            consumer["cached_token"]["ratio"],
            GOALS["consumer_cached_token"],
        ),
        {
            "goal": "consumer: first `token()` makes 1 AWS call (GetParameter)",
            "value": len(first_calls),
            "target": 1,
            "met": len(first_calls) == 1,
            "shown": f"{len(first_calls)} ({', '.join(first_calls)})",
        },
        {
            "goal": f"consumer stampede ({stampede['consumers']} consumers, one revocation): "
            "JOOR logins at the floor of 1",
            "value": stampede["max_joor_logins"],
            "target": 1,
            "met": stampede["max_joor_logins"] == 1,
            "shown": f"{stampede['max_joor_logins']} (most in any of "
            f"{len(stampede['rounds'])} rounds)",
        },
    ]


def _deployed_cold_start(cold_start: dict[str, Any], size: dict[str, Any]) -> list[dict[str, Any]]:
    """The artifact as shipped: with its byte-code if the build has some (none when the run
    skipped the artifact)."""
    shipped = size.get("ships_bytecode")
    deployed = cold_start["ratio_to_floor"].get("deployed_pyc" if shipped else "deployed")
    if deployed is None:
        return []
    title = "cold start as Lambda loads the artifact (byte-code shipped: " + (
        "yes)" if shipped else "no; see docs/benchmarks.md)"
    )
    return [_ratio(title, deployed["in_process"], GOALS["cold_start"])]


def _memory(memory: dict[str, Any]) -> dict[str, Any]:
    peak = max(r["maxrss_mb"] for r in memory["rows"] if r["refresher"])
    return {
        "goal": f"peak memory within MemorySize ({memory['limit_mb']} MB)",
        "value": peak,
        "target": memory["limit_mb"],
        "met": peak < memory["limit_mb"],
        "shown": f"{peak:.0f} MB ({peak / memory['limit_mb']:.0%})",
    }


def _ratio(title: str, value: float, target: float) -> dict[str, Any]:
    return {
        "goal": title,
        "value": value,
        "target": target,
        "met": value <= target,
        "shown": f"{value:.2f}x (goal <= {target:.2f}x)",
    }
