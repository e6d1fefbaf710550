"""How ``make bench``'s sections run what they time: each worker (benchmarks/workers/) in a
fresh process, with the environment Lambda would give the function, pointed at the local stack;
how many samples a run takes; and the summary of a series of samples.

Everything talks to loopback only: moto in server mode stands in for AWS (reached directly
through AWS_ENDPOINT_URL, without the fault proxy) and the local JOOR auth server for JOOR.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from infra.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
WORKERS = ROOT / "benchmarks" / "workers"
TEMPLATE = ROOT / "template.yaml"
# The function's memory when template.yaml cannot be read.
DECIDED_MEMORY_MB = 256


class Profile:
    """How many samples: the full run for the figures, the quick one for a smoke test."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.cold_rounds = 1 if quick else 21
        self.importtime_runs = 1 if quick else 7
        self.warm_iterations = 4 if quick else 150
        self.warm_warmup = 1 if quick else 10
        self.consumer_rounds = 2 if quick else 20
        self.consumer_calls = 1000 if quick else 20000
        self.stampede_rounds = 1 if quick else 5


def log(message: str) -> None:
    """Progress, on stderr: stdout carries the rendered figures."""
    print(message, file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict[str, float]:
    """A series of samples as its count, median, quartiles and extremes."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else ordered * 3
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p25": quartiles[0],
        "p75": quartiles[2],
        "min": ordered[0],
        "max": ordered[-1],
    }


def memory_limit() -> tuple[int, str]:
    """The function's MemorySize, and where it was read."""
    if TEMPLATE.exists():
        found = re.search(r"^\s*MemorySize:\s*(\d+)", TEMPLATE.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1)), "template.yaml MemorySize"
    return DECIDED_MEMORY_MB, "the decided MemorySize (no template.yaml found)"


def lambda_env(stack: LocalStack) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at the local servers."""
    drop = ("AWS_", "POWERTOOLS_", "PYTHON", "_X_AMZN", "LAMBDA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(stack.env(AWS_ENDPOINT_URL=stack.moto.url))
    env.update(
        AWS_CONFIG_FILE=os.devnull,  # no profile or SSO config from the workstation
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_LAMBDA_FUNCTION_NAME="TokenRefresherFunction",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory_limit()[0]),
        AWS_EXECUTION_ENV="AWS_Lambda_python3.13",
        POWERTOOLS_LOG_LEVEL="INFO",
    )
    return env


def run_worker(
    script: str, args: list[str], env: dict[str, str], python_flags: tuple[str, ...] = ()
) -> tuple[dict[str, Any], float, str]:
    """Run a worker in a fresh process; its figures, its wall time and its stderr.

    ``{out}`` among ``args`` stands for the file the worker writes its figures to.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = str(Path(tmp) / "figures.json")
        command = [sys.executable, *python_flags]
        command += [str(WORKERS / script), *(out if a == "{out}" else a for a in args)]
        started = time.perf_counter()
        # stdout is the function's log stream (JSON logs and EMF): discarded, as CloudWatch
        # would take it. stderr is read for -X importtime and for errors.
        done = subprocess.run(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join(done.stderr.splitlines()[-15:])
            raise RuntimeError(f"{script} {args[0]} failed ({done.returncode}):\n{tail}")
        return json.loads(Path(out).read_text()), wall, done.stderr


def cold(
    variant: str,
    env: dict[str, str],
    event: dict[str, Any] | None = None,
    *flags: str,
    importtime: bool = False,
    folder: str | None = None,
) -> tuple[dict[str, Any], float, str]:
    """One invocation of ``variant`` (workers/cold.py) in a fresh process.

    With ``folder``, the handler is loaded from there (a build artifact) under ``python -B``:
    like Lambda's read-only /var/task, nothing can be cached.
    """
    python_flags: tuple[str, ...] = ("-X", "importtime") if importtime else ()
    if folder is not None:
        flags = (*flags, "--folder", folder)
        python_flags = (*python_flags, "-B")
    args = [variant, "{out}", "--event", json.dumps(event or {}), *flags]
    return run_worker("cold.py", args, env, python_flags)
