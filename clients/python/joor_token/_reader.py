"""TokenReader: the JOOR token from Parameter Store, cached in the process, renewed once per
rejected version however many threads report it."""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from joor_token import _aws
from joor_token._aws import TokenRead
from joor_token._errors import ConfigurationError, RefreshFailedError, RefreshRateLimitedError

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ssm import SSMClient

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE_SECONDS = 300.0
# The least life the stack promises on the stored token, over every schedule and window it
# allows (template.yaml, TokenGuaranteeSeconds: a 60-minute interval with a 7200 s window).
# A token cached no longer than this cannot expire in the cache while JOOR answers.
MAX_AGE_LIMIT_SECONDS = 3600.0
# Long enough for a refresh already in progress to finish: the refresher's timeout is 100 s
# (template.yaml), and the reader looks again at most 5 s after it ends.
DEFAULT_BUSY_WAIT_SECONDS = 120.0
_FIRST_BACKOFF = 0.5
_MAX_BACKOFF = 5.0
# When the refresher says rate_limited without saying for how long (it always says).
_DEFAULT_RETRY_AFTER = 60.0


_Client = TypeVar("_Client")


class _OnFirstUse(Generic[_Client]):
    """A client given to the reader, or else made on first use, once for all threads."""

    def __init__(self, given: _Client | None, make: Callable[[], _Client]) -> None:
        self._client = given
        self._make = make
        self._lock = threading.Lock()

    def get(self) -> _Client:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return client


