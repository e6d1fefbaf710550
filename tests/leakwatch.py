"""Collects every secret the tests made and everything they captured, to prove no leak.

Fixtures register the credentials and tokens they create; the session's captured output
(stdout, stderr, logs, failure reports) and anything a test read itself with ``record`` are
scanned at the end of the run for each secret and for any 12-character piece of one (the
first 12 characters of a token are as telling as the whole of it). A secret shorter than
that must appear whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PIECE = 12


@dataclass
class LeakWatch:
    secrets: set[str] = field(default_factory=set)
    captured: list[tuple[str, str]] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def add_secrets(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)

    def record(self, where: str, text: str) -> None:
        # pytest repeats a test's earlier sections in its later reports: keep one of each.
        if text and (where, text) not in self._seen:
            self._seen.add((where, text))
            self.captured.append((where, text))

    def leaks(self) -> list[str]:
        """Where each secret, or a piece of one, appears.

        Every 12-character piece of every secret goes in one set, and each captured text is
        read once with a 12-character window: linear in the output, however many secrets.
        """
        pieces: dict[str, int] = {}
        short = [s for s in self.secrets if len(s) < PIECE]
        for secret in self.secrets:
            for i in range(len(secret) - PIECE + 1):
                pieces.setdefault(secret[i : i + PIECE], len(secret))
        found = []
        for where, text in self.captured:
            size = next(
                (
                    pieces[text[i : i + PIECE]]
                    for i in range(len(text) - PIECE + 1)
                    if text[i : i + PIECE] in pieces
                ),
                None,
            )
            if size is None:
                size = next((len(s) for s in short if s in text), None)
            if size is not None:
                found.append(f"{where}: a secret of {size} characters (or part of it)")
        return found

    def summary(self, leaks: int) -> str:
        size = sum(len(text) for _, text in self.captured)
        return (
            f"leak scan: {len(self.captured)} captured outputs ({size} characters), "
            f"{len(self.secrets)} secrets and tokens, {leaks} leaks"
        )


WATCH = LeakWatch()
