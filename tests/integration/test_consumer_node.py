"""The Node.js example (clients/node/joor-token.mjs) against the local stand-ins: the same
stampede and wrong-endpoint rules as the Python package."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from infra.local.stack import LocalStack
from tests.processes import consumer_env, finish, go, run_process, start_consumer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "clients" / "node"
SCRIPT = Path(__file__).with_name("node_consumer.mjs")


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    assert found, "Node.js is needed for the Node example's test (https://nodejs.org)"
    if not (NODE_DIR / "node_modules" / ".package-lock.json").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the Node example's dependencies"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    return found


def start(node: str, stack: LocalStack, url: str, count: int) -> subprocess.Popen[str]:
    env = consumer_env(**stack.consumer_env(), NODE_NO_WARNINGS="1")
    return start_consumer([node, str(SCRIPT), url, str(count)], "the Node consumer", env)


def finish_all(processes: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    for process in processes:  # all at once
        go(process)
    outcomes: list[dict[str, object]] = []
    for process in processes:
        out = finish(process, "the Node consumer")
        outcomes += json.loads(out.strip().splitlines()[-1])
    return outcomes


def test_node_consumers_in_two_processes_recover_from_a_revocation_with_one_login(
    node: str, aged_token_stack: LocalStack
) -> None:
    aged_token_stack.joor.login_latency = 0.5
    processes = [start(node, aged_token_stack, aged_token_stack.joor.api_url, 5) for _ in range(2)]
    before = aged_token_stack.joor.logins
    aged_token_stack.joor.revoke_all()

    outcomes = finish_all(processes)

    assert outcomes == [{"status": 200, "error": None}] * 10
    assert aged_token_stack.joor.logins - before == 1


def test_a_node_consumer_gets_the_401_of_an_endpoint_that_refuses_every_token(
    node: str, aged_token_stack: LocalStack
) -> None:
    before = aged_token_stack.joor.logins

    outcomes = finish_all([start(node, aged_token_stack, aged_token_stack.joor.refused_url, 5)])

    assert outcomes == [{"status": 401, "error": None}] * 5
    assert aged_token_stack.joor.logins - before == 1  # one renewal for the five, then no loop
    assert aged_token_stack.joor.api_calls(401, path="/v4/local/refused") == 10


# --- the module's own tests, its floor, and its package --------------------------------------


def test_the_node_modules_unit_tests_pass(node: str) -> None:
    run = run_process(
        [node, "--test", "--test-reporter=tap", str(ROOT / "tests" / "node")],
        "node --test",
        env=consumer_env(),
    )
    assert "\n# fail 0\n" in run.stdout


def _floor(spec: str) -> int:
    match = re.fullmatch(r">=\s*(\d+)(?:\.0){0,2}", spec.strip())
    assert match, f"an engines range this test does not read: {spec!r}"
    return int(match.group(1))


def test_the_stated_node_floor_is_the_locked_sdk_s_and_the_tests_run_on_it(node: str) -> None:
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    floors = {
        path: _floor(entry["engines"]["node"])
        for path, entry in lock["packages"].items()
        if path and "node" in entry.get("engines", {})
    }
    stated = _floor(json.loads((NODE_DIR / "package.json").read_text())["engines"]["node"])
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)

    assert max(floors.values()) == stated == 20, {p: f for p, f in floors.items() if f > 18}
    assert lock["packages"][""]["engines"]["node"] == f">={stated}"
    # The floor is what these tests run on: a newer Node here would leave it untested.
    assert version.stdout.strip().lstrip("v").split(".")[0] == str(stated)


@pytest.fixture(scope="session")
def packed(node: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``npm pack`` of clients/node, as a consumer outside this repository gets it."""
    out = tmp_path_factory.mktemp("npm-pack")
    npm = shutil.which("npm")
    assert npm
    run = run_process(
        [npm, "pack", "--silent", "--pack-destination", str(out), str(NODE_DIR)], "npm pack"
    )
    return out / run.stdout.strip().splitlines()[-1]


def test_the_npm_package_holds_the_module_its_readme_and_nothing_else(packed: Path) -> None:
    with tarfile.open(packed) as tar:
        names = sorted(tar.getnames())
        manifest = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]

    assert packed.name == "joor-token-0.1.0.tgz"
    assert names == ["package/README.md", "package/joor-token.mjs", "package/package.json"]
    assert manifest["engines"] == {"node": ">=20"}
    assert "private" not in manifest


def test_the_npm_package_installs_and_imports_in_a_folder_outside_the_repository(
    node: str, packed: Path, tmp_path: Path
) -> None:
    npm = shutil.which("npm")
    assert npm
    assert ROOT not in tmp_path.parents
    (tmp_path / "package.json").write_text(
        '{"name": "a-workload", "private": true, "type": "module"}'
    )
    run_process(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", str(packed)],
        "npm install of the packed module",
        cwd=tmp_path,
        timeout=300,
    )
    script = (
        "import * as joor from 'joor-token';"
        "console.log(JSON.stringify(Object.keys(joor).sort()));"
        "import { createRequire } from 'node:module';"
        "console.log(createRequire(import.meta.url).resolve('joor-token'));"
    )

    run = run_process(
        [node, "--input-type=module", "-e", script], "the installed module", cwd=tmp_path
    )

    names, resolved = run.stdout.strip().splitlines()
    assert json.loads(names) == [
        "ConfigurationError",
        "JoorTokenError",
        "RefreshFailedError",
        "RefreshRateLimitedError",
        "TokenReader",
        "TokenUnavailableError",
        "fetchWithToken",
    ]
    assert Path(resolved).is_relative_to(tmp_path / "node_modules" / "joor-token")
