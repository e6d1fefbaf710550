"""The fleet's worker pool on real threads: how many jobs run at once, when a slot frees, what
its threads are called, and that finishing waits for every job, even after one failed."""

from __future__ import annotations

import threading
import time

import pytest

from refresher.adapters.thread_pool import ThreadWorkerPool


@pytest.mark.parametrize(("size", "meet"), [(2, False), (3, True)])
def test_a_pool_runs_as_many_jobs_at_once_as_it_has_threads(size: int, meet: bool) -> None:
    # Three jobs that can only end together: a pool of three threads runs them all at once,
    # a pool of two cannot, even when its owner starts them without waiting for room. (Those
    # that can meet get all the time a loaded machine needs; those that cannot, half a second.)
    pool = ThreadWorkerPool[int](size)
    meeting = threading.Barrier(3, timeout=10.0 if meet else 0.5)
    for _ in range(3):
        pool.start(meeting.wait)

    if meet:
        assert sorted(pool.finish()) == [0, 1, 2]
    else:
        with pytest.raises(threading.BrokenBarrierError):
            pool.finish()


def test_room_comes_only_when_a_running_job_ends() -> None:
    pool = ThreadWorkerPool[bool](2)
    release = threading.Event()
    pool.start(release.wait)
    pool.start(release.wait)

    waiter = threading.Thread(target=pool.wait_for_room, daemon=True)
    waiter.start()
    waiter.join(timeout=0.2)
    full = waiter.is_alive()
    release.set()
    waiter.join(timeout=5.0)

    assert full  # both threads busy: no room
    assert not waiter.is_alive()  # one ended: room
    assert pool.finish() == [True, True]


def test_a_pools_threads_are_named_for_the_logins_they_run() -> None:
    # What a log record's threadName and a stack dump show for a login.
    pool = ThreadWorkerPool[str](2)
    pool.start(lambda: threading.current_thread().name)

    [thread] = pool.finish()

    assert thread.startswith("login_")


def test_a_failed_job_is_raised_only_after_every_other_job_ended() -> None:
    # A run that returned with a login still in flight would leave it frozen with the Lambda
    # execution environment, to resume in some later invocation.
    pool = ThreadWorkerPool[None](2)
    ended = threading.Event()

    def fails() -> None:
        raise RuntimeError("the first job failed")

    def slow() -> None:
        time.sleep(0.2)
        ended.set()

    pool.start(fails)
    pool.start(slow)

    with pytest.raises(RuntimeError, match="the first job failed"):
        pool.finish()
    assert ended.is_set()


def test_results_come_in_the_order_jobs_started_even_when_a_slow_one_ends_last() -> None:
    pool = ThreadWorkerPool[str](3)
    ended: list[str] = []
    fast_done = threading.Semaphore(0)

    def slow() -> str:
        # Ends only after both fast jobs have ended, however the threads are scheduled.
        for _ in range(2):
            assert fast_done.acquire(timeout=10)
        ended.append("slow")
        return "slow"

    def fast(label: str) -> str:
        ended.append(label)
        fast_done.release()
        return label

    pool.start(slow)
    pool.start(lambda: fast("fast-1"))
    pool.start(lambda: fast("fast-2"))

    assert pool.finish() == ["slow", "fast-1", "fast-2"]
    assert ended[-1] == "slow"
