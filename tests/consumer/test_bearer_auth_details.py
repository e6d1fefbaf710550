"""JoorBearerAuth's details: no renewal without a 401 to our token, the token it names when
renewing, bodies that can and cannot be sent again, and what it logs."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import requests

from joor_token import JoorBearerAuth, TokenReader
from tests.consumer.fakes import JOOR_API_URL, FakeClock, FakeJoorApi, FakeLambda, FakeSsm


def test_an_accepted_request_asks_for_no_new_token(
    session: requests.Session, api: FakeJoorApi, lambda_: FakeLambda
) -> None:
    api.live = lambda _token: True

    assert session.get(JOOR_API_URL, timeout=5).status_code == 200
    assert lambda_.events == []


class RenewedMeanwhile(FakeJoorApi):
    """Before answering 401 the first time, another thread of the process renews the token."""

    def __init__(self, live: Callable[[str], bool], reader: TokenReader) -> None:
        super().__init__(live)
        self.reader = reader

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if not self.received:
            self.reader.refresh_after_rejection()
        return super().send(request, **kwargs)


def test_a_401_to_a_token_already_replaced_resends_with_the_new_one_without_asking_again(
    reader: TokenReader, ssm: FakeSsm, lambda_: FakeLambda
) -> None:
    revoked = {v.value for v in ssm.versions}
    api = RenewedMeanwhile(lambda token: token not in revoked, reader)
    with requests.Session() as session:
        session.mount("https://", api)
        session.auth = JoorBearerAuth(reader)

        response = session.get(JOOR_API_URL, timeout=5)

    assert response.status_code == 200
    assert len(lambda_.events) == 1  # the other thread's renewal only
    assert api.received[1]["authorization"] == f"Bearer {ssm.versions[-1].value}"


def test_a_declined_renewal_is_logged_with_the_refreshers_reason(
    session: requests.Session,
    api: FakeJoorApi,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.live = lambda _token: False
    session.get(JOOR_API_URL, timeout=5)
    clock.advance(10)
    caplog.clear()

    with caplog.at_level("WARNING", logger="joor_token"):
        session.get(JOOR_API_URL, timeout=5)

    warnings = [r.getMessage() for r in caplog.records if r.name == "joor_token._requests_auth"]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "JOOR answered 401 and no new token is to be had: JOOR rejected version 2 of "
    )


def test_a_body_read_once_is_logged_as_why_the_401_is_returned(
    session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="joor_token"):
        session.post(JOOR_API_URL, data=(part for part in [b"a"]), timeout=5)

    assert caplog.records[-1].getMessage() == (
        "JOOR answered 401; the token is renewed, but this request's body cannot be read a "
        "second time (a generator or a stream), so the 401 is returned: send bytes or a "
        "seekable file to have such a request resent"
    )


class Unseekable(io.RawIOBase):
    """A stream that says where it is but cannot go back (or cannot even say where it is)."""

    def __init__(self, data: bytes, *, tell_fails: bool) -> None:
        self._data = io.BytesIO(data)
        self._tell_fails = tell_fails

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)

    def tell(self) -> int:
        if self._tell_fails:
            raise OSError("illegal seek")
        return self._data.tell()

    def __getattribute__(self, name: str) -> Any:
        if name == "seek" and not object.__getattribute__(self, "_tell_fails"):
            raise AttributeError(name)
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("tell_fails", [False, True], ids=["no-seek", "tell-fails"])
def test_a_stream_that_cannot_go_back_is_not_resent(
    session: requests.Session, api: FakeJoorApi, tell_fails: bool
) -> None:
    response = session.post(
        JOOR_API_URL, data=Unseekable(b"payload", tell_fails=tell_fails), timeout=5
    )

    assert response.status_code == 401
    assert len(api.received) == 1
