"""What `sam build` puts in the function's artifact: its code and dependencies, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.template.conftest import require_build

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = REPO_ROOT / "functions" / "token_refresher"
ARTIFACT_DIR = REPO_ROOT / ".aws-sam" / "build" / "TokenRefresherFunction"
ELF_MACHINE_AARCH64 = 183
# Never in a Lambda artifact: repository tooling, tests, infrastructure, local environments.
FORBIDDEN_NAMES = {
    "tests",
    "infra",
    "template.yaml",
    "samconfig.toml",
    "Makefile",
    "make",
    ".venv",
    "docs",
    "conftest.py",
}


@pytest.fixture(scope="module")
def artifact() -> Path:
    return require_build(ARTIFACT_DIR)


def _distribution_top_level_names(artifact: Path) -> set[str]:
    """Top-level names the installed distributions own, read from their RECORD files."""
    names: set[str] = set()
    for record in artifact.glob("*.dist-info/RECORD"):
        for line in record.read_text(encoding="utf-8").splitlines():
            path = line.split(",", 1)[0]
            if path and not path.startswith(".."):
                names.add(path.split("/", 1)[0])
    return names


def test_artifact_holds_the_function_code_as_built_from_source(artifact: Path) -> None:
    for source_file in SOURCE_DIR.rglob("*.py"):
        if (
            "__pycache__" in source_file.parts
            or "tests" in source_file.relative_to(SOURCE_DIR).parts
        ):
            continue
        built = artifact / source_file.relative_to(SOURCE_DIR)
        assert built.is_file(), f"{built} missing"
        assert built.read_bytes() == source_file.read_bytes(), f"{built} is stale: rebuild"
    assert (artifact / "app.py").is_file()


def test_artifact_holds_the_pinned_dependencies(artifact: Path) -> None:
    pins = [
        line.split("==")
        for line in (SOURCE_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    ]
    assert pins
    for name, version in pins:
        normalized = name.strip().lower().replace("-", "_")
        dist_infos = [p.name.lower() for p in artifact.glob("*.dist-info")]
        assert f"{normalized}-{version.strip()}.dist-info" in dist_infos, (name, version)
    assert (artifact / "requests" / "__init__.py").is_file()
    assert (artifact / "aws_lambda_powertools" / "__init__.py").is_file()


def test_artifact_holds_nothing_but_code_and_dependencies(artifact: Path) -> None:
    # __pycache__: the byte-code the build adds (see the next test).
    allowed = ({p.name for p in SOURCE_DIR.iterdir()} | _distribution_top_level_names(artifact)) | {
        "__pycache__"
    }
    top_level = {p.name for p in artifact.iterdir()}

    assert not top_level & FORBIDDEN_NAMES
    assert not {name for name in top_level if name.startswith(".venv")}
    strays = {name for name in top_level - allowed if not name.endswith(".dist-info")}
    assert not strays, f"not from the function's folder nor a dependency: {sorted(strays)}"


def test_compiled_extensions_match_the_arm64_architecture(artifact: Path) -> None:
    for shared_object in artifact.rglob("*.so"):
        header = shared_object.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", shared_object
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, (
            f"{shared_object} is not arm64"
        )


def test_artifact_ships_hash_checked_byte_code_for_python_3_13(artifact: Path) -> None:
    """Lambda cannot write .pyc files into /var/task: without them every cold start compiles."""
    for module in ("app.py", "refresher/service_layer/account.py", "requests/sessions.py"):
        source = artifact / module
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert pyc.is_file(), f"{pyc} missing: run make sam-build"
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b11, f"{pyc} is not a checked hash-based .pyc (flags {flags:#b})"


LAYER_DIR = REPO_ROOT / ".aws-sam" / "build" / "JoorTokenLayer"
PACKAGE_DIR = REPO_ROOT / "clients" / "python" / "joor_token"


def test_the_layer_holds_the_consumer_package_and_nothing_built_beside_it() -> None:
    require_build(LAYER_DIR)

    # Lambda puts a layer's python/ on sys.path: python/joor_token is importable as joor_token.
    assert {p.name for p in (LAYER_DIR / "python").iterdir()} <= {
        "joor_token",
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
    }
    shipped = {
        p.relative_to(LAYER_DIR / "python" / "joor_token")
        for p in (LAYER_DIR / "python" / "joor_token").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    source = {
        p.relative_to(PACKAGE_DIR)
        for p in PACKAGE_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped == source
    assert Path("py.typed") in shipped
