"""The consumer package as a workload gets it, outside this repository: the wheel and sdist of
``make dist``, installed into clean virtual environments on the oldest and newest Python the
package claims (3.10 and 3.13), and a pip requirement on the repository's Git URL with
``#subdirectory=clients/python``; each runs a smoke consumer against the local stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from infra.local.stack import LocalStack
from tests.processes import consumer_env, finish, go, run_process, start_consumer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SMOKE = Path(__file__).with_name("package_smoke.py")
PYENV = shutil.which("pyenv")
MAKE = shutil.which("make")
GIT = shutil.which("git")
VERSION = "0.1.0"
# The oldest and the newest Python the package claims (requires-python, the classifiers).
PYTHONS = {"3.10": "3.10.13", "3.13": "3.13.0"}


def pyenv_python(version: str) -> str:
    assert PYENV, "pyenv is needed: it has the Pythons the package claims"
    found = subprocess.run(
        [PYENV, "which", "python"],
        env={**os.environ, "PYENV_VERSION": version},
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, f"pyenv has no Python {version}: pyenv install {version}"
    return found.stdout.strip()


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make dist``, into a folder of the test's (DIST_DIR)."""
    out = tmp_path_factory.mktemp("dist")
    assert MAKE, "make is needed"
    run_process([MAKE, "-s", "dist", f"DIST_DIR={out}"], "make dist", cwd=ROOT, timeout=300)
    return out


def test_make_dist_builds_a_wheel_and_an_sdist_that_claim_python_3_10_and_up(dist: Path) -> None:
    wheel = dist / f"joor_token-{VERSION}-py3-none-any.whl"
    sdist = dist / f"joor_token-{VERSION}.tar.gz"
    assert sorted(p.name for p in dist.iterdir()) == sorted([wheel.name, sdist.name])

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(
            archive.read(f"joor_token-{VERSION}.dist-info/METADATA").decode()
        )
    package = {n for n in names if not n.startswith(f"joor_token-{VERSION}.dist-info/")}
    source = {
        f"joor_token/{p.name}"
        for p in (ROOT / "clients/python/joor_token").iterdir()
        if p.is_file()
    }
    assert package == source
    assert "joor_token/py.typed" in package
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata.get_all("Provides-Extra") == ["requests"]
    assert sorted(metadata.get_all("Requires-Dist")) == [
        "boto3>=1.26",
        'requests>=2.25; extra == "requests"',
    ]
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {
        "pyproject.toml",
        "README.md",
        "joor_token/__init__.py",
        "joor_token/py.typed",
    } <= members


def venv(python: str, where: Path) -> Path:
    run_process([python, "-m", "venv", str(where)], "python -m venv")
    return where / "bin" / "python"


def pip_install(python: Path, requirement: str) -> None:
    run_process(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ],
        f"pip install {requirement}",
        timeout=600,
    )


def smoke(python: Path, stack: LocalStack, cwd: Path) -> dict[str, object]:
    """Run the smoke consumer with only a consumer's environment, revoking in between."""
    process = start_consumer(
        [str(python), str(SMOKE)],
        "the smoke consumer",
        consumer_env(**stack.consumer_env()),
        cwd=cwd,  # outside the repository: nothing of it is importable from here
    )
    before = stack.joor.logins
    stack.joor.revoke_all()
    go(process)
    out = finish(process, "the smoke consumer", timeout=120)
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["logins"] = stack.joor.logins - before
    return result


@pytest.mark.parametrize("minor", sorted(PYTHONS))
def test_the_wheel_installs_and_recovers_from_a_revocation_on_the_oldest_and_newest_python(
    minor: str, dist: Path, aged_token_stack: LocalStack, tmp_path: Path
) -> None:
    python = venv(pyenv_python(PYTHONS[minor]), tmp_path / "venv")
    wheel = dist / f"joor_token-{VERSION}-py3-none-any.whl"
    pip_install(python, f"joor-token[requests] @ {wheel.as_uri()}")

    result = smoke(python, aged_token_stack, tmp_path)

    assert result["python"] == PYTHONS[minor]
    assert Path(str(result["package"])).is_relative_to(tmp_path / "venv")
    assert result["first"] == [200]
    assert result["second"] == [401, 200]
    assert result["logins"] == 1


def test_a_pip_requirement_on_the_git_url_installs_the_package_from_its_subdirectory(
    aged_token_stack: LocalStack, tmp_path: Path
) -> None:
    # A bare clone of this repository stands in for its Git host; the commit pins the version.
    bare = tmp_path / "joor-token-refresher.git"
    assert GIT, "git is needed"
    run_process([GIT, "clone", "--quiet", "--bare", str(ROOT), str(bare)], "git clone --bare")
    commit = run_process([GIT, "rev-parse", "HEAD"], "git rev-parse", cwd=bare).stdout.strip()
    python = venv(pyenv_python(PYTHONS["3.13"]), tmp_path / "venv")
    requirement = f"joor-token[requests] @ git+{bare.as_uri()}@{commit}#subdirectory=clients/python"
    pip_install(python, requirement)

    result = smoke(python, aged_token_stack, tmp_path)

    assert Path(str(result["package"])).is_relative_to(tmp_path / "venv")
    assert result["second"] == [401, 200]
    assert result["logins"] == 1
