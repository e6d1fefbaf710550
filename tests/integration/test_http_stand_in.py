"""The local stand-ins' common server: loopback on a free or given port, a clean stop, ``with``."""

from __future__ import annotations

import json
import secrets
import socket

import pytest
import requests

from infra.local.http_stand_in import HttpStandIn, LoopbackServer, QuietHandler, free_port
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration


class _Greeter(QuietHandler):
    server: LoopbackServer[_GreetingStandIn]

    def do_POST(self) -> None:  # noqa: N802 - http.server's names
        name = self.read_body().decode()
        body = json.dumps({"greeting": f"{self.server.owner.greeting}, {name}"}).encode()
        self.send_body(201, body, [("Content-Type", "application/json"), ("X-Twice", "1")])


class _GreetingStandIn(HttpStandIn):
    def __init__(self, port: int = 0) -> None:
        self.greeting = "hello"
        super().__init__(_Greeter, port)


def _post(url: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    response = requests.post(url, data=body, timeout=5)
    return response.status_code, dict(response.headers), response.content


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_it_serves_on_a_free_loopback_port_and_its_handler_reaches_the_stand_in() -> None:
    with _GreetingStandIn() as stand_in:
        status, headers, body = _post(stand_in.url, b"Ada")

    assert stand_in.url == f"http://127.0.0.1:{stand_in.port}"
    assert stand_in.port > 0
    assert status == 201
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(body))
    assert json.loads(body) == {"greeting": "hello, Ada"}


def test_it_listens_on_the_port_it_is_given() -> None:
    port = free_port()

    with _GreetingStandIn(port) as stand_in:
        assert stand_in.port == port
        assert _listening(port)


def test_leaving_the_with_block_frees_the_port() -> None:
    with _GreetingStandIn() as stand_in:
        port = stand_in.port
        assert _listening(port)

    assert not _listening(port)
    # Free means another server can take it at once.
    with _GreetingStandIn(port) as again:
        assert _post(again.url, b"Grace")[0] == 201


def test_a_failure_inside_the_with_block_still_stops_the_server() -> None:
    stand_in = _GreetingStandIn()
    with pytest.raises(RuntimeError, match="inside"), stand_in:
        raise RuntimeError("inside")

    assert not _listening(stand_in.port)


def test_it_prints_nothing_for_the_requests_it_answers(capfd: pytest.CaptureFixture[str]) -> None:
    # BaseHTTPRequestHandler writes a line per request to stderr; a body may hold a secret.
    secret = secrets.token_urlsafe(24)
    WATCH.add_secrets(secret)
    with _GreetingStandIn() as stand_in:
        _post(stand_in.url, secret.encode())

    captured = capfd.readouterr()
    WATCH.record("http stand-in output", captured.out + captured.err)
    assert captured.out == ""
    assert captured.err == ""
