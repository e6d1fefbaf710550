"""The leak watch can fail: it finds whole secrets, pieces of them, and only those."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.leakwatch import PIECE, LeakWatch

ROOT = Path(__file__).resolve().parents[2]


def _watch(secret: str, text: str) -> list[str]:
    watch = LeakWatch()
    watch.add_secrets(secret)
    watch.record("output", text)
    return watch.leaks()


def test_a_whole_token_in_the_output_is_a_leak() -> None:
    token = secrets.token_urlsafe(96)

    assert _watch(token, f'{{"message": "got {token}"}}') != []


def test_the_first_12_characters_of_a_token_are_a_leak() -> None:
    token = secrets.token_urlsafe(96)

    leaks = _watch(token, f"Authorization: Bearer {token[:PIECE]}...")

    assert leaks == [f"output: a secret of {len(token)} characters (or part of it)"]


def test_any_12_character_piece_from_the_middle_is_a_leak() -> None:
    token = secrets.token_urlsafe(96)

    assert _watch(token, f"...{token[40 : 40 + PIECE]}...") != []


def test_a_token_split_across_two_lines_is_a_leak() -> None:
    token = secrets.token_urlsafe(96)

    assert _watch(token, f"{token[:50]}\n{token[50:]}") != []


def test_a_secret_shorter_than_a_piece_must_appear_whole() -> None:
    assert _watch("pw-1234", "password pw-1234 in a log") != []
    assert _watch("pw-1234", "pw-123 is not it") == []


def test_11_characters_of_a_token_are_not_reported() -> None:
    token = secrets.token_urlsafe(96)

    assert _watch(token, f"{token[: PIECE - 1]} and {token[-(PIECE - 1) :]}") == []


def test_output_without_secrets_is_clean() -> None:
    watch = LeakWatch()
    watch.add_secrets(secrets.token_urlsafe(96), secrets.token_urlsafe(18), "")
    watch.record("handler output", '{"level":"INFO","message":"Token refreshed"}')

    assert watch.leaks() == []
    assert watch.summary(0).startswith("leak scan: 1 captured outputs")


def test_a_pytest_session_whose_output_leaks_a_token_prefix_fails(tmp_path: Path) -> None:
    # GIVEN a test that registers a token and prints only its first 12 characters
    token = secrets.token_urlsafe(48)
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            f"""
            from tests.leakwatch import WATCH

            def test_prints_a_prefix():
                WATCH.add_secrets({token!r})
                print("debug:", {token[:PIECE]!r})
            """
        )
    )
    # WHEN pytest runs it with this project's session hooks
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-q",
            "-c",
            os.devnull,
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    # THEN the test passed, but the session failed on the leak
    assert "1 passed" in run.stdout
    assert "SECRET LEAK: 1 captured output(s)" in run.stdout
    assert "1 leaks" in run.stdout
    assert run.returncode == 1
