"""docs/benchmarks.md's figures are the latest results file's, as the renderer shows them."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.render import render
from benchmarks.run import RESULTS_JSON, RESULTS_MD, SECTION
from tools.docs_section import read_section


def test_the_page_shows_the_latest_results_as_the_renderer_writes_them() -> None:
    # GIVEN the results file `make bench` wrote, and the block it wrote into the page
    results = json.loads(Path(RESULTS_JSON).read_text())

    # WHEN the results are rendered again
    block = render(results)

    # THEN the page holds exactly that block: no figure edited by hand, none left from an
    # older run or an older renderer (after changing benchmarks/render.py:
    # `.venv/bin/python -m benchmarks.run --render-only`)
    assert read_section(RESULTS_MD, SECTION) == block.strip("\n") + "\n"
    assert not results["meta"]["quick"]
