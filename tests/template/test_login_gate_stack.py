"""What the stack gives the login gate: the operator alias and its policy (kept from consumers
by IAM), the function's one tag on the secret, the secret-change rule, and the alarms that
watch states."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from refresher.adapters.login_record import TAG
from refresher.domain.errors import OPERATOR_ALIAS, RETRY_EVENT
from refresher.invocation import invoked_by_operator
from tests.template.conftest import ACCOUNT_ID, REGION, STACK_NAME

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:joor/api-credentials-AbCdEf"
NAMED = {"CredentialsSecretArn": SECRET_ARN}
FLEET = {"TokenParameterPath": "/joor/fleet"}
READERS = {**NAMED, "ReaderAccountIds": "111122223333"}
EVENT = json.loads((Path(__file__).parents[1] / "events" / "secret-label-updated.json").read_text())
FUNCTION = "GETATT:TokenRefresherFunction.Arn"
# What a secret-holding principal could do to credentials beyond reading them.
SECRET_WRITES = {
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:UntagResource",
    "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:RotateSecret",
}


def statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource["Properties"]
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    if "PolicyDocument" in properties:
        documents.append(properties["PolicyDocument"])
    return [s for d in documents for s in d["Statement"]]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def invoke_grants(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Which function ARNs each role or policy may invoke."""
    grants: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        if not resource["Type"].startswith("AWS::IAM::"):
            continue
        for statement in statements(resource):
            if "lambda:InvokeFunction" in actions(statement):
                grants.setdefault(logical_id, set()).add(statement["Resource"])
    return grants


# --- the operator alias, and who may call it ---------------------------------------------


def test_the_alias_is_the_one_the_handler_recognises(evaluate: Any) -> None:
    alias = evaluate(**NAMED).resources()["TokenRefresherOperatorAlias"]["Properties"]

    assert alias["Name"] == OPERATOR_ALIAS
    assert alias["FunctionVersion"] == "$LATEST"  # the same code and configuration
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:x-TokenRefresherFunction-AbC"
    assert invoked_by_operator(f"{arn}:{alias['Name']}")
    assert not invoked_by_operator(arn)


@pytest.mark.parametrize("parameters", [NAMED, FLEET, READERS], ids=["named", "fleet", "readers"])
def test_only_the_operator_policy_reaches_the_alias_and_consumers_only_the_function(
    evaluate: Any, parameters: dict[str, str]
) -> None:
    # A permission on the function's unqualified ARN does not cover its aliases: IAM matches
    # the ARN of the request, and an alias's is the function's with ":operator" appended
    # (Lambda developer guide, "Using Lambda aliases in event sources and permissions
    # policies"). So the alias ARN may appear in the operator's policy only, and no policy
    # may name the function with a wildcard that would cover it.
    grants = invoke_grants(evaluate(**parameters).resources())

    assert grants.pop("TokenOperatorPolicy") == {f"{FUNCTION}:{OPERATOR_ALIAS}"}
    assert grants.pop("TokenRefreshRequesterPolicy") == {FUNCTION}
    for owner, resources in grants.items():  # the schedule's role
        assert resources == {FUNCTION}, owner


def test_the_reader_role_for_other_accounts_gets_the_consumer_policies_only(
    evaluate: Any,
) -> None:
    role = evaluate(**READERS).resources()["TokenReaderRole"]["Properties"]

    assert role["ManagedPolicyArns"] == ["REF:TokenReaderPolicy", "REF:TokenRefreshRequesterPolicy"]
    assert "Policies" not in role


def test_the_operator_policy_and_alias_are_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]

    assert outputs["TokenOperatorPolicyArn"]["Value"] == {"Ref": "TokenOperatorPolicy"}
    assert outputs["TokenRefresherOperatorAliasArn"]["Value"] == {
        "Fn::Sub": "${TokenRefresherFunction.Arn}:operator"
    }


# --- the function's one tag ---------------------------------------------------------------


@pytest.mark.parametrize("parameters", [NAMED, FLEET], ids=["named", "fleet"])
def test_the_function_may_set_one_tag_on_the_secret_and_change_nothing_else(
    evaluate: Any, parameters: dict[str, str]
) -> None:
    resources = evaluate(**parameters).resources()
    role_statements = [
        s
        for logical_id, resource in resources.items()
        if logical_id == "TokenRefresherRole"
        or resource["Properties"].get("Roles") == ["REF:TokenRefresherRole"]
        for s in statements(resource)
    ]

    tagging = [s for s in role_statements if "secretsmanager:TagResource" in actions(s)]
    assert tagging, "the role must be able to record JOOR's answer"
    for statement in tagging:
        assert actions(statement) == ["secretsmanager:TagResource"]
        condition = statement["Condition"]
        assert condition["ForAllValues:StringEquals"] == {"aws:TagKeys": [TAG]}
        # ForAllValues holds for a request with no tag keys at all: require some.
        assert condition["Null"] == {"aws:TagKeys": "false"}
    granted = {a for s in role_statements for a in actions(s)}
    assert not granted & SECRET_WRITES


# --- the secret-change rule ----------------------------------------------------------------


@pytest.fixture
def eventbridge(aws_env: str) -> Iterator[tuple[Any, Any]]:
    """moto's EventBridge over HTTP, with a queue as the rule's target (moto runs no function)."""
    logging.getLogger("botocore").setLevel(logging.WARNING)
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    yield events, sqs
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if targets:
            events.remove_targets(Rule=rule["Name"], Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=rule["Name"])


def delivered(eventbridge: tuple[Any, Any], pattern: dict[str, Any], event: dict[str, Any]) -> int:
    """How many of one event the rule's pattern lets through, routed by moto's EventBridge."""
    events, sqs = eventbridge
    name = f"rule-{len(events.list_rules()['Rules'])}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "function", "Arn": arn["QueueArn"]}])
    events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )
    return len(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []))