def _seconds(name: str, value: object, *, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    if value < low:
        raise ConfigurationError(f"{name} must be at least {low:g} seconds, got {value!r}")
    return float(value)


class TokenReader:
    """The JOOR access token kept by the token refresher, cached in this process.

    ``parameter_name`` defaults to ``JOOR_TOKEN_PARAMETER`` and ``refresher_function`` (a name
    or ARN) to ``JOOR_TOKEN_REFRESHER_FUNCTION``, both read here, when the reader is built.
    Without a refresher function, a rejection only makes the reader read the parameter again.

    ``max_age_seconds`` (default 300) is how long a token is served from memory before the
    parameter is read again; at most 3600, the least life any configuration of the stack
    guarantees on the stored token. ``busy_wait_seconds`` (default 120) is how long a renewal
    keeps waiting while the refresher is busy (Lambda answers 429 to a second concurrent
    invocation) before it gives up.

    ``session`` is a boto3 session the reader makes its own clients from, instead of a new
    default one: for example ``boto3.Session(profile_name="joor-reader")``, a profile that
    assumes the stack's TokenReaderRole from another account, whose credentials botocore renews
    before they expire. ``ssm_client`` and ``lambda_client`` are boto3 clients to use instead of
    the reader's own; a Lambda client passed in should not retry
    (``retries={"total_max_attempts": 1}``) and should wait longer than the refresher's timeout
    (100 s) for an answer. ``clock`` and ``sleep`` are for tests.

    Safe to share between threads; meant to be built once per process and reused.
    """

    def __init__(
        self,
        parameter_name: str | None = None,
        *,
        refresher_function: str | None = None,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
        busy_wait_seconds: float = DEFAULT_BUSY_WAIT_SECONDS,
        session: boto3.session.Session | None = None,
        ssm_client: SSMClient | None = None,
        lambda_client: LambdaClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if parameter_name is None:
            parameter_name = os.environ.get(_aws.PARAMETER_ENV, "")
        if not isinstance(parameter_name, str) or not parameter_name.strip():
            raise ConfigurationError(
                "No token parameter: pass TokenReader(parameter_name) or set "
                f"{_aws.PARAMETER_ENV} (the stack's TokenParameterName output, e.g. "
                "/joor/sandbox/access-token)"
            )
        if refresher_function is None:
            refresher_function = os.environ.get(_aws.REFRESHER_ENV, "").strip() or None
        max_age = _seconds("max_age_seconds", max_age_seconds, low=0)
        if not 0 < max_age <= MAX_AGE_LIMIT_SECONDS:
            raise ConfigurationError(
                f"max_age_seconds must be more than 0 and at most {MAX_AGE_LIMIT_SECONDS:g} "
                "seconds (the least life any configuration of the stack guarantees on the "
                f"stored token), got {max_age_seconds!r}"
            )
        self._name = parameter_name.strip()
        self._function = refresher_function
        self._max_age = max_age
        self._busy_wait = _seconds("busy_wait_seconds", busy_wait_seconds, low=0)
        self._clock = clock
        self._sleep = sleep
        # Looked up when first needed, so that a test can replace _aws's factories.
        self._ssm = _OnFirstUse(ssm_client, lambda: _aws.new_ssm_client(session))
        self._lambda = _OnFirstUse(lambda_client, lambda: _aws.new_lambda_client(session))
        self._lock = threading.Lock()  # guards the fields below; never held during a call
        self._read_lock = threading.Lock()  # one cache fill at a time
        self._cached: TokenRead | None = None
        # One renewal of each rejected version; threads that report the same version wait on it.
        self._flights: dict[int, Future[TokenRead]] = {}
        self._rate_limited: tuple[int, float, float] | None = None  # version, until, after

    @property
    def parameter_name(self) -> str:
        return self._name

    @property
    def refresher_function(self) -> str | None:
        return self._function

    def __repr__(self) -> str:
        return (
            f"TokenReader({self._name!r}, refresher_function={self._function!r}, "
            f"max_age_seconds={self._max_age:g})"
        )

    # --- reading ------------------------------------------------------------------------

    def token(self) -> str:
        """The bare token: one GetParameter on first use, then from memory for max_age_seconds.

        Raises TokenUnavailableError when the parameter cannot be read.
        """
        return self._load().value

    def _load(self) -> TokenRead:
        cached = self._fresh()
        if cached is not None:
            return cached
        with self._read_lock:
            cached = self._fresh()  # filled by the thread this one waited for
            if cached is not None:
                return cached
            return self._install(self._read(self._name))

    def _fresh(self) -> TokenRead | None:
        with self._lock:
            cached = self._cached
        if cached is not None and self._clock() - cached.read_at < self._max_age:
            return cached
        return None

    def _read(self, selector: str) -> TokenRead:
        return _aws.read_parameter(self._ssm.get(), self._name, selector, self._clock)

    def _install(self, candidate: TokenRead) -> TokenRead:
        """Keep the newer of the cached token and ``candidate``; return the one kept.

        A read that started before the cached token was read and returns an older version lost
        a race with a renewal; anything read later is what the parameter holds now.
        """
        with self._lock:
            cached = self._cached
            if (
                cached is None
                or candidate.version >= cached.version
                or candidate.read_at > cached.read_at
            ):
                self._cached = candidate
                return candidate
            return cached

    # --- renewing -----------------------------------------------------------------------

    def refresh_after_rejection(self, rejected_token: str | None = None) -> str:
        """A token to use instead of one JOOR just rejected (HTTP 401).

        ``rejected_token`` is the token that was sent; by default the one the reader holds. If
        the reader already holds another token, that one is returned with no AWS call. Otherwise
        the refresher is invoked, once for all threads that report the same version, and the
        version it names is read.

        Raises RefreshRateLimitedError when the refresher declines (the rejected token is
        younger than its minimum interval), RefreshFailedError when no new token can be had,
        TokenUnavailableError when the parameter cannot be read.
        """
        with self._lock:
            cached = self._cached
        if cached is None:
            cached = self._load()
        if rejected_token is not None and rejected_token != cached.value:
            # Replaced since that token was handed out (or never handed out by this reader).
            return self.token()
        rejected = cached

        with self._lock:
            if self._cached is not None and self._cached.version != rejected.version:
                return self._cached.value
            self._raise_if_rate_limited(rejected.version)
            flight = self._flights.get(rejected.version)
            leader = flight is None
            if flight is None:
                flight = self._flights[rejected.version] = Future()
        if leader:
            try:
                renewed = self._install(self._renew(rejected))
            except BaseException as error:  # noqa: BLE001 - handed to every waiter, then raised
                flight.set_exception(error)
            else:
                flight.set_result(renewed)
            finally:
                with self._lock:
                    del self._flights[rejected.version]
        return flight.result().value

    def _raise_if_rate_limited(self, version: int) -> None:
        """Called with the lock held: a declined version is not sent again until it may be."""
        if self._rate_limited is None:
            return
        limited_version, until, after = self._rate_limited
        left = until - self._clock()
        if limited_version == version and left > 0:
            raise RefreshRateLimitedError(self._rate_limited_message(version, after), left)

    def _rate_limited_message(self, version: int, retry_after: float) -> str:
        return (
            f"JOOR rejected version {version} of {self._name!r}, and the token refresher "
            f"declined to replace it: that token was written less than its minimum interval "
            f"ago (REJECTED_TOKEN_MIN_AGE_SECONDS), so JOOR is rejecting fresh tokens. A new "
            f"token would most likely be rejected too: check the URL called (sandbox or "
            f"production API, the one the token was issued for) and that the JOOR account has "
            f"the rights this call needs. The refresher accepts this version again in "
            f"{retry_after:.0f} s."
        )

    def _renew(self, rejected: TokenRead) -> TokenRead:
        if self._function is None:
            logger.warning(
                "JOOR rejected version %d of %s; no refresher function configured, reading "
                "the parameter again",
                rejected.version,
                self._name,
            )
            fresh = self._read(self._name)
            if fresh.version > rejected.version:
                return fresh
            raise RefreshFailedError(
                f"JOOR rejected version {rejected.version} of {self._name!r} and the parameter "
                f"holds no newer one. This reader has no refresher function to ask for a new "
                f"token: set {_aws.REFRESHER_ENV} (the stack's TokenRefresherFunctionName "
                f"output) or pass refresher_function=, or wait for the next scheduled refresh."
            )

        logger.info(
            "JOOR rejected version %d of %s; asking %s for a new token",
            rejected.version,
            self._name,
            self._function,
        )
        # The invocation contract: the repository's docs/operations.md, section "Events".
        event: dict[str, object] = {
            "force": True,
            "seen_version": rejected.version,
            "parameter": self._name,
        }
        deadline = self._clock() + self._busy_wait
        backoff = _FIRST_BACKOFF
        busy_invocations = 0
        while True:
            answer = _aws.invoke_refresher(
                self._lambda.get(), self._function, event, (rejected.value,)
            )
            if not isinstance(answer, _aws.Busy):
                return self._token_from_summary(answer, rejected)
            busy_invocations += 1
            if busy_invocations == 1:
                logger.warning(
                    "Token refresher %s is busy (%s); waiting up to %.0f s for a version of %s "
                    "newer than %d",
                    self._function,
                    answer.reason or "HTTP 429",
                    self._busy_wait,
                    self._name,
                    rejected.version,
                )
            left = deadline - self._clock()
            if left > 0:
                self._sleep(min(random.uniform(backoff / 2, backoff), left))  # noqa: S311 - jitter
                backoff = min(backoff * 2, _MAX_BACKOFF)
                # The busy run may be the one replacing this very version...
                fresh = self._read(self._name)
                if fresh.version > rejected.version:
                    logger.info(
                        "Version %d of %s appeared while the refresher was busy",
                        fresh.version,
                        self._name,
                    )
                    return fresh
            if self._clock() >= deadline:
                raise RefreshFailedError(
                    f"The token refresher {self._function!r} stayed busy (HTTP 429, "
                    f"{busy_invocations} invocations) for {self._busy_wait:.0f} s and no "
                    f"version of {self._name!r} newer than {rejected.version} appeared. Check "
                    "its logs for a run that hangs; busy_wait_seconds sets this limit."
                )
            # ...or a scheduled run that found the token fresh: ask again.

    def _token_from_summary(self, summary: dict[str, Any], rejected: TokenRead) -> TokenRead:
        reason = summary.get("reason")
        version = summary.get("version")
        if reason == "rate_limited":
            retry_after = summary.get("retry_after_seconds")
            if isinstance(retry_after, bool) or not isinstance(retry_after, int | float):
                retry_after = _DEFAULT_RETRY_AFTER
            with self._lock:
                self._rate_limited = (
                    rejected.version,
                    self._clock() + retry_after,
                    float(retry_after),
                )
            message = self._rate_limited_message(rejected.version, retry_after)
            logger.warning("%s", message)
            raise RefreshRateLimitedError(message, float(retry_after))
        parameter = summary.get("parameter")
        if parameter is not None and parameter != self._name:
            raise RefreshFailedError(
                f"The token refresher {self._function!r} keeps parameter "
                f"{_aws.safe_text(parameter)!r}, not {self._name!r}: point "
                f"{_aws.PARAMETER_ENV} and {_aws.REFRESHER_ENV} at the same stack"
            )
        if (
            isinstance(version, int)
            and not isinstance(version, bool)
            and version > rejected.version
        ):
            renewed = self._read(f"{self._name}:{version}")
            logger.info(
                "Token version %d of %s ready (refresher: %s, %s)",
                renewed.version,
                self._name,
                _aws.safe_text(summary.get("result")),
                _aws.safe_text(reason),
            )
            return renewed
        raise RefreshFailedError(
            f"The token refresher {self._function!r} answered result="
            f"{_aws.safe_text(summary.get('result'))!r}, reason={_aws.safe_text(reason)!r}, "
            f"version={_aws.safe_text(version)!r}: no version newer than the rejected "
            f"{rejected.version}. Check that it is the JOOR token refresher, at a version that "
            "takes seen_version."
        )
