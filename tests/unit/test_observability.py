"""What a run tells operators, read back from Powertools' own output: the log lines (JSON) and
the EMF metrics, for one account and for a fleet. No sockets: both go to memory."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from refresher.domain.errors import (
    ConfigurationError,
    CredentialsRejectedError,
    EndpointUnavailableError,
    FleetRefreshError,
    InvalidEventError,
    OperatorOnlyError,
    RefreshError,
    SecretMalformedError,
    TokenStoreWriteError,
    UnknownAccountError,
)
from refresher.domain.models import (
    AccountResult,
    CredentialState,
    FleetOutcome,
    IgnoredEvent,
    LoginRecord,
    RefreshOutcome,
    Refusal,
)
from refresher.observability import failure_states, outcome_states, report_failure, report_outcome
from tests.unit.fakes import START


@dataclass
class Report:
    logger: Logger
    metrics: Metrics
    log: io.StringIO
    capsys: pytest.CaptureFixture[str]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]

    def messages(self, level: str | None = None) -> list[str]:
        return [e["message"] for e in self.lines() if level is None or e["level"] == level]

    def metric_values(self) -> dict[str, list[float]]:
        blob = self.metrics.serialize_metric_set()
        names = [m["Name"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
        return {
            name: blob[name] if isinstance(blob[name], list) else [blob[name]] for name in names
        }

    def reason_metrics(self) -> list[dict[str, Any]]:
        """What single_metric printed: one EMF blob per failure reason."""
        out = self.capsys.readouterr().out
        blobs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        for blob in blobs:
            value = blob["TokenRefreshFailed"]
            blob["TokenRefreshFailed"] = value[0] if isinstance(value, list) else value
        return blobs


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Iterator[Report]:
    log = io.StringIO()
    # Powertools keeps one logger per service name, with the handler it was first given.
    service = f"refresher-test-{uuid.uuid4().hex}"
    logger = Logger(service=service, logger_handler=logging.StreamHandler(log))
    metrics = Metrics(namespace="JoorTokenRefresher", service=service)
    metrics.clear_metrics()
    yield Report(logger, metrics, log, capsys)
    metrics.clear_metrics()


def outcome(refreshed: bool = True, reason: str = "expiring", **fields: Any) -> RefreshOutcome:
    values: dict[str, Any] = {
        "refreshed": refreshed,
        "forced": False,
        "parameter": "/joor/a/access-token",
        "expires_at": START + timedelta(hours=10),
        "version": 3,
        "seconds_left": 35999.6,
        "reason": reason,
    }
    values.update(fields)
    return RefreshOutcome(**values)


def test_a_refresh_logs_its_summary_and_counts_one_refresh_and_the_life_left(
    report: Report,
) -> None:
    report_outcome(report.logger, report.metrics, outcome())

    [line] = report.lines()
    assert (line["level"], line["message"]) == ("INFO", "Token refreshed")
    assert line["parameter"] == "/joor/a/access-token"
    assert line["seconds_left"] == 35999
    assert report.metric_values() == {
        "TokenRefreshed": [1.0],
        "TokenSecondsRemaining": [35999.0],
        "CredentialsRejected": [0.0],
        "RefreshFailing": [0.0],
    }


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("fresh", "Stored token still fresh; nothing to do"),
        ("already_replaced", "The rejected version was already replaced; nothing to do"),
        (
            "rate_limited",
            "A login now would exceed this account's login budget; not logging in "
            "(retry_after_seconds says when one may be asked for)",
        ),
    ],
)
def test_a_skip_logs_why(report: Report, reason: str, message: str) -> None:
    report_outcome(report.logger, report.metrics, outcome(refreshed=False, reason=reason))

    assert report.messages("INFO") == [message]
    assert report.metric_values()["TokenRefreshSkipped"] == [1.0]


def test_only_a_rate_limited_skip_is_counted_as_one(report: Report) -> None:
    report_outcome(report.logger, report.metrics, outcome(refreshed=False, reason="fresh"))
    assert "TokenRefreshRateLimited" not in report.metric_values()

    report.metrics.clear_metrics()
    report_outcome(report.logger, report.metrics, outcome(refreshed=False, reason="rate_limited"))
    assert report.metric_values()["TokenRefreshRateLimited"] == [1.0]


def test_the_runs_warnings_are_logged_as_warnings_before_the_outcome(report: Report) -> None:
    report_outcome(report.logger, report.metrics, outcome(warnings=("short life", "second")))

    assert [(e["level"], e["message"]) for e in report.lines()] == [
        ("WARNING", "short life"),
        ("WARNING", "second"),
        ("INFO", "Token refreshed"),
    ]


def test_an_expired_token_counts_zero_seconds_left_and_an_unknown_life_none(
    report: Report,
) -> None:
    report_outcome(report.logger, report.metrics, outcome(seconds_left=-30.0))
    assert report.metric_values()["TokenSecondsRemaining"] == [0.0]

    report.metrics.clear_metrics()
    report_outcome(report.logger, report.metrics, outcome(seconds_left=None))
    assert "TokenSecondsRemaining" not in report.metric_values()


def test_a_failure_logs_its_message_reason_and_type_and_counts_it_by_reason(
    report: Report,
) -> None:
    error = CredentialsRejectedError(401, "invalid_grant", "")

    report_failure(report.logger, report.metrics, error, 1200.7)

    [line] = report.lines()
    assert (line["level"], line["message"]) == ("ERROR", str(error))
    assert (line["reason"], line["error_type"]) == (
        "credentials_rejected",
        "CredentialsRejectedError",
    )
    assert report.metric_values() == {
        "TokenRefreshFailed": [1.0],
        "TokenSecondsRemaining": [1200.0],
        "CredentialsRejected": [1.0],
        "RefreshFailing": [0.0],
    }
    [by_reason] = report.reason_metrics()
    assert by_reason["TokenRefreshFailed"] == 1.0
    assert (by_reason["Reason"], by_reason["service"]) == (
        "credentials_rejected",
        report.metrics.provider.service,
    )
    assert by_reason["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "JoorTokenRefresher"


def fleet() -> FleetOutcome:
    rate_limited = outcome(refreshed=False, reason="rate_limited", parameter="/joor/c")
    return FleetOutcome(
        forced=False,
        results=(
            AccountResult(
                "/joor/a", outcome(parameter="/joor/a", warnings=("short",)), seconds_left=900.0
            ),
            AccountResult(
                "/joor/b", failure="credentials_rejected", message="rejected b", seconds_left=60.0
            ),
            AccountResult("/joor/c", rate_limited, seconds_left=500.0),
            AccountResult("/joor/d", left_for_next_run=True, seconds_left=30.0),
            AccountResult("/joor/e", failure="credentials_rejected", message="rejected e"),
            AccountResult("/joor/f", failure="joor_unavailable", message="down f"),
        ),
        refused=(Refusal("brand-z", "its tag is wrong"),),
        warnings=("Parameter '/joor/old' is no longer refreshed",),
    )


def test_a_fleet_run_logs_a_line_per_account_then_refusals_warnings_and_the_run(
    report: Report,
) -> None:
    report_outcome(report.logger, report.metrics, FleetOutcome(False, fleet().results[:1]))
    report.log.truncate(0)
    report.log.seek(0)
    report.metrics.clear_metrics()

    report_failure(report.logger, report.metrics, FleetRefreshError("m", fleet()), None)

    assert [(e["level"], e["message"]) for e in report.lines()] == [
        ("WARNING", "short"),
        ("INFO", "Token refreshed"),
        ("ERROR", "rejected b"),
        (
            "INFO",
            "A login now would exceed this account's login budget; not logging in "
            "(retry_after_seconds says when one may be asked for)",
        ),
        ("WARNING", "Left for the next run: no time left in this one"),
        ("ERROR", "rejected e"),
        ("ERROR", "down f"),
        ("WARNING", "Secret 'brand-z' refused: its tag is wrong"),
        ("WARNING", "Parameter '/joor/old' is no longer refreshed"),
        ("ERROR", "Fleet run"),
    ]
    lines = report.lines()
    assert lines[0]["parameter"] == "/joor/a"
    assert lines[2]["reason"] == "credentials_rejected"
    assert lines[4]["parameter"] == "/joor/d"
    assert lines[7]["secret"] == "brand-z"
    assert (lines[-1]["failed"], lines[-1]["accounts"]) == (3, 6)
    assert "outcomes" not in lines[-1]


def test_a_fleet_run_counts_each_kind_of_result_and_the_least_life_left(report: Report) -> None:
    report_failure(report.logger, report.metrics, FleetRefreshError("m", fleet()), None)

    assert report.metric_values() == {
        "TokenRefreshed": [1.0],
        "TokenRefreshSkipped": [1.0],
        "TokenRefreshFailed": [3.0],
        "TokensLeftForNextRun": [1.0],
        "SecretsRefused": [1.0],
        "TokenRefreshRateLimited": [1.0],
        "TokenSecondsRemaining": [30.0],
        "CredentialsRejected": [2.0],
        "RefreshFailing": [1.0],
    }
    assert [(b["Reason"], b["TokenRefreshFailed"]) for b in report.reason_metrics()] == [
        ("credentials_rejected", 2.0),
        ("joor_unavailable", 1.0),
    ]


def test_a_fleet_run_without_failures_logs_the_run_as_info_and_counts_no_rate_limit(
    report: Report,
) -> None:
    done = FleetOutcome(False, (AccountResult("/joor/a", outcome(parameter="/joor/a")),))

    report_outcome(report.logger, report.metrics, done)

    assert report.lines()[-1]["level"] == "INFO"
    assert report.lines()[-1]["message"] == "Fleet run"
    assert "TokenRefreshRateLimited" not in report.metric_values()
    assert report.reason_metrics() == []


# --- the two state metrics ----------------------------------------------------------------


def state(result: str | None, current: str = "v1", recorded: str = "v1") -> CredentialState:
    last = None if result is None else LoginRecord(result, START, recorded)
    return CredentialState("joor/a", current, last)


@pytest.mark.parametrize(
    ("run", "states"),
    [
        (outcome(), {"CredentialsRejected": 0, "RefreshFailing": 0}),
        (outcome(refreshed=False, reason="fresh"), {"RefreshFailing": 0}),
        (outcome(refreshed=False, reason="already_replaced"), {}),
        (outcome(refreshed=False, reason="rate_limited"), {}),
        (
            outcome(refreshed=False, reason="rate_limited", credentials=state("failed")),
            {"CredentialsRejected": 0, "RefreshFailing": 1},
        ),
        (
            outcome(refreshed=False, reason="fresh", credentials=state("rejected")),
            {"CredentialsRejected": 1, "RefreshFailing": 0},
        ),
        (
            outcome(refreshed=False, reason="rate_limited", credentials=state("rejected", "v2")),
            {"CredentialsRejected": 0, "RefreshFailing": 0},
        ),
    ],
    ids=[
        "refreshed",
        "fresh",
        "report skipped",
        "budget from the token",
        "budget after a failed login",
        "rejected earlier",
        "rejected version no longer current",
    ],
)
def test_a_run_reports_the_states_it_knows(run: RefreshOutcome, states: dict[str, int]) -> None:
    assert outcome_states(run) == states


@pytest.mark.parametrize(
    ("error", "states"),
    [
        (
            CredentialsRejectedError(401, "invalid_grant", ""),
            {"CredentialsRejected": 1, "RefreshFailing": 0},
        ),
        (SecretMalformedError("m"), {"CredentialsRejected": 1}),
        (EndpointUnavailableError("down"), {"RefreshFailing": 1}),
        (TokenStoreWriteError("throttled"), {"RefreshFailing": 1}),
        (ConfigurationError("X", "is not set"), {"RefreshFailing": 1}),
        (InvalidEventError("bad"), {}),
        (OperatorOnlyError("Retrying"), {}),
        (UnknownAccountError("no secret"), {}),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else "",
)
def test_a_failed_run_reports_the_states_it_knows(
    error: RefreshError, states: dict[str, int]
) -> None:
    assert failure_states(error) == states


def test_a_run_for_one_account_of_a_fleet_reports_no_state(report: Report) -> None:
    report_outcome(report.logger, report.metrics, outcome(), states=False)
    report_failure(
        report.logger, report.metrics, EndpointUnavailableError("down"), None, states=False
    )

    assert "RefreshFailing" not in report.metric_values()
    assert "CredentialsRejected" not in report.metric_values()


def test_an_ignored_secret_change_is_logged_and_counts_nothing(report: Report) -> None:
    report_outcome(report.logger, report.metrics, IgnoredEvent("arn:aws:secretsmanager:x"))

    [line] = report.lines()
    assert line["reason"] == "not_our_secret"
    assert report.metrics.metric_set == {}


def test_an_ignored_secret_change_says_so_in_its_line(report: Report) -> None:
    report_outcome(report.logger, report.metrics, IgnoredEvent("arn:aws:secretsmanager:x"))

    [line] = report.lines()
    assert (line["level"], line["message"], line["secret"]) == (
        "INFO",
        "A secret that feeds none of this function's tokens changed; ignored",
        "arn:aws:secretsmanager:x",
    )


def test_a_failures_warnings_follow_its_error_with_its_reason(report: Report) -> None:
    error = CredentialsRejectedError(401, "invalid_grant", "")
    error.warnings = ("Could not tag secret 'joor/a' with the login's result",)

    report_failure(report.logger, report.metrics, error, None)

    assert [(e["level"], e["message"], e["reason"]) for e in report.lines()] == [
        ("ERROR", str(error), "credentials_rejected"),
        (
            "WARNING",
            "Could not tag secret 'joor/a' with the login's result",
            "credentials_rejected",
        ),
    ]


def test_secrets_tagged_for_another_fleet_are_noted_once_naming_the_first_twenty(
    report: Report,
) -> None:
    elsewhere = tuple(
        Refusal(f"brand-{n:02}", "outside", elsewhere=True, parameter=f"/other/{n}")
        for n in range(21)
    )
    done = FleetOutcome(False, (), refused=elsewhere)

    report_outcome(report.logger, report.metrics, done)

    [line, _run] = report.lines()
    assert (line["level"], line["message"]) == (
        "INFO",
        "21 tagged secret(s) name a parameter outside this fleet's path (another stack's, or a "
        "tag to fix); not served here",
    )
    assert line["secrets"] == [f"brand-{n:02}" for n in range(20)]
    assert report.metric_values()["SecretsRefused"] == [0.0]


def test_an_account_whose_credentials_were_rejected_earlier_is_an_error_line_of_its_own(
    report: Report,
) -> None:
    kept = outcome(refreshed=False, reason="fresh", parameter="/joor/a")
    done = FleetOutcome(False, (AccountResult("/joor/a", kept, credentials_rejected=True),))

    report_outcome(report.logger, report.metrics, done)

    line = report.lines()[0]
    assert (line["level"], line["message"]) == (
        "ERROR",
        "JOOR rejected this account's credentials earlier; its token is kept while it lasts, "
        "and no login is made until the secret changes",
    )
    assert (line["parameter"], line["credentials"]) == ("/joor/a", "rejected")


def test_counts_are_counts_and_the_life_left_is_in_seconds(report: Report) -> None:
    report_failure(report.logger, report.metrics, FleetRefreshError("m", fleet()), None)

    blob = report.metrics.serialize_metric_set()
    units = {m["Name"]: m["Unit"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units.pop("TokenSecondsRemaining") == "Seconds"
    assert set(units.values()) == {"Count"}
    by_reason = report.reason_metrics()
    assert [b["_aws"]["CloudWatchMetrics"][0]["Metrics"] for b in by_reason] == [
        [{"Name": "TokenRefreshFailed", "Unit": "Count"}]
    ] * 2
