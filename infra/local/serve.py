"""``make local``: the local stack in the foreground, for a consumer of your own.

Starts moto server (behind the AWS fault proxy), the JOOR stand-in and the Lambda Invoke
stand-in running the real refresher, all on loopback; stores made-up JOOR credentials in the
secret; invokes the refresher once so that a first token exists; prints the ``export`` lines a
consumer process needs (and writes them to ``<state dir>/env`` for ``source``); then stays up,
printing one line per refresher invocation, JOOR login and revocation, until Ctrl-C.

``python -m infra.local.serve revoke`` (``make local-revoke``), from another shell: JOOR stops
accepting every token issued so far, through the JOOR stand-in's loopback-only admin path.

The state directory (``--state-dir``, default ``.local-stack``; ``make local`` passes
``LOCAL_DIR``) holds ``env`` and ``stack.json`` while the stack runs; both go when it stops.
"""

from __future__ import annotations

import argparse
import json
import queue
import shlex
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.joor_auth_server import ADMIN_REVOKE_PATH
from infra.local.lambda_runtime import RefresherHandler
from infra.local.stack import FUNCTION_NAME, LocalStack

DEFAULT_STATE_DIR = Path(".local-stack")
# Deployed, a rejected token is replaced only once it is 300 s old; here tokens are seconds old
# when you first revoke them, so the local refresher waits 1 s (--rejected-token-min-age).
DEFAULT_MIN_AGE_SECONDS = 1


@dataclass(frozen=True)
class _Invocation:
    event: Any
    result: Any
    error: BaseException | None


class _RecordingHandler:
    """The refresher's handler, each invocation's event and outcome handed to ``seen``.

    What an invocation prints goes to its own log (the Lambda stand-in routes it), so the
    lines for the terminal are printed by the main thread, from the queue.
    """

    def __init__(self, seen: queue.Queue[_Invocation]) -> None:
        self._inner = RefresherHandler()
        self._seen = seen

    def __call__(self, event: Any, context: Any) -> Any:
        try:
            result = self._inner(event, context)
        except BaseException as error:
            self._seen.put(_Invocation(event, None, error))
            raise
        self._seen.put(_Invocation(event, result, None))
        return result

    def recycle(self) -> None:
        self._inner.recycle()


def export_lines(env: dict[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def _now() -> str:
    return time.strftime("%H:%M:%S")


def _say(text: str) -> None:
    print(f"[{_now()}] {text}", flush=True)


def _describe(invocation: _Invocation, logins: int) -> str:
    event = json.dumps(invocation.event, sort_keys=True)
    if invocation.error is not None:
        outcome = f"failed: {type(invocation.error).__name__}: {invocation.error}"
    elif isinstance(invocation.result, dict):
        summary = invocation.result
        outcome = (
            f"{summary.get('result')} ({summary.get('reason')}), version {summary.get('version')}"
        )
    else:
        outcome = f"returned {invocation.result!r}"
    return f"refresher invoked with {event}: {outcome}; JOOR logins so far: {logins}"


class _Watch:
    """What changed at JOOR since the last look: logins made, tokens revoked."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self.logins = stack.joor.logins
        self.revoked = self._revoked()

    def _revoked(self) -> int:
        state = self._stack.joor.state
        with state.lock:
            return sum(1 for record in state.issued if record.revoked)

    def changes(self) -> list[str]:
        lines = []
        revoked = self._revoked()
        if revoked > self.revoked:
            lines.append(
                f"JOOR revoked {revoked - self.revoked} live token(s): the next call with one "
                "gets HTTP 401"
            )
            self.revoked = revoked
        logins = self._stack.joor.logins
        if logins > self.logins:
            lines.append(f"JOOR login: a new token issued; JOOR logins so far: {logins}")
            self.logins = logins
        return lines


def serve(state_dir: Path, min_age: int, login_latency: float) -> int:
    stop = threading.Event()

    def request_stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    seen: queue.Queue[_Invocation] = queue.Queue()
    print("Starting moto server, the JOOR stand-in and the refresher's Lambda stand-in...")
    stack = LocalStack(login_latency=login_latency, lambda_handler=_RecordingHandler(seen))
    stack.start()
    try:
        stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS=str(min_age))
        stack.put_secret()
        first = _first_token(stack)
        watch = _Watch(stack)
        env = stack.consumer_env()
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "env").write_text("\n".join(export_lines(env)) + "\n", encoding="utf-8")
        (state_dir / "stack.json").write_text(
            json.dumps({"joor_admin_url": stack.joor.base_url + ADMIN_REVOKE_PATH}),
            encoding="utf-8",
        )
        print(f"The first token is stored: {first}.")
        print(
            f"The refresher replaces a rejected token once it is {min_age} s old (deployed: 300 s)."
        )
        print()
        print("# A consumer needs these (also in " + str(state_dir / "env") + "):")
        for line in export_lines(env):
            print(line)
        print()
        print("Revoke every live token from another shell: make local-revoke")
        print("Ctrl-C stops everything.", flush=True)
        while not stop.is_set():
            _drain(seen, stack)
            for line in watch.changes():
                _say(line)
            stop.wait(0.2)
        _drain(seen, stack)
    finally:
        for name in ("env", "stack.json"):
            (state_dir / name).unlink(missing_ok=True)
        stack.stop()
    print("Stopped: moto server, the JOOR stand-in and the Lambda stand-in.", flush=True)
    return 0


def _drain(seen: queue.Queue[_Invocation], stack: LocalStack) -> None:
    while True:
        try:
            invocation = seen.get_nowait()
        except queue.Empty:
            return
        _say(_describe(invocation, stack.joor.logins))


def _first_token(stack: LocalStack) -> str:
    """Invoke the refresher through the Lambda stand-in, as the schedule would."""
    from botocore.config import Config

    client = stack.client("lambda", Config(retries={"total_max_attempts": 1}, read_timeout=120))
    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RuntimeError(f"The first refresh failed: {payload.get('errorMessage')}")
    return f"{payload['parameter']}, version {payload['version']}"


def revoke(state_dir: Path) -> int:
    state_file = state_dir / "stack.json"
    try:
        url = json.loads(state_file.read_text(encoding="utf-8"))["joor_admin_url"]
    except (OSError, ValueError, KeyError):
        print(
            f"No local stack is running ({state_file} is missing): start it with make local",
            file=sys.stderr,
        )
        return 1
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError) as error:
        print(
            f"The local JOOR stand-in at {url} did not answer ({error}): is make local still "
            "running?",
            file=sys.stderr,
        )
        return 1
    print(f"JOOR revoked {answer['revoked']} live token(s); JOOR logins so far: {answer['logins']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.serve",
        description="The local stack in the foreground for a consumer of your own (make local); "
        "'revoke' makes JOOR revoke every live token (make local-revoke).",
    )
    parser.add_argument("command", nargs="?", choices=["serve", "revoke"], default="serve")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the export lines and the stack's admin address are kept while it runs",
    )
    parser.add_argument(
        "--rejected-token-min-age",
        type=int,
        default=DEFAULT_MIN_AGE_SECONDS,
        help="the refresher's REJECTED_TOKEN_MIN_AGE_SECONDS (default 1; deployed 300)",
    )
    parser.add_argument(
        "--login-latency", type=float, default=0.3, help="seconds each JOOR login takes"
    )
    args = parser.parse_args(argv)
    if args.command == "revoke":
        return revoke(args.state_dir)
    return serve(args.state_dir, args.rejected_token_min_age, args.login_latency)


if __name__ == "__main__":
    sys.exit(main())
