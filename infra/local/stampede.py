"""Many consumers at once: threads in several processes, each process with its own TokenReader,
all calling JOOR's protected stand-in with JoorBearerAuth. Used by the demo, the tests and the
bench.

Each worker process reads the token, says "ready", and waits. The caller then revokes every
token at JOOR (or not) and says "go": every thread of every worker sends its request at once,
gets the 401, and the readers renew. Each worker prints one JSON line: per consumer, the final
HTTP status, whether it renewed, and when (``time.time()``) it had its answer.

    python -m infra.local.stampede --threads 5 --url http://127.0.0.1:PORT/v4/local/protected

(with the environment of ``LocalStack.consumer_env()``; it waits for "go" on stdin).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Consumer:
    process: int
    status: int
    renewed: bool
    done_at: float
    error: str | None


@dataclass(frozen=True)
class StampedeResult:
    consumers: list[Consumer]
    go_at: float
    outputs: list[str]  # each worker's stdout and stderr, for leak scans

    @property
    def statuses(self) -> list[int]:
        return [c.status for c in self.consumers]

    @property
    def seconds_to_all_working(self) -> float:
        """From "go" until the last consumer had its answer."""
        return max(c.done_at for c in self.consumers) - self.go_at


class Stampede:
    """``processes`` worker processes of ``threads`` consumers each, against ``url``."""

    def __init__(
        self,
        stack: LocalStack,
        url: str,
        *,
        processes: int = 4,
        threads: int = 5,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.stack = stack
        self.url = url
        self.processes = processes
        self.threads = threads
        self.extra_env = extra_env or {}
        self._workers: list[subprocess.Popen[str]] = []

    def _env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JOOR_"))}
        return {
            **keep,
            **self.stack.consumer_env(),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.extra_env,
        }

    def start(self, timeout: float = 60.0) -> None:
        """Start the workers and wait until each holds the current token."""
        command = [sys.executable, "-m", "infra.local.stampede"]
        command += ["--threads", str(self.threads), "--url", self.url]
        env = self._env()
        for _ in range(self.processes):
            self._workers.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            assert worker.stdout is not None
            line = _readline(worker.stdout, deadline)
            if line.strip() != "ready":
                self.stop()
                raise RuntimeError(f"a stampede worker did not get ready: {line!r}")

    def go(self, timeout: float = 300.0) -> StampedeResult:
        """Release every consumer at once; wait for all of them."""
        go_at = time.time()
        for worker in self._workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        consumers: list[Consumer] = []
        outputs: list[str] = []
        for number, worker in enumerate(self._workers):
            out, err = worker.communicate(timeout=timeout)
            outputs += [out, err]
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if worker.returncode != 0 or not lines:
                raise RuntimeError(f"stampede worker {number} failed: {err[-2000:]}")
            for entry in json.loads(lines[-1])["consumers"]:
                consumers.append(Consumer(process=number, **entry))
        self._workers.clear()
        return StampedeResult(consumers, go_at, outputs)

    def stop(self) -> None:
        for worker in self._workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
        self._workers.clear()


def _readline(stream: IO[str], deadline: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(max(0.0, deadline - time.monotonic()))
    return box[0] if box else "(no answer)"


def _worker(threads: int, url: str) -> int:
    import requests

    from joor_token import JoorBearerAuth, TokenReader

    reader = TokenReader()
    reader.token()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    barrier = threading.Barrier(threads)
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def consume() -> None:
        barrier.wait()
        status, renewed, error = 0, False, None
        try:
            with requests.Session() as session:
                response = session.get(url, auth=JoorBearerAuth(reader), timeout=150)
            status, renewed = response.status_code, bool(response.history)
        except Exception as caught:  # noqa: BLE001 - reported to the parent, which decides
            error = f"{type(caught).__name__}: {caught}"
        with lock:
            results.append(
                {"status": status, "renewed": renewed, "done_at": time.time(), "error": error}
            )

    workers = [threading.Thread(target=consume) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    print(json.dumps({"consumers": results}), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    return _worker(args.threads, args.url)


if __name__ == "__main__":
    sys.exit(main())
