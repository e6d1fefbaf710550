"""The stack's alarms replayed against what the real handler reported, through four stories.

Each story runs the function's real handler (tools/soak/function.py) over one account or a
fleet (tools/soak/worlds.py) on the simulated clock, and replays the alarms template.yaml
creates for that kind of stack (tools/soak/alarms.py) against the metric values the handler
printed:

a. JOOR down for 6 hours for one account, from just before its token falls due;
b. a fleet where one account's password is changed on JOOR's side and fixed in the secret a
   week later, while a second account's secret holds a mistyped password for a day in the
   middle of that week;
c. a fleet secret refused for a day (a mistyped parameter tag), then fixed;
d. a fleet larger than one run can serve, and one within what it can serve.

The function-errors alarm the state alarms replaced (``alarms.function_errors_alarm``) is
replayed beside them for comparison, for each evaluation range in ``LOOKBACKS``: CloudWatch
does not publish the range for one evaluation period, and this alarm's count depends on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from refresher.adapters.tagged_secrets import PARAMETER_TAG
from refresher.domain.models import Refusal
from refresher.domain.names import parameter_name_problem
from tools.soak.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Alarm,
    Replay,
    Transition,
    function_errors_alarm,
    replay,
    template_alarms,
)
from tools.soak.fakes import LIFETIME, START, Outage
from tools.soak.fleet_simulation import PATH, _capacity
from tools.soak.function import FUNCTION_NAME, SimulatedFunction, errors_metric, service
from tools.soak.simulation import DAY, INTERVAL, WINDOW, _hm
from tools.soak.worlds import (
    PARAMETER,
    SECRET_NAME,
    FleetWorld,
    Timeline,
    fleet_world,
    secret_arn,
    single_world,
)

HOUR = 3600
SCHEDULE = {"ScheduleIntervalMinutes": str(INTERVAL // 60), "RefreshWindowSeconds": str(WINDOW)}
SINGLE = {"CredentialsSecretArn": secret_arn(SECRET_NAME), "TokenParameterName": PARAMETER}
FLEET = {"TokenParameterPath": PATH}
LOOKBACKS = (1, 2, 3)
STATE_ALARMS = ("CredentialsRejectedAlarm", "RefreshFailingAlarm")
FLEET_ALARMS = ("SecretsRefusedAlarm", "TokensLeftBehindAlarm")


def stack_alarms(fleet: bool) -> dict[str, Alarm]:
    """The alarms template.yaml creates for a single account or a fleet, on the simulated
    schedule, watching the service the handler reports as."""
    parameters = {**SCHEDULE, **(FLEET if fleet else SINGLE)}
    return template_alarms(parameters, stack_name=service())


@dataclass
class Story:
    title: str
    function: SimulatedFunction
    replays: dict[str, Replay]  # the stack's alarms, by logical id
    replaced: dict[int, Replay]  # the function-errors alarm, by evaluation range in periods
    marks: dict[str, float]  # named moments, in order
    until: float
    secrets: tuple[str, ...] = field(repr=False)  # what its output must never hold
    facts: dict[str, object] = field(default_factory=dict)


def _story(
    title: str,
    function: SimulatedFunction,
    *,
    alarms: Mapping[str, Alarm],
    names: tuple[str, ...],
    marks: Mapping[str, float],
    until: float,
    secrets: list[str],
) -> Story:
    replays = {
        n: replay(alarms[n], function.datapoints(alarms[n].metric), until=until) for n in names
    }
    old = function_errors_alarm(FUNCTION_NAME)
    errors = function.datapoints(errors_metric())
    replaced = {r: replay(old, errors, until=until, lookback=r) for r in LOOKBACKS}
    return Story(title, function, replays, replaced, dict(marks), until, tuple(secrets))


def fleet_secrets(world: FleetWorld) -> list[str]:
    return [value for account in world.accounts.values() for value in account.secret_values()]


def _fleet_story(
    title: str,
    world: FleetWorld,
    *,
    alarms: Mapping[str, Alarm],
    marks: Mapping[str, float],
    until: float,
) -> Story:
    """A fleet's story: the state alarms and the fleet's own, every account's secrets."""
    return _story(
        title,
        world.function,
        alarms=alarms,
        names=(*STATE_ALARMS, *FLEET_ALARMS),
        marks=marks,
        until=until,
        secrets=fleet_secrets(world),
    )


# --- a. JOOR down ------------------------------------------------------------------------------


