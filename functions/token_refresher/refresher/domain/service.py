"""The refresh decision: keep the stored token while it is fresh, otherwise replace it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from refresher.domain.errors import (
    EndpointUnavailableError,
    InvalidEventError,
    InvalidTokenResponseError,
    NoTimeToLogInError,
    RefreshError,
    TransientEndpointError,
)
from refresher.domain.models import Credentials, IssuedToken, RefreshOutcome, StoredToken
from refresher.domain.ports import Clock, CredentialsSource, TokenEndpoint, TokenStore
from refresher.domain.retry import Deadline, RetryPolicy


def rejection_skip(
    stored: StoredToken, seen_version: int, now: datetime, min_age: timedelta
) -> tuple[str, int | None] | None:
    """Why a consumer's report that ``seen_version`` was rejected needs no login, if it does not:
    ("already_replaced", None) or ("rate_limited", seconds to wait)."""
    if stored.version is not None and stored.version > seen_version:
        # Another consumer's report, or a scheduled run, already replaced it.
        return "already_replaced", None
    age = stored.age(now)
    if age is not None and age < min_age:
        # A token this new that JOOR refuses points at the caller (wrong endpoint, missing
        # rights), not at the token: logging in again would only loop.
        return "rate_limited", math.ceil((min_age - age).total_seconds())
    return None


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
        rejected_token_min_age: timedelta,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._endpoint = endpoint
        self._clock = clock
        self._window = window
        self._rejected_token_min_age = rejected_token_min_age
        self._retry = retry or RetryPolicy()

    def run(
        self,
        *,
        force: bool,
        time_limit: float,
        seen_version: int | None = None,
        parameter: str | None = None,
        stored: StoredToken | None = None,
    ) -> RefreshOutcome:
        """Refresh if forced or if the stored token has less than the window left.

        ``seen_version`` (with ``force``) is the version a consumer found rejected: the run
        logs in only if that version is still the stored one and old enough. ``parameter``,
        when given, must be the one this refresher keeps. ``stored`` is what the caller
        already read of the stored token (a fleet run lists every parameter at once).
        ``time_limit`` bounds the JOOR exchange, retries included, in seconds from now.
        """
        if parameter is not None and parameter != self._store.name:
            raise InvalidEventError(
                f"The event names parameter {parameter!r}, but this function keeps "
                f"{self._store.name!r}"
            )
        deadline = Deadline(self._clock, time_limit)
        reason = "forced"
        if not force or seen_version is not None:
            # One DescribeParameters call: the whole cost of a run that skips.
            stored = stored or self._store.read()
            now = self._clock.now()
            if seen_version is not None:
                skipped = self._skip_rejection(stored, seen_version, now)
                if skipped is not None:
                    return skipped
                reason = "rejected" if stored.exists else "missing"
            elif stored.is_fresh(now, self._window):
                return self._skipped(stored, now, "fresh")
            else:
                reason = "expiring" if stored.exists else "missing"

        try:
            # A forced run replaces the stored token whatever its expiry: its caller says
            # it no longer works.
            return self._refresh(reason, force, None if force else stored, deadline)
        except RefreshError as err:
            # Lets the caller report how long the token it kept still lives.
            err.seconds_left = stored.seconds_left(self._clock.now()) if stored else None
            raise

    def _skip_rejection(
        self, stored: StoredToken, seen_version: int, now: datetime
    ) -> RefreshOutcome | None:
        skip = rejection_skip(stored, seen_version, now, self._rejected_token_min_age)
        if skip is None:
            return None
        reason, retry_after = skip
        return self._skipped(stored, now, reason, retry_after)

    def _skipped(
        self, stored: StoredToken, now: datetime, reason: str, retry_after: int | None = None
    ) -> RefreshOutcome:
        return skipped_outcome(self._store.name, stored, now, reason, retry_after)

    def _refresh(
        self, reason: str, force: bool, keep_if_longer: StoredToken | None, deadline: Deadline
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
            keep_if_longer is not None
            and keep_if_longer.expires_at is not None
            and token.expires_at < keep_if_longer.expires_at
        ):
            # Only reachable when JOOR shortens lifetimes drastically.
            raise InvalidTokenResponseError(
                f"JOOR issued a token expiring at {token.expires_at.isoformat()}, sooner than "
                f"the stored one ({keep_if_longer.expires_at.isoformat()}); kept the stored token"
            )
        version = self._store.write(token)
        return RefreshOutcome(
            refreshed=True,
            forced=force,
            parameter=self._store.name,
            expires_at=token.expires_at,
            version=version,
            seconds_left=(token.expires_at - self._clock.now()).total_seconds(),
            reason=reason,
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
                error = NoTimeToLogInError if attempt == 1 else EndpointUnavailableError
                raise error(
                    f"JOOR /auth/ unavailable: stopped after {attempt - 1} attempt(s) with "
                    f"{left:.1f} s left in the invocation (last problem: {last_problem})"
                )
            try:
                token = self._endpoint.request_token(
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
            else:
                return token, attempt
        raise EndpointUnavailableError(
            f"JOOR /auth/ unavailable after {policy.max_attempts} attempts "
            f"(last problem: {last_problem})"
        )


def skipped_outcome(
    parameter: str, stored: StoredToken, now: datetime, reason: str, retry_after: int | None = None
) -> RefreshOutcome:
    """A run that left the stored token in place, and why."""
    return RefreshOutcome(
        refreshed=False,
        forced=reason != "fresh",
        parameter=parameter,
        expires_at=stored.expires_at,
        version=stored.version,
        seconds_left=stored.seconds_left(now),
        reason=reason,
        retry_after=retry_after,
    )
