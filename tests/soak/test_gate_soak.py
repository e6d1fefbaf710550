"""The login gate on the simulated clock, short: a wrong password for a day, and an hour or two
of a consumer storm, through the function's real handler (tools/soak/gate.py). The long
versions are `make soak`'s."""

from __future__ import annotations

import pytest

from tests.leakwatch import WATCH
from tools.soak.gate import BUDGET, HOUR, Storm, WrongPassword, storm, wrong_password
from tools.soak.simulation import DAY, INTERVAL, LIFETIME, WINDOW

SHORT = {"days": 3, "changed_on_day": 1, "wrong_days": 1.0, "every": 120.0}


def scanned[R: (WrongPassword, Storm)](result: R, where: str) -> R:
    WATCH.add_secrets(*result.secrets)
    WATCH.record(where, result.output)
    return result


@pytest.mark.parametrize("consumers", ["none", "after expiry", "revoked"])
def test_a_wrong_password_costs_one_failed_login_and_its_fix_a_token_within_a_minute(
    consumers: str,
) -> None:
    # GIVEN the password changed on JOOR's side, a day of scheduled runs (and of consumers'
    # reports, when they see 401s), then the new password saved in the secret
    result = scanned(
        wrong_password(1, consumers=consumers, **SHORT), f"wrong password, {consumers}"
    )

    # THEN JOOR saw one failed login, every later run was refused without calling it, and the
    # change event stored a valid token seconds after the save
    assert result.lost_records == 0  # (AWS throttling, drawn at random, spared the record)
    assert result.failed_logins == 1
    assert result.refused_runs > 0
    assert result.live_after_fix is not None
    assert result.live_after_fix < 60
    if consumers != "none":
        assert result.reports > 0


@pytest.mark.parametrize("consumers", ["none", "revoked"])
def test_without_the_gates_memory_every_run_and_report_fails_a_login_again(
    consumers: str,
) -> None:
    # The measurement can fail: the same story with the record of JOOR's answer taken away
    # (as before the gate) logs in with the wrong password on every run once the token is
    # due, and on every report.
    result = scanned(
        wrong_password(1, consumers=consumers, gate=False, **SHORT), f"before, {consumers}"
    )

    due_runs = (DAY - (LIFETIME - WINDOW)) // INTERVAL
    assert result.failed_logins >= due_runs - 1
    if consumers == "revoked":
        assert result.failed_logins >= result.reports > 0
    assert result.refused_runs == 0


@pytest.mark.parametrize("kind", ["force", "report"])
def test_a_consumer_storm_gets_at_most_the_budgets_logins(kind: str) -> None:
    # 1,000 events an hour for two hours from a holder of the requester policy
    result = scanned(storm(1, hours=2.0, kind=kind, aws_throttle=0.0), f"storm, {kind}")

    assert result.events == 2000
    assert max(result.logins_per_hour) <= HOUR // BUDGET == 12
    assert min(result.logins_per_hour) >= HOUR // BUDGET - 1  # the budget, used
    assert result.most_in_a_budget == 1
    assert result.rate_limited > 1900


def test_while_joor_is_down_a_storm_gets_no_more_than_one_login_a_budget() -> None:
    result = scanned(storm(1, hours=3.0, outage=(0.5, 2.5), aws_throttle=0.0), "storm, outage")

    assert result.outage is not None
    assert result.most_during_outage == 1
    assert max(result.logins_per_hour) <= 12
    # Each of those logins retried JOOR within its run: more requests than logins.
    assert max(result.requests_per_hour) > max(result.logins_per_hour)


def test_with_aws_throttling_a_login_beyond_the_budget_follows_a_lost_record() -> None:
    # The budget counts from the record of the last login, kept on the secret. When AWS
    # throttles that write (all three SDK attempts), the next run cannot know of the login and
    # may log in again at once: the one way past the budget, bounded by the lost records.
    result = scanned(storm(1, hours=3.0, outage=(0.5, 2.5)), "storm, outage, throttled")

    assert result.most_during_outage <= 1 + result.lost_records
    assert max(result.logins_per_hour) <= 12 + result.lost_records


def test_the_same_storm_through_the_operator_alias_is_not_limited() -> None:
    # The counting can see more: an operator's forces ignore the budget, one login each.
    result = scanned(storm(1, hours=0.25, kind="operator", aws_throttle=0.0), "storm, operator")

    assert result.events == 250
    assert sum(result.logins_per_hour) == 250
    assert result.most_in_a_budget > 12
