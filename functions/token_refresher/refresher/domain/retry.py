"""How long to wait between attempts at JOOR, and when to stop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from refresher.domain.ports import Clock


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter.

    Four attempts at 3 s connect + 10 s read, with waits of at most 1, 2 and 4 s, fit in
    about 60 s: under the 90 s function timeout with room to write the token and log.
    """

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0
    attempt_timeout: float = 10.0
    # Below this much time an attempt could not finish: stop and say why instead.
    min_attempt_time: float = 2.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based), before jitter."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, cap)

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
