"""The refresher's job, end to end over HTTP: refresh when needed, skip when fresh."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.joor_auth_server import DOCUMENTED_FIELDS
from tests.integration.conftest import Harness

pytestmark = pytest.mark.integration

DESCRIBE = "AmazonSSM.DescribeParameters"
DESCRIBE_SECRET = "secretsmanager.DescribeSecret"
GET_SECRET = "secretsmanager.GetSecretValue"
PUT = "AmazonSSM.PutParameter"
TAG = "secretsmanager.TagResource"


def test_a_run_with_no_stored_token_fetches_one_and_stores_it_as_a_secure_string(
    harness: Harness,
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    run = harness.invoke({})

    assert run.error is None
    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert run.result["version"] == 1
    token = harness.stored_token()
    assert harness.stack.joor.state.is_valid(token), "JOOR must accept the stored token"
    meta = harness.ssm.describe_parameters()["Parameters"][0]
    assert meta["Type"] == "SecureString"
    expires_at = datetime.fromisoformat(run.result["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=36000) - timedelta(seconds=2) <= expires_at
    assert expires_at <= datetime.now(UTC) + timedelta(seconds=36000)


def assert_a_second_run_skips_at_the_cost_of_one_describe(harness: Harness) -> None:
    harness.invoke({})
    harness.start_counting()

    run = harness.invoke({})

    assert run.result is not None, run.error
    assert run.result["result"] == "skipped"
    assert harness.aws_calls() == [DESCRIBE]
    assert harness.joor_calls == 0


def test_a_fresh_run_costs_one_aws_call_and_no_joor_call(harness: Harness) -> None:
    assert_a_second_run_skips_at_the_cost_of_one_describe(harness)


def test_a_first_login_with_a_secret_version_costs_one_joor_call_and_five_aws_calls(
    harness: Harness,
) -> None:
    run = harness.invoke({})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    # The token's metadata, the secret's metadata (the login gate), the value, the write, and
    # the record that these credentials work.
    assert harness.aws_calls() == [DESCRIBE, DESCRIBE_SECRET, GET_SECRET, PUT, TAG]
    assert harness.joor_calls == 1


def test_a_routine_refresh_costs_one_joor_call_and_four_aws_calls(harness: Harness) -> None:
    harness.invoke({})
    harness.configure(REFRESH_WINDOW_SECONDS="36000")  # now the stored one is inside the window
    harness.stack.joor.state.expires_in = 40000  # and the next one outside it
    harness.start_counting()

    try:
        run = harness.invoke({})
    finally:
        harness.stack.joor.state.expires_in = 36000

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert harness.aws_calls() == [DESCRIBE, DESCRIBE_SECRET, GET_SECRET, PUT]
    assert harness.joor_calls == 1


def test_an_operators_forced_run_replaces_a_fresh_token_without_reading_it_first(
    harness: Harness,
) -> None:
    harness.invoke({})
    first = harness.snapshot()
    harness.start_counting()

    run = harness.invoke({"force": True}, operator=True)

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert run.result["forced"] is True
    second = harness.snapshot()
    assert second.version == (first.version or 0) + 1
    assert second.value != first.value
    assert harness.aws_calls() == [DESCRIBE_SECRET, GET_SECRET, PUT]
    assert harness.joor_calls == 1
    # Several tokens live at once: the previous holder is not broken.
    assert first.value is not None
    assert harness.stack.joor.state.is_valid(first.value.decode())


def test_a_token_closer_to_expiry_than_the_window_is_refreshed(harness: Harness) -> None:
    harness.invoke({})
    harness.configure(REFRESH_WINDOW_SECONDS="36000")  # now the stored one is inside the window
    harness.start_counting()

    run = harness.invoke({})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert harness.joor_calls == 1


def test_a_parameter_without_a_readable_expiry_counts_as_stale(harness: Harness) -> None:
    harness.ssm.put_parameter(
        Name="/joor/sandbox/access-token", Value="hand-made", Type="SecureString"
    )

    run = harness.invoke({})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    assert harness.stored_token() != "hand-made"


@pytest.mark.parametrize("event_file", ["scheduler.json", "eventbridge-rule.json"])
def test_scheduled_payloads_refresh_only_when_needed(harness: Harness, event_file: str) -> None:
    import json
    from pathlib import Path

    event = json.loads((Path(__file__).parents[1] / "events" / event_file).read_text())
    harness.invoke(event)
    harness.start_counting()

    run = harness.invoke(event)

    assert run.result is not None, run.error
    assert run.result["result"] == "skipped"


def test_consumers_read_the_bare_token_with_powertools_parameters(harness: Harness) -> None:
    from aws_lambda_powertools.utilities import parameters

    harness.invoke({})

    value = parameters.get_parameter("/joor/sandbox/access-token", decrypt=True, max_age=0)

    assert value == harness.stored_token()
    assert harness.stack.joor.state.is_valid(str(value))


def test_the_request_carries_exactly_the_documented_fields_and_names_this_project(
    harness: Harness,
) -> None:
    harness.invoke({})

    received = harness.stack.joor.state.received[-1]
    # The page's five fields (../shared/reference/joor-v4-authenticate.txt), no more.
    assert received["fields"] == sorted(DOCUMENTED_FIELDS)
    assert received["content_type"].startswith("multipart/form-data; boundary=")
    assert "joor-token-refresher" in received["user_agent"]


def test_logs_carry_the_request_id_and_metrics_report_the_outcome(harness: Harness) -> None:
    run = harness.invoke({})

    (info,) = run.logs_at("INFO")
    assert info["message"] == "Token refreshed"
    assert info["function_request_id"]
    assert run.metric_values("TokenRefreshed") == [1.0]
    assert 35990 <= run.metric_values("TokenSecondsRemaining")[0] <= 36000


def test_expiry_is_counted_from_before_the_request_was_sent(harness: Harness) -> None:
    from infra.local.joor_auth_server import Fault

    harness.stack.joor.queue(Fault(kind="delay", seconds=1.5))
    sent_at = time.time()

    run = harness.invoke({})

    assert run.result is not None, run.error
    expires_at = datetime.fromisoformat(run.result["expires_at"].replace("Z", "+00:00"))
    assert expires_at.timestamp() <= sent_at + 36000 + 1


def test_a_configured_kms_key_encrypts_the_parameter(harness: Harness) -> None:
    key_id = harness.stack.client("kms").create_key()["KeyMetadata"]["KeyId"]
    harness.configure(TOKEN_KMS_KEY_ID=key_id)

    run = harness.invoke({})

    assert run.error is None
    (meta,) = harness.ssm.describe_parameters()["Parameters"]
    assert meta["KeyId"] == key_id
    assert harness.stack.joor.state.is_valid(harness.stored_token())


def test_without_a_kms_key_the_aws_managed_key_is_used(harness: Harness) -> None:
    harness.invoke({})

    (meta,) = harness.ssm.describe_parameters()["Parameters"]
    assert meta["KeyId"] == "alias/aws/ssm"


def test_parameters_whose_names_begin_with_the_token_s_name_do_not_hide_it(
    harness: Harness,
) -> None:
    # More than a page of them, written first: a name filter that matched by prefix would see
    # only these on its first page and take the token for missing.
    for i in range(12):
        harness.ssm.put_parameter(
            Name=f"/joor/sandbox/access-token-old-{i:02}", Value="old", Type="SecureString"
        )

    assert_a_second_run_skips_at_the_cost_of_one_describe(harness)


def test_a_plain_string_parameter_is_not_trusted_even_with_a_far_expiry(harness: Harness) -> None:
    harness.ssm.put_parameter(
        Name="/joor/sandbox/access-token",
        Value="not-a-token",
        Type="String",
        Description="JOOR access token (Bearer). expires_at=2099-01-01T00:00:00Z.",
    )

    run = harness.invoke({})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    (meta,) = harness.ssm.describe_parameters()["Parameters"]
    assert meta["Type"] == "SecureString"


def test_a_token_too_large_for_the_standard_tier_goes_to_the_advanced_tier(
    harness: Harness,
) -> None:
    import json
    import secrets

    from infra.local.joor_auth_server import Fault
    from tests.leakwatch import WATCH

    token = secrets.token_urlsafe(4200)[:5000]  # 5000 bytes: over Standard's 4 KB
    WATCH.add_secrets(token)
    answer = {"access_token": token, "expires_in": 36000, "token_type": "Bearer"}
    harness.stack.joor.queue(
        Fault(
            kind="status",
            status=200,
            body=json.dumps(answer).encode(),
            headers={"Content-Type": "application/json"},
        )
    )

    run = harness.invoke({})

    assert run.result is not None, run.error
    assert run.result["result"] == "refreshed"
    (meta,) = harness.ssm.describe_parameters()["Parameters"]
    assert meta["Tier"] == "Advanced"
    assert harness.stored_token() == token


def test_a_token_that_fits_the_standard_tier_stays_there(harness: Harness) -> None:
    harness.invoke({})

    (meta,) = harness.ssm.describe_parameters()["Parameters"]
    assert meta["Tier"] == "Standard"
