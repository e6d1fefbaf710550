"""A short soak in every `make test`: the real refresh logic on a simulated clock.

The long one is `make soak` (30 days per band); this runs 10 days per band on fixed seeds.
"""

from __future__ import annotations

import pytest

from tools.soak.simulation import (
    DAY,
    INTERVAL,
    LAMBDA_TIMEOUT,
    LIFETIME,
    WINDOW,
    Band,
    default_bands,
    report,
    simulate,
)

DAYS = 10
BANDS = {band.name: band for band in default_bands()}
NONE, SHORT, EDGE, NEAR, LONG = default_bands()


@pytest.mark.parametrize("seed", [1, 2])
def test_while_joor_answers_the_token_always_has_the_window_minus_one_interval(seed: int) -> None:
    # No AWS throttling: any failed run would, by design, cost one more interval.
    result = simulate(NONE, DAYS, seed, aws_throttle=0.0)

    assert result.valid_share == 1.0
    assert result.failed_runs == {}
    # The life left just before each replacement; the run that replaces it takes its own
    # (sub-second here) time after finding the token inside the window.
    assert result.min_life >= WINDOW - INTERVAL - LAMBDA_TIMEOUT
    assert result.shortening_writes == 0
    assert DAY / LIFETIME <= result.calls_per_day <= DAY / (LIFETIME - WINDOW - INTERVAL) + 0.5


@pytest.mark.parametrize("worst_start", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_outages_shorter_than_window_minus_two_intervals_never_let_it_lapse(
    seed: int, worst_start: bool
) -> None:
    result = simulate(SHORT, DAYS, seed, worst_start=worst_start)

    assert result.outages, "the band must actually contain outages"
    assert result.valid_share == 1.0
    assert result.min_life > 0
    # For every outage of length L: at least W - 2I - L left when the next token arrived.
    assert result.worst_margin is not None
    assert result.worst_margin >= 0
    assert result.shortening_writes == 0


@pytest.mark.parametrize("worst_start", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_with_runs_on_a_fixed_grid_outages_up_to_window_minus_one_interval_never_lapse(
    seed: int, worst_start: bool
) -> None:
    # The tighter bound the model shows: life left >= W - I - ceil(L / I) * I, less the
    # replacing run's own duration; so no lapse for any L <= W - I (the guarantee's W - I).
    result = simulate(EDGE, DAYS, seed, worst_start=worst_start)

    assert result.outages
    assert result.valid_share == 1.0
    assert result.worst_grid_margin is not None
    assert result.worst_grid_margin >= -LAMBDA_TIMEOUT


def test_outages_just_over_window_minus_one_interval_at_the_worst_moment_lapse() -> None:
    # ... and the boundary is real: between W - I and W, an outage at the worst moment lapses.
    result = simulate(NEAR, DAYS, 1, worst_start=True)

    assert result.valid_share < 1.0
    assert 0 < result.longest_lapse <= INTERVAL + LAMBDA_TIMEOUT


def test_outages_longer_than_the_window_do_let_it_lapse_and_the_soak_sees_it() -> None:
    # The measurement can fail: beyond the window a lapse is certain, and it must show.
    result = simulate(LONG, DAYS, 1, worst_start=True)

    assert result.valid_share < 1.0
    assert result.min_life < 0
    assert result.longest_lapse > 0
    assert result.shortening_writes == 0


def test_a_refresher_that_waits_too_long_is_caught() -> None:
    # A window shorter than one interval cannot keep a token alive between runs.
    band = Band("no outage", 0, 0)

    result = simulate(band, 3, 1, aws_throttle=0.0, window=INTERVAL // 2)

    assert result.valid_share < 1.0


def test_the_report_prints_every_band_and_the_seed() -> None:
    results = [simulate(band, 2, 7) for band in default_bands()]

    text = report(results, seed=7, days=2, aws_throttle=0.1)

    assert "seed 7" in text
    for band in default_bands():
        assert f"| {band.name} |" in text
    assert len(BANDS) == 5
    assert {EDGE.name, NEAR.name} <= set(BANDS)
