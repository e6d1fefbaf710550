"""Collects every secret the tests made and everything they captured, to prove no leak.

Fixtures register the credentials and tokens they create; the session's captured output
(stdout, stderr, logs, failure reports) and anything a test read itself with ``record`` are
scanned at the end of the run for each secret and for any 12-character piece of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PIECE = 12


@dataclass
class LeakWatch:
    secrets: set[str] = field(default_factory=set)
    captured: list[tuple[str, str]] = field(default_factory=list)

    def add_secrets(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)

    def record(self, where: str, text: str) -> None:
        if text:
            self.captured.append((where, text))

    def leaks(self) -> list[str]:
        """Where each secret, or a piece of one, appears."""
        found = []
        for where, text in self.captured:
            for secret in self.secrets:
                pieces = {secret} | {
                    secret[i : i + PIECE] for i in range(max(1, len(secret) - PIECE + 1))
                }
                if any(piece in text for piece in pieces if len(piece) >= min(PIECE, len(secret))):
                    found.append(f"{where}: a secret of {len(secret)} characters (or part of it)")
                    break
        return found


WATCH = LeakWatch()
