"""JOOR's V4 ``POST /auth/``: one attempt per call; the domain decides about retries."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from refresher.domain.errors import (
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    TransientEndpointError,
    redact,
)
from refresher.domain.models import Credentials, IssuedToken
from refresher.domain.ports import Clock

if TYPE_CHECKING:
    import requests

USER_AGENT = "joor-token-refresher/1.0 (+AWS Lambda; python-requests)"
CONNECT_TIMEOUT = 3.05
# A token response is well under 10 KB; anything far larger is not one.
MAX_BODY_BYTES = 64 * 1024
# JOOR says 36000 s. A lifetime beyond 30 days is a broken answer, and trusting it would
# stop refreshes long after the token really expired.
MAX_EXPIRES_IN = 30 * 24 * 3600
# SSM's Advanced tier holds 8 KB.
MAX_TOKEN_BYTES = 8 * 1024


class JoorAuthEndpoint:
    """Posts the documented multipart form, follows no redirect, verifies TLS.

    ``requests`` is imported on the first call, so a run that finds the token fresh
    never pays for it.
    """

    def __init__(self, url: str, clock: Clock) -> None:
        self._url = url
        self._clock = clock
        self._session: requests.Session | None = None

    def request_token(self, credentials: Credentials, timeout: float) -> IssuedToken:
        import requests

        if self._session is None:
            self._session = requests.Session()
            self._session.trust_env = False  # no proxy or netrc from the environment
        secrets = credentials.secret_values()
        fields = {
            "client_id": (None, credentials.client_id),
            "client_secret": (None, credentials.client_secret),
            "username": (None, credentials.username),
            "password": (None, credentials.password),
            "grant_type": (None, credentials.grant_type),
        }
        issued_at = self._clock.now()  # before sending: the expiry errs on the early side
        started = self._clock.monotonic()
        try:
            response = self._session.post(
                self._url,
                files=fields,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                allow_redirects=False,
                verify=True,
                stream=True,
            )
        except requests.exceptions.SSLError:
            # Not transient: retrying cannot make an untrusted certificate trusted.
            raise EndpointUnavailableError(
                f"TLS verification of {self._url} failed; credentials were not sent"
            ) from None
        except requests.Timeout:
            raise TransientEndpointError(f"no answer from JOOR within {timeout:.1f} s") from None
        except requests.ConnectionError as err:
            raise TransientEndpointError(
                f"could not connect to JOOR: {redact(_root_cause(err), secrets, 160)}"
            ) from None
        except requests.RequestException as err:
            raise TransientEndpointError(f"request to JOOR failed: {type(err).__name__}") from None
        with response:
            body = _read_limited(response, started + timeout, self._clock)
            status = response.status_code
            headers = response.headers
        if status == 200:
            return parse_token_response(body, issued_at, headers.get("Content-Type", ""))
        if status == 429 or status >= 500:
            raise TransientEndpointError(
                f"JOOR answered HTTP {status}",
                retry_after=parse_retry_after(headers.get("Retry-After"), self._clock.now()),
            )
        if 300 <= status < 400:
            raise InvalidTokenResponseError(
                f"JOOR answered with a redirect (HTTP {status}); credentials are only sent to "
                f"the configured URL {self._url}, so it was not followed. Check JOOR_AUTH_URL."
            )
        if status in (404, 405, 410):
            # Not a verdict on the credentials: nothing answers /auth/ at this URL.
            raise InvalidTokenResponseError(
                f"JOOR answered HTTP {status} at {self._url}: no token endpoint there. "
                "Check JOOR_AUTH_URL and JOOR_ENVIRONMENT."
            )
        if 400 <= status < 500:
            error, description = _keycloak_error(body, secrets)
            raise CredentialsRejectedError(status, error, description, credentials.source)
        raise InvalidTokenResponseError(f"JOOR answered an unexpected HTTP {status}")


def _root_cause(err: BaseException) -> str:
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return f"{type(err).__name__}: {err}"


def _read_limited(response: requests.Response, deadline: float, clock: Clock) -> bytes:
    import requests

    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=8192):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise InvalidTokenResponseError(
                    f"JOOR's answer (HTTP {response.status_code}) is larger than "
                    f"{MAX_BODY_BYTES} bytes, far more than any token response; not read further"
                )
            if clock.monotonic() > deadline:
                raise TransientEndpointError("JOOR's answer was still arriving at the time limit")
            chunks.append(chunk)
    except requests.RequestException as err:
        raise TransientEndpointError(
            f"reading JOOR's answer failed: {type(err).__name__}"
        ) from None
    return b"".join(chunks)


def _keycloak_error(body: bytes, secrets: tuple[str, ...]) -> tuple[str, str]:
    """Keycloak's ``{"error": ..., "error_description": ...}``, made safe to log."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    error = data.get("error")
    description = data.get("error_description")
    return (
        redact(error, secrets, 80) if isinstance(error, str) else "",
        redact(description, secrets, 200) if isinstance(description, str) else "",
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_token_response(body: bytes, issued_at: datetime, content_type: str = "") -> IssuedToken:
    """Accept only a usable Bearer token with a sane lifetime; say precisely what is wrong."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        kind = f"content type {content_type!r}" if content_type else "no content type"
        raise InvalidTokenResponseError(
            f"JOOR answered HTTP 200 but the body is not JSON ({len(body)} bytes, {kind})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidTokenResponseError(
            f"JOOR answered HTTP 200 with JSON that is not an object ({type(data).__name__})"
        )
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise InvalidTokenResponseError("JOOR answered HTTP 200 without an access_token")
    if not all(33 <= ord(ch) <= 126 for ch in token):
        raise InvalidTokenResponseError(
            "JOOR's access_token contains characters that cannot go in an HTTP header"
        )
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise InvalidTokenResponseError(
            f"JOOR's access_token is {len(token.encode())} bytes, more than the "
            f"{MAX_TOKEN_BYTES} bytes a parameter can hold"
        )
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        shown = redact(token_type, (token,), 40) if isinstance(token_type, str) else token_type
        raise InvalidTokenResponseError(f"JOOR's token_type is {shown!r}, expected 'Bearer'")
    expires_in = data.get("expires_in")
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not math.isfinite(expires_in)
        or expires_in <= 0
    ):
        shown = "missing" if expires_in is None else f"{type(expires_in).__name__} {expires_in!r}"
        if isinstance(expires_in, str):
            shown = f"a string ({len(expires_in)} characters)"
        raise InvalidTokenResponseError(
            f"JOOR's expires_in is {shown}; expected a positive number of seconds"
        )
    if expires_in > MAX_EXPIRES_IN:
        raise InvalidTokenResponseError(
            f"JOOR's expires_in is {expires_in} s, over {MAX_EXPIRES_IN} s (30 days); not trusted"
        )
    lifetime = timedelta(seconds=float(expires_in))
    # Whole seconds, rounded down: the stored expiry is what the summary reports.
    expires_at = (issued_at + lifetime).replace(microsecond=0)
    return IssuedToken(access_token=token, expires_at=expires_at, lifetime=lifetime)
