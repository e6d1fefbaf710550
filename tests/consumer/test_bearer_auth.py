"""JoorBearerAuth on a requests Session whose transport is an in-memory adapter (no sockets)."""

from __future__ import annotations

import io
import logging

import pytest
import requests

from joor_token import JoorBearerAuth, RefreshFailedError, TokenReader
from tests.consumer.fakes import JOOR_API_URL, FakeClock, FakeJoorApi, FakeLambda, FakeSsm


def test_the_request_carries_the_readers_token_as_a_bearer(
    session: requests.Session, api: FakeJoorApi, ssm: FakeSsm
) -> None:
    api.live = lambda _token: True

    response = session.get(JOOR_API_URL, timeout=5)

    assert response.status_code == 200
    assert api.received[0]["authorization"] == f"Bearer {ssm.versions[0].value}"


def test_a_401_renews_the_token_once_and_resends_the_request_once(
    session: requests.Session, api: FakeJoorApi, ssm: FakeSsm, lambda_: FakeLambda
) -> None:
    response = session.post(JOOR_API_URL, data=b'{"order": 1}', timeout=5)

    assert response.status_code == 200
    assert [r["authorization"] for r in api.received] == [
        f"Bearer {ssm.versions[0].value}",
        f"Bearer {ssm.versions[1].value}",
    ]
    assert [r["body"] for r in api.received] == [b'{"order": 1}'] * 2
    assert api.received[1]["kwargs"]["timeout"] == 5  # the caller's send options are kept
    assert lambda_.events == [{"force": True, "seen_version": 1, "parameter": ssm.name}]
    assert [r.status_code for r in response.history] == [401]
    assert response.request.headers["Authorization"] == f"Bearer {ssm.versions[1].value}"


def test_a_401_to_the_renewed_token_is_returned_with_no_second_renewal(
    session: requests.Session, api: FakeJoorApi, lambda_: FakeLambda
) -> None:
    api.live = lambda _token: False  # a wrong endpoint: every token is refused

    response = session.get(JOOR_API_URL, timeout=5)

    assert response.status_code == 401
    assert len(api.received) == 2
    assert len(lambda_.events) == 1


def test_when_the_refresher_declines_the_401_is_returned_and_a_warning_logged(
    session: requests.Session,
    api: FakeJoorApi,
    lambda_: FakeLambda,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.live = lambda _token: False
    session.get(JOOR_API_URL, timeout=5)  # renews once: version 2, written just now
    clock.advance(10)

    response = session.get(JOOR_API_URL, timeout=5)

    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}  # the 401's body is still readable
    assert len(api.received) == 3
    assert lambda_.events[-1]["seen_version"] == 2
    assert "no new token is to be had" in caplog.text
    assert "minimum interval" in caplog.text


def test_a_form_body_is_resent_after_a_401(
    session: requests.Session, api: FakeJoorApi, ssm: FakeSsm
) -> None:
    # requests encodes a dict as a str body: order=7&note=caf%C3%A9
    response = session.post(JOOR_API_URL, data={"order": "7", "note": "café"}, timeout=5)

    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert [r["body"] for r in api.received] == ["order=7&note=caf%C3%A9"] * 2
    assert api.received[1]["authorization"] == f"Bearer {ssm.versions[-1].value}"


def test_a_body_that_cannot_be_read_twice_is_not_resent_but_the_token_is_renewed(
    session: requests.Session, api: FakeJoorApi, ssm: FakeSsm, caplog: pytest.LogCaptureFixture
) -> None:
    chunks = (part for part in [b"a", b"b"])

    response = session.post(JOOR_API_URL, data=chunks, timeout=5)

    assert response.status_code == 401
    assert len(api.received) == 1
    assert ssm.version == 2
    assert "cannot be read a second time" in caplog.text
    assert session.get(JOOR_API_URL, timeout=5).status_code == 200


def test_a_seekable_file_body_is_resent_from_where_it_started(
    session: requests.Session, api: FakeJoorApi
) -> None:
    upload = io.BytesIO(b"HEADER|payload")
    upload.seek(7)

    response = session.post(JOOR_API_URL, data=upload, timeout=5)

    assert response.status_code == 200
    assert [r["body"] for r in api.received] == [b"payload", b"payload"]


def test_a_renewal_failure_reaches_the_caller_as_an_error(
    session: requests.Session, lambda_: FakeLambda
) -> None:
    lambda_.script = [
        ("function_error", "CredentialsRejectedError", "JOOR rejected the credentials")
    ]

    with pytest.raises(RefreshFailedError, match="CredentialsRejectedError"):
        session.get(JOOR_API_URL, timeout=5)


def test_a_401_to_a_request_without_our_header_does_not_renew(
    api: FakeJoorApi, reader: TokenReader, lambda_: FakeLambda
) -> None:
    # A redirect to another host drops the Authorization header; its 401 is not about our token.
    auth = JoorBearerAuth(reader)
    request = requests.Request("GET", JOOR_API_URL, auth=auth).prepare()
    del request.headers["Authorization"]

    with requests.Session() as session:
        session.mount("https://", api)
        response = session.send(request, timeout=5)

    assert response.status_code == 401
    assert lambda_.events == []


def test_nothing_logged_holds_a_token(
    session: requests.Session,
    api: FakeJoorApi,
    ssm: FakeSsm,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api.live = lambda _token: False
    session.get(JOOR_API_URL, timeout=5)
    clock.advance(1)
    session.get(JOOR_API_URL, timeout=5)
    session.post(JOOR_API_URL, data=(b for b in [b"x"]), timeout=5)

    assert caplog.records
    for version in ssm.versions:
        assert version.value[:12] not in caplog.text
