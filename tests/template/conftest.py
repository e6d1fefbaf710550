"""Fixtures for the tests of template.yaml: the template as data, its SAM translation, a moto server.

Nothing here calls AWS. The SAM translation runs offline with the `aws-sam-translator` library,
given a region and an (empty) managed-policy map; the deployment test runs against `moto_server`
on a free local port.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.deploy.names import load_template
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

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "joor-token-refresher-test"


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as written (SAM resources, short tags in long form)."""
    return load_template(TEMPLATE_PATH)


# --- SAM translation (offline) ---------------------------------------------------------------


CODE_BUCKET = "template-tests-code"
CODE_KEY = "token_refresher.zip"


def translate(
    sam_template: dict[str, Any], parameter_values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Translate a SAM template to plain CloudFormation without AWS credentials.

    The translator needs a region (for pseudo parameters and partitions) and calls IAM only to
    resolve managed-policy *names*; this template names none, so an empty map is enough.
    Like `sam package`, the local CodeUri is replaced by an S3 location first
    (s3://CODE_BUCKET/CODE_KEY), which the moto test fills with a zip.
    """
    sam_template = copy.deepcopy(sam_template)
    for resource in sam_template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    session = boto3.session.Session(region_name=REGION)
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), boto_session=session)
    return translator.translate(
        sam_template=sam_template,
        parameter_values=dict(parameter_values or {}),
        get_managed_policy_map=dict,
    )


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

NO_VALUE = object()
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK_NAME,
}


class CfnEvaluator:
    """Resolves Ref, Fn::Sub, Fn::If, Fn::FindInMap, Fn::GetAtt of one template for given parameters.

    References to resources stay symbolic: Ref X => "REF:X", GetAtt X.Y => "GETATT:X.Y", so tests
    can assert which resource a statement names.
    """

    def __init__(
        self,
        cfn_template: dict[str, Any],
        parameter_values: dict[str, str],
        stack_name: str = STACK_NAME,
    ) -> None:
        self.template = cfn_template
        self.pseudo_parameters = {**PSEUDO_PARAMETERS, "AWS::StackName": stack_name}
        self.parameters = {
            name: str(parameter_values.get(name, spec.get("Default", "")))
            for name, spec in cfn_template.get("Parameters", {}).items()
        }
        self.conditions = {
            name: bool(self.resolve(expression))
            for name, expression in cfn_template.get("Conditions", {}).items()
        }

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo_parameters:
            return self.pseudo_parameters[name]
        if name in self.parameters:
            if self.template["Parameters"][name].get("Type") == "CommaDelimitedList":
                return self.parameters[name].split(",")
            return self.parameters[name]
        return f"REF:{name}"

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: Any) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template.get("Resources", {}):
                return f"GETATT:{name}"
            return str(self._ref(name))

        import re

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            values = [self.resolve(item) for item in node]
            return [value for value in values if value is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Condition":
                return self.conditions[value]
            if key == "Fn::GetAtt":
                attribute = value if isinstance(value, str) else ".".join(value)
                return f"GETATT:{attribute}"
            if key == "Fn::If":
                name, when_true, when_false = value
                return self.resolve(when_true if self.conditions[name] else when_false)
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in value)
                return str(left) == str(right)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(item) for item in self.resolve(items))
            if key == "Fn::FindInMap":
                mapping, first, second = (self.resolve(item) for item in value)
                return self.template["Mappings"][mapping][str(first)][str(second)]
            if key == "Fn::Sub":
                if isinstance(value, str):
                    return self._sub(value, {})
                text, variables = value
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def resources(self) -> dict[str, dict[str, Any]]:
        """Resources whose Condition holds, with their properties resolved."""
        kept = {}
        for logical_id, resource in self.template["Resources"].items():
            condition = resource.get("Condition")
            if condition is not None and not self.conditions[condition]:
                continue
            kept[logical_id] = {
                **resource,
                "Properties": self.resolve(resource.get("Properties", {})),
            }
        return kept


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
