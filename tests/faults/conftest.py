"""The integration harness (moto server, fault proxy, local JOOR) for the fault matrix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.peers import CountingServer
from tests.integration.conftest import harness, local_stack  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redirect_target() -> Iterator[CountingServer]:
    with CountingServer() as server:
        yield server
