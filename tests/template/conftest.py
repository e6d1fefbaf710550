"""Fixtures for the tests of template.yaml: the template as data, its SAM translation, a moto server.

Nothing here calls AWS. The SAM translation runs offline with the `aws-sam-translator` library,
given a region and an (empty) managed-policy map; the deployment test runs against `moto_server`
on a free local port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.deploy.template import (  # noqa: F401 - the template's tests import them from here
    ACCOUNT_ID,
    CODE_BUCKET,
    CODE_KEY,
    REGION,
    STACK_NAME,
    CfnEvaluator,
    load_cfn_yaml,
    translate,
)
from infra.local.moto_server import MotoServer
from refresher.config import VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
FUNCTION_LOGICAL_ID = "TokenRefresherFunction"
FUNCTION_SOURCE_DIR = REPO_ROOT / "functions" / "token_refresher"
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"

# Optional overrides the code reads but the template must leave unset.
CODE_OPTIONAL_ENV_VARS_NOT_IN_TEMPLATE: tuple[str, ...] = ("JOOR_AUTH_URL",)
# Every variable the code reads (from refresher.config, so the list cannot drift), except the
# override above, plus Powertools' settings.
CODE_REQUIRED_ENV_VARS: tuple[str, ...] = (
    *(v for v, _ in VARIABLES if v not in CODE_OPTIONAL_ENV_VARS_NOT_IN_TEMPLATE),
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
)


# --- CloudFormation YAML ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as written (SAM resources, short tags in long form)."""
    return load_cfn_yaml(TEMPLATE_PATH)


# --- SAM translation (offline) ---------------------------------------------------------------


@pytest.fixture(scope="session")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform, as CloudFormation will see it."""
    return translate(template)


# --- moto server -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server process on a free port (the same launcher the local stack uses)."""
    with MotoServer() as server:
        yield server.url


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the moto server with fake credentials."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return moto_endpoint


def build_required() -> bool:
    """`make template-test` sets this so a missing build fails instead of skipping."""
    return os.environ.get("TEMPLATE_TESTS_REQUIRE_BUILD") == "1"


def require_build(folder: Path) -> Path:
    """``folder`` of `sam build`'s output; without it the test fails under `make template-test`
    and skips elsewhere."""
    if not folder.is_dir():
        message = f"no build at {folder}: run `make sam-build` first"
        if build_required():
            pytest.fail(message)
        pytest.skip(message)
    return folder


# --- Evaluating intrinsic functions (enough for this template) -------------------------------


@pytest.fixture(scope="session")
def evaluate(translated: dict[str, Any]) -> Any:
    """evaluate([stack_name=...,] **parameters) => CfnEvaluator of the translated template."""

    def _evaluate(stack_name: str = STACK_NAME, **parameter_values: str) -> CfnEvaluator:
        return CfnEvaluator(translated, parameter_values, stack_name)

    return _evaluate


@pytest.fixture(scope="session")
def required_env_vars() -> tuple[str, ...]:
    return CODE_REQUIRED_ENV_VARS


@pytest.fixture(scope="session")
def unset_env_vars() -> tuple[str, ...]:
    return CODE_OPTIONAL_ENV_VARS_NOT_IN_TEMPLATE


@pytest.fixture(scope="session")
def code_location() -> tuple[str, str]:
    """(bucket, key) the translated template expects the function's zip at."""
    return CODE_BUCKET, CODE_KEY