def joor_outage(
    seed: int, *, hours: float = 6.0, alarms: Mapping[str, Alarm] | None = None
) -> Story:
    """One account: a healthy day, then JOOR down for ``hours`` from a minute before the run
    that would refresh the token, then a day more."""
    alarms = alarms or stack_alarms(fleet=False)
    world = single_world(seed)
    timeline = Timeline(world.clock, world.function, seed)
    timeline.run_until(DAY)
    expires = world.account.store.stored.expires_at
    assert expires is not None, "a healthy day stored a token"
    due = max((expires - START).total_seconds() - WINDOW, world.clock.t)
    begins = math.ceil(due / INTERVAL) * INTERVAL - 60
    ends = begins + hours * HOUR
    world.account.joor.outages.append(Outage(begins, hours * HOUR, "mixed"))
    until = ends + DAY
    timeline.run_until(until)
    return _story(
        f"JOOR down {_hm(hours * HOUR)} (one account)",
        world.function,
        alarms=alarms,
        names=(*STATE_ALARMS, "TokenRemainingLifeAlarm"),
        marks={"JOOR went down": begins, "JOOR came back": ends},
        until=until,
        secrets=world.account.secret_values(),
    )


# --- b. a week of a wrong password ----------------------------------------------------------------

A, B = 3, 7  # the accounts whose passwords go wrong


def wrong_password_week(
    seed: int, *, accounts: int = 10, alarms: Mapping[str, Alarm] | None = None
) -> Story:
    """A fleet: account A's password changed on JOOR's side on day 1 (found at its next due
    login) and saved in its secret a week later; account B's secret saved with a mistyped
    password on day 4 and corrected a day later. Each save's change event reaches the function
    within seconds."""
    alarms = alarms or stack_alarms(fleet=True)
    world = fleet_world(seed, accounts)
    a, b = world.named(A), world.named(B)
    b.joor.accepted = {"v1", "v3"}  # v2 will be the typo
    timeline = Timeline(world.clock, world.function, seed)
    changed = DAY + 3 * HOUR

    def change_on_joor() -> None:
        a.joor.accepted = {"v2"}

    timeline.at(changed, change_on_joor)
    typo = 4 * DAY + 5 * HOUR
    typo_event = timeline.save_secret(typo, b, "v2")
    b_fixed = timeline.save_secret(typo + DAY, b, "v3")
    a_fixed = timeline.save_secret(changed + 7 * DAY, a, "v2")
    until = a_fixed + DAY
    timeline.run_until(until)
    assert a.joor.failed_logins, "A's password change was found"
    marks = {
        "A's password changed on JOOR": changed,
        "JOOR rejected A": a.joor.failed_logins[0],
        "B's typo saved": typo,
        "B's secret fixed": typo + DAY,
        "A's secret fixed": changed + 7 * DAY,
    }
    story = _fleet_story(
        f"a fleet of {accounts}: A's password wrong a week, B's a day",
        world,
        alarms=alarms,
        marks=marks,
        until=until,
    )
    story.facts = {
        "failed logins": {"A": len(a.joor.failed_logins), "B": len(b.joor.failed_logins)},
        "named in each run": named_in_runs(world),
        "overlap": (typo_event, b_fixed),
        "A": a.parameter,
        "B": b.parameter,
    }
    return story


def named_in_runs(world: FleetWorld) -> list[tuple[float, tuple[str, ...], tuple[str, ...]]]:
    """Each scheduled run: when, the accounts its "Fleet run" log line names as having
    credentials to fix, and the accounts whose own log line says so."""
    runs = []
    for invocation in world.function.invocations:
        if invocation.kind != "schedule":
            continue
        summary = next((r for r in invocation.logs if r.get("message") == "Fleet run"), None)
        listed = tuple(summary["credentials_rejected"]) if summary else ()
        lines = tuple(r["parameter"] for r in invocation.logs if r.get("credentials") == "rejected")
        runs.append((invocation.at, listed, lines))
    return runs


# --- c. a refused secret --------------------------------------------------------------------------

MISTYPED = f"{PATH}/brand 900/access-token"


