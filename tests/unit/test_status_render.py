"""How `python -m refresher status` shows a report: the table an operator reads, the JSON a
script reads, and the exit status a cron job or CI step watches. tests/adapters/test_status.py
collects reports from moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from refresher.status import Report, TokenStatus, render, show
from tests.leakwatch import WATCH

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:joor/fleet/brand-a-AbCdEf"
WRITTEN = datetime(2031, 3, 14, 8, 5, 59, tzinfo=UTC)


def token(parameter: str, state: str = "fresh", **fields: object) -> TokenStatus:
    return TokenStatus(parameter, fields.pop("secret", ARN), state, **fields)  # type: ignore[arg-type]


FLEET = Report(
    scope="/joor/fleet/ (a fleet)",
    guarantee=timedelta(hours=2, minutes=45),
    window=timedelta(hours=3),
    tokens=(
        token("/joor/fleet/brand-a/token", version=12, written_at=WRITTEN, seconds_left=34_199),
        token(
            "/joor/fleet/b/token",
            "due",
            secret="joor/fleet/b",
            version=3,
            written_at=WRITTEN,
            seconds_left=3 * 3600 + 5 * 60 - 1,
        ),
        token("/joor/fleet/c/token", "missing", secret="joor/fleet/c", below_guarantee=True),
        token(
            "/joor/fleet/d/token",
            "due",
            secret="joor/fleet/d",
            version=1,
            written_at=WRITTEN,
            seconds_left=-3 * 3600 - 61,
            below_guarantee=True,
        ),
        token(
            "/joor/fleet/e/token", "credentials rejected", secret="e", version=2, seconds_left=59
        ),
        token("/joor/fleet/gone/token", "unclaimed", secret=None, version=7, seconds_left=-300),
        token("/joor/fleet/zero/token", "unclaimed", secret=None, version=1, seconds_left=0),
    ),
    refused=("joor/fleet/broken: its tag joor-token-parameter is empty", "x: why"),
    calls={"DescribeParameters": 1, "DescribeSecret": 2, "ListSecrets": 1},
)


def test_the_table_has_a_line_per_token_under_the_guarantee_and_a_closing_count() -> None:
    assert render(FLEET) == (
        """\
JOOR tokens of /joor/fleet/ (a fleet): guarantee 2 h 45 min (refresh window 3 h 00 min minus the schedule interval)
PARAMETER                  VERSION  LIFE LEFT    WRITTEN (UTC)     STATE                          SECRET
/joor/fleet/brand-a/token  12       9 h 29 min   2031-03-14 08:05  fresh                          joor/fleet/brand-a
/joor/fleet/b/token        3        3 h 04 min   2031-03-14 08:05  due                            joor/fleet/b
/joor/fleet/c/token        -        -            -                 missing (below the guarantee)  joor/fleet/c
/joor/fleet/d/token        1        -3 h 01 min  2031-03-14 08:05  due (below the guarantee)      joor/fleet/d
/joor/fleet/e/token        2        0 min        -                 credentials rejected           e
/joor/fleet/gone/token     7        -5 min       -                 unclaimed                      (no secret claims it)
/joor/fleet/zero/token     1        0 min        -                 unclaimed                      (no secret claims it)
refused: joor/fleet/broken: its tag joor-token-parameter is empty
refused: x: why
5 token(s) kept, 2 below the guarantee; 4 AWS call(s) (1 DescribeParameters, 2 DescribeSecret, 1 ListSecrets): metadata only, no value read, nothing decrypted"""
    )


def test_a_row_ends_with_its_last_cell() -> None:
    report = Report("/p", timedelta(hours=1), timedelta(hours=2), (token("/p", secret="s"),))

    assert [line[-1] for line in render(report).splitlines()[1:3]] == ["T", "s"]


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-b-c-AbCdEf", "a-b-c"),
        ("joor/plain-name", "joor/plain-name"),  # a name is shown as it is
    ],
)
def test_a_secret_is_shown_by_its_name(secret: str, shown: str) -> None:
    report = Report("/p", timedelta(hours=1), timedelta(hours=2), (token("/p", secret=secret),))

    assert render(report).splitlines()[2].endswith(f"  {shown}")


def test_the_json_gives_every_field_with_times_in_utc() -> None:
    two_hours_east = timezone(timedelta(hours=2))
    report = Report(
        "/p",
        timedelta(minutes=90, seconds=30),
        timedelta(hours=2),
        (
            token(
                "/p",
                "due",
                secret="s",
                version=4,
                expires_at=datetime(2031, 3, 14, 12, 0, 1, tzinfo=two_hours_east),
                written_at=WRITTEN,
                seconds_left=-1,
                below_guarantee=True,
            ),
            token("/q", "missing", secret=None),
        ),
        ("r: why",),
        {"DescribeParameters": 1},
    )

    assert report.as_json() == {
        "scope": "/p",
        "guarantee_seconds": 5430,
        "refresh_window_seconds": 7200,
        "tokens": [
            {
                "parameter": "/p",
                "secret": "s",
                "state": "due",
                "version": 4,
                "expires_at": "2031-03-14T10:00:01Z",
                "written_at": "2031-03-14T08:05:59Z",
                "seconds_left": -1,
                "below_guarantee": True,
            },
            {
                "parameter": "/q",
                "secret": None,
                "state": "missing",
                "version": None,
                "expires_at": None,
                "written_at": None,
                "seconds_left": None,
                "below_guarantee": False,
            },
        ],
        "below_guarantee": ["/p"],
        "refused_secrets": ["r: why"],
        "aws_calls": {"DescribeParameters": 1},
    }


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_show_prints_the_report_and_exits_1_when_a_token_is_below_the_guarantee(
    capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    code = show(FLEET, as_json)

    out = capsys.readouterr().out
    WATCH.record("status output", out)
    assert code == 1
    assert out == (json.dumps(FLEET.as_json(), indent=2) if as_json else render(FLEET)) + "\n"


def test_show_exits_0_when_no_token_kept_is_below_the_guarantee(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An unclaimed token is never below the guarantee: no run keeps it.
    report = Report(
        "/p",
        timedelta(hours=1),
        timedelta(hours=2),
        (token("/p", version=1, seconds_left=3600), token("/q", "unclaimed", secret=None)),
    )

    assert show(report, as_json=False) == 0
    WATCH.record("status output", capsys.readouterr().out)
