"""A moto server behind the AWS fault proxy, for the deploy tools (preflight, post-deploy refresh).

moto does not serve Lambda's GetAccountSettings, so the proxy answers it with a canned
account (1000 concurrent executions, all unreserved) unless a test queues another answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
