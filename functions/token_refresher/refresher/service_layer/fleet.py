"""Many JOOR accounts in one run: each by the single account's rules, none holding up another.

A scheduled run lists the accounts (the tagged secrets, with what JOOR said to each one's
last login) and every token under the fleet's path, and touches nothing else while every
token is fresh. Due tokens are refreshed most urgent first, a bounded number of logins in
flight and a bounded number started per second; what the invocation's time cannot fit is left
for the next run and counted. The login gate decides for every account before anything is
read of it: an account whose current credentials JOOR rejected costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial

from refresher.domain.errors import (
    CredentialsRejectedEarlierError,
    FleetRefreshError,
    InvalidEventError,
    NoTimeToLogInError,
    OperatorOnlyError,
    RefreshError,
    UnexpectedError,
)
from refresher.domain.fleet import (
    MISSING,
    failure_message,
    no_longer_refreshed,
    unclaimed,
    urgency,
)
from refresher.domain.gate import GatePolicy, Login, Skip, admit, first_look
from refresher.domain.models import (
    Account,
    AccountResult,
    FleetOutcome,
    IgnoredEvent,
    RefreshOutcome,
    RefreshRequest,
    StoredToken,
)
from refresher.domain.names import is_under
from refresher.domain.ports import (
    AccountDirectory,
    Clock,
    TokenInventory,
    TokenStore,
    WorkerPool,
)
from refresher.domain.retry import Deadline
from refresher.service_layer.account import TokenRefresher, skipped_outcome

type Due = tuple[Account, StoredToken, Login]


class FleetRefresher:
    def __init__(
        self,
        *,
        path: str,
        directory: AccountDirectory,
        inventory: TokenInventory,
        refresher_for: Callable[[Account], TokenRefresher],
        store_for: Callable[[str], TokenStore],
        pool_for: Callable[[int], WorkerPool[AccountResult]],
        clock: Clock,
        policy: GatePolicy,
        interval: timedelta,
        logins_in_flight: int,
        logins_per_second: float,
        min_start_time: float = 2.0,
        account_time_limit: float = 15.0,
    ) -> None:
        self._path = path
        self._directory = directory
        self._inventory = inventory
        self._refresher_for = refresher_for
        self._store_for = store_for
        self._pool_for = pool_for
        self._clock = clock
        self._policy = policy
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
        self, request: RefreshRequest, *, time_limit: float
    ) -> RefreshOutcome | FleetOutcome | IgnoredEvent:
        """Every account (a scheduled run, or an operator's), the one ``request.parameter``
        names, or the one whose secret changed.

        Raises FleetRefreshError, after every account had its chance, if any failed.
        """
        if request.secret_change is not None:
            account = self._directory.account_of(request.secret_change)
            if account is None:
                return IgnoredEvent(request.secret_change.secret)
            return self._refresher_for(account).run(request, time_limit=time_limit)
        if request.parameter is not None:
            return self._run_one(request, request.parameter, time_limit)
        if request.seen_version is not None:
            raise InvalidEventError(
                "The event's 'seen_version' needs 'parameter' in a fleet: name the parameter "
                "whose version JOOR rejected"
            )
        if request.force and not request.operator:
            raise OperatorOnlyError("Forcing every account of a fleet")
        return self._run_all(request, time_limit)

    # --- one account ------------------------------------------------------------------

    def _run_one(
        self, request: RefreshRequest, parameter: str, time_limit: float
    ) -> RefreshOutcome:
        deadline = Deadline(self._clock, time_limit)
        if not is_under(self._path, parameter):
            raise InvalidEventError(
                f"The event names parameter {parameter!r}, outside this fleet's path {self._path}/"
            )
        # Most reports end here: one DescribeParameters call, no listing, no secret read.
        stored = self._store_for(parameter).read()
        decision = first_look(request, stored, self._clock.now(), self._policy)
        if isinstance(decision, Skip):
            return skipped_outcome(
                parameter, stored, self._clock.now(), decision, forced=request.force
            )
        account = self._directory.account_for(parameter)
        return self._refresher_for(account).log_in(
            decision, stored, deadline=deadline, forced=request.force
        )

    # --- every account ----------------------------------------------------------------

    def _run_all(self, request: RefreshRequest, time_limit: float) -> FleetOutcome:
        deadline = Deadline(self._clock, time_limit)
        discovery = self._directory.discover()
        # An operator's force replaces every token whatever its age: nothing to read first.
        stored_all = {} if request.force else self._inventory.read_all()
        now = self._clock.now()
        results: list[AccountResult] = []
        due: list[Due] = []
        for account in discovery.accounts:
            stored = stored_all.get(account.parameter, MISSING)
            try:
                decision = self._decide(account, stored, request)
            except CredentialsRejectedEarlierError as error:
                results.append(self._failed(account, stored, error))
                continue
            if isinstance(decision, Skip):
                skipped = skipped_outcome(
                    account.parameter,
                    stored,
                    now,
                    decision,
                    forced=request.force,
                    credentials=account.credentials,
                )
                results.append(
                    AccountResult(
                        account.parameter,
                        skipped,
                        seconds_left=skipped.seconds_left,
                        credentials_rejected=_rejected(account),
                    )
                )
            else:
                due.append((account, stored, decision))
        # Most urgent first: no token at all, then the least life left.
        due.sort(key=lambda item: urgency(item[1], now))
        results += self._refresh_all(due, request.force, deadline)
        left_behind = unclaimed(stored_all, {a.parameter for a in discovery.accounts})
        outcome = FleetOutcome(
            forced=request.force,
            results=tuple(sorted(results, key=lambda r: r.parameter)),
            refused=discovery.refused,
            unclaimed=tuple(left_behind),
            warnings=tuple(
                no_longer_refreshed(
                    left_behind, stored_all, now, self._policy.window, self._interval
                )
            ),
        )
        if outcome.failed:
            raise FleetRefreshError(failure_message(outcome), outcome)
        return outcome

    def _decide(
        self, account: Account, stored: StoredToken, request: RefreshRequest
    ) -> Skip | Login:
        """The gate's verdict for one account of a run over every account. Where the listing
        told what JOOR said last time, the whole verdict is known before anything is read."""
        if request.retry_rejected and not _rejected(account):
            # An operator's retry concerns the rejected accounts; the rest run as scheduled.
            request = replace(request, retry_rejected=False)
        now = self._clock.now()
        decision = first_look(request, stored, now, self._policy)
        if isinstance(decision, Login) and account.credentials is not None:
            return admit(decision, account.credentials, now, self._policy) or decision
        return decision

    def _refresh_all(self, due: list[Due], forced: bool, deadline: Deadline) -> list[AccountResult]:
        if not due:
            return []
        pool = self._pool_for(self._logins_in_flight)
        left: list[AccountResult] = []
        next_start = self._clock.monotonic()
        for index, (account, stored, login) in enumerate(due):
            pool.wait_for_room()  # while the most logins allowed are in flight
            pause = next_start - self._clock.monotonic()
            if pause > 0:
                self._clock.sleep(pause)
            if deadline.remaining() < self._min_start_time:
                now = self._clock.now()
                left = [
                    AccountResult(
                        a.parameter, seconds_left=s.seconds_left(now), left_for_next_run=True
                    )
                    for a, s, _ in due[index:]
                ]
                break
            next_start = self._clock.monotonic() + self._start_spacing
            pool.start(partial(self._refresh_one, account, stored, login, forced, deadline))
        return pool.finish() + left

    def _refresh_one(
        self, account: Account, stored: StoredToken, login: Login, forced: bool, deadline: Deadline
    ) -> AccountResult:
        """One account, by the single account's rules; its failure stays its own."""
        own = Deadline(self._clock, min(deadline.remaining(), self._account_time_limit))
        try:
            refresher = self._refresher_for(account)
            if account.credentials is None:
                # Not listed (the account the configuration names): its metadata is read now.
                outcome = refresher.log_in(login, stored, deadline=own, forced=forced)
            else:
                outcome = refresher.refresh(login, stored, account.credentials, own, forced=forced)
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
        # Never flagged as rejected: the gate raised for credentials JOOR rejected before this
        # login (a failure, counted by its reason), and a rejection now raised too.
        return AccountResult(account.parameter, outcome, seconds_left=outcome.seconds_left)

    def _failed(self, account: Account, stored: StoredToken, error: RefreshError) -> AccountResult:
        return AccountResult(
            account.parameter,
            failure=error.reason,
            message="; ".join((str(error), *error.warnings)),
            seconds_left=stored.seconds_left(self._clock.now()),
        )


def _rejected(account: Account) -> bool:
    return account.credentials is not None and account.credentials.rejected
