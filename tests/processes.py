"""Processes the tests start: run to their end with what they print handed to the leak watch,
or started as a consumer that waits for the word to go."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.leakwatch import WATCH

# The end of a failed process's output that a test failure shows.
TAIL = 3000


def consumer_env(*, drop: tuple[str, ...] = (), **variables: str) -> dict[str, str]:
    """This process's environment without its AWS, JOOR and Python settings (nor those that
    start with one of ``drop``), with no AWS config file, credentials file or instance metadata
    to fall back on, and then ``variables``: a process started with it knows only what it is
    given."""
    dropped = ("AWS_", "JOOR_", "PYTHON", *drop)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return {
        **keep,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **variables,
    }


def run_process(
    argv: Sequence[str],
    what: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a process to its end; what it printed goes to the leak watch under ``what``. With
    ``check``, the test fails with the end of that output unless the process exits 0."""
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    WATCH.record(what, done.stdout + done.stderr)
    if check:
        assert done.returncode == 0, (
            f"{what} exited {done.returncode}:\n{done.stdout[-TAIL:]}\n{done.stderr[-TAIL:]}"
        )
    return done


def start_consumer(
    argv: Sequence[str], what: str, env: dict[str, str], *, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start a consumer that reads the token, prints "ready" and then waits for a line on its
    stdin; the test fails with its error output if it does not get ready."""
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline().strip()
    if ready != "ready":
        process.kill()
        out, err = process.communicate()
        WATCH.record(what, ready + out + err)
        pytest.fail(f"{what} did not start: {ready!r} {err[-TAIL:]}")
    return process


def go(process: subprocess.Popen[str]) -> None:
    """Tell a consumer started by ``start_consumer`` to go on."""
    assert process.stdin is not None
    process.stdin.write("go\n")
    process.stdin.flush()


def finish(process: subprocess.Popen[str], what: str, timeout: float = 180) -> str:
    """Wait for a consumer's end and return what it printed; the leak watch gets its output,
    and the test fails unless it exits 0."""
    out, err = process.communicate(timeout=timeout)
    WATCH.record(what, out + err)
    assert process.returncode == 0, f"{what} exited {process.returncode}: {err[-TAIL:]}"
    return out
