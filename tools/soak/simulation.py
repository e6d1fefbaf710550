"""A soak of the real refresh logic on a simulated clock: does the stored token ever lapse?

The real ``TokenRefresher`` with the real ``RetryPolicy`` (its sleeps advance the simulated
clock) and the real ``parse_token_response`` run against fakes of the outside systems (the unit
tests' in-memory fakes, with the soak's random failures on top: tools/soak/fakes.py):

* the scheduler invokes every 15 minutes; each invocation gives JOOR the function's timeout
  less the handler's reserve (68 s);
* JOOR issues 36000 s tokens, except during outages of random length, when every attempt
  fails with an error status (sometimes 429 with Retry-After), a timeout (which costs the
  attempt's whole timeout), a refused connection, or garbage (HTTP 200, not JSON);
* AWS throttles any call attempt at random; the SDK makes three attempts, so a call fails
  only when all three are throttled. A failed read, secret or write fails the run.

Each outage-length band is its own run of ``--days`` days with its own outages, so every
figure belongs to one band. Then a fleet of accounts (fleet_simulation.py), each with outages
of its own. ``make soak`` runs both and writes docs/soak.md (tools/soak/document.py).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta

from refresher.config import DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS
from refresher.domain.errors import RefreshError
from refresher.domain.gate import GatePolicy
from refresher.domain.models import RefreshRequest
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.timing import AWS_ATTEMPTS, FUNCTION_TIMEOUT_SECONDS, RESERVED_SECONDS
from tools.soak.fakes import (
    LIFETIME,
    START,
    Aws,
    Outage,
    OutageJoor,
    ThrottledSecrets,
    ThrottledStore,
    soak_clock,
)

SCHEDULED = RefreshRequest()
OPERATOR_FORCE = RefreshRequest(force=True, operator=True)

# The design defaults (README, "The guarantee").
WINDOW = 10_800  # REFRESH_WINDOW_SECONDS
INTERVAL = 900  # rate(15 minutes)
LAMBDA_TIMEOUT = float(FUNCTION_TIMEOUT_SECONDS)
RESERVED = RESERVED_SECONDS
DAY = 86_400


@dataclass(frozen=True)
class Band:
    name: str
    low: float  # outage length, seconds; (0, 0) means no outages
    high: float

    @property
    def has_outages(self) -> bool:
        return self.high > 0


def default_bands(window: int = WINDOW, interval: int = INTERVAL) -> list[Band]:
    w2, w1 = window - 2 * interval, window - interval
    return [
        Band("no outage", 0, 0),
        Band(f"< W-2I ({_hm(w2)})", 300, w2 - 1),
        Band(f"W-2I .. W-I ({_hm(w2)}-{_hm(w1)})", w2, w1 - 1),
        Band(f"W-I .. W ({_hm(w1)}-{_hm(window)})", w1, window - 1),
        Band(f"> W ({_hm(window)}-8h)", window, 8 * 3600),
    ]


@dataclass
class BandResult:
    band: Band
    worst_start: bool
    days: int
    outages: list[Outage]
    valid_share: float
    min_life: float  # smallest remaining life ever seen (negative: expired for that long)
    lapsed_seconds: float
    longest_lapse: float
    joor_calls: int
    runs: int
    failed_runs: dict[str, int]
    aws_failed_calls: int
    shortening_writes: int
    worst_margin: float | None  # min over outages of (life seen - (W - 2I - L)); None: none
    worst_grid_margin: float | None  # the same against W - I - ceil(L / I) * I
    bound: float  # the guaranteed life for this band

    @property
    def calls_per_day(self) -> float:
        return self.joor_calls / self.days


def place_outages(rng: random.Random, band: Band, days: int) -> list[Outage]:
    """Non-overlapping outages at random moments, at least 12 h of health between them."""
    if not band.has_outages:
        return []
    outages: list[Outage] = []
    t = float(DAY)  # a healthy first day
    end = days * DAY
    while True:
        t += rng.uniform(12 * 3600, 36 * 3600)
        length = rng.uniform(band.low, band.high)
        if t + length >= end - 12 * 3600:
            return outages
        kind = rng.choice(("errors", "timeouts", "refused", "garbage", "mixed"))
        outages.append(Outage(t, length, kind))
        t += length


def simulate(
    band: Band,
    days: int,
    seed: int,
    *,
    aws_throttle: float = 0.1,
    jitter: float = 0.0,
    window: int = WINDOW,
    interval: int = INTERVAL,
    worst_start: bool = False,
    force_every: float = 3 * DAY,
) -> BandResult:
    """One band for ``days`` days. ``worst_start``: each outage begins just before the first
    run that would refresh (the token has between W-I and W left), the moment the guarantee
    is about, instead of at a random moment. ``force_every``: an operator forces a refresh
    at a random moment in each such span; this moves the token's expiry off the schedule's
    15-minute grid (a 36000 s lifetime is a whole number of intervals, so without it the
    expiry stays on the grid, which is kinder than the general case)."""
    rng = random.Random(seed)
    clock = soak_clock()
    aws = Aws(random.Random(rng.random()), clock, aws_throttle)
    planned = place_outages(random.Random(rng.random()), band, days)
    pending = list(planned) if worst_start else []
    store = ThrottledStore(clock=clock, parameter="/joor/soak/access-token", aws=aws)
    joor = OutageJoor(
        clock, rng=random.Random(rng.random()), outages=[] if worst_start else list(planned)
    )
    refresher = TokenRefresher(
        store=store,
        credentials=ThrottledSecrets(aws=aws),
        endpoint=joor,
        clock=clock,
        policy=GatePolicy(
            window=timedelta(seconds=window),
            min_interval=timedelta(seconds=DEFAULT_REJECTED_TOKEN_MIN_AGE_SECONDS),
        ),
        retry=RetryPolicy(rng=random.Random(rng.random())),
    )
    failed: dict[str, int] = {}
    end = days * DAY
    runs = 0
    schedule = random.Random(rng.random())
    forced = (
        [k * force_every + schedule.uniform(0, force_every) for k in range(int(end // force_every))]
        if force_every
        else []
    )
    tick = 0
    while True:
        start = tick * interval + schedule.uniform(0, jitter)
        tick += 1
        if start >= end:
            break
        while forced and forced[0] < start:
            clock.advance_to(forced.pop(0))
            runs += 1
            try:
                refresher.run(OPERATOR_FORCE, time_limit=LAMBDA_TIMEOUT - RESERVED)
            except RefreshError as err:
                failed[err.reason] = failed.get(err.reason, 0) + 1
        clock.advance_to(start)
        expires_at = store.stored.expires_at
        if pending and clock.t >= pending[0].start and expires_at is not None:
            left = (expires_at - clock.now()).total_seconds()
            # The first run that would refresh a token kept fresh so far (not one still
            # recovering from the previous outage).
            if window - interval - 60 <= left < window + 1 and not any(
                o.end + 12 * 3600 > clock.t for o in joor.outages
            ):
                plan = pending.pop(0)
                joor.outages.append(Outage(clock.t - 1.0, plan.length, plan.kind))
        runs += 1
        invoked = clock.t
        try:
            refresher.run(SCHEDULED, time_limit=LAMBDA_TIMEOUT - RESERVED)
        except RefreshError as err:
            failed[err.reason] = failed.get(err.reason, 0) + 1
        assert clock.t - invoked <= LAMBDA_TIMEOUT, "a run outlived the Lambda timeout"
    return _measure(
        band, days, joor.outages, store, joor, aws, runs, failed, window, interval, worst_start
    )


def _measure(  # noqa: PLR0917 - one call site, in order
    band: Band,
    days: int,
    outages: list[Outage],
    store: ThrottledStore,
    joor: OutageJoor,
    aws: Aws,
    runs: int,
    failed: dict[str, int],
    window: int,
    interval: int,
    worst_start: bool,
) -> BandResult:
    """Validity from the first write to the end, exactly, from the list of writes."""
    end = float(days * DAY)
    writes = [(t, (e - START).total_seconds()) for t, e in store.written]
    assert writes, "the first run never stored a token"
    observed = end - writes[0][0]
    lapses: list[float] = []
    min_life = float("inf")
    for i, (_, expires) in enumerate(writes):
        until = writes[i + 1][0] if i + 1 < len(writes) else end
        if until > expires:
            lapses.append(until - expires)
        min_life = min(min_life, expires - until)  # life left just before the next write
    worst_margin = None
    grid_margin = None
    for outage in outages:
        # Life left at the first write after the outage began: the lowest point it caused.
        index = next((i for i, (t, _) in enumerate(writes) if t >= outage.start), None)
        if index is None or index == 0:
            continue
        life = writes[index - 1][1] - writes[index][0]
        margin = life - (window - 2 * interval - outage.length)
        worst_margin = margin if worst_margin is None else min(worst_margin, margin)
        grid = life - (window - interval - math.ceil(outage.length / interval) * interval)
        grid_margin = grid if grid_margin is None else min(grid_margin, grid)
    longest = max(band.high, 0.0)
    bound = window - 2 * interval - longest if band.has_outages else window - interval
    return BandResult(
        band=band,
        worst_start=worst_start,
        days=days,
        outages=outages,
        valid_share=1.0 - sum(lapses) / observed,
        min_life=min_life,
        lapsed_seconds=sum(lapses),
        longest_lapse=max(lapses, default=0.0),
        joor_calls=joor.calls,
        runs=runs,
        failed_runs=failed,
        aws_failed_calls=aws.failed_calls,
        shortening_writes=store.shortening_writes,
        worst_margin=worst_margin,
        worst_grid_margin=grid_margin,
        bound=bound,
    )


def _hm(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}h{m:02d}" + (f"m{s:02d}s" if s else "")


def verdicts(results: list[BandResult]) -> list[str]:
    """The goals, read off the figures (not assumed)."""
    lines = []
    for r in results:
        start = "worst-moment" if r.worst_start else "random"
        if not r.band.has_outages:
            lines.append(
                f"- JOOR always answering: token valid {r.valid_share:.4%} of the time, least "
                f"life left {_hm(r.min_life)} (guarantee W-I = {_hm(WINDOW - INTERVAL)}): "
                f"{'held' if r.min_life >= WINDOW - INTERVAL - LAMBDA_TIMEOUT else 'NOT held'}."
            )
            continue
        lapse = (
            "no lapse"
            if r.valid_share == 1.0
            else f"LAPSED ({1 - r.valid_share:.4%} of the time, longest {_hm(r.longest_lapse)})"
        )
        held = r.worst_margin is not None and r.worst_margin >= -LAMBDA_TIMEOUT
        lines.append(
            f"- {r.band.name}, {start} starts: {lapse}; every outage left at least W-2I-L: "
            f"{'yes' if held else 'NO'}; shorter-expiry writes: {r.shortening_writes}."
        )
    return lines


def report(
    results: list[BandResult],
    seed: int,
    days: int,
    aws_throttle: float,
    force_every: float = 3 * DAY,
) -> str:
    minimum = DAY / LIFETIME
    ideal = DAY / (LIFETIME - WINDOW)
    forced = (
        f"a forced refresh at a random moment every {force_every / DAY:g} days"
        if force_every
        else "no forced refreshes"
    )
    lines = [
        f"Soak: {days} days per band on a simulated clock, seed {seed}, schedule every "
        f"{INTERVAL // 60} min, window W={_hm(WINDOW)}, interval I={_hm(INTERVAL)}, token "
        f"lifetime {_hm(LIFETIME)}, AWS call attempts throttled at random {aws_throttle:.0%} "
        f"(a call fails when all {AWS_ATTEMPTS} SDK attempts are), {forced}.",
        "",
        *verdicts(results),
        "",
        "| outage band | start | outages | lengths | token valid | min life left | bound | "
        "worst margin vs W-2I-L | vs W-I-⌈L/I⌉·I | longest lapse | JOOR calls/day | failed runs | "
        "shorter-expiry writes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lengths = (
            f"{_hm(min(o.length for o in r.outages))}-{_hm(max(o.length for o in r.outages))}"
            if r.outages
            else "-"
        )
        failed = ", ".join(f"{k} {v}" for k, v in sorted(r.failed_runs.items())) or "0"
        margin = "-" if r.worst_margin is None else _hm(r.worst_margin)
        grid = "-" if r.worst_grid_margin is None else _hm(r.worst_grid_margin)
        lines.append(
            f"| {r.band.name} | {'worst' if r.worst_start else 'random'} | {len(r.outages)} | "
            f"{lengths} | {r.valid_share:.4%} | "
            f"{_hm(r.min_life)} | {_hm(r.bound)} | {margin} | {grid} | {_hm(r.longest_lapse)} | "
            f"{r.calls_per_day:.2f} | {failed} of {r.runs} | {r.shortening_writes} |"
        )
    lines += [
        "",
        f"JOOR calls/day: the minimum possible is {minimum:.2f} (one token per {_hm(LIFETIME)} "
        f"lifetime); refreshing at W before expiry costs at least {ideal:.2f} "
        f"(one per lifetime - W). Retries during outages add to it.",
        "min life left: the least life the stored token had just before it was replaced "
        "(negative: it had expired that long before).",
        "bound: W-I with no outage; W-2I-L for the longest outage L the band can draw.",
        "start: random = outages begin at random moments; worst = each begins just before the "
        "run that would have refreshed (the token has between W-I and W left).",
        "worst margin: over every outage, life left when the next token was written, minus "
        "W-2I-L for that outage's own length L; negative means that outage broke the bound.",
        "vs W-I-⌈L/I⌉·I: the same against the tighter bound that holds because runs fall on a "
        "fixed 15-minute grid: the first run after an outage comes at most ⌈L/I⌉ intervals "
        "after the last run that found the token with at least W-I left. It never lapses "
        "while L <= W-I.",
    ]
    return "\n".join(lines)


def run_all(
    days: int, seed: int, aws_throttle: float, jitter: float, force_every: float = 3 * DAY
) -> list[BandResult]:
    results = []
    for i, band in enumerate(default_bands()):
        for worst in (False, True) if band.has_outages else (False,):
            results.append(
                simulate(
                    band,
                    days,
                    seed * 100 + i,
                    aws_throttle=aws_throttle,
                    jitter=jitter,
                    worst_start=worst,
                    force_every=force_every,
                )
            )
    return results
