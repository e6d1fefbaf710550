"""The integration harness (moto server, fault proxy, local JOOR) for the fault matrix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.stack import LocalStack
from tests.faults.peers import CountingServer
from tests.leakwatch import WATCH
from tests.integration.conftest import harness, local_stack  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _watch_the_whole_account(local_stack: LocalStack) -> None:
    """The client id and user name are not secrets JOOR checks, but they stay out of logs too."""
    WATCH.add_secrets(local_stack.account.client_id, local_stack.account.username)


@pytest.fixture(scope="session")
def redirect_target() -> Iterator[CountingServer]:
    with CountingServer() as server:
        yield server
