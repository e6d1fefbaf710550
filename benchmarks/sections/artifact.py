"""Section 5, artifact size: what ``sam build`` produces for the function, unzipped and zipped,
and its largest parts; and the copies of it that the cold-start section loads.

Measures ``.aws-sam/build/TokenRefresherFunction`` when a SAM build exists, running
``make sam-build`` first when the Makefile has that target. Otherwise it builds the same
artifact the way ``sam build`` does for python3.13 on arm64: the function folder plus
``pip install -r requirements.txt`` for the Lambda platform, without byte-code.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT

FUNCTION_DIR = ROOT / "functions" / "token_refresher"
SAM_BUILD_DIR = ROOT / ".aws-sam" / "build" / "TokenRefresherFunction"
OWN_BUILD_ROOT = ROOT / "build" / "bench-artifact"
PLATFORM_FLAGS = [
    "--platform",
    "manylinux2014_aarch64",
    "--only-binary=:all:",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
]
SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def has_make_target(target: str) -> bool:
    probe = subprocess.run(
        ["make", "-n", "-s", target], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


def locate(log: Any = print) -> tuple[Path, str]:
    """The build directory to measure, and a sentence saying where it came from."""
    note = ""
    if has_make_target("sam-build"):
        # Always rebuilt, so that the figures describe the code in the tree.
        log("artifact: running `make sam-build`...")
        built = subprocess.run(["make", "sam-build"], cwd=ROOT, capture_output=True, check=False)
        if built.returncode == 0 and SAM_BUILD_DIR.is_dir():
            return SAM_BUILD_DIR, f"`make sam-build` output ({SAM_BUILD_DIR.relative_to(ROOT)})"
        note = f" (`make sam-build` failed with code {built.returncode})"
    elif SAM_BUILD_DIR.is_dir():
        return SAM_BUILD_DIR, f"existing sam build output ({SAM_BUILD_DIR.relative_to(ROOT)})"
    return own_build(log), (
        "built by the benchmark the way sam build does for python3.13 on arm64 (function folder "
        "+ pip install -r requirements.txt --platform manylinux2014_aarch64 --only-binary=:all: "
        f"--python-version 3.13 --implementation cp --no-compile){note or ': no sam-build target'}"
    )


def own_build(log: Any = print) -> Path:
    requirements = FUNCTION_DIR / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = OWN_BUILD_ROOT / key
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    log("artifact: pip install for manylinux2014_aarch64 / cp313 (first run only)...")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *PLATFORM_FLAGS,
            "-r",
            str(requirements),
        ],
        check=True,
    )
    for item in FUNCTION_DIR.rglob("*"):
        relative = item.relative_to(FUNCTION_DIR)
        if item.is_file() and not SKIPPED.intersection(relative.parts):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, target / relative)
    (target / ".complete").touch()
    return target


def part_of(relative: Path) -> str:
    """Group a file under its distribution: ``requests-2.x.dist-info`` counts as ``requests``."""
    top = relative.parts[0]
    if len(relative.parts) == 1:  # the function's own files, or a one-file module
        return "(function folder)" if (FUNCTION_DIR / top).exists() else top.removesuffix(".py")
    if (FUNCTION_DIR / top).is_dir():
        return "(function folder)"
    if top.endswith((".dist-info", ".data")):
        return top.split("-")[0]
    return top


def measure(build_dir: Path, source: str, top: int = 10) -> dict[str, Any]:
    files = sorted(p for p in build_dir.rglob("*") if p.is_file() and p.name != ".complete")
    unzipped: dict[str, int] = defaultdict(int)
    zipped: dict[str, int] = defaultdict(int)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            relative = path.relative_to(build_dir)
            archive.write(path, relative.as_posix())
            part = part_of(relative)
            info = archive.getinfo(relative.as_posix())
            unzipped[part] += info.file_size
            zipped[part] += info.compress_size
    parts = sorted(unzipped, key=lambda p: unzipped[p], reverse=True)
    return {
        "source": source,
        "directory": str(build_dir.relative_to(ROOT)),
        "files": len(files),
        "unzipped_bytes": sum(unzipped.values()),
        "zipped_bytes": len(buffer.getvalue()),
        "largest_parts": [
            {"name": p, "unzipped_bytes": unzipped[p], "zipped_bytes": zipped[p]}
            for p in parts[:top]
        ],
        "boto3_bundled": "boto3" in unzipped or "botocore" in unzipped,
        "ships_bytecode": bytecode_files(build_dir) > 0,
    }


def measure_with_copies(scratch: Path, log: Any = print) -> tuple[dict[str, Any], dict[str, str]]:
    """The build's size, and the folders the cold-start section loads the handler from: a copy
    in ``scratch`` without byte-code ("deployed") and one with it ("deployed_pyc")."""
    build_dir, source = locate(log)
    folders = {
        "deployed": str(without_bytecode(build_dir, scratch / build_dir.name)),
        "deployed_pyc": str(compiled_copy(build_dir)),
    }
    return measure(build_dir, source), folders


def bytecode_files(folder: Path) -> int:
    """How many ``.pyc`` files a folder holds, in ``__pycache__`` or beside the sources."""
    return sum(1 for _ in folder.rglob("*.pyc"))


def without_bytecode(build_dir: Path, target: Path) -> Path:
    """A copy of the build at ``target`` with every ``.pyc`` and ``__pycache__`` left out: the
    artifact as Lambda would load it if the build shipped no byte-code (its read-only
    ``/var/task`` cannot cache any, so every module is compiled on every cold start)."""
    shutil.copytree(
        build_dir, target, ignore=shutil.ignore_patterns(*SKIPPED, "*.pyc", ".complete")
    )
    return target


def compiled_copy(build_dir: Path) -> Path:
    """A copy of the build with checked-hash byte-code, as a build step could ship it.

    Hash-based ``.pyc`` (PEP 552) stay valid whatever timestamps the zip gives the sources;
    timestamp-based ones would be rejected on Lambda, where ``sam build`` zips carry none.
    """
    target = OWN_BUILD_ROOT / f"{build_dir.name}-{_tree_key(build_dir)}-pyc"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(build_dir, target, ignore=shutil.ignore_patterns(*SKIPPED, ".complete"))
    compile_tree(target)
    (target / ".complete").touch()
    return target


def compile_tree(folder: Path) -> None:
    """Checked-hash ``.pyc`` for every module under ``folder``, as ``make sam-build`` adds."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "checked-hash",
            str(folder),
        ],
        check=True,
    )


def _tree_key(build_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(build_dir.rglob("*.py")):
        digest.update(str(path.relative_to(build_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
