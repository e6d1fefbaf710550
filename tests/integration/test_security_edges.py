"""Where credentials may go and what the refresher will read: TLS, redirects, body size.

Redirects, forged log lines and oversized bodies through the whole handler are rows of the
fault matrix (tests/faults); these tests look closer at the adapter, over real sockets.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
import requests

from refresher.adapters.joor_auth import JoorAuthEndpoint
from refresher.adapters.system_clock import SystemClock
from refresher.domain.errors import EndpointUnavailableError, InvalidTokenResponseError
from refresher.domain.models import Credentials
from tests.leakwatch import WATCH
from tests.tls import self_signed_certificate

# The most of an answer the refresher reads: 64 KiB, far more than any token response.
MAX_BODY_BYTES = 64 * 1024

pytestmark = pytest.mark.integration

CREDENTIALS = Credentials(
    client_id="tls-test-client-id",
    client_secret="tls-test-client-secret-0123456789",
    username="tls-user@example.com",
    password="tls-test-password-0123456789",
    source="joor/test/credentials",
)
WATCH.add_secrets(CREDENTIALS.client_secret, CREDENTIALS.password)


def _read_request(conn: socket.socket) -> bytes:
    """Headers and the Content-Length body, however many reads (TLS records) they take.

    Closing with request bytes unread would make the kernel reset the connection, and the
    client would see a reset instead of the answer.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class RawServer:
    """A loopback TCP server that records what it received and answers with ``reply``."""

    def __init__(self, reply: bytes = b"", context: ssl.SSLContext | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(10)
        self.port = self._listener.getsockname()[1]
        self._context = context
        self.reply = reply
        self.received = b""
        self.sent = 0
        self.body_size = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        try:
            if self._context is not None:
                conn = self._context.wrap_socket(conn, server_side=True)
            conn.settimeout(5)
            self.received = _read_request(conn)
            self._answer(conn)
        except (OSError, ssl.SSLError):
            pass  # the client gave up: exactly what some tests expect
        finally:
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        if self.body_size:
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(self.body_size).encode() + b"\r\n\r\n"
            )
            conn.sendall(head)
            chunk = b" " * 65536
            while self.sent < self.body_size:
                conn.sendall(chunk)
                self.sent += len(chunk)
        elif self.reply:
            conn.sendall(self.reply)

    def join(self) -> None:
        self._thread.join(timeout=15)
        self._listener.close()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def _ok_reply() -> bytes:
    body = b'{"access_token": "abc.def.ghi", "expires_in": 36000, "token_type": "Bearer"}'
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def _tls_server(certificate: tuple[Path, Path]) -> RawServer:
    """A RawServer answering a token over TLS with the test's self-signed certificate."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return RawServer(_ok_reply(), context)


def test_an_untrusted_certificate_is_refused_and_no_credentials_are_sent(
    certificate: tuple[Path, Path],
) -> None:
    server = _tls_server(certificate)
    endpoint = JoorAuthEndpoint(f"https://127.0.0.1:{server.port}/auth/", SystemClock())

    with pytest.raises(EndpointUnavailableError, match=r"TLS verification .* failed"):
        endpoint.request_token(CREDENTIALS, timeout=5)
    server.join()

    assert server.received == b"", "nothing may reach a server whose certificate failed"


def test_the_same_server_is_reachable_when_its_certificate_is_trusted(
    certificate: tuple[Path, Path],
) -> None:
    # The control: the refusal above is the certificate check, not a broken server.
    cert, _ = certificate
    server = _tls_server(certificate)

    response = requests.post(
        f"https://127.0.0.1:{server.port}/auth/", data=b"x", verify=str(cert), timeout=5
    )
    server.join()

    assert response.status_code == 200
    assert server.received.startswith(b"POST /auth/")


def test_a_ca_bundle_from_the_environment_does_not_make_an_untrusted_server_trusted(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, _ = certificate
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(cert))
    server = _tls_server(certificate)
    endpoint = JoorAuthEndpoint(f"https://127.0.0.1:{server.port}/auth/", SystemClock())

    with pytest.raises(EndpointUnavailableError, match="TLS verification"):
        endpoint.request_token(CREDENTIALS, timeout=5)
    server.join()

    assert server.received == b""


def test_a_huge_body_is_not_read_beyond_the_limit() -> None:
    server = RawServer()
    server.body_size = 200 * 1024 * 1024  # 200 MB announced and offered
    endpoint = JoorAuthEndpoint(f"http://127.0.0.1:{server.port}/auth/", SystemClock())

    with pytest.raises(InvalidTokenResponseError, match=f"larger than {MAX_BODY_BYTES} bytes"):
        endpoint.request_token(CREDENTIALS, timeout=10)
    server.join()

    # The server could push only what the socket buffers held once the client stopped.
    assert server.sent < 32 * 1024 * 1024


def test_a_redirect_is_reported_and_its_target_gets_nothing() -> None:
    target = RawServer(_ok_reply())
    redirect = (
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:"
        + str(target.port).encode()
        + b"/auth/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    server = RawServer(redirect)
    endpoint = JoorAuthEndpoint(f"http://127.0.0.1:{server.port}/auth/", SystemClock())

    with pytest.raises(InvalidTokenResponseError, match="it was not followed"):
        endpoint.request_token(CREDENTIALS, timeout=5)
    server.join()

    assert server.received.startswith(b"POST /auth/")
    assert target.received == b""
    target._listener.close()
