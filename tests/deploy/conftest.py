"""A moto server behind the AWS fault proxy, for the deploy tools (preflight, post-deploy refresh).

moto does not serve Lambda's GetAccountSettings, so the proxy answers it with a canned
account (1000 concurrent executions, all unreserved) unless a test queues another answer.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local.aws_fault_proxy import AwsAnswer, AwsFaultProxy
from infra.local.moto_server import MotoServer

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"  # moto's default account


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


@dataclass
class FakeSam:
    """tests/deploy/fake_sam.py as `sam`, first on PATH; what each call was given."""

    log: Path

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake_sam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSam:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sam = bin_dir / "sam"
    script = Path(__file__).with_name("fake_sam.py")
    sam.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    sam.chmod(sam.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SAM_LOG", str(tmp_path / "sam.log"))
    return FakeSam(tmp_path / "sam.log")
