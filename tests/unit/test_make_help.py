"""`make help` names every target a user can run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _targets() -> set[str]:
    found: set[str] = set()
    for makefile in (ROOT / "Makefile", ROOT / "make" / "template.mk"):
        for line in makefile.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^([a-z][a-z0-9-]*):(?!=)", line)
            if match:
                found.add(match.group(1))
    return found - {"help"}


MAKE = shutil.which("make")


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_help_lists_every_target() -> None:
    assert MAKE is not None
    shown = subprocess.run(
        [MAKE, "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout

    assert _targets() >= {"demo", "test", "deploy", "bench"}
    assert sorted(t for t in _targets() if not re.search(rf"\b{re.escape(t)}\b", shown)) == []
