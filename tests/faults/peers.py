"""Misbehaving network peers on loopback: a closed port, a port that never accepts, and a
server that only counts who reached it (to prove credentials did not follow a redirect)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
    return f"http://{LOOPBACK}:{port}/auth/"


class UnacceptingPort:
    """A listening socket whose accept queue is full: a new connection hangs in the handshake
    until the client's connect timeout, like a host that drops SYNs, without leaving loopback."""

    def __init__(self, probe_timeout: float = 0.3) -> None:
        self._listener = socket.socket()
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(0)
        self.port = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(64):
            filler = socket.socket()
            filler.settimeout(probe_timeout)
            try:
                filler.connect((LOOPBACK, self.port))
            except TimeoutError:
                filler.close()
                return  # the queue is full: the probe itself timed out at connect
            self._fillers.append(filler)
        self.close()
        raise RuntimeError("could not fill the accept queue of a loopback socket")

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/auth/"

    def connect_times_out(self, timeout: float) -> bool:
        """Check the property the fault relies on, with a fresh connection."""
        with socket.socket() as probe:
            probe.settimeout(timeout)
            try:
                probe.connect((LOOPBACK, self.port))
            except TimeoutError:
                return True
            return False

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()


class _CountingHandler(BaseHTTPRequestHandler):
    server: CountingServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _count(self) -> None:
        with self.server.lock:
            self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _count  # noqa: N815 - http.server's names


class CountingServer(ThreadingHTTPServer):
    """Where a redirect points: any request that arrives here would have carried credentials."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), _CountingHandler)
        self.hits = 0
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}/elsewhere/auth/"

    def __enter__(self) -> CountingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
