"""One deployment, many JOOR accounts, over real HTTP: accounts found by their secrets' tags,
each refreshed by the single account's rules, one failure isolated, and the cost of a fresh
run one DescribeParameters call per 50 tokens plus one ListSecrets call per 100 secrets."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from infra.local.joor_auth_server import Account
from refresher.domain.errors import FleetRefreshError, InvalidEventError, UnknownAccountError
from tests.integration.conftest import Harness
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

PATH = "/joor/fleet"
DESCRIBE = "AmazonSSM.DescribeParameters"
LIST_SECRETS = "secretsmanager.ListSecrets"
GET_SECRET = "secretsmanager.GetSecretValue"
PUT = "AmazonSSM.PutParameter"
TAG = "secretsmanager.TagResource"


def parameter(i: int) -> str:
    return f"{PATH}/brand-{i}/access-token"


def add_brand(
    harness: Harness,
    i: int,
    *,
    wrong_password: bool = False,
    tags: dict[str, str] | None = None,
) -> str:
    """A JOOR account of its own and its tagged secret; returns the secret's ARN."""
    account = Account(
        client_id=f"client-{i}-{secrets.token_hex(4)}",
        client_secret=secrets.token_urlsafe(32),
        username=f"brand-{i}@example.com",
        password=secrets.token_urlsafe(12),
    )
    harness.stack.joor.state.accounts[account.client_id] = account
    WATCH.add_secrets(account.client_secret, account.password)
    value = {
        "client_id": account.client_id,
        "client_secret": account.client_secret,
        "username": account.username,
        "password": "not-the-password" if wrong_password else account.password,
    }
    tags = {"joor-token-parameter": parameter(i)} if tags is None else tags
    with harness.stack.moto.unrecorded():
        created = harness.stack.client("secretsmanager").create_secret(
            Name=f"joor/fleet/brand-{i}",
            SecretString=json.dumps(value),
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    return str(created["ARN"])


@pytest.fixture
def fleet(harness: Harness) -> Harness:
    harness.configure(
        TOKEN_PARAMETER_PATH=PATH,
        CREDENTIALS_SECRET_ID="",
        TOKEN_PARAMETER_NAME="",
        FLEET_LOGINS_PER_SECOND="50",
    )
    return harness


def outcomes(result: dict[str, Any] | None) -> dict[str, str]:
    assert result is not None
    return {name: o["result"] for name, o in result["outcomes"].items()}


def test_three_tagged_secrets_one_with_wrong_credentials_two_tokens_written_one_failure_named(
    fleet: Harness,
) -> None:
    for i in range(3):
        add_brand(fleet, i, wrong_password=(i == 2))

    run = fleet.invoke({})

    assert isinstance(run.error, FleetRefreshError)
    message = str(run.error)
    assert message.startswith("1 of 3 accounts failed, the others were served: ")
    assert f"{parameter(2)}: credentials_rejected" in message
    assert "joor/fleet/brand-2" in message  # the secret to fix
    assert fleet.stack.joor.calls == 3
    ssm = fleet.ssm
    for i in (0, 1):
        token = ssm.get_parameter(Name=parameter(i), WithDecryption=True)["Parameter"]["Value"]
        assert fleet.stack.joor.state.is_valid(token)
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=parameter(2))
    # One log line per account, and the run's summary line.
    per_account = [line for line in run.log_lines if line.get("parameter")]
    assert sorted(line["parameter"] for line in per_account) == [parameter(i) for i in range(3)]
    assert run.failure_reasons() == ["credentials_rejected"]
    assert run.metric_values("TokenRefreshed") == [2.0]
    assert run.metric_values("TokenRefreshFailed") == [1.0, 1.0]  # the total, and per reason


