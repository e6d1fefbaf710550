"""Credentials go only to an https:// URL, or http:// on loopback; the function's
dependencies are pinned exactly, so a build is reproducible."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from refresher.config import Settings
from refresher.domain.errors import ConfigurationError, redact

ROOT = Path(__file__).resolve().parents[2]
BASE = {"CREDENTIALS_SECRET_ID": "joor/sandbox/api-credentials", "TOKEN_PARAMETER_NAME": "/a/b"}


@pytest.mark.parametrize(
    "url",
    [
        "http://atlas-sandbox.jooraccess.com/auth/",
        "http://10.0.0.5/auth/",
        "http://127.0.0.1.nip.io/auth/",
        "http://localhost.example.com/auth/",
        "http://[::ffff:10.0.0.1]/auth/",
        "ftp://127.0.0.1/auth/",
        "https://user:pw@atlas.jooraccess.com/auth/",
        "atlas.jooraccess.com/auth/",
    ],
)
def test_an_auth_url_that_could_send_credentials_elsewhere_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="JOOR_AUTH_URL"):
        Settings.from_env({**BASE, "JOOR_AUTH_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "https://atlas.jooraccess.com/auth/",
        "http://127.0.0.1:8765/auth/",
        "http://127.0.0.2/auth/",
        "http://[::1]:8765/auth/",
        "http://localhost:8765/auth/",
    ],
)
def test_https_anywhere_and_http_on_loopback_are_accepted(url: str) -> None:
    assert Settings.from_env({**BASE, "JOOR_AUTH_URL": url}).auth_url == url


def test_text_from_joor_cannot_forge_a_log_line_and_is_cut_short() -> None:
    forged = 'bad\n{"level":"INFO","message":"Token refreshed"}\r\x1b[2J' + "x" * 1000

    safe = redact(forged, (), limit=200)

    assert "\n" not in safe
    assert "\r" not in safe
    assert "\x1b" not in safe
    assert safe.startswith('bad\\n{"level"')
    assert safe.endswith("more characters]")
    assert len(safe) < 250


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def test_every_dependency_of_the_function_is_pinned_to_an_exact_version() -> None:
    lines = _requirement_lines(ROOT / "functions" / "token_refresher" / "requirements.txt")

    assert lines, "the function's requirements.txt lists nothing"
    for line in lines:
        assert re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[0-9][\w.]*", line
        ), f"not pinned to one exact version: {line!r}"


def test_every_direct_test_dependency_is_pinned_too() -> None:
    for line in _requirement_lines(ROOT / "requirements.txt"):
        assert line.startswith("-r ") or "==" in line, f"not pinned: {line!r}"
