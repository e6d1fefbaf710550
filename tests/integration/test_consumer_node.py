"""The Node.js example (clients/node/joor-token.mjs) against the local stand-ins: the same
stampede and wrong-endpoint rules as the Python package."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.stack import FUNCTION_NAME, LocalStack
from tests.integration.conftest import lambda_client
from tests.leakwatch import WATCH

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


@pytest.fixture
def stack(lambda_stack: LocalStack) -> Iterator[LocalStack]:
    lambda_stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    first = lambda_client(lambda_stack.lambda_url).invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")
    payload = first["Payload"].read()  # read to the end: an unread answer resets the connection
    assert "FunctionError" not in first, payload
    time.sleep(1.2)  # older than the minimum age: SSM stamps LastModifiedDate itself
    yield lambda_stack
    WATCH.add_secrets(*lambda_stack.fixture_secrets())
    # The stack lives for the whole session: leave it as other tests expect it.
    lambda_stack.settle("REJECTED_TOKEN_MIN_AGE_SECONDS")


def start(node: str, stack: LocalStack, url: str, count: int) -> subprocess.Popen[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JOOR_"))}
    env = {
        **keep,
        **stack.consumer_env(),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NODE_NO_WARNINGS": "1",
    }
    process = subprocess.Popen(
        [node, str(SCRIPT), url, str(count)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline().strip()
    if ready != "ready":
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"the Node consumer did not start: {ready!r} {err[-2000:]}")
    return process


def finish(processes: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes: list[dict[str, object]] = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        WATCH.record("node consumer output", out + err)
        assert process.returncode == 0, err[-2000:]
        outcomes += json.loads(out.strip().splitlines()[-1])
    return outcomes


def test_node_consumers_in_two_processes_recover_from_a_revocation_with_one_login(
    node: str, stack: LocalStack
) -> None:
    stack.joor.login_latency = 0.5
    processes = [start(node, stack, stack.joor.api_url, 5) for _ in range(2)]
    before = stack.joor.logins
    stack.joor.revoke_all()

    outcomes = finish(processes)

    assert outcomes == [{"status": 200, "error": None}] * 10
    assert stack.joor.logins - before == 1


def test_a_node_consumer_gets_the_401_of_an_endpoint_that_refuses_every_token(
    node: str, stack: LocalStack
) -> None:
    before = stack.joor.logins

    outcomes = finish([start(node, stack, stack.joor.refused_url, 5)])

    assert outcomes == [{"status": 401, "error": None}] * 5
    assert stack.joor.logins - before == 1  # one renewal for the five, then no loop
    assert stack.joor.api_calls(401, path="/v4/local/refused") == 10


# --- the module's own tests, its floor, and its package --------------------------------------


def test_the_node_modules_unit_tests_pass(node: str) -> None:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JOOR_"))}
    env = {
        **keep,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    run = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(ROOT / "tests" / "node")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    WATCH.record("node --test output", run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
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
    run = subprocess.run(
        [npm, "pack", "--silent", "--pack-destination", str(out), str(NODE_DIR)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
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
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", str(packed)],
        cwd=tmp_path,
        check=True,
        timeout=300,
        capture_output=True,
    )
    script = (
        "import * as joor from 'joor-token';"
        "console.log(JSON.stringify(Object.keys(joor).sort()));"
        "import { createRequire } from 'node:module';"
        "console.log(createRequire(import.meta.url).resolve('joor-token'));"
    )

    run = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
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
