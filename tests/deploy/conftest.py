"""A moto server behind the AWS fault proxy, for the deploy tools (preflight, post-deploy refresh),
and what their tests set up alike: a samconfig.toml, a stack naming its function, a token.

moto does not serve Lambda's GetAccountSettings, so the proxy answers it with a canned
account (1000 concurrent executions, all unreserved) unless a test queues another answer.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from infra.deploy.preflight import main as preflight_main
from infra.local.aws_fault_proxy import AwsAnswer, AwsFaultProxy
from infra.local.moto_server import MotoServer
from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT, format_expiry
from tests.leakwatch import WATCH

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARAMETER_NAME = "/joor/sandbox/access-token"  # the named account's, in the preflight's tests


def account_settings(total: int, unreserved: int) -> AwsAnswer:
    return AwsAnswer(
        "lambda.GetAccountSettings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": total,
                "UnreservedConcurrentExecutions": unreserved,
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
        },
        times=1000,
    )


@dataclass
class LocalAws:
    moto: MotoServer
    proxy: AwsFaultProxy


@pytest.fixture(scope="module")
def local_aws_servers() -> Iterator[LocalAws]:
    with MotoServer() as moto:
        proxy = AwsFaultProxy(moto.url).start()
        try:
            yield LocalAws(moto, proxy)
        finally:
            proxy.stop()


@pytest.fixture
def local_aws(local_aws_servers: LocalAws, monkeypatch: pytest.MonkeyPatch) -> LocalAws:
    """Empty moto, no queued faults, a large account, and boto3 pointed at the proxy."""
    local_aws_servers.moto.reset()
    local_aws_servers.proxy.reset()
    local_aws_servers.proxy.inject(account_settings(total=1000, unreserved=1000))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws_servers.proxy.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return local_aws_servers


@pytest.fixture
def sam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable `sam` that runs fake_sam.py; its calls are logged to sam-calls.jsonl."""
    script = tmp_path / "sam"
    script.write_text(
        f'#!/bin/sh\nexec {sys.executable} {REPO_ROOT / "tests" / "deploy" / "fake_sam.py"} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("FAKE_SAM_LOG", str(tmp_path / "sam-calls.jsonl"))
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "functions" / "token_refresher")]),
    )
    return script


def sam_calls(sam: Path) -> list[list[str]]:
    log = sam.parent / "sam-calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def samconfig(tmp_path: Path, stack_name: str, deploy_parameters: str = "") -> Path:
    """A samconfig.toml whose default environment names the stack (and, given, these lines of
    its [default.deploy.parameters])."""
    path = tmp_path / "samconfig.toml"
    text = f'version = 0.1\n[default.global.parameters]\nstack_name = "{stack_name}"\n'
    if deploy_parameters:
        text += f"[default.deploy.parameters]\n{deploy_parameters}"
    path.write_text(text, encoding="utf-8")
    return path


def function_stack(stack_name: str, function_name: str) -> None:
    """A stack in moto whose outputs name the function, as the template's do."""
    boto3.client("cloudformation").create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"TokenRefresherFunctionName": {"Value": function_name}},
            }
        ),
    )


def put_token(name: str, left: timedelta = timedelta(hours=9)) -> str:
    """A token as the function writes it, with this much life left; registered with the leak
    scan."""
    token = secrets.token_urlsafe(32)
    WATCH.add_secrets(token)
    boto3.client("ssm").put_parameter(
        Name=name,
        Value=token,
        Type="SecureString",
        Overwrite=True,
        Description=DESCRIPTION_FORMAT.format(expires_at=format_expiry(datetime.now(UTC) + left)),
    )
    return token


def recording_sam(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that writes its arguments to a file: (the executable, the file)."""
    arguments = tmp_path / "sam-arguments"
    script = tmp_path / "recording-sam"
    script.write_text(f'#!/bin/sh\necho "$@" > {arguments}\n', encoding="utf-8")
    script.chmod(0o755)
    return script, arguments


# --- make preflight ----------------------------------------------------------------------


def write_config(
    tmp_path: Path, stack_name: str = "joor-token-refresher-sandbox", **overrides: str
) -> Path:
    pairs = " ".join(f'{k}=\\"{v}\\"' for k, v in overrides.items())
    return samconfig(
        tmp_path,
        stack_name,
        'capabilities = "CAPABILITY_IAM"\n'
        f'parameter_overrides = "TokenParameterName=\\"{PARAMETER_NAME}\\" {pairs}"\n',
    )


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    code = preflight_main(["--config-file", str(config), *args])
    output = capsys.readouterr().out
    WATCH.record("preflight output", output)
    return code, output


@dataclass
class Preflight:
    """`make preflight` against moto with a fresh samconfig.toml of these parameter overrides."""

    aws: LocalAws
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(
        self, *args: str, stack_name: str = "joor-token-refresher-sandbox", **overrides: str
    ) -> tuple[int, str]:
        """Its exit status and output; ``args`` are more command-line options."""
        return run(self.capsys, write_config(self.tmp_path, stack_name, **overrides), *args)


@pytest.fixture
def preflight(local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Preflight:
    return Preflight(local_aws, tmp_path, capsys)
