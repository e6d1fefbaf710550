"""Each adapter against its real protocol peer, started in this process: moto's server (in a
thread, behind the AWS fault proxy) and the local JOOR auth server.

These drive one adapter at a time, without the handler around it, so that a test names one
behaviour of one adapter and takes milliseconds; tests/integration drives the whole function.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

# moto imports a service's models on the first request to it, seconds for SSM. Imported with
# the tests instead, a process that collected them (make mutate's fork server) forks test
# runs that start at once.
import moto.kms.models
import moto.secretsmanager.models
import moto.ssm.models  # noqa: F401
import pytest
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from infra.local.aws_fault_proxy import AwsFaultProxy
from infra.local.joor_auth_server import Account, JoorAuthServer
from infra.local.moto_server import free_port
from refresher.config import VARIABLES
from refresher.domain.models import Credentials
from tests.leakwatch import WATCH

REGION = "eu-west-1"


@dataclass
class Aws:
    """moto behind the fault proxy: ``client`` goes through the proxy, so faults apply."""

    moto_url: str
    proxy: AwsFaultProxy
    session: boto3.Session
    _clients: dict[tuple[str, bool], Any] = field(default_factory=dict)

    def client(self, service: str, *, direct: bool = False) -> Any:
        """One client per service and route, made once: making one reads the service's model."""
        if (service, direct) not in self._clients:
            # One attempt: an injected fault reaches the adapter as AWS sent it.
            config = Config(retries={"mode": "standard", "total_max_attempts": 1})
            url = self.moto_url if direct else self.proxy.url
            self._clients[service, direct] = self.session.client(  # type: ignore[call-overload]
                service, endpoint_url=url, config=config
            )
        return self._clients[service, direct]


@pytest.fixture(scope="session")
def aws_servers() -> Iterator[tuple[str, AwsFaultProxy]]:
    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto_url = f"http://127.0.0.1:{port}"
    proxy = AwsFaultProxy(moto_url).start()
    yield moto_url, proxy
    proxy.stop()
    server.stop()


@pytest.fixture(scope="session")
def aws_session(aws_servers: tuple[str, AwsFaultProxy]) -> Aws:
    moto_url, proxy = aws_servers
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=REGION,
    )
    return Aws(moto_url, proxy, session)


@pytest.fixture
def aws(aws_session: Aws) -> Aws:
    """A clean moto (no parameter, no secret) and no queued fault."""
    requests.post(f"{aws_session.moto_url}/moto-api/reset", timeout=10).raise_for_status()
    aws_session.proxy.reset()
    return aws_session


@pytest.fixture(scope="session")
def joor_account() -> Account:
    account = Account(
        client_id=f"client-{secrets.token_hex(8)}",
        client_secret=secrets.token_urlsafe(48),
        username=f"user-{secrets.token_hex(4)}@example.com",
        password=secrets.token_urlsafe(18),
    )
    WATCH.add_secrets(account.client_secret, account.password)
    return account


@pytest.fixture(scope="session")
def joor_server(joor_account: Account) -> Iterator[JoorAuthServer]:
    with JoorAuthServer([joor_account]) as server:
        yield server


@pytest.fixture
def joor(joor_server: JoorAuthServer) -> Iterator[JoorAuthServer]:
    """The JOOR auth server with no fault queued and no token issued yet."""
    joor_server.reset()
    yield joor_server
    WATCH.add_secrets(
        *(v for r in joor_server.state.issued for v in (r.access_token, r.refresh_token))
    )


@pytest.fixture
def credentials(joor_account: Account) -> Credentials:
    return Credentials(
        client_id=joor_account.client_id,
        client_secret=joor_account.client_secret,
        username=joor_account.username,
        password=joor_account.password,
        source="joor/test/api-credentials",
    )


@pytest.fixture
def aws_env(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    """The process environment as a Lambda function or an operator's shell has it, pointing at
    this moto: AWS_REGION alone (as the AWS CLI v2 has it), dummy AWS credentials, no AWS
    config file, and none of the refresher's variables (the test sets those it means)."""
    for name, _ in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.proxy.url)
    return aws
