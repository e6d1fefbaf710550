"""Section 6, consumers (the ``joor_token`` package): the AWS calls of a reader's first
``token()``; a cached ``token()`` against Powertools' cached ``get_parameter`` in one process
(workers/consumer.py); and a revocation stampede, many consumers hitting one revocation,
counted in JOOR logins and timed until every consumer has a working token, against one
consumer alone going through the same renewal.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.harness import Profile, log, run_worker, summary
from infra.local.stack import FUNCTION_NAME, LocalStack
from infra.local.stampede import Stampede

# A consumer stampede: 20 consumers (5 threads in each of 4 processes) hit one revocation.
STAMPEDE_PROCESSES, STAMPEDE_THREADS = 4, 5
# As long as a real JOOR login takes, about; the local one answers in ~3 ms otherwise.
STAMPEDE_LOGIN_LATENCY = 0.3


def measure(stack: LocalStack, env: dict[str, str], profile: Profile) -> dict[str, Any]:
    """Every consumer figure; the first read's calls are counted at moto's recorder."""
    stack.moto.reset_recording()
    first, _, _ = run_worker("consumer.py", ["{out}", "first-read"], env)
    first_read = {"aws_operations": stack.moto.recorded_calls(), "seconds": first["first_read_s"]}
    with stack.moto.unrecorded():
        cached = measure_cached(env, profile)
        stampede = measure_stampede(stack, profile)
    return {"first_read": first_read, "cached_token": cached, "stampede": stampede}


def measure_cached(env: dict[str, str], profile: Profile) -> dict[str, Any]:
    figures, _, _ = run_worker(
        "consumer.py",
        ["{out}", "cached", str(profile.consumer_rounds), str(profile.consumer_calls)],
        env,
    )
    reader, powertools = summary(figures["reader_s"]), summary(figures["powertools_s"])
    return {
        "calls_per_round": figures["calls_per_round"],
        "rounds": profile.consumer_rounds,
        "reader_s": reader,
        "powertools_s": powertools,
        "ratio": reader["median"] / powertools["median"],
    }


def measure_stampede(stack: LocalStack, profile: Profile) -> dict[str, Any]:
    """Rounds of one consumer alone, then the crowd, each after a revocation of every token."""
    # The stored tokens are seconds old: let a rejection of them log in after 1 s.
    stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")  # noqa: S106 - seconds
    stack.joor.login_latency = STAMPEDE_LOGIN_LATENCY
    # A warm function, as a deployed one mostly is: the first lone consumer would otherwise
    # also pay the refresher's cold start.
    stack.client("lambda").invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")["Payload"].read()
    lone: list[float] = []
    crowd: list[dict[str, Any]] = []
    try:
        for round_ in range(profile.stampede_rounds):
            lone.append(_revocation(stack, 1, 1)["seconds_to_all_working"])
            crowd.append(_revocation(stack, STAMPEDE_PROCESSES, STAMPEDE_THREADS))
            log(f"  consumer stampede: round {round_ + 1}/{profile.stampede_rounds}")
    finally:
        stack.joor.login_latency = 0.0
    lone_s = summary(lone)
    crowd_s = summary([c["seconds_to_all_working"] for c in crowd])
    return {
        "consumers": STAMPEDE_PROCESSES * STAMPEDE_THREADS,
        "processes": STAMPEDE_PROCESSES,
        "login_latency_s": STAMPEDE_LOGIN_LATENCY,
        "rounds": crowd,
        "max_joor_logins": max(c["joor_logins"] for c in crowd),
        "lone_consumer_s": lone_s,
        "all_working_s": crowd_s,
        "ratio_to_lone": crowd_s["median"] / lone_s["median"],
    }


def _revocation(stack: LocalStack, processes: int, threads: int) -> dict[str, Any]:
    """JOOR revokes every token while ``processes`` x ``threads`` consumers hold it; then all
    call the protected API at once."""
    time.sleep(1.1)  # the stored token is older than the minimum age
    stampede = Stampede(
        stack,
        stack.joor.api_url,
        processes=processes,
        threads=threads,
        extra_env={"AWS_ENDPOINT_URL": stack.moto.url},
    )
    stampede.start()
    stack.lambda_.reset()
    logins = stack.joor.logins
    stack.joor.revoke_all()
    result = stampede.go()
    if result.statuses != [200] * processes * threads:
        raise RuntimeError(f"stampede: not every consumer succeeded: {result}")
    counts = stack.lambda_.counts
    return {
        "joor_logins": stack.joor.logins - logins,
        "seconds_to_all_working": result.seconds_to_all_working,
        "invocations_run": counts.completed,
        "invocations_throttled": counts.throttled,
    }
