"""JoorAuthEndpoint against the local JOOR auth server: what it sends, and what each answer
becomes."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.local.http_stand_in import free_port
from infra.local.joor_auth_server import DOCUMENTED_FIELDS, Fault, JoorAuthServer
from refresher.adapters.joor_auth import USER_AGENT, JoorAuthEndpoint
from refresher.domain.errors import (
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    TransientEndpointError,
)
from refresher.domain.models import Credentials
from tests.tls import self_signed_certificate
from tests.unit.fakes import START, FakeClock

# The most of an answer the refresher reads: 64 KiB, far more than any token response.
MAX_BODY_BYTES = 64 * 1024

pytestmark = pytest.mark.integration


def endpoint(joor: JoorAuthServer, clock: FakeClock | None = None) -> JoorAuthEndpoint:
    return JoorAuthEndpoint(joor.url, clock or FakeClock())


def test_a_login_returns_the_issued_token_expiring_from_when_the_request_was_sent(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    token = endpoint(joor).request_token(credentials, timeout=5)

    assert token.access_token == joor.state.issued[-1].access_token
    assert token.lifetime == timedelta(seconds=joor.state.expires_in)
    assert token.expires_at == START + timedelta(seconds=joor.state.expires_in)


def test_the_request_is_a_multipart_form_with_the_documented_fields_and_our_user_agent(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    endpoint(joor).request_token(credentials, timeout=5)

    received = joor.state.received[-1]
    # The page's five fields (../shared/reference/joor-v4-authenticate.txt), no more.
    assert received["fields"] == sorted(DOCUMENTED_FIELDS)
    assert received["content_type"].startswith("multipart/form-data; boundary=")
    assert received["user_agent"] == USER_AGENT
    assert received["accept"] == "application/json"


def test_one_endpoint_logs_in_again_on_each_call(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    auth = endpoint(joor)

    first = auth.request_token(credentials, timeout=5)
    second = auth.request_token(credentials, timeout=5)

    assert joor.logins == 2
    assert first.access_token != second.access_token


def test_proxy_settings_in_the_environment_are_ignored(
    joor: JoorAuthServer, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy that does not exist: a session that honoured it could not reach JOOR.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    endpoint(joor).request_token(credentials, timeout=5)

    assert joor.logins == 1


def test_wrong_credentials_are_rejected_with_keycloaks_reason_and_the_secret_named(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    wrong = Credentials(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        username=credentials.username,
        password="not-the-password",
        source="joor/test/api-credentials",
    )

    with pytest.raises(CredentialsRejectedError) as caught:
        endpoint(joor).request_token(wrong, timeout=5)

    assert caught.value.status == 401
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "Invalid user credentials"
    assert caught.value.secret_id == "joor/test/api-credentials"


def test_a_keycloak_answer_quoting_a_credential_is_redacted(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    body = {"error": f"bad {credentials.username}", "error_description": credentials.password}
    joor.queue(Fault("status", status=400, body=json.dumps(body).encode()))

    with pytest.raises(CredentialsRejectedError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert caught.value.error == "bad [redacted]"
    assert caught.value.description == "[redacted]"


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b""], ids=["not-json", "not-an-object", "empty"]
)
def test_a_4xx_without_keycloaks_json_object_is_a_rejection_without_detail(
    joor: JoorAuthServer, credentials: Credentials, body: bytes
) -> None:
    joor.queue(Fault("status", status=403, body=body))

    with pytest.raises(CredentialsRejectedError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert (caught.value.status, caught.value.error, caught.value.description) == (403, "", "")


def test_keycloak_fields_that_are_not_strings_are_left_out(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    body = {"error": 42, "error_description": ["a list"]}
    joor.queue(Fault("status", status=400, body=json.dumps(body).encode()))

    with pytest.raises(CredentialsRejectedError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert (caught.value.error, caught.value.description) == ("", "")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_throttling_and_server_errors_are_worth_another_attempt(
    joor: JoorAuthServer, credentials: Credentials, status: int
) -> None:
    joor.queue(Fault("status", status=status))

    with pytest.raises(TransientEndpointError, match=f"JOOR answered HTTP {status}$") as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert caught.value.retry_after is None


def test_retry_after_in_seconds_is_passed_on(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("status", status=429, headers={"Retry-After": "7"}))

    with pytest.raises(TransientEndpointError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert caught.value.retry_after == 7.0


def test_retry_after_as_a_date_counts_from_the_clocks_now(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    clock = FakeClock()
    # Sent after the request: the wait counts from when the answer came, not from before.
    joor.queue(
        Fault("status", status=503, headers={"Retry-After": "Sat, 28 Nov 2026 12:01:00 GMT"})
    )
    auth = endpoint(joor, clock)
    clock.advance(20)

    with pytest.raises(TransientEndpointError) as caught:
        auth.request_token(credentials, timeout=5)

    assert caught.value.retry_after == 40.0


@pytest.mark.parametrize("status", [404, 405, 410])
def test_no_token_endpoint_at_the_url_is_not_a_verdict_on_the_credentials(
    joor: JoorAuthServer, credentials: Credentials, status: int
) -> None:
    joor.queue(Fault("status", status=status))

    with pytest.raises(InvalidTokenResponseError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert str(caught.value) == (
        f"JOOR answered HTTP {status} at {joor.url}: no token endpoint there. "
        "Check JOOR_AUTH_URL and JOOR_ENVIRONMENT."
    )


@pytest.mark.parametrize("status", [400, 401, 403, 409, 499])
def test_other_4xx_answers_reject_the_credentials(
    joor: JoorAuthServer, credentials: Credentials, status: int
) -> None:
    joor.queue(Fault("status", status=status, body=b"{}"))

    with pytest.raises(CredentialsRejectedError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert caught.value.status == status


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308, 399])
def test_a_redirect_is_not_followed(
    joor: JoorAuthServer, credentials: Credentials, status: int
) -> None:
    joor.queue(Fault("status", status=status, headers={"Location": joor.url}))

    with pytest.raises(InvalidTokenResponseError, match=f"redirect \\(HTTP {status}\\)"):
        endpoint(joor).request_token(credentials, timeout=5)

    assert joor.calls == 1


@pytest.mark.parametrize("status", [201, 204, 299])
def test_an_unexpected_success_status_is_no_token(
    joor: JoorAuthServer, credentials: Credentials, status: int
) -> None:
    joor.queue(Fault("status", status=status))

    with pytest.raises(InvalidTokenResponseError, match=f"unexpected HTTP {status}$"):
        endpoint(joor).request_token(credentials, timeout=5)


def test_a_200_that_is_not_a_token_without_a_content_type_says_so(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("status", status=200, body=b"<html/>"))

    with pytest.raises(InvalidTokenResponseError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert str(caught.value) == (
        "JOOR answered HTTP 200 but the body is not JSON (7 bytes, no content type)"
    )


def test_a_token_answer_longer_than_one_read_is_put_together_whole(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    # 20 KB of leading whitespace (valid JSON): the answer arrives in several reads, and the
    # token's fields come after the last cut.
    token = {"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 300}
    joor.queue(Fault("status", status=200, body=b" " * 20000 + json.dumps(token).encode()))

    issued = endpoint(joor).request_token(credentials, timeout=5)

    assert (issued.access_token, issued.lifetime) == ("a.b.c", timedelta(seconds=300))


def test_a_200_that_is_not_a_token_names_its_content_type(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("status", status=200, body=b"<html/>", headers={"Content-Type": "text/html"}))

    with pytest.raises(InvalidTokenResponseError, match="content type 'text/html'"):
        endpoint(joor).request_token(credentials, timeout=5)


def test_an_answer_just_within_the_size_limit_is_read(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("status", status=400, body=b" " * MAX_BODY_BYTES))

    with pytest.raises(CredentialsRejectedError):
        endpoint(joor).request_token(credentials, timeout=5)


def test_an_answer_over_the_size_limit_is_not_read_further(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("status", status=200, body=b" " * (MAX_BODY_BYTES + 1)))

    with pytest.raises(InvalidTokenResponseError, match=f"larger than {MAX_BODY_BYTES} bytes"):
        endpoint(joor).request_token(credentials, timeout=5)


def test_a_huge_answer_is_hung_up_on_at_the_size_limit_not_downloaded(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    # 32 MB, more than the sockets on both sides buffer: downloaded whole before the limit is
    # applied, it would take a quarter of a 128 MB function's memory.
    joor.queue(Fault("status", status=200, body=b" " * (32 * 1024 * 1024)))

    with pytest.raises(InvalidTokenResponseError, match=f"larger than {MAX_BODY_BYTES} bytes"):
        endpoint(joor).request_token(credentials, timeout=5)

    gave_up = time.monotonic() + 5.0  # the server's thread sees the hang-up on its next write
    while joor.state.answers_cut_short == 0 and time.monotonic() < gave_up:
        time.sleep(0.01)
    assert joor.state.answers_cut_short == 1


def test_a_connection_lost_in_the_middle_of_the_answer_is_worth_another_attempt(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("cut_body", status=200, body=b'{"access_token": "'))

    with pytest.raises(TransientEndpointError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert str(caught.value) == "reading JOOR's answer failed: ChunkedEncodingError"


class JumpingClock(FakeClock):
    """Each monotonic reading after the first is ``jump`` seconds later than the one before."""

    def __init__(self, jump: float) -> None:
        super().__init__()
        self.jump = jump
        self.readings = 0

    def monotonic(self) -> float:
        jumped = self.jump * self.readings
        self.readings += 1
        return super().monotonic() + jumped


def test_an_answer_still_arriving_at_the_time_limit_is_abandoned(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    auth = endpoint(joor, JumpingClock(jump=5.5))

    with pytest.raises(TransientEndpointError) as caught:
        auth.request_token(credentials, timeout=5)

    assert str(caught.value) == "JOOR's answer was still arriving at the time limit"


def test_an_answer_read_on_the_time_limit_itself_is_kept(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    auth = endpoint(joor, JumpingClock(jump=5.0))

    assert auth.request_token(credentials, timeout=5).access_token


def test_no_answer_within_the_timeout_is_worth_another_attempt(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("delay", seconds=1.0))

    with pytest.raises(TransientEndpointError, match=r"no answer from JOOR within 0\.2 s"):
        endpoint(joor).request_token(credentials, timeout=0.2)


def test_a_login_the_client_gave_up_on_is_not_counted_after_the_stand_ins_reset(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    # The answer comes 1 s late, after the client's 0.2 s; a reset (the next test's fixture)
    # waits for it, so that its login lands before the counts are cleared, not after.
    joor.queue(Fault("delay", seconds=1.0))
    with pytest.raises(TransientEndpointError):
        endpoint(joor).request_token(credentials, timeout=0.2)

    joor.reset()
    time.sleep(1.0)  # past the late answer, had the reset not waited for it

    assert (joor.logins, joor.state.issued) == (0, [])


def test_a_dropped_connection_is_worth_another_attempt(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    joor.queue(Fault("drop"))

    with pytest.raises(TransientEndpointError, match=r"could not connect to JOOR: .*Disconnected"):
        endpoint(joor).request_token(credentials, timeout=5)


def test_nothing_listening_is_worth_another_attempt(credentials: Credentials) -> None:
    auth = JoorAuthEndpoint(f"http://127.0.0.1:{free_port()}/auth/", FakeClock())

    with pytest.raises(TransientEndpointError) as caught:
        auth.request_token(credentials, timeout=5)

    # The innermost cause, not urllib3's wrappers around it.
    assert str(caught.value) == (
        "could not connect to JOOR: ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_a_failed_tls_handshake_sends_no_credentials_and_is_not_retried(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    # The local server speaks plain HTTP: the handshake fails as with an untrusted certificate.
    url = joor.url.replace("http://", "https://")

    with pytest.raises(EndpointUnavailableError, match=r"TLS verification of https://.* failed"):
        JoorAuthEndpoint(url, FakeClock()).request_token(credentials, timeout=5)

    assert joor.state.received == []


def test_an_invalid_url_is_a_failed_request_named_by_its_kind(credentials: Credentials) -> None:
    auth = JoorAuthEndpoint("http://", FakeClock())

    with pytest.raises(TransientEndpointError, match="request to JOOR failed: InvalidURL"):
        auth.request_token(credentials, timeout=5)


def test_keycloaks_error_is_cut_at_80_characters_and_its_description_at_200(
    joor: JoorAuthServer, credentials: Credentials
) -> None:
    body = {"error": "e" * 81, "error_description": "d" * 201}
    joor.queue(Fault("status", status=400, body=json.dumps(body).encode()))

    with pytest.raises(CredentialsRejectedError) as caught:
        endpoint(joor).request_token(credentials, timeout=5)

    assert caught.value.error == "e" * 80 + "... [1 more characters]"
    assert caught.value.description == "d" * 200 + "... [1 more characters]"


@pytest.fixture(scope="module")
def untrusted_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTPS server whose self-signed certificate nothing trusts, answering with a token."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Token(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 300}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Token)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/auth/"
    server.shutdown()
    server.server_close()


def test_a_certificate_nothing_trusts_is_refused_and_not_retried(
    untrusted_tls: str, credentials: Credentials
) -> None:
    with pytest.raises(EndpointUnavailableError) as caught:
        JoorAuthEndpoint(untrusted_tls, FakeClock()).request_token(credentials, timeout=5)

    assert str(caught.value) == (
        f"TLS verification of {untrusted_tls} failed; credentials were not sent"
    )
