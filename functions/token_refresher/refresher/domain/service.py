"""The refresh decision: keep the stored token while it is fresh, otherwise replace it."""

from __future__ import annotations

from datetime import timedelta

from refresher.domain.errors import (
    CredentialsRejectedError,
    EndpointUnavailableError,
    InvalidTokenResponseError,
    RefreshError,
    TransientEndpointError,
)
from refresher.domain.models import Credentials, IssuedToken, RefreshOutcome, StoredToken
from refresher.domain.ports import Clock, CredentialsSource, TokenEndpoint, TokenStore
from refresher.domain.retry import Deadline, RetryPolicy


class TokenRefresher:
    """Composes the ports. Every failure raises a RefreshError before the store is written."""

    def __init__(
        self,
        *,
        store: TokenStore,
        credentials: CredentialsSource,
        endpoint: TokenEndpoint,
        clock: Clock,
        window: timedelta,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._endpoint = endpoint
        self._clock = clock
        self._window = window
        self._retry = retry or RetryPolicy()

    def run(self, *, force: bool, time_limit: float) -> RefreshOutcome:
        """Refresh if forced or if the stored token has less than the window left.

        ``time_limit`` bounds the JOOR exchange, retries included, in seconds from now.
        """
        deadline = Deadline(self._clock, time_limit)
        stored: StoredToken | None = None
        if not force:
            # One DescribeParameters call: the whole cost of a run that finds the token fresh.
            stored = self._store.read()
            now = self._clock.now()
            if stored.is_fresh(now, self._window):
                return RefreshOutcome(
                    refreshed=False,
                    forced=False,
                    parameter=self._store.name,
                    expires_at=stored.expires_at,
                    version=stored.version,
                    seconds_left=stored.seconds_left(now),
                )

        try:
            return self._refresh(force, stored, deadline)
        except RefreshError as err:
            # Lets the caller report how long the token it kept still lives.
            err.seconds_left = stored.seconds_left(self._clock.now()) if stored else None
            raise

    def _refresh(
        self, force: bool, stored: StoredToken | None, deadline: Deadline
    ) -> RefreshOutcome:
        credentials = self._credentials.load()
        token, attempts = self._request_with_retries(credentials, deadline)
        warnings = []
        if token.lifetime <= self._window:
            warnings.append(
                f"JOOR issued a token living {int(token.lifetime.total_seconds())} s, no longer "
                f"than the refresh window ({int(self._window.total_seconds())} s): every run "
                "will refresh. Lower REFRESH_WINDOW_SECONDS."
            )
        if (
            stored is not None
            and stored.expires_at is not None
            and token.expires_at < stored.expires_at
        ):
            # Only reachable when JOOR shortens lifetimes drastically; a forced run skips it,
            # because its caller says the stored token no longer works.
            raise InvalidTokenResponseError(
                f"JOOR issued a token expiring at {token.expires_at.isoformat()}, sooner than "
                f"the stored one ({stored.expires_at.isoformat()}); kept the stored token"
            )
        version = self._store.write(token)
        return RefreshOutcome(
            refreshed=True,
            forced=force,
            parameter=self._store.name,
            expires_at=token.expires_at,
            version=version,
            seconds_left=(token.expires_at - self._clock.now()).total_seconds(),
            joor_attempts=attempts,
            warnings=tuple(warnings),
        )

    def _request_with_retries(
        self, credentials: Credentials, deadline: Deadline
    ) -> tuple[IssuedToken, int]:
        policy = self._retry
        last_problem = "no attempt made"
        for attempt in range(1, policy.max_attempts + 1):
            left = deadline.remaining()
            if left < policy.min_attempt_time:
                raise EndpointUnavailableError(
                    f"JOOR /auth/ unavailable: stopped after {attempt - 1} attempt(s) with "
                    f"{left:.1f} s left in the invocation (last problem: {last_problem})"
                )
            try:
                token = self._endpoint.request_token(
                    credentials, timeout=min(policy.attempt_timeout, left)
                )
            except CredentialsRejectedError as err:
                raise err.with_secret_id(credentials.source) from None
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
            else:
                return token, attempt
        raise EndpointUnavailableError(
            f"JOOR /auth/ unavailable after {policy.max_attempts} attempts "
            f"(last problem: {last_problem})"
        )
