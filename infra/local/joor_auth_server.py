"""A local HTTP server that behaves like JOOR's V4 ``POST /auth/``, plus a protected API.

It checks the documented multipart fields, issues opaque tokens with an expiry, and answers
bad requests the way Keycloak (which JOOR's answers resemble) does. Tests can queue faults
(statuses, delays, broken bodies, dropped connections) and read how often it was called.

The protected API is a stand-in for "any JOOR V4 call that needs the bearer token", so that a
consumer can be tested end to end: ``GET /v4/local/protected`` answers 200 and a small JSON
body only for ``Authorization: Bearer <token>`` where this server issued the token, it has not
expired and it has not been revoked (``revoke_all``); anything else gets 401 with
``WWW-Authenticate: Bearer error="invalid_token"``. ``GET /v4/local/refused`` answers 401 to
every token, live or not: a stand-in for a wrong endpoint or an account without the rights,
where a fresh token cannot help and a consumer must not loop. Neither path is a documented
JOOR path; JOOR's real resources live under other names.

``POST /local/revoke`` is the stand-in's own admin path, not JOOR's: it revokes every live
token (``revoke_all``) and answers ``{"revoked": <how many>, "logins": <so far>}``, so that
another process can play JOOR revoking tokens (``make local-revoke``). The server listens on
loopback only.

Run on its own: ``python -m infra.local.joor_auth_server --port 8765``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from infra.local.http_stand_in import HttpStandIn, LoopbackServer, QuietHandler

DOCUMENTED_FIELDS = {"client_id", "client_secret", "username", "password", "grant_type"}
AUTH_PATH = "/auth/"
# Stand-ins, not documented JOOR paths: see the module docstring.
PROTECTED_PATH = "/v4/local/protected"
REFUSED_PATH = "/v4/local/refused"
ADMIN_REVOKE_PATH = "/local/revoke"


@dataclass(frozen=True)
class Account:
    client_id: str
    client_secret: str
    username: str
    password: str
    disabled: bool = False
    direct_grants: bool = True


@dataclass
class Fault:
    """One scripted misbehaviour, used for the next matching request.

    kind: "status" (``status``, ``body``, ``headers``), "delay" (sleep ``seconds`` before
    answering normally), "drop" (close the connection without answering), "slow_body"
    (send headers, then trickle ``body`` over ``seconds``), "cut_body" (announce twice the
    length of ``body``, send it, and close the connection).
    """

    kind: str
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class IssuedRecord:
    access_token: str
    refresh_token: str
    expires_at: float
    client_id: str = ""
    revoked: bool = False


class JoorAuthState:
    """Everything the server knows; shared by its handler threads."""

    def __init__(
        self,
        accounts: list[Account],
        expires_in: int = 36000,
        login_latency: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.accounts = {a.client_id: a for a in accounts}
        self.expires_in = expires_in
        # Seconds every POST /auth/ waits before it is answered (a real login takes ~0.3 s).
        self.login_latency = login_latency
        self.sleep = sleep
        self.faults: deque[Fault] = deque()
        self.issued: list[IssuedRecord] = []
        self._by_token: dict[str, IssuedRecord] = {}
        self.requests = 0
        self.logins = 0
        # Protected-API answers, by (path, status).
        self.api_calls: Counter[tuple[str, int]] = Counter()
        # What each request looked like, without values: field names and headers.
        self.received: list[dict[str, Any]] = []
        # Scripted answers the client hung up on before all of their body was sent.
        self.answers_cut_short = 0
        self.lock = threading.Lock()
        # Requests being answered: a reset waits for them, so that an answer a client gave up
        # on (a delay past its timeout) cannot count a login after the reset.
        self._in_flight = 0
        self._idle = threading.Condition(self.lock)

    @contextmanager
    def answering(self) -> Iterator[None]:
        with self.lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self.lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        with self.lock:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def next_fault(self) -> Fault | None:
        with self.lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else None

    def record_issued(self, record: IssuedRecord) -> None:
        with self.lock:
            self.issued.append(record)
            self._by_token[record.access_token] = record
            self.logins += 1

    def token_account(self, access_token: str, now: float | None = None) -> str | None:
        """The client_id a live token was issued to; None if unknown, expired or revoked."""
        now = time.time() if now is None else now
        with self.lock:
            record = self._by_token.get(access_token)
            if record is None or record.revoked or record.expires_at <= now:
                return None
            return record.client_id

    def is_valid(self, access_token: str, now: float | None = None) -> bool:
        """Would JOOR accept this token now? (Several tokens can be live at once.)"""
        return self.token_account(access_token, now) is not None

    def revoke_all(self) -> int:
        """Every token issued so far stops working; later logins issue working tokens."""
        with self.lock:
            live = [r for r in self.issued if not r.revoked]
            for record in live:
                record.revoked = True
            return len(live)

    def count_api_call(self, path: str, status: int) -> None:
        with self.lock:
            self.api_calls[(path, status)] += 1

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.issued.clear()
            self._by_token.clear()
            self.received.clear()
            self.api_calls.clear()
            self.requests = 0
            self.logins = 0
            self.answers_cut_short = 0

    def authenticate(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Keycloak's password grant, as ../shared/reference/auth-endpoint-facts.md lists it."""
        unknown = set(form) - DOCUMENTED_FIELDS
        if unknown:
            return 400, {
                "error": "invalid_request",
                "error_description": f"Unexpected form parameter: {sorted(unknown)[0]}",
            }
        if "grant_type" not in form:
            return 400, {
                "error": "invalid_request",
                "error_description": "Missing form parameter: grant_type",
            }
        if form["grant_type"] != "password":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Unsupported grant_type",
            }
        account = self.accounts.get(form.get("client_id", ""))
        if account is None or form.get("client_secret") != account.client_secret:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Invalid client or Invalid client credentials",
            }
        if not account.direct_grants:
            return 400, {
                "error": "unauthorized_client",
                "error_description": "Client not allowed for direct access grants",
            }
        if form.get("username") != account.username or form.get("password") != account.password:
            return 401, {"error": "invalid_grant", "error_description": "Invalid user credentials"}
        if account.disabled:
            return 400, {"error": "invalid_grant", "error_description": "Account disabled"}
        record = IssuedRecord(
            access_token=".".join(secrets.token_urlsafe(n) for n in (24, 96, 43)),
            refresh_token=".".join(secrets.token_urlsafe(n) for n in (24, 64, 43)),
            expires_at=time.time() + self.expires_in,
            client_id=account.client_id,
        )
        self.record_issued(record)
        return 200, {
            "access_token": record.access_token,
            "expires_in": self.expires_in,
            "refresh_expires_in": 86400,
            "refresh_token": record.refresh_token,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": secrets.token_hex(16),
            "scope": "email profile",
        }


