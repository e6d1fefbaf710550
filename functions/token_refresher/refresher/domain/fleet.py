"""Many JOOR accounts in one run: each by the single account's rules, none holding up another.

A scheduled run lists the accounts (the tagged secrets) and every token under the fleet's
path, and touches nothing else while every token is fresh. Due tokens are refreshed most
urgent first, a bounded number of logins in flight and a bounded number started per second;
what the invocation's time cannot fit is left for the next run and counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from refresher.domain.errors import (
    FleetRefreshError,
    InvalidEventError,
    NoTimeToLogInError,
    RefreshError,
    UnexpectedError,
    UnknownAccountError,
)
from refresher.domain.models import (
    Account,
    AccountResult,
    FleetOutcome,
    RefreshOutcome,
    StoredToken,
)
from refresher.domain.names import is_under
from refresher.domain.ports import AccountDirectory, Clock, TokenInventory, TokenStore
from refresher.domain.retry import Deadline
from refresher.domain.service import TokenRefresher, rejection_skip, skipped_outcome

MISSING = StoredToken(exists=False)


class FleetRefresher:
    def __init__(
        self,
        *,
        directory: AccountDirectory,
        inventory: TokenInventory,
        refresher_for: Callable[[Account], TokenRefresher],
        store_for: Callable[[str], TokenStore],
        clock: Clock,
        window: timedelta,
        rejected_token_min_age: timedelta,
        interval: timedelta,
        logins_in_flight: int,
        logins_per_second: float,
        min_start_time: float = 2.0,
        account_time_limit: float = 15.0,
    ) -> None:
        self._directory = directory
        self._inventory = inventory
        self._refresher_for = refresher_for
        self._store_for = store_for
        self._clock = clock
        self._window = window
        self._rejected_token_min_age = rejected_token_min_age
        self._interval = interval
        self._logins_in_flight = logins_in_flight
        self._start_spacing = 1.0 / logins_per_second
        # A login started with less time than this could not finish one attempt.
        self._min_start_time = min_start_time
        # The most one account's JOOR exchange may take in a run over every account: enough
        # for four quick attempts (waits of at most 1, 2 and 4 s), or one that times out and
        # one more. Longer, an account JOOR keeps failing would hold a slot the due accounts
        # behind it need; the next run tries it again.
        self._account_time_limit = account_time_limit

    def run(
        self,
        *,
        force: bool,
        time_limit: float,
        seen_version: int | None = None,
        parameter: str | None = None,
    ) -> RefreshOutcome | FleetOutcome:
        """Every account (scheduled, or an operator's force), or the one ``parameter`` names.

        Raises FleetRefreshError, after every account had its chance, if any failed.
        """
        if parameter is not None:
            return self._run_one(parameter, force, time_limit, seen_version)
        if seen_version is not None:
            raise InvalidEventError(
                "The event's 'seen_version' needs 'parameter' in a fleet: name the parameter "
                "whose version JOOR rejected"
            )
        return self._run_all(force, time_limit)

    # --- one account ------------------------------------------------------------------

    def _run_one(
        self, parameter: str, force: bool, time_limit: float, seen_version: int | None
    ) -> RefreshOutcome:
        path = self._inventory.path
        if not is_under(path, parameter):
            raise InvalidEventError(
                f"The event names parameter {parameter!r}, outside this fleet's path {path}/"
            )
        stored: StoredToken | None = None
        if seen_version is not None:
            # Most reports end here: one DescribeParameters call, no secret read.
            stored = self._store_for(parameter).read()
            now = self._clock.now()
            skip = rejection_skip(stored, seen_version, now, self._rejected_token_min_age)
            if skip is not None:
                return skipped_outcome(parameter, stored, now, skip[0], skip[1])
        account = self._account(parameter)
        return self._refresher_for(account).run(
            force=force or seen_version is not None,
            time_limit=time_limit,
            seen_version=seen_version,
            stored=stored,
        )

    def _account(self, parameter: str) -> Account:
        discovery = self._directory.discover()
        for account in discovery.accounts:
            if account.parameter == parameter:
                return account
        refused = [r for r in discovery.refused if repr(parameter) in r.problem]
        detail = f"; refused: secret {refused[0].secret!r}: {refused[0].problem}" if refused else ""
        raise UnknownAccountError(
            f"No secret tagged for parameter {parameter!r} in this fleet{detail}"
        )

    # --- every account ----------------------------------------------------------------

    def _run_all(self, force: bool, time_limit: float) -> FleetOutcome:
        deadline = Deadline(self._clock, time_limit)
        discovery = self._directory.discover()
        # An operator's force replaces every token whatever its age: nothing to read first.
        stored_all = {} if force else self._inventory.read_all()
        now = self._clock.now()
        claimed = {a.parameter for a in discovery.accounts}
        results: list[AccountResult] = []
        due: list[tuple[Account, StoredToken]] = []
        for account in discovery.accounts:
            stored = stored_all.get(account.parameter, MISSING)
            if not force and stored.is_fresh(now, self._window):
                fresh = skipped_outcome(account.parameter, stored, now, "fresh")
                results.append(
                    AccountResult(account.parameter, fresh, seconds_left=fresh.seconds_left)
                )
            else:
                due.append((account, stored))
        # Most urgent first: no token at all, then the least life left.
        due.sort(key=lambda item: _urgency(item[1], now))
        results += self._refresh_all(due, force, deadline)
        unclaimed = sorted(
            name
            for name, stored in stored_all.items()
            if name not in claimed and stored.expires_at is not None
        )
        outcome = FleetOutcome(
            forced=force,
            results=tuple(sorted(results, key=lambda r: r.parameter)),
            refused=discovery.refused,
            unclaimed=tuple(unclaimed),
            warnings=tuple(self._no_longer_refreshed(unclaimed, stored_all, now)),
        )
        if outcome.failed:
            raise FleetRefreshError(_failure_message(outcome), outcome)
        return outcome

    def _refresh_all(
        self, due: list[tuple[Account, StoredToken]], force: bool, deadline: Deadline
    ) -> list[AccountResult]:
        if not due:
            return []
        slots = threading.BoundedSemaphore(self._logins_in_flight)
        futures: list[Future[AccountResult]] = []
        left: list[AccountResult] = []
        with ThreadPoolExecutor(
            max_workers=self._logins_in_flight, thread_name_prefix="login"
        ) as pool:
            next_start = self._clock.monotonic()
            for index, (account, stored) in enumerate(due):
                slots.acquire()  # waits while the most logins allowed are in flight
                pause = next_start - self._clock.monotonic()
                if pause > 0:
                    self._clock.sleep(pause)
                if deadline.remaining() < self._min_start_time:
                    slots.release()
                    now = self._clock.now()
                    left = [
                        AccountResult(
                            a.parameter, seconds_left=s.seconds_left(now), left_for_next_run=True
                        )
                        for a, s in due[index:]
                    ]
                    break
                next_start = self._clock.monotonic() + self._start_spacing
                future = pool.submit(self._refresh_one, account, stored, force, deadline)
                future.add_done_callback(lambda _: slots.release())
                futures.append(future)
        return [f.result() for f in futures] + left

    def _refresh_one(
        self, account: Account, stored: StoredToken, force: bool, deadline: Deadline
    ) -> AccountResult:
        """One account, by the single account's rules; its failure stays its own."""
        try:
            outcome = self._refresher_for(account).run(
                force=force,
                time_limit=min(deadline.remaining(), self._account_time_limit),
                stored=None if force else stored,
            )
        except NoTimeToLogInError:
            # Started with time for one attempt, but reading its secret took it: nothing
            # failed and JOOR was not asked. The next run has the time.
            now = self._clock.now()
            return AccountResult(
                account.parameter, seconds_left=stored.seconds_left(now), left_for_next_run=True
            )
        except RefreshError as error:
            return self._failed(account, stored, error)
        except Exception as error:  # noqa: BLE001 - a bug in one account must not stop the others
            return self._failed(account, stored, UnexpectedError.wrap(error))
        return AccountResult(account.parameter, outcome, seconds_left=outcome.seconds_left)

    def _failed(self, account: Account, stored: StoredToken, error: RefreshError) -> AccountResult:
        return AccountResult(
            account.parameter,
            failure=error.reason,
            message=str(error),
            seconds_left=stored.seconds_left(self._clock.now()),
        )

    def _no_longer_refreshed(
        self, unclaimed: list[str], stored_all: dict[str, StoredToken], now: datetime
    ) -> list[str]:
        """Said once per parameter: by the run that would have refreshed it, the first to find
        it inside the window (the run before found it outside)."""
        window = self._window.total_seconds()
        notices = []
        for name in unclaimed:
            left = stored_all[name].seconds_left(now)
            if left is not None and window - self._interval.total_seconds() <= left < window:
                notices.append(
                    f"Parameter {name!r} is no longer refreshed: no secret tagged for it. Its "
                    f"token expires in {int(left)} s; delete the parameter once no workload "
                    "reads it."
                )
        return notices


def _urgency(stored: StoredToken, now: datetime) -> tuple[int, float]:
    left = stored.seconds_left(now)
    return (0, 0.0) if left is None else (1, left)


def _failure_message(outcome: FleetOutcome) -> str:
    failed = outcome.failed
    shown = "; ".join(f"{r.parameter}: {r.failure} ({r.message})" for r in failed[:5])
    more = f"; and {len(failed) - 5} more (see the log)" if len(failed) > 5 else ""
    return (
        f"{len(failed)} of {len(outcome.results)} accounts failed, the others were served: "
        f"{shown}{more}"
    )
