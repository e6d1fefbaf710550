"""The login gate: whether a run may make JOOR log in now, decided in one place for every caller.

JOOR's /auth/ behaves like Keycloak, which locks a user after repeated failed logins, and a
locked integration user takes every workload of that JOOR account down. So every path to a
login (the schedule, a consumer's report of a rejected token, a plain force, a secret change,
an operator) asks here first:

1. **Rejected credentials are tried once.** While the secret's current version is one JOOR
   rejected, nothing logs in with it; a new version lifts that at once. Only an operator's
   deliberate retry tries the same version again.
2. **A budget no caller can exceed.** A login a non-operator causes (the schedule, a report,
   a plain force, a repeated secret-change event) waits ``min_interval`` after a login that
   left no fresh token (JOOR unavailable, a token not stored) with the same credentials; a
   force or report of a fresh token also waits until that token is ``min_interval`` old (a
   token JOOR rejects that soon after issuing it points at the caller: a wrong endpoint,
   missing rights). So non-operators cause at most one login per account per
   ``min_interval``, whatever they send.
3. **New credentials are used at once.** A secret change logs in with the new version right
   away, once: a fixed password gives a live token within seconds, and new credentials are
   proved the moment they are saved.

The gate decides in two looks. ``first_look`` needs only the stored token's metadata (the one
call a run that skips makes); ``admit`` needs the credentials' metadata (the secret's current
version and what JOOR said last time), which only a run that would log in reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from refresher.domain.errors import CredentialsRejectedEarlierError
from refresher.domain.models import CredentialState, RefreshRequest, StoredToken


@dataclass(frozen=True)
class GatePolicy:
    window: timedelta  # a token with less than this left is due
    min_interval: timedelta  # the least time between two logins a non-operator causes


@dataclass(frozen=True)
class Skip:
    """No login: why, and (with "rate_limited") in how many seconds one may be asked for."""

    reason: str
    retry_after: int | None = None


@dataclass(frozen=True)
class Login:
    """A login the run wants, before the credentials' metadata has been consulted."""

    reason: str
    budgeted: bool = True  # a non-operator's: counts against the budget
    lifts_rejection: bool = False  # an operator's retry of rejected credentials
    new_credentials: bool = False  # a secret change: only a version not used yet logs in


def first_look(
    request: RefreshRequest, stored: StoredToken, now: datetime, policy: GatePolicy
) -> Skip | Login:
    """What the stored token alone decides."""
    budgeted = not request.operator
    if request.seen_version is not None:
        if stored.exists and stored.version is not None and stored.version != request.seen_version:
            # Another consumer's report, or a scheduled run, already replaced it (or the
            # parameter was made anew): the caller reads the stored version.
            return Skip("already_replaced")
        if not stored.exists:
            return Login("missing", budgeted=budgeted)
        return _unless_recent(stored.last_modified, now, policy, Login("rejected", budgeted))
    if request.secret_change is not None:
        return Login("credentials_changed", budgeted=False, new_credentials=True)
    if request.retry_rejected:
        return Login("retried", budgeted=False, lifts_rejection=True)
    if request.force:
        if not budgeted:
            return Login("forced", budgeted=False)
        return _unless_recent(stored.last_modified, now, policy, Login("forced"))
    if stored.is_fresh(now, policy.window):
        return Skip("fresh")
    return Login("expiring" if stored.exists else "missing", budgeted=budgeted)


def admit(login: Login, state: CredentialState, now: datetime, policy: GatePolicy) -> Skip | None:
    """With the credentials' metadata: None to log in now, or why not.

    Raises CredentialsRejectedEarlierError while JOOR's rejection of the current version
    stands, unless the login lifts it.
    """
    last = state.last_login
    if last is not None and state.rejected and not login.lifts_rejection:
        raise CredentialsRejectedEarlierError(state.secret, last, now)
    if login.new_credentials and last is not None and last.version == state.current_version:
        if last.result == "ok":
            # The event again (EventBridge delivers at least once), or a copy of it.
            return Skip("credentials_unchanged")
        # Tried once without a verdict (JOOR was down): from now on, like any other login.
        login = replace(login, budgeted=True, new_credentials=False)
    # The last login left no fresh token (JOOR unavailable, a token not stored): wait before
    # the next. A login with another version says nothing of this one.
    held_back = last is not None and last.result != "ok" and last.version == state.current_version
    if login.budgeted and last is not None and held_back:
        return _unless_recent(last.at, now, policy, None)
    return None


def _unless_recent[T](
    last_login_at: datetime | None, now: datetime, policy: GatePolicy, otherwise: T
) -> Skip | T:
    """Skip as "rate_limited" when the last login is younger than the budget allows."""
    if last_login_at is None:
        return otherwise
    age = now - last_login_at
    if age < policy.min_interval:
        return Skip("rate_limited", math.ceil((policy.min_interval - age).total_seconds()))
    return otherwise
