"""The package as another team gets it: what it installs, what importing it does, its clients."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import joor_token
from tests.consumer.fakes import function_timeout
from tests.processes import run_process

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "python"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PACKAGE)}
    return run_process([sys.executable, "-c", code], "python -c", env=env, timeout=60, check=False)


def test_importing_the_package_loads_no_sdk_creates_no_client_and_configures_no_logging() -> None:
    done = run_python(
        "import logging, sys, joor_token\n"
        "loaded = sorted(m for m in ('boto3', 'botocore', 'requests') if m in sys.modules)\n"
        "print(loaded, logging.getLogger().handlers, logging.getLogger('joor_token').handlers)\n"
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "[] [] []\n"
    assert done.stderr == ""


def test_without_requests_the_reader_works_and_the_auth_class_says_how_to_get_it() -> None:
    done = run_python(
        "import sys\n"
        "class NoRequests:  # as if requests were not installed\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'requests':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoRequests())\n"
        "from joor_token import TokenReader\n"
        "print(TokenReader('/joor/sandbox/access-token').parameter_name)\n"
        "try:\n"
        "    from joor_token import JoorBearerAuth\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "/joor/sandbox/access-token"
    assert "needs the requests package" in lines[1]
    assert '"joor-token[requests]"' in lines[1]


def test_the_public_surface_is_what_all_names() -> None:
    public = {name for name in dir(joor_token) if not name.startswith("_")}

    assert set(joor_token.__all__) == {
        "TokenReader",
        "JoorBearerAuth",
        "JoorTokenError",
        "ConfigurationError",
        "TokenUnavailableError",
        "RefreshFailedError",
        "RefreshRateLimitedError",
    }
    assert public - set(joor_token.__all__) <= {"annotations", "TYPE_CHECKING", "Any"}
    for name in joor_token.__all__:
        assert getattr(joor_token, name).__doc__, f"{name} has no docstring"
    assert issubclass(joor_token.RefreshRateLimitedError, joor_token.RefreshFailedError)
    assert all(
        issubclass(getattr(joor_token, name), joor_token.JoorTokenError)
        for name in joor_token.__all__
        if name.endswith("Error")
    )


def test_the_lambda_client_makes_one_attempt_and_outwaits_the_refreshers_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from joor_token import _aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = _aws.new_lambda_client()

    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    # Longer than a whole run, plus the 10 s Lambda allows a cold start's init.
    assert client.meta.config.read_timeout > function_timeout() + 10


def test_botocores_standard_mode_would_retry_a_throttled_invoke() -> None:
    # Why the Lambda client above must not retry: botocore counts Lambda's 429 as a throttle.
    from botocore.retries import standard

    checker = standard.ThrottledRetryableChecker()
    context = standard.RetryContext(
        attempt_number=1,
        parsed_response={"Error": {"Code": "TooManyRequestsException"}},
        http_response=None,
        caught_exception=None,
    )

    assert checker.is_retryable(context)


def test_the_package_builds_a_wheel_with_its_type_marker_and_one_dependency(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds,
    # and sam build would put them into the layer.
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    (wheel,) = tmp_path.glob("joor_token-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    code = sorted(n for n in names if not n.startswith("joor_token-"))
    assert code == [
        "joor_token/__init__.py",
        "joor_token/_aws.py",
        "joor_token/_errors.py",
        "joor_token/_reader.py",
        "joor_token/_requests_auth.py",
        "joor_token/py.typed",
    ]
    requires = sorted(line for line in metadata.splitlines() if line.startswith("Requires-Dist:"))
    assert requires == [
        "Requires-Dist: boto3>=1.26",
        'Requires-Dist: requests>=2.25; extra == "requests"',
    ]
