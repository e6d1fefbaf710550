"""The consumer package in one process: its first read, and a cached token() against
Powertools' cached get_parameter, alternated.

    python benchmarks/workers/consumer.py OUT.json first-read
    python benchmarks/workers/consumer.py OUT.json cached ROUNDS CALLS

``first-read`` builds a TokenReader and calls token() once (the orchestrator counts the AWS
calls at moto). ``cached`` warms both caches, then times ROUNDS blocks of CALLS calls each,
alternating which goes first; the figure is seconds per call, per block.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

PARAMETER = "/joor/sandbox/access-token"


def per_call(call: object, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()  # type: ignore[operator]
    return (time.perf_counter() - started) / calls


def main() -> None:
    out, mode = sys.argv[1], sys.argv[2]
    from joor_token import TokenReader

    reader = TokenReader(PARAMETER, max_age_seconds=300)
    figures: dict[str, object] = {}
    if mode == "first-read":
        started = time.perf_counter()
        reader.token()
        figures["first_read_s"] = time.perf_counter() - started
    else:
        rounds, calls = int(sys.argv[3]), int(sys.argv[4])
        from aws_lambda_powertools.utilities import parameters

        def powertools() -> str:
            return parameters.get_parameter(PARAMETER, decrypt=True, max_age=300)

        assert reader.token() == powertools()  # both caches filled, with the same token
        ours, theirs = [], []
        for i in range(rounds):
            if i % 2:
                ours.append(per_call(reader.token, calls))
                theirs.append(per_call(powertools, calls))
            else:
                theirs.append(per_call(powertools, calls))
                ours.append(per_call(reader.token, calls))
        figures.update(reader_s=ours, powertools_s=theirs, calls_per_round=calls)
    Path(out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