def keycloak_error(status: int, error: str, description: str | None = None) -> Fault:
    body: dict[str, str] = {"error": error}
    if description is not None:
        body["error_description"] = description
    return Fault(
        kind="status",
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


class _Handler(QuietHandler):
    server: LoopbackServer[JoorAuthServer]
    server_version = "joor-auth-local/1.0"

    @property
    def state(self) -> JoorAuthState:
        return self.server.owner.state

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        path = self.path.split("?", 1)[0]
        if path not in (PROTECTED_PATH, REFUSED_PATH):
            # What http.server answered before the API existed: GET has no other use here.
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        account = None
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            account = self.state.token_account(token.strip())
        if path == PROTECTED_PATH and account is not None:
            self.state.count_api_call(path, 200)
            self._send(200, {"account": account, "resource": "local stand-in"})
            return
        self.state.count_api_call(path, 401)
        if not token.strip():
            # RFC 6750 section 3.1: no error code when the request carried no token at all.
            body = {"error": "unauthorized", "error_description": "A bearer token is required"}
            self._send(401, body, {"WWW-Authenticate": "Bearer"})
            return
        description = "The access token is invalid, expired or revoked"
        challenge = f'Bearer error="invalid_token", error_description="{description}"'
        body = {"error": "invalid_token", "error_description": description}
        self._send(401, body, {"WWW-Authenticate": challenge})

    def do_POST(self) -> None:  # noqa: N802 - http.server's names
        with self.state.answering():
            self._answer_post()

    def _answer_post(self) -> None:
        raw = self.read_body()
        if self.path.split("?", 1)[0] == ADMIN_REVOKE_PATH:
            revoked = self.state.revoke_all()
            self._send(200, {"revoked": revoked, "logins": self.state.logins})
            return
        if self.path.rstrip("/") != "/auth":
            self._send(404, {"error": "not_found"})
            return
        if self.state.login_latency > 0:
            self.state.sleep(self.state.login_latency)
        fault = self.state.next_fault()
        if fault is not None and self._play(fault):
            return
        form = _parse_multipart(self.headers.get("Content-Type", ""), raw)
        with self.state.lock:
            self.state.received.append(
                {
                    "fields": sorted(form or {}),
                    "content_type": self.headers.get("Content-Type", ""),
                    "user_agent": self.headers.get("User-Agent", ""),
                    "accept": self.headers.get("Accept", ""),
                }
            )
        if form is None:
            self._send(
                400,
                {"error": "invalid_request", "error_description": "Expected multipart/form-data"},
            )
            return
        status, body = self.state.authenticate(form)
        self._send(status, body)

    def _play(self, fault: Fault) -> bool:
        """Act out a fault; False means 'answer normally afterwards'."""
        if fault.kind == "delay":
            time.sleep(fault.seconds)
            return False
        if fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault.kind == "slow_body":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fault.body)))
            self.end_headers()
            step = max(1, len(fault.body) // 10)
            for i in range(0, len(fault.body), step):
                self.wfile.write(fault.body[i : i + step])
                self.wfile.flush()
                time.sleep(fault.seconds / 10)
            return True
        if fault.kind == "cut_body":
            self.send_response(fault.status)
            self.send_header("Content-Length", str(2 * len(fault.body)))
            self.end_headers()
            self.wfile.write(fault.body)
            self.close_connection = True
            return True
        try:
            self.send_body(fault.status, fault.body, fault.headers)
        except (BrokenPipeError, ConnectionResetError):
            with self.state.lock:
                self.state.answers_cut_short += 1
            self.close_connection = True
        return True

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        fixed = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        self.send_body(status, json.dumps(body).encode(), {**fixed, **(headers or {})})


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, str] | None:
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        return None
    form: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            form[name] = payload.decode() if isinstance(payload, bytes) else ""
    return form


