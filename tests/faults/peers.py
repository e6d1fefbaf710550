"""Misbehaving network peers on loopback: a closed port, a port that never accepts, and a
server that only counts who reached it (to prove credentials did not follow a redirect)."""

from __future__ import annotations

import socket
import threading

from infra.local.http_stand_in import LOOPBACK, HttpStandIn, LoopbackServer, QuietHandler, free_port


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    return f"http://{LOOPBACK}:{free_port()}/auth/"


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


class _CountingHandler(QuietHandler):
    server: LoopbackServer[CountingServer]

    def _count(self) -> None:
        counter = self.server.owner
        with counter.lock:
            counter.hits += 1
        self.send_body(200, b"")

    do_GET = do_POST = do_PUT = _count  # noqa: N815 - http.server's names


class CountingServer(HttpStandIn):
    """Where a redirect points: any request that arrives here would have carried credentials."""

    def __init__(self) -> None:
        self.hits = 0
        self.lock = threading.Lock()
        super().__init__(_CountingHandler)

    @property
    def url(self) -> str:
        return f"{super().url}/elsewhere/auth/"
