"""In-memory stand-ins for what a TokenReader talks to: the SSM and Lambda clients (the same
methods, answers and botocore errors as boto3's), a refresher that keeps the contract of
functions/token_refresher, and a clock that only moves when told. No sockets."""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import ClientError
from requests.adapters import BaseAdapter

from tests.leakwatch import WATCH

PARAMETER = "/joor/sandbox/access-token"
FUNCTION = "joor-token-refresher-sandbox-token-refresher"
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def function_timeout() -> int:
    """The refresher's Timeout in template.yaml: the reader's limits are set against it."""
    found = re.search(r"^\s+Timeout:\s*(\d+)\s*$", TEMPLATE.read_text(), re.MULTILINE)
    assert found, "template.yaml sets no function Timeout"
    return int(found.group(1))


def new_token() -> str:
    token = ".".join(secrets.token_urlsafe(n) for n in (18, 60, 30))
    WATCH.add_secrets(token)
    return token


def client_error(
    operation: str, code: str, message: str, status: int = 400, **extra: Any
) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **extra,
        },
        operation,
    )


class FakeClock:
    """Monotonic seconds; ``sleep`` moves it on at once and remembers how long was asked."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()
        self.on_sleep: Callable[[float], None] | None = None

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)


@dataclass
class Version:
    value: str
    written_at: float


class FakeSsm:
    """One SecureString parameter with its versions; ``get_parameter`` as boto3's SSM client."""

    def __init__(self, clock: FakeClock, name: str = PARAMETER) -> None:
        self.name = name
        self.clock = clock
        self.versions: list[Version] = []
        self.calls: list[str] = []
        self.errors: list[ClientError] = []  # raised by the next calls, in order
        self.gate: Callable[[], None] | None = None  # runs inside each call (to hold threads)
        self._lock = threading.Lock()

    def write(self, value: str | None = None) -> str:
        value = value or new_token()
        with self._lock:
            self.versions.append(Version(value, self.clock()))
        return value

    @property
    def version(self) -> int:
        return len(self.versions)

    def get_parameter(self, *, Name: str, WithDecryption: bool = False) -> dict[str, Any]:  # noqa: N803
        """The answer is taken when the call arrives; ``gate`` then holds it, as a slow network
        would hold an answer already given."""
        with self._lock:
            self.calls.append(Name)
            error = self.errors.pop(0) if self.errors else None
            if error is None:
                error, answer = self._answer(Name, WithDecryption)
        if self.gate is not None:
            self.gate()
        if error is not None:
            raise error
        return answer

    def _answer(self, selector: str, decrypt: bool) -> tuple[ClientError | None, dict[str, Any]]:
        assert decrypt, "a SecureString must be read WithDecryption"
        name, _, version = selector.partition(":")
        if name != self.name or not self.versions:
            return client_error("GetParameter", "ParameterNotFound", ""), {}
        number = int(version) if version else len(self.versions)
        if not 1 <= number <= len(self.versions):
            return client_error(
                "GetParameter", "ParameterVersionNotFound", f"{selector} not found"
            ), {}
        value = self.versions[number - 1].value
        return None, {
            "Parameter": {"Name": name, "Type": "SecureString", "Value": value, "Version": number}
        }


@dataclass
class FakeRefresher:
    """The refresher's contract for a consumer's event (see functions/token_refresher):
    already_replaced, rate_limited, or a JOOR login that writes a new version."""

    ssm: FakeSsm
    min_age: float = 300.0
    logins: int = 0

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        assert event.get("force") is True
        assert event.get("parameter") == self.ssm.name
        seen = event["seen_version"]
        current = self.ssm.version
        base = {
            "forced": True,
            "parameter": self.ssm.name,
            "expires_at": None,
            "seconds_left": None,
        }
        if current > seen:
            return {**base, "result": "skipped", "reason": "already_replaced", "version": current}
        age = self.ssm.clock() - self.ssm.versions[-1].written_at
        if age < self.min_age:
            return {
                **base,
                "result": "skipped",
                "reason": "rate_limited",
                "version": current,
                "retry_after_seconds": int(self.min_age - age) + 1,
            }
        self.logins += 1
        self.ssm.write()
        return {**base, "result": "refreshed", "reason": "rejected", "version": self.ssm.version}


@dataclass
class FakeLambda:
    """``invoke`` as boto3's Lambda client. Each call runs the next scripted answer, or the
    refresher: a dict is a summary, an exception is raised, "busy" answers 429, and a
    ("function_error", type, message) tuple is an unhandled function error."""

    refresher: FakeRefresher | None = None
    script: list[Any] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    gate: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
        event = json.loads(Payload)
        with self._lock:
            self.calls.append({"FunctionName": FunctionName, "InvocationType": InvocationType})
            self.events.append(event)
            step = self.script.pop(0) if self.script else None
        if self.gate is not None:
            self.gate()
        if step == "busy":
            raise client_error(
                "Invoke",
                "TooManyRequestsException",
                "Rate Exceeded.",
                429,
                Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            )
        if isinstance(step, Exception):
            raise step
        if isinstance(step, tuple) and step[0] == "function_error":
            body = {
                "errorType": step[1],
                "errorMessage": step[2],
                "requestId": "r-1",
                "stackTrace": ['  File "/var/task/app.py", line 1'],
            }
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
            }
        if isinstance(step, dict):
            summary = step
        else:
            assert self.refresher is not None, "nothing scripted and no refresher"
            summary = self.refresher.handle(event)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(summary).encode())}


class Entrants:
    """A gate for fakes: holds every caller until ``expected`` callers are inside, or until
    ``patience`` seconds have passed (then lets them go). With a correct single-flight only one
    caller ever gets in, so the wait runs out; without it, several get in at once, which the
    test then sees in the fake's call count."""

    def __init__(self, expected: int, patience: float = 0.3) -> None:
        self.expected = expected
        self.patience = patience
        self.inside = 0
        self.first_inside = threading.Event()
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.inside += 1
            self.first_inside.set()
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.inside >= self.expected, timeout=self.patience)


JOOR_API_URL = "https://atlas-sandbox.jooraccess.test/v4/orders"


class FakeJoorApi(BaseAdapter):
    """Answers 200 to a live token and 401 to any other; remembers what each request sent."""

    def __init__(self, live: Callable[[str], bool]) -> None:
        super().__init__()
        self.live = live
        self.received: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        header = request.headers.get("Authorization", "")
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        elif body is not None and not isinstance(body, bytes | str):
            body = b"".join(body)
        self.received.append({"authorization": header, "body": body, "kwargs": kwargs})
        token = header.removeprefix("Bearer ")
        response = requests.Response()
        response.status_code = 200 if header.startswith("Bearer ") and self.live(token) else 401
        response._content = (
            b'{"ok": true}' if response.status_code == 200 else b'{"error": "unauthorized"}'
        )
        response.raw = io.BytesIO(b"")
        response.request = request
        response.url = request.url or ""
        response.connection = self  # type: ignore[attr-defined]
        return response

    def close(self) -> None:
        pass
