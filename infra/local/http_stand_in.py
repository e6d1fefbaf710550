"""What every local stand-in has in common: loopback, a free port, a clean stop, quiet handlers.

``HttpStandIn`` serves a ``QuietHandler`` subclass on ``127.0.0.1`` (a given port, or a free
one the system picks) from a daemon thread; each request's handler reaches the stand-in that
serves it as ``self.server.owner``. ``StartStop`` gives anything with ``start`` and ``stop``
the ``with`` form: moto server's process (moto_server.py) and the whole stack (stack.py) use it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on now (for a server that needs its port in advance)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class StartStop:
    """``with thing:`` starts it and stops it, whatever happens inside."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackServer[OwnerT](ThreadingHTTPServer):
    """A threading HTTP server on loopback whose handlers reach ``owner``."""

    daemon_threads = True

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], owner: OwnerT) -> None:
        super().__init__((LOOPBACK, port), handler)
        self.owner = owner


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 that logs nothing: bodies hold credentials and tokens, and tests
    read captured output."""

    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it: without it a keep-alive response sent as headers then
    # body waits ~40 ms for the client's delayed ACK (Nagle), and every reused connection pays it.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: see the class docstring."""

    def read_body(self) -> bytes:
        """The request's body (read even when unused, so that the connection can be reused)."""
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_body(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> None:
        """Answer ``status`` with ``headers`` (in their order), ``Content-Length`` and ``body``."""
        self.send_response(status)
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HttpStandIn(StartStop):
    """A stand-in's HTTP server: ``handler`` answers each request, from a daemon thread."""

    def __init__(self, handler: type[QuietHandler], port: int = 0) -> None:
        self._server = LoopbackServer(port, handler, self)
        # A short poll: stop() waits for it, and tests start and stop many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket: the port is free again."""
        self._server.shutdown()
        self._server.server_close()
