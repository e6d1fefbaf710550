"""The local JOOR server's protected stand-in API, its revocation and its login latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from infra.local.joor_auth_server import REFUSED_PATH, Account, JoorAuthServer
from infra.local.stack import random_account
from tests.integration.conftest import joor_login as login
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

WAIT = 30.0


@pytest.fixture
def serve() -> Iterator[Callable[..., JoorAuthServer]]:
    """Start a JOOR server (one random account unless told); stopped afterwards."""
    servers: list[JoorAuthServer] = []

    def start(accounts: list[Account] | None = None, **options: Any) -> JoorAuthServer:
        accounts = accounts or [random_account()]
        for account in accounts:
            WATCH.add_secrets(account.client_secret, account.password)
        server = JoorAuthServer(accounts, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        WATCH.add_secrets(*(r.access_token for r in server.state.issued))
        WATCH.add_secrets(*(r.refresh_token for r in server.state.issued))
        server.stop()


def call_api(url: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(url, headers=headers, timeout=10)


def test_the_protected_endpoint_accepts_a_live_token(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve()
    token = login(server)

    response = call_api(server.api_url, token)

    assert response.status_code == 200
    assert response.json()["account"] == next(iter(server.state.accounts))
    assert server.api_calls(200) == 1


def test_the_protected_endpoint_refuses_a_revoked_token(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve()
    token = login(server)

    revoked = server.revoke_all()
    response = call_api(server.api_url, token)

    assert revoked == 1
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["error"] == "invalid_token"
    assert not server.state.is_valid(token)
    assert server.api_calls(401) == 1


def test_a_token_issued_after_revoke_all_is_accepted(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve()
    login(server)
    server.revoke_all()

    fresh = login(server)

    assert call_api(server.api_url, fresh).status_code == 200
    assert server.state.is_valid(fresh)


def test_the_protected_endpoint_refuses_an_expired_token(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve(expires_in=0)  # expired the moment it is issued
    token = login(server)

    response = call_api(server.api_url, token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_the_protected_endpoint_refuses_a_token_it_never_issued(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve()
    login(server)

    response = call_api(server.api_url, "a.token-this-server.never-issued")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_protected_endpoint_refuses_a_request_without_a_token(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve()

    response = call_api(server.api_url, None)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_refused_endpoint_answers_401_even_to_a_live_token(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve()
    token = login(server)

    response = call_api(server.refused_url, token)

    assert response.status_code == 401
    assert server.state.is_valid(token), "the token itself is still live"
    assert server.api_calls(401, path=REFUSED_PATH) == 1
    assert server.api_calls() == 0, "the protected endpoint was not called"


def test_each_account_is_told_by_its_own_token(serve: Callable[..., JoorAuthServer]) -> None:
    first, second = random_account(), random_account()
    server = serve([first, second])

    answers = [call_api(server.api_url, login(server, a)).json() for a in (first, second)]

    assert [a["account"] for a in answers] == [first.client_id, second.client_id]


def test_successful_logins_are_counted_and_failed_ones_are_not(
    serve: Callable[..., JoorAuthServer],
) -> None:
    account = random_account()
    server = serve([account])
    login(server)
    login(server)

    failed = requests.post(
        server.url,
        files={
            "client_id": (None, account.client_id),
            "client_secret": (None, account.client_secret),
            "username": (None, account.username),
            "password": (None, "not-the-password"),
            "grant_type": (None, "password"),
        },
        timeout=10,
    )

    assert failed.status_code == 401
    assert server.logins == 2
    assert server.calls == 3


def test_each_login_waits_the_configured_latency_before_answering(
    serve: Callable[..., JoorAuthServer],
) -> None:
    slept: list[float] = []
    server = serve(login_latency=0.3, sleep=slept.append)

    login(server)
    login(server)

    assert slept == [0.3, 0.3]


def test_a_client_that_waits_less_than_the_login_latency_times_out(
    serve: Callable[..., JoorAuthServer],
) -> None:
    server = serve(login_latency=1.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        login(server, timeout=0.2)

    # Let the delayed login finish before the server stops.
    deadline = time.monotonic() + WAIT
    while server.logins == 0 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_reset_forgets_tokens_and_counts_and_restores_the_login_latency(
    serve: Callable[..., JoorAuthServer],
) -> None:
    slept: list[float] = []
    server = serve(login_latency=0.1, sleep=slept.append)
    token = login(server)
    call_api(server.api_url, token)
    server.login_latency = 2.0

    server.reset()

    assert (server.logins, server.calls, server.api_calls()) == (0, 0, 0)
    assert not server.state.is_valid(token)
    assert server.login_latency == 0.1
