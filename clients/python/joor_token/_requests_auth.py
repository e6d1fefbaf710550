"""JoorBearerAuth: requests authentication with the reader's token, one renewal per 401."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from requests.auth import AuthBase
from requests.cookies import extract_cookies_to_jar

from joor_token._errors import RefreshRateLimitedError

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

    from joor_token._reader import TokenReader

logger = logging.getLogger(__name__)


@dataclass
class _Attempt:
    """What one request sent: the token, and where its body started (to send it again)."""

    token: str = field(repr=False)
    rewindable: bool
    body_position: int | None
    renewed: bool = False


def _body_start(body: object) -> tuple[bool, int | None]:
    if body is None or isinstance(body, bytes | str):
        return True, None
    tell = getattr(body, "tell", None)
    if callable(tell) and callable(getattr(body, "seek", None)):
        try:
            return True, int(tell())
        except (OSError, ValueError):
            return False, None
    return False, None  # a generator or a stream: read once, gone


class JoorBearerAuth(AuthBase):
    """Sends ``Authorization: Bearer <token>`` from a TokenReader.

    On a 401 to that token it asks the reader for a new one (naming the token it sent) and
    sends the request once more, the way requests' own ``HTTPDigestAuth`` answers a challenge.
    A 401 to the resent request is returned as it is: no request renews twice, so an endpoint
    that rejects every token cannot cause a loop. The 401 is also returned when the refresher
    declines (RefreshRateLimitedError, logged as a warning), and when the body cannot be read
    again (a generator or a non-seekable stream): the token is still renewed for the next
    request. Other renewal failures raise (RefreshFailedError, TokenUnavailableError).
    """

    def __init__(self, reader: TokenReader) -> None:
        self.reader = reader

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        token = self.reader.token()
        r.headers["Authorization"] = f"Bearer {token}"
        rewindable, position = _body_start(r.body)
        attempt = _Attempt(token, rewindable, position)
        r.register_hook("response", functools.partial(self._handle_401, attempt))  # type: ignore[no-untyped-call]
        return r

    def _handle_401(self, attempt: _Attempt, r: Response, **kwargs: Any) -> Response:
        if r.status_code != 401 or attempt.renewed:
            return r
        if r.request.headers.get("Authorization") != f"Bearer {attempt.token}":
            # Not our token that was refused: a redirect to another host drops the header.
            return r
        attempt.renewed = True
        # Free the connection while the renewal runs; the 401's body stays readable.
        _ = r.content
        r.close()
        try:
            token = self.reader.refresh_after_rejection(rejected_token=attempt.token)
        except RefreshRateLimitedError as error:
            logger.warning("JOOR answered 401 and no new token is to be had: %s", error)
            return r
        if not attempt.rewindable:
            logger.warning(
                "JOOR answered 401; the token is renewed, but this request's body cannot be "
                "read a second time (a generator or a stream), so the 401 is returned: send "
                "bytes or a seekable file to have such a request resent"
            )
            return r
        body = r.request.body
        if attempt.body_position is not None:
            body.seek(attempt.body_position)  # type: ignore[union-attr]
        prep = r.request.copy()
        jar = prep._cookies  # type: ignore[attr-defined]
        extract_cookies_to_jar(jar, r.request, r.raw)  # type: ignore[no-untyped-call]
        prep.prepare_cookies(jar)
        prep.headers["Authorization"] = f"Bearer {token}"
        resent: Response = r.connection.send(prep, **kwargs)
        resent.history.append(r)
        resent.request = prep
        return resent