def change_of(secret_arn: str, label: str = "AWSCURRENT") -> dict[str, Any]:
    return {
        **EVENT,
        "resources": [secret_arn],
        "detail": {**EVENT["detail"], "labelUpdated": label},
    }


def rule(evaluate: Any, parameters: dict[str, str]) -> dict[str, Any]:
    resources = evaluate(**parameters).resources()
    return dict(resources["TokenRefresherFunctionSecretChanged"]["Properties"])


def test_the_rule_sends_the_stacks_secret_changes_to_the_function(
    evaluate: Any, eventbridge: tuple[Any, Any]
) -> None:
    pattern = rule(evaluate, NAMED)["EventPattern"]
    other = SECRET_ARN.replace("joor/api-credentials", "payments/db")

    assert delivered(eventbridge, pattern, change_of(SECRET_ARN)) == 1
    assert delivered(eventbridge, pattern, change_of(other)) == 0
    assert delivered(eventbridge, pattern, change_of(SECRET_ARN, "AWSPENDING")) == 0


def test_a_fleets_rule_sends_every_secret_of_its_account_and_region(
    evaluate: Any, eventbridge: tuple[Any, Any]
) -> None:
    # Tags cannot be matched by a pattern: the function tells its accounts apart itself.
    pattern = rule(evaluate, FLEET)["EventPattern"]
    elsewhere = SECRET_ARN.replace(REGION, "eu-west-1")

    assert delivered(eventbridge, pattern, change_of(SECRET_ARN)) == 1
    assert delivered(eventbridge, pattern, change_of(elsewhere)) == 0
    assert delivered(eventbridge, pattern, change_of(SECRET_ARN, "AWSPENDING")) == 0


def test_undelivered_secret_changes_go_to_the_dead_letter_queue_the_rule_may_write(
    evaluate: Any,
) -> None:
    resources = evaluate(**NAMED).resources()
    (target,) = resources["TokenRefresherFunctionSecretChanged"]["Properties"]["Targets"]
    (allow,) = resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert target["Arn"] == FUNCTION
    assert target["DeadLetterConfig"] == {"Arn": "GETATT:ScheduleDeadLetterQueue.Arn"}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "GETATT:TokenRefresherFunctionSecretChanged.Arn"}
    }


# --- alarms that watch states ---------------------------------------------------------------

STATE_ALARMS = {
    "CredentialsRejectedAlarm": ("CredentialsRejected", "Maximum"),
    "RefreshFailingAlarm": ("RefreshFailing", "Minimum"),
    "SecretsRefusedAlarm": ("SecretsRefused", "Maximum"),
    "TokensLeftBehindAlarm": ("TokensLeftForNextRun", "Minimum"),
}


@pytest.mark.parametrize("interval", ["5", "15", "60"])
def test_each_state_alarm_holds_a_scheduled_run_per_period_and_keeps_its_state_between(
    evaluate: Any, interval: str
) -> None:
    resources = evaluate(**FLEET, ScheduleIntervalMinutes=interval).resources()

    for logical_id, (metric, statistic) in STATE_ALARMS.items():
        alarm = resources[logical_id]["Properties"]
        assert (alarm["MetricName"], alarm["Statistic"]) == (metric, statistic), logical_id
        assert alarm["Dimensions"] == [{"Name": "service", "Value": STACK_NAME}]
        assert alarm["Period"] == 2 * 60 * int(interval), logical_id
        assert (alarm["EvaluationPeriods"], alarm["Threshold"]) == (1, 1)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        # A run that knows nothing of the state reports nothing: the state stays.
        assert alarm["TreatMissingData"] == "ignore", logical_id
        assert alarm["OKActions"] == alarm["AlarmActions"] == ["REF:AlarmTopic"]


def test_the_fleet_alarms_exist_only_in_a_fleet(evaluate: Any) -> None:
    named = evaluate(**NAMED).resources()

    assert "SecretsRefusedAlarm" not in named
    assert "TokensLeftBehindAlarm" not in named
    assert {"SecretsRefusedAlarm", "TokensLeftBehindAlarm"} <= set(evaluate(**FLEET).resources())


def test_the_rejected_credentials_alarm_says_how_to_fix_or_retry(evaluate: Any) -> None:
    alarm = evaluate(**NAMED).resources()["CredentialsRejectedAlarm"]["Properties"]
    description = alarm["AlarmDescription"]

    assert "Fix the secret: the new value is tried at once" in description
    assert "REF:TokenRefresherFunction:operator" in description
    assert RETRY_EVENT.replace(" ", "") in description.replace(" ", "")
    assert "When JOOR rejects the credentials" in description


def test_every_alarm_description_fits_cloudwatchs_limit_with_the_longest_names(
    evaluate: Any,
) -> None:
    # 128: CloudFormation's longest stack name; 64: Lambda's longest function name.
    resources = evaluate("s" * 128, **FLEET).resources()

    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            description = resource["Properties"]["AlarmDescription"]
            description = description.replace("REF:TokenRefresherFunction", "f" * 64)
            assert len(description) <= 1024, logical_id  # CloudWatch's limit


def test_the_dashboard_lists_every_alarm_of_the_stack(evaluate: Any) -> None:
    for parameters in (NAMED, FLEET):
        resources = evaluate(**parameters).resources()
        body = json.loads(resources["TokenDashboard"]["Properties"]["DashboardBody"])
        (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
        names = {arn.rsplit(":", 1)[1] for arn in widget["properties"]["alarms"]}
        alarms = {
            r["Properties"]["AlarmName"]
            for r in resources.values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
        }
        assert names == alarms