def test_a_fleet_of_fresh_tokens_costs_a_listing_of_secrets_and_of_parameters_and_nothing_else(
    fleet: Harness,
) -> None:
    for i in range(60):
        add_brand(fleet, i)
    first = fleet.invoke({})
    assert first.error is None, first.error
    fleet.start_counting()

    run = fleet.invoke({})

    assert run.error is None, run.error
    assert run.result is not None
    assert run.result["skipped"] == 60
    # 60 tokens: two DescribeParameters calls (50 a call), one ListSecrets call (100 a call).
    assert fleet.aws_calls() == [LIST_SECRETS, DESCRIBE, DESCRIBE]
    assert fleet.joor_calls == 0
    assert 35900 < run.metric_values("TokenSecondsRemaining")[0] <= 36000


def test_a_new_secret_is_picked_up_by_the_next_run_without_a_redeploy(fleet: Harness) -> None:
    add_brand(fleet, 0)
    fleet.invoke({})
    add_brand(fleet, 1)
    fleet.start_counting()

    run = fleet.invoke({})

    assert outcomes(run.result) == {parameter(0): "skipped", parameter(1): "refreshed"}
    # The listing tells what the login gate needs; the first success with its credentials is
    # remembered on the new account's secret.
    assert fleet.aws_calls() == [LIST_SECRETS, DESCRIBE, GET_SECRET, PUT, TAG]


def test_removing_the_tag_stops_the_refreshes_and_leaves_the_parameter(fleet: Harness) -> None:
    arn = add_brand(fleet, 0)
    add_brand(fleet, 1)
    fleet.invoke({})
    before = fleet.ssm.get_parameter(Name=parameter(0))["Parameter"]["Version"]
    with fleet.stack.moto.unrecorded():
        fleet.stack.client("secretsmanager").untag_resource(
            SecretId=arn, TagKeys=["joor-token-parameter"]
        )
    fleet.configure(REFRESH_WINDOW_SECONDS="36000")  # every token is now due

    run = fleet.invoke({})

    assert run.error is None, run.error
    assert run.result is not None
    assert outcomes(run.result) == {parameter(1): "refreshed"}
    assert run.result["unclaimed"] == [parameter(0)]
    assert fleet.ssm.get_parameter(Name=parameter(0))["Parameter"]["Version"] == before


@pytest.mark.parametrize(
    ("tags", "phrase"),
    [
        ({"joor-token-parameter": "no spaces allowed"}, "SSM parameter name"),
        (
            {"joor-token-parameter": parameter(9), "joor-environment": "staging"},
            "must be 'sandbox' or 'production'",
        ),
    ],
)
def test_a_secret_with_a_bad_tag_is_refused_by_name_and_the_others_go_on(
    fleet: Harness, tags: dict[str, str], phrase: str
) -> None:
    add_brand(fleet, 0)
    add_brand(fleet, 9, tags=tags)

    run = fleet.invoke({})

    assert run.error is None, run.error
    assert run.result is not None
    assert outcomes(run.result) == {parameter(0): "refreshed"}
    (refusal,) = run.result["refused"]
    assert refusal["secret"] == "joor/fleet/brand-9"
    assert phrase in refusal["problem"]
    warnings = [line["message"] for line in run.logs_at("WARNING")]
    assert any("'joor/fleet/brand-9' refused" in w for w in warnings)
    assert run.metric_values("SecretsRefused") == [1.0]


def test_a_secret_tagged_for_another_path_is_named_in_the_summary_but_not_warned_about(
    fleet: Harness,
) -> None:
    # A sandbox and a production fleet in one account list each other's tagged secrets.
    add_brand(fleet, 0)
    add_brand(fleet, 9, tags={"joor-token-parameter": "/joor/production/brand-9/access-token"})

    run = fleet.invoke({})

    assert run.error is None, run.error
    assert run.result is not None
    assert outcomes(run.result) == {parameter(0): "refreshed"}
    assert run.result["refused"] == []
    (elsewhere,) = run.result["outside_path"]
    assert elsewhere["secret"] == "joor/fleet/brand-9"
    assert "outside this stack's parameter path /joor/fleet/" in elsewhere["problem"]
    assert run.logs_at("WARNING") == []
    (note,) = [
        line for line in run.logs_at("INFO") if "outside this fleet's path" in line["message"]
    ]
    assert note["secrets"] == ["joor/fleet/brand-9"]
    assert run.metric_values("SecretsRefused") == [0.0]


