"""One account's run: read what is stored, ask the login gate, log in, store, remember."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from refresher.domain.errors import (
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidEventError,
    InvalidTokenResponseError,
    LoginRecordError,
    NoTimeToLogInError,
    RefreshError,
    TransientEndpointError,
)
from refresher.domain.gate import GatePolicy, Login, Skip, admit, first_look
from refresher.domain.models import (
    Credentials,
    CredentialState,
    IgnoredEvent,
    IssuedToken,
    LoginRecord,
    RefreshOutcome,
    RefreshRequest,
    StoredToken,
)
from refresher.domain.names import same_secret
from refresher.domain.ports import Clock, CredentialsSource, TokenEndpoint, TokenStore
from refresher.domain.retry import Deadline, RetryPolicy


class TokenRefresher:
    """One account: its token store, its credentials, its JOOR endpoint.

    Every failure raises a RefreshError before the store is written, so the stored token
    stays exactly as it was.
    """

    def __init__(
        self,
        *,
        store: TokenStore,
        credentials: CredentialsSource,
        endpoint: TokenEndpoint,
        clock: Clock,
        policy: GatePolicy,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._endpoint = endpoint
        self._clock = clock
        self._policy = policy
        self._retry = retry or RetryPolicy()

    @property
    def parameter(self) -> str:
        return self._store.name

    def run(
        self, request: RefreshRequest, *, time_limit: float, stored: StoredToken | None = None
    ) -> RefreshOutcome | IgnoredEvent:
        """What ``request`` asks of this account, within ``time_limit`` seconds for JOOR.

        ``stored`` is what the caller already read of the stored token. A secret change of
        another secret is ignored without a call.
        """
        if request.parameter is not None and request.parameter != self._store.name:
            raise InvalidEventError(
                f"The event names parameter {request.parameter!r}, but this function keeps "
                f"{self._store.name!r}"
            )
        change = request.secret_change
        if change is not None and not same_secret(
            self._credentials.secret_id, change.secret, change.name
        ):
            return IgnoredEvent(change.secret)
        deadline = Deadline(self._clock, time_limit)
        if stored is None:
            # An operator's force replaces the token whatever it is: nothing to read first.
            operator_force = request.force and request.operator and request.seen_version is None
            stored = StoredToken(exists=False) if operator_force else self._store.read()
        decision = first_look(request, stored, self._clock.now(), self._policy)
        if isinstance(decision, Skip):
            return self.skipped(stored, decision, forced=request.force)
        return self.log_in(decision, stored, deadline=deadline, forced=request.force)

    def log_in(
        self, login: Login, stored: StoredToken, *, deadline: Deadline, forced: bool
    ) -> RefreshOutcome:
        """Past the first look: ask the gate with the credentials' metadata, then log in
        before ``deadline``."""
        try:
            state = self._credentials.describe()
            skip = admit(login, state, self._clock.now(), self._policy)
            if skip is not None:
                return self.skipped(stored, skip, forced=forced, credentials=state)
            return self.refresh(login, stored, state, deadline, forced=forced)
        except RefreshError as err:
            # Lets the caller report how long the token it kept still lives.
            err.seconds_left = stored.seconds_left(self._clock.now())
            raise

    def refresh(
        self,
        login: Login,
        stored: StoredToken,
        state: CredentialState,
        deadline: Deadline,
        *,
        forced: bool,
    ) -> RefreshOutcome:
        """Log in with the secret's current version (the gate admitted the login) and store the
        token; whatever JOOR answers is remembered on the secret."""
        credentials = self._credentials.load()
        if credentials.version and credentials.version != state.current_version:
            # The secret changed between its metadata and its value: ask again for this one.
            state = replace(state, current_version=credentials.version)
            skip = admit(login, state, self._clock.now(), self._policy)
            if skip is not None:
                return self.skipped(stored, skip, forced=forced, credentials=state)
        attempts = _Attempts()
        try:
            token = self._request_with_retries(credentials, deadline, attempts)
        except CredentialsRejectedError as err:
            self._remember(state, credentials, "rejected", err)
            raise
        except RefreshError as err:
            if attempts.made:
                self._remember(state, credentials, "failed", err)
            raise
        # JOOR accepted the credentials. What is remembered is whether a fresh token came of
        # it: a token not stored, or one already due, lets the next run want another login.
        warnings: list[str] = []
        try:
            if (
                not forced
                and stored.expires_at is not None
                and token.expires_at < stored.expires_at
            ):
                # Only reachable when JOOR shortens lifetimes drastically.
                raise InvalidTokenResponseError(
                    f"JOOR issued a token expiring at {token.expires_at.isoformat()}, sooner than "
                    f"the stored one ({stored.expires_at.isoformat()}); kept the stored token"
                )
            version = self._store.write(token)
        except RefreshError as err:
            self._remember(state, credentials, "failed", err)
            raise
        if token.lifetime <= self._policy.window:
            warnings.append(
                f"JOOR issued a token living {int(token.lifetime.total_seconds())} s, no longer "
                f"than the refresh window ({int(self._policy.window.total_seconds())} s): every "
                "run will refresh. Lower REFRESH_WINDOW_SECONDS."
            )
            result = "failed"
        else:
            result = "ok"
        warnings += self._remember(state, credentials, result)
        return RefreshOutcome(
            refreshed=True,
            forced=forced,
            parameter=self._store.name,
            expires_at=token.expires_at,
            version=version,
            seconds_left=(token.expires_at - self._clock.now()).total_seconds(),
            reason=login.reason,
            joor_attempts=attempts.made,
            warnings=tuple(warnings),
            credentials=replace(state, last_login=_record(result, credentials, self._clock.now())),
        )

    def skipped(
        self,
        stored: StoredToken,
        skip: Skip,
        *,
        forced: bool,
        credentials: CredentialState | None = None,
    ) -> RefreshOutcome:
        return skipped_outcome(
            self._store.name,
            stored,
            self._clock.now(),
            skip,
            forced=forced,
            credentials=credentials,
        )

    def _remember(
        self,
        state: CredentialState,
        credentials: Credentials,
        result: str,
        error: RefreshError | None = None,
    ) -> list[str]:
        """Record on the secret what came of the login: "rejected", "failed" (no fresh token
        stored) or "ok". A routine refresh with credentials already known to work writes
        nothing: its fresh token is the evidence. A record that cannot be written becomes a
        warning, on ``error`` when there is one."""
        last = state.last_login
        if (
            result == "ok"
            and last is not None
            and (last.result, last.version) == ("ok", credentials.version)
        ):
            return []
        try:
            self._credentials.record(_record(result, credentials, self._clock.now()))
        except LoginRecordError as problem:
            said = {"rejected": "with a rejection", "ok": "with a token"}.get(
                result, "without a token"
            )
            warning = f"{problem}; the next run cannot know that JOOR answered {said}"
            if error is not None:
                error.warnings = (*error.warnings, warning)
            return [warning]
        return []

    def _request_with_retries(
        self, credentials: Credentials, deadline: Deadline, attempts: _Attempts
    ) -> IssuedToken:
        policy = self._retry
        last_problem = "no attempt made"
        for attempt in range(1, policy.max_attempts + 1):
            left = deadline.remaining()
            if left < policy.min_attempt_time:
                error = NoTimeToLogInError if attempt == 1 else EndpointUnavailableError
                raise error(
                    f"JOOR /auth/ unavailable: stopped after {attempt - 1} attempt(s) with "
                    f"{left:.1f} s left in the invocation (last problem: {last_problem})"
                )
            attempts.made = attempt
            try:
                return self._endpoint.request_token(
                    credentials, timeout=min(policy.attempt_timeout, left)
                )
            except TransientEndpointError as err:
                last_problem = str(err)
                if attempt == policy.max_attempts:
                    break
                wait = policy.wait_before_next(attempt, err.retry_after)
                left = deadline.remaining()
                if left - wait < policy.min_attempt_time:
                    raise EndpointUnavailableError(
                        f"JOOR /auth/ unavailable: stopped after {attempt} attempt(s), since "
                        f"waiting {wait:.1f} s more would not leave time for another attempt "
                        f"({left:.1f} s left; last problem: {last_problem})"
                    ) from None
                self._clock.sleep(wait)
        raise EndpointUnavailableError(
            f"JOOR /auth/ unavailable after {policy.max_attempts} attempts "
            f"(last problem: {last_problem})"
        )


class _Attempts:
    """How many requests reached for JOOR, however the exchange ended."""

    made = 0


def _record(result: str, credentials: Credentials, now: datetime) -> LoginRecord:
    return LoginRecord(result, now, credentials.version, credentials.version_created)


def skipped_outcome(
    parameter: str,
    stored: StoredToken,
    now: datetime,
    skip: Skip,
    *,
    forced: bool,
    credentials: CredentialState | None = None,
) -> RefreshOutcome:
    """A run that left the stored token in place, and why."""
    return RefreshOutcome(
        refreshed=False,
        forced=forced,
        parameter=parameter,
        expires_at=stored.expires_at,
        version=stored.version,
        seconds_left=stored.seconds_left(now),
        reason=skip.reason,
        retry_after=skip.retry_after,
        credentials=credentials,
    )
