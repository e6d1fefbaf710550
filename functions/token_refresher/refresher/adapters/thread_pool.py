"""The fleet's logins on threads: a bounded number at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class ThreadWorkerPool[R]:
    """``size`` threads; ``wait_for_room`` blocks while all of them run a job."""

    def __init__(self, size: int, name: str = "login") -> None:
        self._size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        self._room = threading.Condition()
        self._running = 0
        self._futures: list[Future[R]] = []

    def wait_for_room(self) -> None:
        with self._room:
            self._room.wait_for(lambda: self._running < self._size)

    def start(self, job: Callable[[], R]) -> None:
        with self._room:
            self._running += 1
        future = self._executor.submit(job)
        future.add_done_callback(self._ended)
        self._futures.append(future)

    def _ended(self, _: Future[R]) -> None:
        with self._room:
            self._running -= 1
            self._room.notify_all()

    def finish(self) -> list[R]:
        try:
            return [future.result() for future in self._futures]
        finally:
            self._executor.shutdown(wait=True)