def test_a_parameter_two_secrets_claim_stays_with_the_older_secret(fleet: Harness) -> None:
    add_brand(fleet, 0)
    add_brand(fleet, 5, tags={"joor-token-parameter": parameter(0)})

    run = fleet.invoke({})

    assert run.result is not None, run.error
    (refusal,) = run.result["refused"]
    assert refusal["secret"] == "joor/fleet/brand-5"
    assert "already claims" in refusal["problem"]
    assert "joor/fleet/brand-0" in refusal["problem"]


def test_a_consumer_report_names_its_parameter_and_is_served_for_that_account_only(
    fleet: Harness,
) -> None:
    add_brand(fleet, 0)
    add_brand(fleet, 1)
    fleet.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    first = fleet.invoke({})
    assert first.result is not None, first.error
    version = first.result["outcomes"][parameter(1)]["version"]
    import time

    time.sleep(1.2)  # past the minimum age, in real time: SSM stamps the write itself
    fleet.start_counting()

    run = fleet.invoke({"force": True, "parameter": parameter(1), "seen_version": version})
    again = fleet.invoke({"force": True, "parameter": parameter(1), "seen_version": version})

    assert run.result is not None, run.error
    assert run.result["reason"] == "rejected"
    assert run.result["version"] == version + 1
    assert again.result is not None, again.error
    assert again.result["reason"] == "already_replaced"
    assert fleet.joor_calls == 1
    assert fleet.aws_calls() == [DESCRIBE, LIST_SECRETS, GET_SECRET, PUT, DESCRIBE]


@pytest.mark.parametrize(
    ("event", "error", "phrase"),
    [
        ({"force": True, "seen_version": 1}, InvalidEventError, "needs 'parameter' in a fleet"),
        (
            {"force": True, "parameter": "/joor/other/token"},
            InvalidEventError,
            "outside this fleet's path",
        ),
        (
            {"force": True, "parameter": f"{PATH}/nobody/access-token"},
            UnknownAccountError,
            "No secret tagged for parameter",
        ),
    ],
)
def test_a_report_the_fleet_cannot_serve_fails_with_a_clear_message(
    fleet: Harness, event: dict[str, Any], error: type[Exception], phrase: str
) -> None:
    add_brand(fleet, 0)

    run = fleet.invoke(event)

    assert isinstance(run.error, error)
    assert phrase in str(run.error)
    assert fleet.joor_calls == 0


def test_a_named_account_and_tagged_ones_are_served_together(fleet: Harness) -> None:
    fleet.configure(
        CREDENTIALS_SECRET_ID="joor/sandbox/api-credentials",
        TOKEN_PARAMETER_NAME=f"{PATH}/named/access-token",
    )
    add_brand(fleet, 0)

    run = fleet.invoke({})

    assert outcomes(run.result) == {
        f"{PATH}/named/access-token": "refreshed",
        parameter(0): "refreshed",
    }


def test_the_fleet_takes_its_login_budget_from_the_configuration(fleet: Harness) -> None:
    add_brand(fleet, 0)
    fleet.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1200")
    first = fleet.invoke({})
    assert first.error is None, first.error

    run = fleet.invoke({"force": True, "seen_version": 1, "parameter": parameter(0)})

    assert run.result is not None, run.error
    assert run.result["reason"] == "rate_limited"
    assert 1190 <= run.result["retry_after_seconds"] <= 1200


def test_a_parameter_beside_the_fleets_path_is_not_under_it(fleet: Harness) -> None:
    run = fleet.invoke({"force": True, "seen_version": 1, "parameter": "/joor/fleetx/access-token"})

    assert isinstance(run.error, InvalidEventError)
    assert "outside this fleet's path /joor/fleet/" in str(run.error)
    assert fleet.aws_calls() == []
