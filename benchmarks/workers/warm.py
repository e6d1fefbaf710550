"""Warm invocations in one process: the handler and the bare floor, alternated.

    python benchmarks/workers/warm.py OUT.json ITERATIONS [WARMUP]

Each iteration times one handler run and one floor run, in alternating order so that
neither always goes first. Forced refreshes and fresh-token runs are separate series.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions" / "token_refresher"))
sys.path.insert(0, str(ROOT))

import app  # noqa: E402
from benchmarks.baselines.bare_calls import BareCalls  # noqa: E402


class Context:
    function_name = "TokenRefresherFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:TokenRefresherFunction"

    def __init__(self, *, operator: bool = False) -> None:
        self.aws_request_id = str(uuid.uuid4())
        if operator:  # through the operator alias: forced runs outside the login budget
            self.invoked_function_arn += ":operator"
        self._deadline = time.monotonic() + 90

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


def series(handler_call: object, floor_call: object, iterations: int, warmup: int) -> dict:
    for _ in range(warmup):
        timed(handler_call)
        timed(floor_call)
    handler, floor = [], []
    for i in range(iterations):
        if i % 2:
            handler.append(timed(handler_call))
            floor.append(timed(floor_call))
        else:
            floor.append(timed(floor_call))
            handler.append(timed(handler_call))
    return {"handler_s": handler, "floor_s": floor}


def main() -> None:
    out, iterations = sys.argv[1], int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    bare = BareCalls()

    def forced() -> None:
        result = app.lambda_handler({"force": True}, Context(operator=True))
        assert result["result"] == "refreshed", result

    def fresh() -> None:
        result = app.lambda_handler({}, Context())
        assert result["result"] == "skipped", result

    figures = {
        "forced_refresh": series(forced, bare.forced_refresh, iterations, warmup),
        # The forced runs leave a token with 10 h to live: every run below finds it fresh.
        "fresh_token": series(fresh, bare.fresh_run, iterations, warmup),
    }
    Path(out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