def refused_secret(
    seed: int, *, accounts: int = 5, alarms: Mapping[str, Alarm] | None = None
) -> Story:
    """A fleet gains a secret whose parameter tag is mistyped (a space): refused, so that
    account gets no token; the tag is corrected a day later and the account joins."""
    alarms = alarms or stack_alarms(fleet=True)
    world = fleet_world(seed, accounts + 1)
    newcomer = world.directory.accounts.pop()  # listed only once its tag is right
    problem = parameter_name_problem(MISTYPED)
    assert problem is not None
    name = world.accounts[newcomer.parameter].secret.name
    refusal = Refusal(name, f"its tag {PARAMETER_TAG} {problem}")
    timeline = Timeline(world.clock, world.function, seed)
    timeline.at(DAY, lambda: world.directory.refused.append(refusal))

    def fix_tag() -> None:
        world.directory.refused.remove(refusal)
        world.directory.accounts.append(newcomer)

    timeline.at(2 * DAY, fix_tag)
    until = 3 * DAY
    timeline.run_until(until)
    marks = {"the mistyped tag": DAY, "the tag fixed": 2 * DAY}
    story = _fleet_story(
        f"a fleet of {accounts}: a secret refused for a day",
        world,
        alarms=alarms,
        marks=marks,
        until=until,
    )
    story.facts = {"joined": world.accounts[newcomer.parameter].store.stored.exists}
    return story


# --- d. capacity ----------------------------------------------------------------------------------


def capacity(
    seed: int, *, hours: float = 12.0, rate: float = 0.1, alarms: Mapping[str, Alarm] | None = None
) -> list[Story]:
    """At ``rate`` logins a second one run refreshes C tokens, so a fleet keeps at most
    (lifetime - window) / interval · C accounts (docs/benchmarks.md): one at 90 % of that, one
    at 130 %, each with its tokens spread over their lifetimes, no outage, no throttling."""
    alarms = alarms or stack_alarms(fleet=True)
    most = (LIFETIME - WINDOW) // INTERVAL * _capacity(rate)
    stories = []
    for share in (0.9, 1.3):
        size = int(most * share)
        world = fleet_world(
            seed, size, aws_throttle=0.0, logins_per_second=rate, spread_tokens=True
        )
        Timeline(world.clock, world.function, seed).run_until(hours * HOUR)
        story = _fleet_story(
            f"a fleet of {size} ({share:.0%} of the {most} one deployment keeps)",
            world,
            alarms=alarms,
            marks={"start": 0.0},
            until=hours * HOUR,
        )
        metric = alarms["TokensLeftBehindAlarm"].metric
        left = [i.value(metric) or 0 for i in world.function.invocations]
        story.facts = {
            "accounts": size,
            "most": most,
            "runs leaving tokens": sum(v > 0 for v in left),
        }
        stories.append(story)
    return stories


# --- the table ------------------------------------------------------------------------------------


def settled(replay: Replay) -> list[Transition]:
    """The notifications after the alarm's first state: not the one each alarm with OK actions
    sends when its first datapoint takes it out of INSUFFICIENT_DATA after a deploy."""
    notes = replay.notifications
    first = replay.transitions[0] if replay.transitions else None
    if first is not None and first.old == INSUFFICIENT_DATA and notes and notes[0] is first:
        return notes[1:]
    return notes


def _when(story: Story, t: float) -> str:
    before = [(name, at) for name, at in story.marks.items() if at <= t]
    if not before:
        return f"{_hm(t)} in"
    name, at = max(before, key=lambda item: item[1])
    return f"{_hm(t - at)} after {name}"


def _describe(story: Story, notes: list[Transition]) -> str:
    if not notes:
        return "none"
    if len(notes) <= 4:
        return "; ".join(f"{n.new} {_when(story, n.at)}" for n in notes)
    alarms = sum(n.new == ALARM for n in notes)
    oks = sum(n.new == OK for n in notes)
    return f"{alarms} ALARM and {oks} OK, the first ALARM {_when(story, notes[0].at)}"


def render(stories: list[Story]) -> str:
    """The table for docs/soak.md."""
    lines = [
        "| what happened | alarm | notifications | when |",
        "|---|---|---|---|",
    ]
    for story in stories:
        title = story.title
        for logical_id, replay_ in story.replays.items():
            name = logical_id.removesuffix("Alarm")
            notes = settled(replay_)
            lines.append(f"| {title} | {name} | {len(notes)} | {_describe(story, notes)} |")
            title = ""
        counts = " / ".join(str(len(settled(story.replaced[r]))) for r in LOOKBACKS)
        worst = story.replaced[LOOKBACKS[0]]
        lines.append(
            f"| | function errors (replaced), range {'/'.join(map(str, LOOKBACKS))} periods "
            f"| {counts} | {_describe(story, settled(worst))} (range 1) |"
        )
    return "\n".join(lines)
