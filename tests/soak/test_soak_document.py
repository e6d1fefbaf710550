"""docs/soak.md's generated blocks record only what the seed decides: regenerating them with the
same seed changes nothing. Short runs, small fleets."""

from __future__ import annotations

import platform

from tools.soak.alarm_timelines import refused_secret, render
from tools.soak.document import block, gate_block

# Two days, a fleet of 5 accounts, and the capacity check at 0.03 logins a second (fleets of 50
# and 72 accounts): every part of the block, in about a second.
SMALL = {"days": 2, "fleet_accounts": 5, "capacity_rate": 0.03}


def test_the_same_seed_renders_the_same_block_byte_for_byte() -> None:
    first = block(seed=11, **SMALL)
    again = block(seed=11, **SMALL)

    assert first.encode() == again.encode()
    assert first.startswith("Produced by `make soak SOAK_DAYS=2 SOAK_SEED=11`.")
    assert "Fleet: 5 accounts for 2 days, seed 11" in first
    assert "Capacity, tested" in first


def test_another_seed_renders_other_figures() -> None:
    # The comparison above means something only if the block does depend on the seed.
    assert block(seed=12, **SMALL) != block(seed=11, **SMALL)


def test_the_block_names_no_machine_and_no_wall_time() -> None:
    text = block(seed=11, **SMALL)

    assert platform.machine() not in text
    assert f"Python {platform.python_version()}" not in text
    assert "real time" not in text
    assert "cores" not in text


# The login gate's block, short: 3 days, consumers every 10 minutes, a storm of half an hour.
GATE = {"every": 600.0, "storm_hours": 0.5}


def test_the_login_gate_block_is_the_same_for_the_same_seed() -> None:
    first = gate_block(3, 11, **GATE)

    assert first.encode() == gate_block(3, 11, **GATE).encode()
    assert first != gate_block(3, 12, **GATE)
    assert first.startswith("Produced by `make soak SOAK_DAYS=3 SOAK_SEED=11`.")
    assert "| none | 1 |" in first  # one failed login without consumers
    assert "| plain forces | 500 |" in first
    assert platform.machine() not in first


def test_the_alarm_table_is_the_same_for_the_same_seed() -> None:
    def table(seed: int) -> str:
        return render([refused_secret(seed, accounts=2)])

    first = table(11)

    assert first.encode() == table(11).encode()
    assert "| SecretsRefused | 2 | ALARM " in first
