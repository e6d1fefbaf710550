"""``make soak``: the soaks on the simulated clock, written up in docs/soak.md.

    .venv/bin/python -m tools.soak.document \
        --days 30 --seed N [--doc docs/soak.md]

Three generated blocks: the token's life through JOOR outages (one account, then a fleet), the
login gate (a wrong password, a consumer storm), and the alarms replayed through an outage, a
week of a wrong password, a refused secret and a fleet beyond its capacity. Each holds only what
the seed and the options decide, so the same seed writes the same bytes; the wall time and the
machine go to the terminal instead.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

from tools.docs_section import write_section
from tools.soak import alarm_timelines
from tools.soak.fleet_simulation import ACCOUNTS, fleet_section
from tools.soak.gate import storm_section, wrong_password_section
from tools.soak.simulation import DAY, report, run_all

SECTION = "soak"
GATE_SECTION = "soak-gate"
ALARMS_SECTION = "soak-alarms"
DEFAULTS = {"aws_throttle": 0.1, "jitter": 0.0, "force_every_days": 3.0}


def command(
    days: int, seed: int, aws_throttle: float, jitter: float, force_every_days: float
) -> str:
    """The command that writes this block again."""
    options = {"aws_throttle": aws_throttle, "jitter": jitter, "force_every_days": force_every_days}
    if options == DEFAULTS:
        return f"make soak SOAK_DAYS={days} SOAK_SEED={seed}"
    flags = " ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in options.items())
    return f"python -m tools.soak.document --days {days} --seed {seed} {flags}"


def block(
    days: int,
    seed: int,
    *,
    aws_throttle: float = DEFAULTS["aws_throttle"],
    jitter: float = DEFAULTS["jitter"],
    force_every_days: float = DEFAULTS["force_every_days"],
    fleet_accounts: int = ACCOUNTS,
    capacity_rate: float = 0.1,
) -> str:
    """docs/soak.md's generated block: the single-account bands, then the fleet."""
    force_every = force_every_days * DAY
    results = run_all(days, seed, aws_throttle, jitter, force_every)
    text = report(results, seed, days, aws_throttle, force_every)
    fleet = fleet_section(
        days,
        seed,
        aws_throttle,
        force_every,
        accounts=fleet_accounts,
        capacity_rate=capacity_rate,
    )
    again = command(days, seed, aws_throttle, jitter, force_every_days)
    return (
        f"Produced by `{again}`. The figures depend only on the seed: the same seed gives the "
        f"same text.\n\n{text}\n\n{fleet}\n"
    )


def gate_block(days: int, seed: int, *, every: float = 10.0, storm_hours: float = 24.0) -> str:
    """docs/soak.md's login gate block: a wrong password, then a consumer storm."""
    again = command(days, seed, **DEFAULTS)
    # The password goes wrong a third of the way in, for 3 days (less in a short soak).
    wrong = wrong_password_section(
        seed, days, every=every, changed_on_day=days // 3, wrong_days=min(3.0, days / 3)
    )
    storm = storm_section(seed, hours=storm_hours)
    return f"Produced by `{again}`.\n\n{wrong}\n\n{storm}\n"


def alarms_block(days: int, seed: int, *, capacity_hours: float = 24.0) -> str:
    """docs/soak.md's alarms block: the stack's alarms replayed through four stories."""
    stories = [
        alarm_timelines.joor_outage(seed, hours=0.2),  # one failed run at the due moment
        alarm_timelines.joor_outage(seed),
        alarm_timelines.wrong_password_week(seed),
        alarm_timelines.refused_secret(seed),
        *alarm_timelines.capacity(seed, hours=capacity_hours),
    ]
    again = command(days, seed, **DEFAULTS)
    return f"Produced by `{again}`, seed {seed}.\n\n{alarm_timelines.render(stories)}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--aws-throttle", type=float, default=DEFAULTS["aws_throttle"])
    parser.add_argument(
        "--jitter", type=float, default=DEFAULTS["jitter"], help="scheduler delivery delay, s"
    )
    parser.add_argument(
        "--force-every-days",
        type=float,
        default=DEFAULTS["force_every_days"],
        help="a forced refresh at a random moment in each span of this many days (0: none)",
    )
    parser.add_argument(
        "--doc", type=Path, help="also write the report into this file's soak block"
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"seed {seed} (repeat with --seed {seed})", flush=True)  # noqa: T201
    started = time.perf_counter()
    texts = {
        SECTION: block(
            args.days,
            seed,
            aws_throttle=args.aws_throttle,
            jitter=args.jitter,
            force_every_days=args.force_every_days,
        ),
        GATE_SECTION: gate_block(args.days, seed),
        ALARMS_SECTION: alarms_block(args.days, seed),
    }
    for text in texts.values():
        print(text)  # noqa: T201
    elapsed = time.perf_counter() - started
    print(  # noqa: T201
        f"({platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {elapsed:.1f} s of real time)"
    )
    if args.doc:
        for name, text in texts.items():
            write_section(args.doc, name, text)
        print(f"written to {args.doc}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
