"""The processes the benchmarks start import what they measure, from where they should."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from tests.processes import run_process

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "token_refresher"
COLD_WORKER = ROOT / "benchmarks" / "workers" / "cold.py"


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def test_a_process_of_the_venvs_python_imports_the_function_and_the_repository_from_anywhere(
    tmp_path: Path,
) -> None:
    # GIVEN a process of the venv's Python started outside the repository, without PYTHONPATH,
    # as the benchmark harness starts its workers and a reader types `python -m infra.local.demo`
    code = "import app, refresher.config, infra.local.demo, benchmarks.harness; print(app.__file__)"

    # WHEN it imports the function's module, the stand-ins and the benchmarks
    done = run_process(
        [sys.executable, "-c", code],
        "bench: a process of the venv's Python",
        cwd=tmp_path,
        env=clean_env(),
        timeout=60,
    )

    # THEN the venv's import roots (make/import-roots.pth.in) found them in this repository
    assert Path(done.stdout.strip()) == FUNCTION_DIR / "app.py"


def test_the_cold_worker_loads_an_artifact_folder_alone_not_the_functions_sources(
    tmp_path: Path,
) -> None:
    # GIVEN an artifact folder that lacks the refresher package the handler imports
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    shutil.copy2(FUNCTION_DIR / "app.py", artifact / "app.py")

    # WHEN the cold-start worker loads the handler from it
    out = tmp_path / "out.json"
    done = run_process(
        [sys.executable, "-B", str(COLD_WORKER), "handler", str(out), "--folder", str(artifact)],
        "bench: the cold worker on an incomplete artifact",
        cwd=tmp_path,
        env=clean_env(),
        timeout=60,
        check=False,  # it is meant to fail
    )

    # THEN the import fails, as it would in Lambda: the sources in the repository, which the
    # venv's import roots also hold, do not fill the gap
    assert done.returncode != 0
    assert "No module named 'refresher'" in done.stderr
    assert not out.exists()
