"""The login gate on the simulated clock: a wrong password for days, and a consumer storm.

Both run the function's real handler over one account (tools/soak/worlds.py): scheduled runs
every interval, plus what the story adds, each as the event its sender sends.

* **A wrong password.** On a random moment of day ``changed_on_day`` the account's password is
  changed on JOOR's side (the secret still holds the old one); ``wrong_days`` later the
  operator saves the new one, and its Secret Label Updated event reaches the function within
  seconds. Counted: the logins JOOR rejected (failed logins, what Keycloak's lockout counts),
  and how long after the save a valid token was stored. Consumers either send nothing, or
  report a 401 (``{"force": true, "seen_version": N}``) every ``every`` seconds for as long as
  they get one: once the token they hold has expired (JOOR keeps issued tokens valid when a
  password changes), or from the change on (JOOR revoked them with the password). The same
  story "before the gate" is the same code with the gate's memory taken away (the secret's
  record of what JOOR answered is never read nor written, ``ForgetfulSecret``) and no change
  event (the next scheduled run finds the new password), which is how every path behaved
  before: each run and each report logged in again.
* **A consumer storm.** A holder of the requester policy sends ``per_hour`` events an hour for
  ``hours``: plain forces (``{"force": true}``) or reports of the version it just read; with
  JOOR answering, or down for part of the time. Counted: the JOOR logins (exchanges: a run
  that sent JOOR at least one request, timed by its first request) per hour, the requests
  (retries included), and the most logins in any budget interval. The same storm through the
  operator alias, which the budget does not limit (no plain force was limited before the
  gate), is the comparison.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from refresher.config import DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS
from tools.soak.fakes import START, Outage
from tools.soak.function import Invocation
from tools.soak.simulation import DAY, _hm
from tools.soak.worlds import PARAMETER, SingleWorld, Timeline, single_world

HOUR = 3600
BUDGET = DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS
CONSUMERS = ("none", "after expiry", "revoked")


# --- a wrong password --------------------------------------------------------------------------


@dataclass(frozen=True)
class WrongPassword:
    gate: bool
    consumers: str  # "none", "after expiry" or "revoked"
    every: float
    days: int
    changed: float  # the password changed on JOOR's side
    fixed: float  # the new password saved in the secret
    failed_logins: int
    joor_requests: int
    reports: int  # consumers' reports of a 401
    refused_runs: int  # runs that failed at once with "credentials_rejected_earlier"
    live_after_fix: float | None  # seconds from the save to a valid token stored
    runs: int
    lost_records: int  # records of JOOR's answer AWS throttling kept from the secret
    output: str = field(repr=False, compare=False)  # everything the handler printed
    secrets: tuple[str, ...] = field(repr=False, compare=False)  # what it must never print


def wrong_password(
    seed: int,
    *,
    days: int = 30,
    changed_on_day: int = 10,
    wrong_days: float = 3.0,
    consumers: str = "none",
    every: float = 10.0,
    gate: bool = True,
    aws_throttle: float = 0.1,
    keep_output: bool = True,
) -> WrongPassword:
    if consumers not in CONSUMERS:
        raise ValueError(f"consumers must be one of {CONSUMERS}, got {consumers!r}")
    world = single_world(seed, aws_throttle=aws_throttle, forgetful=not gate)
    account = world.account
    timeline = Timeline(world.clock, world.function, seed)
    rng = random.Random(seed)
    changed = changed_on_day * DAY + rng.uniform(0, DAY)
    fixed = changed + wrong_days * DAY

    def change_on_joor() -> None:
        account.joor.accepted = {"v2"}

    timeline.at(changed, change_on_joor)
    if gate:
        timeline.save_secret(fixed, account, "v2")
    else:
        timeline.at(fixed, lambda: account.save("v2"))
    if consumers != "none":
        _consumers(world, timeline, changed, fixed, every, revoked=consumers == "revoked")
    timeline.run_until(days * DAY)
    written_after = [t for t, _ in account.store.written if t >= fixed]
    return WrongPassword(
        gate=gate,
        consumers=consumers,
        every=every,
        days=days,
        changed=changed,
        fixed=fixed,
        failed_logins=len(account.joor.failed_logins),
        joor_requests=len(account.joor.requests),
        reports=len(timeline.invocations("report")),
        refused_runs=sum(
            1 for i in timeline.invocations() if i.error == "CredentialsRejectedEarlierError"
        ),
        live_after_fix=written_after[0] - fixed if written_after else None,
        runs=len(timeline.invocations("schedule")),
        lost_records=account.secret.lost_records,
        output=world.function.output() if keep_output else "",
        secrets=tuple(account.secret_values()),
    )


def _consumers(
    world: SingleWorld,
    timeline: Timeline,
    changed: float,
    fixed: float,
    every: float,
    *,
    revoked: bool,
) -> None:
    """Consumers that, while JOOR answers them 401 for the token they read, report it every
    ``every`` seconds, until a token stored after the fix works for them."""
    store = world.account.store

    def rejected_now() -> bool:
        stored = store.stored
        if (
            stored.last_modified is not None
            and (stored.last_modified - START).total_seconds() >= fixed
        ):
            return False  # the token of the new password
        if revoked:
            return True
        return stored.expires_at is not None and world.clock.now() >= stored.expires_at

    def report() -> None:
        t = world.clock.t
        if t > fixed and not rejected_now():
            return  # working again: the consumers stop
        if rejected_now():
            event = {"force": True, "seen_version": store.stored.version, "parameter": PARAMETER}
            world.function.invoke(event, kind="report")
        timeline.at(t + every, report)

    timeline.at(changed, report)


def wrong_password_section(
    seed: int, days: int, *, every: float = 10.0, changed_on_day: int = 10, wrong_days: float = 3.0
) -> str:
    rows = []
    for consumers in CONSUMERS:
        options: dict[str, Any] = {
            "days": days,
            "changed_on_day": changed_on_day,
            "wrong_days": wrong_days,
            "consumers": consumers,
            "every": every,
            "keep_output": False,
        }
        rows.append(
            (
                consumers,
                wrong_password(seed, **options),
                wrong_password(seed, gate=False, **options),
            )
        )
    first = rows[0][1]
    wrong = first.fixed - first.changed
    lines = [
        f"One account, {days} days, seed {seed}: its password changed on JOOR's side at "
        f"{_day(first.changed)} and the new one saved in the secret {_hm(wrong)} later; AWS call "
        'attempts throttled at random 10% as above. "Before the gate": the same runs with the '
        "gate's memory taken away and no change event, as every path behaved before it.",
        "",
        "| consumers | failed JOOR logins | before the gate | runs refused without calling "
        "JOOR | reports of a 401 | valid token stored after the save | before the gate |",
        "|---|---|---|---|---|---|---|",
    ]
    for consumers, g, b in rows:
        lines.append(
            f"| {_consumers_text(consumers, every)} | {g.failed_logins} | {b.failed_logins} | "
            f"{g.refused_runs} | {g.reports} | {_seconds(g.live_after_fix)} | "
            f"{_seconds(b.live_after_fix)} |"
        )
    lines += [
        "",
        "failed JOOR logins: logins JOOR answered with a rejection (HTTP 401 invalid_grant), what "
        "Keycloak's brute-force detection counts. JOOR keeps a token it issued valid when the "
        'password changes ("once expired"), or revokes it with the password ("from the '
        'change", the harsher case). Consumers stop reporting once the token stored after the '
        "save works for them.",
    ]
    return "\n".join(lines)


def _consumers_text(consumers: str, every: float) -> str:
    return {
        "none": "none",
        "after expiry": f"a 401 every {every:g} s once the token expired",
        "revoked": f"a 401 every {every:g} s from the change",
    }[consumers]


# --- a consumer storm ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Storm:
    kind: str  # "force", "report" or "operator"
    per_hour: int
    hours: float
    outage: tuple[float, float] | None  # (start, end) of JOOR's outage, seconds
    logins_per_hour: list[int]  # JOOR exchanges in each hour of the storm
    requests_per_hour: list[int]
    most_in_a_budget: int  # the most exchanges in any BUDGET-second span
    most_during_outage: int  # the same, while JOOR was down (0 without an outage)
    rate_limited: int  # answers that said when a login may be asked for
    events: int
    lost_records: int  # records of JOOR's answer AWS throttling kept from the secret
    output: str = field(repr=False, compare=False)
    secrets: tuple[str, ...] = field(repr=False, compare=False)


def storm(
    seed: int,
    *,
    hours: float = 24.0,
    per_hour: int = 1000,
    kind: str = "force",
    outage: tuple[float, float] | None = None,
    aws_throttle: float = 0.1,
    keep_output: bool = True,
) -> Storm:
    """``per_hour`` events an hour for ``hours``, from the second hour on (the first run has
    stored a token by then). ``outage``: JOOR down from/to these hours of the storm."""
    if kind not in ("force", "report", "operator"):
        raise ValueError(f"kind must be force, report or operator, got {kind!r}")
    world = single_world(seed, aws_throttle=aws_throttle)
    joor, store = world.account.joor, world.account.store
    begin, end = HOUR, HOUR + hours * HOUR
    down = None
    if outage is not None:
        down = (begin + outage[0] * HOUR, begin + outage[1] * HOUR)
        joor.outages.append(Outage(down[0], down[1] - down[0], "mixed"))
    timeline = Timeline(world.clock, world.function, seed)
    spacing = HOUR / per_hour
    count = int(hours * per_hour)

    def send(n: int) -> Callable[[], None]:
        def act() -> None:
            if kind == "report":
                event = {"force": True, "seen_version": store.stored.version}
            else:
                event = {"force": True}
            world.function.invoke(event, kind=kind, operator=kind == "operator")
            if n + 1 < count:
                timeline.at(begin + (n + 1) * spacing, send(n + 1))

        return act

    timeline.at(begin, send(0))
    timeline.run_until(end)
    invocations = timeline.invocations(kind)
    exchanges = logins(world.function.invocations, joor.requests)
    in_storm = [t for t in exchanges if begin <= t < end]
    per_hour_logins = Counter(int((t - begin) // HOUR) for t in in_storm)
    per_hour_requests = Counter(int((t - begin) // HOUR) for t in joor.requests if begin <= t < end)
    slots = range(math.ceil(hours))
    during = [t for t in in_storm if down and down[0] <= t < down[1]]
    return Storm(
        kind=kind,
        per_hour=per_hour,
        hours=hours,
        outage=down,
        logins_per_hour=[per_hour_logins[h] for h in slots],
        requests_per_hour=[per_hour_requests[h] for h in slots],
        most_in_a_budget=_most_within(in_storm, BUDGET),
        most_during_outage=_most_within(during, BUDGET),
        rate_limited=sum(
            1 for i in invocations if i.result and i.result.get("reason") == "rate_limited"
        ),
        events=len(invocations),
        lost_records=world.account.secret.lost_records,
        output=world.function.output() if keep_output else "",
        secrets=tuple(world.account.secret_values()),
    )


def logins(invocations: list[Invocation], requests: list[float]) -> list[float]:
    """When each login began: the first JOOR request of each invocation that sent one
    (invocations run one after another, so each request falls in one)."""
    requested = sorted(requests)
    started = []
    for invocation in invocations:
        low = bisect.bisect_left(requested, invocation.at)
        if low < len(requested) and requested[low] <= invocation.ended:
            started.append(requested[low])
    return started


def _most_within(times: list[float], span: float) -> int:
    """The most of ``times`` inside any half-open span of ``span`` seconds."""
    times = sorted(times)
    most, low = 0, 0
    for high, t in enumerate(times):
        while t - times[low] >= span:
            low += 1
        most = max(most, high - low + 1)
    return most


def storm_section(seed: int, *, hours: float = 24.0, per_hour: int = 1000) -> str:
    def run(**options: Any) -> Storm:
        return storm(seed, per_hour=per_hour, keep_output=False, **{"hours": hours, **options})

    runs = [
        ("plain forces", run()),
        ("reports of the version just read", run(kind="report")),
        ("plain forces, JOOR down 6 h of them", run(outage=(6.0, 12.0))),
        ("the same through the operator alias (no budget)", run(hours=1.0, kind="operator")),
    ]
    lines = [
        f"One account, seed {seed}: a holder of the requester policy sends {per_hour} events an "
        f"hour for {hours:g} h, beside the scheduled runs. The budget: one login per "
        f"{BUDGET} s (REJECTED_TOKEN_MIN_AGE_SECONDS), {HOUR // BUDGET} an hour.",
        "",
        "| storm | events | JOOR logins per hour (most / mean) | JOOR requests per hour (most) "
        f"| most logins in any {BUDGET} s | while JOOR was down | answered rate_limited |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, s in runs:
        mean = sum(s.logins_per_hour) / len(s.logins_per_hour)
        down = str(s.most_during_outage) if s.outage else "-"
        lines.append(
            f"| {title} | {s.events} | {max(s.logins_per_hour)} / {mean:.1f} | "
            f"{max(s.requests_per_hour)} | {s.most_in_a_budget} | {down} | {s.rate_limited} |"
        )
    lines += [
        "",
        "A login is one JOOR exchange: a run that sent JOOR at least one request (up to four "
        "while JOOR fails, the retries inside one run). The scheduled runs' logins are counted "
        "too.",
    ]
    return "\n".join(lines)


def _day(t: float) -> str:
    return f"day {int(t // DAY)} {_hm(t % DAY)}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "never"
    return f"{value:.0f} s" if value < 120 else _hm(value)
