"""The README's first five minutes, run as written: ``make local`` in one process, a Python and
a Node.js consumer of one's own in others (installed and started with the README's commands,
from the README's code), ``make local-revoke`` from another, and both consumers recover with
one JOOR login; Ctrl-C then stops the stack without a traceback."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.leakwatch import WATCH
from tests.processes import consumer_env, run_process

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WAIT = 180.0


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Your first five minutes")
    return text[start : text.index("\n## ", start)]


def code_blocks(section: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)


def block(language: str, containing: str) -> str:
    found = [code for lang, code in code_blocks(readme_section()) if lang == language]
    found = [code for code in found if containing in code]
    assert len(found) == 1, (
        f"the README's section has no single {language} block with {containing!r}"
    )
    return found[0]


class Output:
    """A process's lines, read by a thread as they come; wait for one that matches."""

    def __init__(self, process: subprocess.Popen[str], name: str) -> None:
        self.process = process
        self.name = name
        self.lines: list[str] = []
        self._cond = threading.Condition()
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], since: int = 0) -> int:
        """The index of the first line from ``since`` on that matches."""
        deadline = time.monotonic() + WAIT
        with self._cond:
            while True:
                for index in range(since, len(self.lines)):
                    if predicate(self.lines[index]):
                        return index
                if self.process.poll() is not None and not self._thread.is_alive():
                    pytest.fail(f"{self.name} ended: {self.text()[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{self.name}: no such line in {WAIT:g} s: {self.text()[-3000:]}")
                self._cond.wait(min(left, 1.0))

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


def start(command: list[str], cwd: Path, env: dict[str, str], name: str) -> Output:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: Ctrl-C goes to it alone
    )
    return Output(process, name)


def stop(output: Output, sig: int = signal.SIGTERM) -> int:
    process = output.process
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(timeout=10)
    finally:
        WATCH.record(f"{output.name} output", output.text())


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """A developer's shell with nothing of AWS or JOOR set, and make local's state kept in tmp."""
    # Nothing of an outer make either (make test runs this test through make).
    return consumer_env(
        drop=("MAKE", "MFLAGS"),
        LOCAL_DIR=str(tmp_path / "state"),
        PYTHONDONTWRITEBYTECODE="1",
    )


def test_the_readme_s_five_minutes_in_python_and_node_recover_from_a_revocation_with_one_login(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    make, node, npm = shutil.which("make"), shutil.which("node"), shutil.which("npm")
    assert make, "make is needed"
    assert node, "Node.js is needed"
    assert npm, "npm is needed"
    processes: list[Output] = []
    stack = start([make, "local"], ROOT, clean_env, "make local")
    processes.append(stack)
    try:
        # Shell 1: make local prints the export lines, then says how to stop it.
        ready = stack.wait_for(lambda line: line == "Ctrl-C stops everything.")
        exports = [line for line in stack.lines[:ready] if line.startswith("export ")]
        pasted = dict(shlex.split(line)[1].split("=", 1) for line in exports)
        assert set(pasted) == {
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_LAMBDA",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "JOOR_TOKEN_PARAMETER",
            "JOOR_TOKEN_REFRESHER_FUNCTION",
            "JOOR_API_URL",
        }
        state = Path(clean_env["LOCAL_DIR"])
        assert (state / "env").read_text().splitlines() == exports

        # Shells 2: the export lines pasted, REPO set, the README's files and commands.
        shell = {**clean_env, **pasted, "REPO": str(ROOT)}
        consumers = {
            "python consumer": ("consumer.py", block("python", "# consumer.py"), "python3 -m venv"),
            "node consumer": ("consumer.mjs", block("js", "// consumer.mjs"), "npm pack"),
        }
        for name, (filename, code, command) in consumers.items():
            folder = tmp_path / name.replace(" ", "-")
            folder.mkdir()
            (folder / filename).write_text(code)
            script = block("bash", command)
            consumer = start(["bash", "-e", "-c", script], folder, shell, name)
            processes.append(consumer)
        python, nodejs = processes[1], processes[2]
        for consumer in (python, nodejs):
            consumer.wait_for(lambda line: line == "HTTP 200")
        logins_line = stack.wait_for(lambda line: "JOOR logins so far: 1" in line)
        assert logins_line > ready  # the first token's login, and nothing since

        # Shell 3: the revocation.
        seen = {c.name: len(c.lines) for c in (python, nodejs)}
        revoked = run_process([make, "local-revoke"], "make local-revoke", cwd=ROOT, env=clean_env)
        assert revoked.stdout.strip() == "JOOR revoked 1 live token(s); JOOR logins so far: 1"

        # Both consumers get a 401, renew, and call again with success.
        python.wait_for(lambda line: line == "HTTP 401 then 200", since=seen["python consumer"])
        # Its renewal: the version the refresher named, or the one that appeared while the
        # refresher was busy with the Python consumer's report.
        renewed = nodejs.wait_for(
            lambda line: line.startswith(
                (
                    "Token version 2 of /joor/sandbox/access-token ready",
                    "Version 2 of /joor/sandbox/access-token appeared while the refresher was busy",
                )
            ),
            since=seen["node consumer"],
        )
        nodejs.wait_for(lambda line: line == "HTTP 200", since=renewed)
        # A few more calls each: still working, and no further login.
        for consumer in (python, nodejs):
            last = len(consumer.lines)
            consumer.wait_for(lambda line: line.startswith("HTTP 200"), since=last)
            consumer.wait_for(lambda line: line.startswith("HTTP 200"), since=last + 1)
        logins = [line for line in stack.lines if "JOOR login:" in line]
        assert logins == [logins[0]]
        assert logins[0].endswith("JOOR login: a new token issued; JOOR logins so far: 2")
        assert not any("HTTP 401" in line and "200" not in line for line in python.lines)
        assert not any(line.startswith("HTTP 401") for line in nodejs.lines)
    finally:
        for consumer in processes[1:]:
            stop(consumer)
        # Ctrl-C: SIGINT to make local's process group, as a terminal sends it.
        code = stop(stack, signal.SIGINT)
    # The Python process ends with 0; make itself then ends by the SIGINT it also received, as
    # a shell expects of Ctrl-C (GNU make re-raises it), saying nothing more.
    assert code in (0, -signal.SIGINT), stack.text()[-3000:]
    assert stack.lines[-1] == "Stopped: moto server, the JOOR stand-in and the Lambda stand-in."
    assert "Traceback" not in stack.text()
    assert not (Path(clean_env["LOCAL_DIR"]) / "env").exists()
