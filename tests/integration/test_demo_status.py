"""`make demo`'s status scene shows the stored token's life and state, and no secret."""

from __future__ import annotations

import pytest

from infra.local.demo import status_scene
from tests.integration.conftest import Harness
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration


def test_the_status_scene_shows_the_token_fresh_from_metadata_only(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert harness.invoke({}).error is None

    status_scene(harness.stack)

    output = capsys.readouterr().out
    WATCH.record("status scene output", output)
    assert "== 18. make status: every token kept" in output
    (row,) = [line for line in output.splitlines() if line.startswith("   /joor/")]
    assert " fresh " in row
    assert "1 token(s) kept, 0 below the guarantee" in output
    assert "no value read, nothing decrypted" in output
