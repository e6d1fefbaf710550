"""An HTTP proxy in front of moto server that makes AWS misbehave on demand.

AWS's JSON protocol (Secrets Manager, SSM, KMS) names the operation in ``X-Amz-Target``.
REST protocols (Lambda) name it by method and path; the proxy finds the operation in
botocore's service model, so both are keyed alike: ``AmazonSSM.PutParameter``,
``lambda.GetAccountSettings``. A queued fault for an operation answers it with an AWS-shaped
error instead of forwarding, so botocore sees exactly what a real throttle, denial or KMS
refusal looks like; a queued answer returns a canned success, for what moto does not serve.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.exceptions import UnknownServiceError

from infra.local.http_stand_in import HttpStandIn, LoopbackServer, QuietHandler


@dataclass(frozen=True)
class AwsFault:
    operation: str  # e.g. "AmazonSSM.PutParameter" or "secretsmanager.GetSecretValue"
    code: str  # e.g. "ThrottlingException"
    message: str = "injected by the local fault proxy"
    status: int = 400
    times: int = 1  # how many matching requests it answers
    # AWS validation errors quote what was sent: "{request.Value}" in ``message`` is replaced
    # by that field of the request, to prove the refresher redacts it.


@dataclass(frozen=True)
class AwsAnswer:
    """A canned successful answer, e.g. for an operation moto does not implement."""

    operation: str  # e.g. "lambda.GetAccountSettings"
    body: dict[str, Any]
    status: int = 200
    times: int = 1


def _signing_service(authorization: str) -> str:
    """The service of a SigV4 signature: Credential=KEY/DATE/REGION/SERVICE/aws4_request."""
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", authorization)
    return match.group(1) if match else ""


@functools.cache
def _rest_routes(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(method, path pattern, operation name) of each operation of a REST service."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http.get("requestUri", "/").split("?", 1)[0]
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        # Operations told apart only by their query string share a route: the first wins.
        routes.append((http.get("method", "POST"), re.compile(pattern.rstrip("/") + "/?"), name))
    return tuple(routes)


def operation_of(method: str, path: str, headers: Any) -> str:
    """``X-Amz-Target`` for JSON protocols, ``service.Operation`` for REST ones, else ""."""
    target = str(headers.get("X-Amz-Target", ""))
    if target:
        return target
    service = _signing_service(str(headers.get("Authorization", "")))
    if not service:
        return ""
    route = path.split("?", 1)[0]
    for route_method, pattern, name in _rest_routes(service):
        if route_method == method and pattern.fullmatch(route):
            return f"{service}.{name}"
    return ""


class _Handler(QuietHandler):
    server: LoopbackServer[AwsFaultProxy]

    def _relay(self) -> None:
        proxy = self.server.owner
        body = self.read_body()
        target = operation_of(self.command, self.path, self.headers)
        if target:
            proxy.seen[target] += 1
        fault = proxy.take_fault(target)
        if isinstance(fault, AwsAnswer):
            data = json.dumps(fault.body).encode()
            self.send_body(fault.status, data, {"Content-Type": "application/json"})
            return
        if fault is not None:
            data = json.dumps(
                {"__type": fault.code, "message": _echo(fault.message, body)}
            ).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": fault.code}
            self.send_body(fault.status, data, headers)
            return
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")
        }
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        dropped = ("connection", "transfer-encoding", "content-length", "server", "date")
        kept = [(n, v) for n, v in response.getheaders() if n.lower() not in dropped]
        self.send_body(response.status, data, kept)
        upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815 - http.server's names


def _echo(message: str, body: bytes) -> str:
    if "{request." not in message:
        return message
    try:
        fields = json.loads(body)
    except ValueError:
        return message
    for name, value in fields.items() if isinstance(fields, dict) else ():
        message = message.replace("{request." + name + "}", str(value))
    return message


class AwsFaultProxy(HttpStandIn):
    """The proxy on a free loopback port, forwarding to ``upstream`` (moto server's URL)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_Handler)
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._faults: deque[AwsFault | AwsAnswer] = deque()
        self._remaining: dict[int, int] = {}
        # Requests that reached the proxy, by operation (faulted ones included).
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take_fault(self, target: str) -> AwsFault | AwsAnswer | None:
        """The queued fault or answer for this operation, counted; None to forward."""
        with self._lock:
            for fault in self._faults:
                if fault.operation == target:
                    left = self._remaining.get(id(fault), fault.times) - 1
                    self._remaining[id(fault)] = left
                    if left <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def inject(self, *faults: AwsFault | AwsAnswer) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._remaining.clear()
            self.seen.clear()
