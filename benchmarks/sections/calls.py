"""Section 1, calls per run: the AWS and JOOR calls of one run of the handler in a fresh
process, for each scenario, counted at moto server's request recorder and at the local JOOR
auth server, beside the fewest calls a correct run of that scenario can make (its floor).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.harness import cold
from infra.local.stack import PARAMETER_NAME, SECRET_ID, LocalStack
from refresher.adapters.login_record import TAG
from refresher.adapters.secrets_manager import SecretsManagerCredentials
from refresher.domain.models import LoginRecord


@dataclass(frozen=True)
class Scenario:
    """One run whose AWS and JOOR calls are counted, and the least a correct run makes."""

    name: str
    event: dict[str, Any]
    expected: str  # the summary's result
    floor_aws: int
    floor_joor: int
    env: dict[str, str] = field(default_factory=dict)
    operator: bool = False  # invoked through the operator alias
    # What the stack looks like before the run: JOOR's token life, what the secret records.
    expires_in: int = 36000
    recorded: str | None = None


# Each floor, call by call. A run that may log in must first ask the login gate whether JOOR
# rejected the secret's current version: DescribeSecret (its versions and its tags) comes
# before GetSecretValue, and a login with a version the secret has no record for ends with
# TagResource, recording that JOOR accepted it.
SCENARIOS = (
    # DescribeParameters (no token), DescribeSecret, GetSecretValue, POST /auth/,
    # PutParameter, TagResource: the first login with this secret version.
    Scenario("missing parameter", {}, "refreshed", 5, 1),
    # DescribeParameters: the token's expiry, from its metadata; nothing decrypted.
    Scenario("fresh token", {}, "skipped", 1, 0),
    # DescribeParameters, DescribeSecret, GetSecretValue, POST /auth/, PutParameter: a
    # routine refresh, with credentials already recorded as working; nothing to record.
    Scenario(
        "stale token",
        {},
        "refreshed",
        4,
        1,
        env={"REFRESH_WINDOW_SECONDS": "36000"},
        expires_in=40000,
    ),
    # DescribeSecret, GetSecretValue, POST /auth/, PutParameter: an operator's force needs no
    # look at the token (it replaces it whatever its age) and skips the login budget.
    Scenario("operator's forced refresh", {"force": True}, "refreshed", 3, 1, operator=True),
    # DescribeParameters: a consumer's force of a token written moments ago is held to the
    # login budget, which the token's metadata alone decides.
    Scenario("consumer's forced refresh, token just written", {"force": True}, "skipped", 1, 0),
    # DescribeParameters, DescribeSecret: the secret's current version is the one JOOR
    # rejected, so the run fails without reading the credentials or calling JOOR.
    Scenario(
        "credentials rejected earlier",
        {},
        "failed",
        2,
        0,
        env={"REFRESH_WINDOW_SECONDS": "36000"},
        recorded="rejected",
    ),
)


def measure(stack: LocalStack, env: dict[str, str]) -> dict[str, Any]:
    """Every scenario in turn, on ``stack`` with its secret stored."""
    ssm = stack.client("ssm")
    rows = []
    for scenario in SCENARIOS:
        if scenario.name == "missing parameter":
            with stack.moto.unrecorded(), contextlib.suppress(ssm.exceptions.ParameterNotFound):
                ssm.delete_parameter(Name=PARAMETER_NAME)
        if scenario.recorded is not None:
            _record_login(stack, scenario.recorded)
        stack.joor.state.expires_in = scenario.expires_in
        stack.moto.reset_recording()
        joor_before = stack.joor.calls
        flags = ("--inspect", "--operator") if scenario.operator else ("--inspect",)
        try:
            figures, _, _ = cold("handler", {**env, **scenario.env}, scenario.event, *flags)
        finally:
            stack.joor.state.expires_in = 36000
            if scenario.recorded is not None:
                _forget_logins(stack)
        rows.append(
            _row(scenario, figures, stack.moto.recorded_calls(), stack.joor.calls - joor_before)
        )
    return {"counted_at": "moto server request recorder; local JOOR auth server", "rows": rows}


def _row(
    scenario: Scenario, figures: dict[str, Any], operations: list[str], joor: int
) -> dict[str, Any]:
    result = figures["result"]["result"]
    if result != scenario.expected:
        raise RuntimeError(
            f"{scenario.name}: the handler returned {result!r}, expected {scenario.expected!r}"
        )
    return {
        "scenario": scenario.name,
        "event": scenario.event,
        "operator": scenario.operator,
        "result": result,
        "aws_calls": len(operations),
        "aws_operations": operations,
        "floor_aws_calls": scenario.floor_aws,
        "joor_calls": joor,
        "floor_joor_calls": scenario.floor_joor,
        "at_floor": len(operations) <= scenario.floor_aws and joor <= scenario.floor_joor,
        "aws_clients_created": figures.get("aws_clients", []),
        "requests_imported": figures["requests_loaded"],
        "maxrss_kb": figures["maxrss_kb"],
    }


def _record_login(stack: LocalStack, result: str) -> None:
    """What JOOR said to the secret's current version, as the refresher records it."""
    client = stack.client("secretsmanager")
    source = SecretsManagerCredentials(SECRET_ID, lambda: client)
    with stack.moto.unrecorded():
        version = source.describe().current_version or ""
        source.record(LoginRecord(result, datetime.now(UTC), version))


def _forget_logins(stack: LocalStack) -> None:
    with stack.moto.unrecorded():
        stack.client("secretsmanager").untag_resource(SecretId=SECRET_ID, TagKeys=[TAG])