class JoorAuthServer(HttpStandIn):
    """Start and stop the server on a free loopback port; ``url`` is what JOOR_AUTH_URL takes.

    ``login_latency`` (seconds) delays every answer of ``POST /auth/``, as a real login takes
    time; ``sleep`` is how it waits (a test can pass a recorder).
    """

    def __init__(
        self,
        accounts: list[Account],
        expires_in: int = 36000,
        port: int = 0,
        *,
        login_latency: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._login_latency = login_latency
        self.state = JoorAuthState(accounts, expires_in, login_latency, sleep)
        super().__init__(_Handler, port)

    @property
    def base_url(self) -> str:
        return super().url

    @property
    def url(self) -> str:
        return f"{self.base_url}{AUTH_PATH}"

    @property
    def api_url(self) -> str:
        """The protected stand-in endpoint: 200 for a live token, 401 otherwise."""
        return f"{self.base_url}{PROTECTED_PATH}"

    @property
    def refused_url(self) -> str:
        """An endpoint that answers 401 whatever the token."""
        return f"{self.base_url}{REFUSED_PATH}"

    @property
    def calls(self) -> int:
        """Requests that reached ``/auth/``, answered or not."""
        return self.state.requests

    @property
    def logins(self) -> int:
        """Successful logins: tokens issued."""
        return self.state.logins

    def api_calls(self, status: int | None = None, path: str = PROTECTED_PATH) -> int:
        """Requests to an API path (the protected one unless told), optionally of one status."""
        with self.state.lock:
            return sum(
                n
                for (p, s), n in self.state.api_calls.items()
                if p == path and (status is None or s == status)
            )

    @property
    def login_latency(self) -> float:
        return self.state.login_latency

    @login_latency.setter
    def login_latency(self, seconds: float) -> None:
        self.state.login_latency = seconds

    def revoke_all(self) -> int:
        """JOOR stops accepting every token issued so far; returns how many were live."""
        return self.state.revoke_all()

    def queue(self, *faults: Fault) -> None:
        self.state.faults.extend(faults)

    def reset(self) -> None:
        """Forget tokens, faults and counts, once the answers under way have ended; the login
        latency goes back to the constructor's."""
        self.state.wait_until_idle()
        self.state.clear()
        self.state.login_latency = self._login_latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--client-id", default="demo-client")
    parser.add_argument("--client-secret", default="demo-client-secret")
    parser.add_argument("--username", default="demo@example.com")
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--expires-in", type=int, default=36000)
    parser.add_argument("--login-latency", type=float, default=0.0, help="seconds per login")
    args = parser.parse_args()
    account = Account(args.client_id, args.client_secret, args.username, args.password)
    server = JoorAuthServer(
        [account], args.expires_in, args.port, login_latency=args.login_latency
    ).start()
    print(f"JOOR-compatible auth server on {server.url} (Ctrl-C to stop)")
    print(f"protected stand-in API: {server.api_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
