"""How long to wait between attempts at JOOR, and when to stop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from refresher.domain.ports import Clock


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter. How long it can take at worst, and so the
    function's timeout, is worked out in refresher/timing.py."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0
    attempt_timeout: float = 10.0
    # Below this much time an attempt could not finish: stop and say why instead.
    min_attempt_time: float = 2.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff_cap(self, attempt: int) -> float:
        """The longest wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based), jittered."""
        return self.rng.uniform(0, self.backoff_cap(attempt))

    def worst_case_seconds(self, connect_timeout: float) -> float:
        """Every attempt spending its connect timeout and then its whole attempt timeout, and
        the longest wait between attempts (a longer Retry-After is cut by the deadline)."""
        attempts = self.max_attempts * (connect_timeout + self.attempt_timeout)
        return attempts + sum(self.backoff_cap(i) for i in range(1, self.max_attempts))

    def wait_before_next(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After from the server wins over our own backoff when it asks for longer."""
        delay = self.backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


class Deadline:
    """The moment, on the monotonic clock, by which the JOOR exchange must be over."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._at = clock.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._at - self._clock.monotonic())
