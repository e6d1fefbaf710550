"""The Lambda entry point around the refresher: built once per execution environment from the
environment, and the state metrics reported only by a run that knows of every account it
keeps (refresher/observability.py). tests/integration drives the deployed handler."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from refresher.domain.errors import AccountDiscoveryError
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from tests.leakwatch import WATCH
from tests.unit.worlds import PARAMETER, Fleet, World, name, stored_with

# Powertools reads its service and namespace when app is first imported, as Lambda sets them
# before: the same values as the local stack's (infra/local/stack.py), whichever test imports
# app first in this process.
with pytest.MonkeyPatch.context() as _patch:
    _patch.setenv("POWERTOOLS_SERVICE_NAME", "joor-token-refresher-local")
    _patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "JoorTokenRefresher")
    import app

# What a run that knows the states reports (refresher/observability.py).
STATE_METRICS = ('"CredentialsRejected"', '"RefreshFailing"')


@dataclass(frozen=True)
class Context:
    function_name: str = "joor-token-refresher"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "0f0e0d0c-request"
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:joor-token-refresher"
    )

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No refresher built yet in this execution environment; the metrics' namespace set."""
    monkeypatch.setattr(app, "_refresher", None)
    monkeypatch.setattr(app.metrics.provider, "namespace", "JoorTokenRefresher")
    for variable in ("TOKEN_PARAMETER_PATH", "CREDENTIALS_SECRET_ID", "TOKEN_PARAMETER_NAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return monkeypatch


def test_the_refresher_is_built_from_the_environment_once(built: pytest.MonkeyPatch) -> None:
    built.setenv("CREDENTIALS_SECRET_ID", "joor/test/api-credentials")
    built.setenv("TOKEN_PARAMETER_NAME", PARAMETER)

    first = app.get_refresher()

    assert isinstance(first, TokenRefresher)
    assert first.parameter == PARAMETER
    assert app.get_refresher() is first


def test_a_fleet_path_builds_the_fleet_refresher(built: pytest.MonkeyPatch) -> None:
    built.setenv("TOKEN_PARAMETER_PATH", "/joor/fleet")

    assert isinstance(app.get_refresher(), FleetRefresher)


def unlisted() -> None:
    """A fleet's listing AWS refuses."""
    raise AccountDiscoveryError("Could not list the secrets tagged joor-token-parameter: no")


def handle(
    capsys: pytest.CaptureFixture[str], refresher: TokenRefresher | FleetRefresher, event: dict
) -> str:
    app._refresher = refresher  # the fixture restores it
    app.lambda_handler(event, Context())
    out = capsys.readouterr().out
    WATCH.record("handler output", out)
    return out


@pytest.mark.parametrize(
    "event", [{}, {"parameter": PARAMETER}], ids=["scheduled", "for-its-parameter"]
)
def test_one_account_s_run_reports_the_states(
    built: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], event: dict
) -> None:
    out = handle(capsys, World(stored_with(9 * 3600)).refresher, event)

    assert '"TokenRefreshSkipped"' in out
    assert '"RefreshFailing"' in out  # a fresh token: nothing is failing


def test_a_fleet_s_run_over_every_account_reports_the_states(
    built: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = handle(capsys, Fleet([9 * 3600, 9 * 3600]).fleet, {})

    assert '"TokenRefreshSkipped"' in out
    assert all(metric in out for metric in STATE_METRICS)


def test_a_fleet_s_failed_run_over_every_account_reports_it_failing(
    built: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = Fleet([9 * 3600])
    built.setattr(world.directory, "discover", unlisted)

    with pytest.raises(AccountDiscoveryError):
        handle(capsys, world.fleet, {})

    out = capsys.readouterr().out
    WATCH.record("handler output", out)
    assert '"RefreshFailing":[1.0]' in out


def test_a_fleet_s_run_for_one_account_says_nothing_of_the_states(
    built: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = handle(capsys, Fleet([9 * 3600, 9 * 3600]).fleet, {"parameter": name(1)})

    assert '"TokenRefreshSkipped"' in out  # the run's own metrics are there
    assert not any(metric in out for metric in STATE_METRICS)
