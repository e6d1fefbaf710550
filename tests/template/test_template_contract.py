"""What template.yaml promises: configuration for the code, least privilege, schedule, alarms, outputs."""

from __future__ import annotations

import inspect
import re
import tomllib
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from infra.deploy.names import LIMITS, derived_names, unlimited_names
from infra.local.lambda_context import LocalLambdaContext
from infra.local.lambda_function import LocalFunction
from refresher.timing import FUNCTION_TIMEOUT_SECONDS, JOOR_WORST_SECONDS, RESERVED_SECONDS

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN_LIFETIME_SECONDS = 36000

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:joor/api-credentials-AbCdEf"
TOKEN_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
SECRET_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
PARAMETER_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/joor/sandbox/access-token"

WITHOUT_KMS = {"CredentialsSecretArn": SECRET_ARN}
WITH_KMS = {**WITHOUT_KMS, "TokenKmsKeyArn": TOKEN_KEY_ARN, "SecretKmsKeyArn": SECRET_KEY_ARN}


def _function(evaluated: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return evaluated["TokenRefresherFunction"]["Properties"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(resources: dict[str, dict[str, Any]]) -> dict[str, set[tuple[str, str]]]:
    """(action, resource) pairs each IAM role or policy grants, keyed by the role it lands on."""
    grants: dict[str, set[tuple[str, str]]] = {}

    def add(owner: str, document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement["Resource"]):
                    grants.setdefault(owner, set()).add((action, resource))

    for logical_id, resource in resources.items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::IAM::Role":
            # Only the stack's own managed policies, never an AWS managed one.
            for arn in properties.get("ManagedPolicyArns", []):
                assert str(arn).startswith("REF:"), f"{logical_id} attaches {arn}"
            for policy in properties.get("Policies", []):
                add(logical_id, policy["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Policy":
            for role in properties["Roles"]:
                add(role.removeprefix("REF:"), properties["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            add(logical_id, properties["PolicyDocument"])
        elif resource["Type"].startswith("AWS::IAM::"):
            pytest.fail(f"unexpected IAM resource {logical_id} ({resource['Type']})")
    return grants


# --- configuration the code needs ------------------------------------------------------------


@pytest.mark.parametrize(
    "parameters", [WITHOUT_KMS, WITH_KMS], ids=["aws-managed-keys", "customer-keys"]
)
def test_function_environment_sets_every_variable_the_code_requires(
    evaluate: Any,
    required_env_vars: tuple[str, ...],
    unset_env_vars: tuple[str, ...],
    parameters: dict[str, str],
) -> None:
    variables = _function(evaluate(**parameters).resources())["Environment"]["Variables"]

    assert set(required_env_vars) <= set(variables), set(required_env_vars) - set(variables)
    assert not set(unset_env_vars) & set(variables)
    assert variables["CREDENTIALS_SECRET_ID"] == SECRET_ARN
    assert variables["TOKEN_PARAMETER_NAME"].startswith("/")
    assert int(variables["REFRESH_WINDOW_SECONDS"]) == 10800
    assert variables["TOKEN_KMS_KEY_ID"] == parameters.get("TokenKmsKeyArn", "")
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "JoorTokenRefresher"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "joor-token-refresher-test"  # the stack name
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_powertools_settings_live_in_globals(template: dict[str, Any]) -> None:
    global_variables = template["Globals"]["Function"]["Environment"]["Variables"]
    function_variables = template["Resources"]["TokenRefresherFunction"]["Properties"][
        "Environment"
    ]["Variables"]

    assert {name for name in global_variables if name.startswith("POWERTOOLS_")} == {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }
    assert global_variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert not [name for name in function_variables if name.startswith("POWERTOOLS_")]


def test_joor_environment_accepts_only_sandbox_and_production(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["JoorEnvironment"]
    assert sorted(parameter["AllowedValues"]) == ["production", "sandbox"]
    assert parameter["Default"] == "sandbox"


def test_function_runtime_and_sizing(evaluate: Any, template: dict[str, Any]) -> None:
    function = _function(evaluate(**WITHOUT_KMS).resources())
    source = template["Resources"]["TokenRefresherFunction"]["Properties"]

    assert source["CodeUri"] == "functions/token_refresher/"
    assert function["Handler"] == "app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 256
    # The reads, the JOOR exchange at its slowest and then the write at its slowest fit.
    assert function["Timeout"] >= FUNCTION_TIMEOUT_SECONDS
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Role"] == "GETATT:TokenRefresherRole.Arn"


# --- reserved concurrency: on by default, off where the account cannot give it ------------


def test_reserve_concurrency_is_a_true_false_parameter_on_by_default(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"]["ReserveConcurrency"]
    assert parameter["AllowedValues"] == ["true", "false"]
    assert parameter["Default"] == "true"


def test_without_the_reservation_the_function_reserves_nothing(evaluate: Any) -> None:
    function = _function(evaluate(**WITHOUT_KMS, ReserveConcurrency="false").resources())
    # Absent, not 0: a reservation of 0 would stop the function from ever running.
    assert "ReservedConcurrentExecutions" not in function


# --- any stack name CloudFormation accepts fits every name the stack derives from it -------

# CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128.
LONGEST_STACK_NAME = "j" + "-x" * 63 + "z"


def test_a_128_character_stack_name_fits_every_derived_name(evaluate: Any) -> None:
    assert len(LONGEST_STACK_NAME) == 128
    resources = evaluate(stack_name=LONGEST_STACK_NAME, **WITHOUT_KMS).resources()

    checked = 0
    for logical_id, resource in resources.items():
        for (resource_type, name_property), limit in LIMITS.items():
            name = resource["Properties"].get(name_property)
            if resource["Type"] == resource_type and name is not None:
                checked += 1
                assert len(name) <= limit, (logical_id, name_property, len(name), limit)
    # The log group, six alarms with their descriptions, the dashboard, the topic, the layer,
    # three managed policies and the reader role.
    assert checked >= 19
    # Lambda generates the function's name; its logs go to the stack's named log group.
    function = _function(resources)
    assert "FunctionName" not in function
    assert function["LoggingConfig"] == {"LogGroup": "REF:TokenRefresherLogGroup"}


def test_every_name_built_from_the_stack_name_has_a_known_limit_and_fits(
    template: dict[str, Any],
) -> None:
    """What preflight checks with the stack name about to be deployed, here with the longest
    one: the function's generated name (64 characters) in a description counts in full."""
    assert unlimited_names(template) == []
    names = derived_names(template, LONGEST_STACK_NAME)
    too_long = [name.describe() for name in names if not name.fits]
    assert too_long == []
    assert {(n.resource, n.field) for n in names} >= {
        ("TokenRefresherLogGroup", "LogGroupName"),
        ("CredentialsRejectedAlarm", "AlarmDescription"),
        ("JoorTokenLayer", "LayerName"),
        ("TokenDashboard", "DashboardName"),
    }


def test_a_display_name_built_from_the_stack_name_would_be_caught() -> None:
    template = {
        "Resources": {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"DisplayName": {"Fn::Sub": "${AWS::StackName} JOOR token alarms"}},
            }
        }
    }
    (name,) = derived_names(template, LONGEST_STACK_NAME)
    assert not name.fits
    assert name.longest_stack_name == 82


# --- parameters catch mistakes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value", "accepted"),
    [
        ("CredentialsSecretArn", SECRET_ARN, True),
        (
            "CredentialsSecretArn",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:joor/api-credentials",
            False,
        ),
        ("CredentialsSecretArn", "joor/api-credentials", False),
        ("TokenParameterName", "/joor/production/access-token", True),
        ("TokenParameterName", "joor/sandbox/access-token", False),
        ("TokenParameterName", "/joor/sandbox/", False),
        ("TokenKmsKeyArn", "", True),
        ("TokenKmsKeyArn", TOKEN_KEY_ARN, True),
        ("TokenKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/aws/ssm", False),
        ("SecretKmsKeyArn", "alias/my-key", False),
        ("AlarmEmail", "", True),
        ("AlarmEmail", "oncall@example.com", True),
        ("AlarmEmail", "oncall", False),
    ],
)
def test_allowed_patterns_catch_common_mistakes(
    template: dict[str, Any], parameter: str, value: str, accepted: bool
) -> None:
    pattern = template["Parameters"][parameter]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted


def test_every_parameter_default_is_allowed(template: dict[str, Any]) -> None:
    for name, spec in template["Parameters"].items():
        if "Default" not in spec:
            continue
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], str(spec["Default"])), name
        if "AllowedValues" in spec:
            assert str(spec["Default"]) in [str(v) for v in spec["AllowedValues"]], name


# --- schedule and refresh window fit together ------------------------------------------------


def test_every_allowed_interval_and_window_keeps_a_positive_guarantee(
    template: dict[str, Any],
) -> None:
    intervals = template["Parameters"]["ScheduleIntervalMinutes"]["AllowedValues"]
    windows = template["Parameters"]["RefreshWindowSeconds"]["AllowedValues"]
    guarantees = template["Mappings"]["TokenGuaranteeSeconds"]

    for interval, window in product(intervals, windows):
        guarantee = guarantees[interval][window]
        assert guarantee == int(window) - int(interval) * 60, (interval, window)
        assert guarantee >= 3600, (interval, window)
        # A window at or beyond the token's life would refresh on every run.
        assert int(window) < TOKEN_LIFETIME_SECONDS
    assert set(guarantees) == set(intervals)


def test_schedule_settings_are_derived_from_the_interval(template: dict[str, Any]) -> None:
    settings = template["Mappings"]["ScheduleSettings"]
    assert set(settings) == set(template["Parameters"]["ScheduleIntervalMinutes"]["AllowedValues"])
    for minutes, values in settings.items():
        assert values["IntervalSeconds"] == int(minutes) * 60
        assert values["AlarmPeriodSeconds"] == 2 * int(minutes) * 60


def test_defaults_promise_consumers_two_hours_and_forty_five_minutes(evaluate: Any) -> None:
    evaluated = evaluate(**WITHOUT_KMS)
    alarm = evaluated.resources()["TokenRemainingLifeAlarm"]["Properties"]
    schedule = evaluated.resources()["TokenRefresherFunctionRefreshSchedule"]["Properties"]

    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    assert alarm["Threshold"] == 2 * 3600 + 45 * 60
    assert (
        evaluated.resolve(evaluated.template["Outputs"]["TokenGuaranteeSeconds"]["Value"]) == 9900
    )


@pytest.mark.parametrize(("interval", "window"), [("5", "7200"), ("60", "21600"), ("30", "10800")])
def test_schedule_alarm_and_function_follow_the_chosen_interval_and_window(
    evaluate: Any, interval: str, window: str
) -> None:
    resources = evaluate(
        **WITHOUT_KMS, ScheduleIntervalMinutes=interval, RefreshWindowSeconds=window
    ).resources()

    assert resources["TokenRefresherFunctionRefreshSchedule"]["Properties"][
        "ScheduleExpression"
    ] == (f"rate({interval} minutes)")
    assert _function(resources)["Environment"]["Variables"]["REFRESH_WINDOW_SECONDS"] == window
    alarm = resources["TokenRemainingLifeAlarm"]["Properties"]
    assert alarm["Threshold"] == int(window) - int(interval) * 60
    assert alarm["Period"] == 2 * int(interval) * 60


def test_schedule_retries_and_dead_letters_into_an_encrypted_queue(evaluate: Any) -> None:
    resources = evaluate(**WITHOUT_KMS).resources()
    schedule = resources["TokenRefresherFunctionRefreshSchedule"]["Properties"]
    queue = resources["ScheduleDeadLetterQueue"]["Properties"]

    assert schedule["Target"]["Arn"] == "GETATT:TokenRefresherFunction.Arn"
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert schedule["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == 900
    assert schedule["Target"]["DeadLetterConfig"]["Arn"] == "GETATT:ScheduleDeadLetterQueue.Arn"
    assert queue["SqsManagedSseEnabled"] is True
    # No fixed name, or a second stack in the same account would collide with it.
    assert "Name" not in schedule


def test_failed_runs_are_not_retried_by_lambda(evaluate: Any) -> None:
    resources = evaluate(**WITHOUT_KMS).resources()
    config = resources["TokenRefresherFunctionEventInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == 0


# --- least privilege -------------------------------------------------------------------------


def _expected_grants(with_kms: bool) -> dict[str, set[tuple[str, str]]]:
    function_role = {
        ("logs:CreateLogStream", "GETATT:TokenRefresherLogGroup.Arn"),
        ("logs:PutLogEvents", "GETATT:TokenRefresherLogGroup.Arn"),
        ("secretsmanager:GetSecretValue", SECRET_ARN),
        # The login gate: the secret's metadata before a login, one tag after it.
        ("secretsmanager:DescribeSecret", SECRET_ARN),
        ("secretsmanager:TagResource", SECRET_ARN),
        ("ssm:DescribeParameters", "*"),
        ("ssm:PutParameter", PARAMETER_ARN),
    }
    # GetParameters too: ECS task definitions read their `secrets` with it.
    reader = {("ssm:GetParameter", PARAMETER_ARN), ("ssm:GetParameters", PARAMETER_ARN)}
    if with_kms:
        function_role |= {
            ("kms:Decrypt", SECRET_KEY_ARN),
            ("kms:Encrypt", TOKEN_KEY_ARN),
            ("kms:GenerateDataKey", TOKEN_KEY_ARN),
        }
        reader |= {("kms:Decrypt", TOKEN_KEY_ARN)}
    return {
        "TokenRefresherRole": function_role,
        "TokenRefresherFunctionRefreshScheduleRole": {
            ("lambda:InvokeFunction", "GETATT:TokenRefresherFunction.Arn"),
            ("sqs:SendMessage", "GETATT:ScheduleDeadLetterQueue.Arn"),
        },
        "TokenReaderPolicy": reader,
        "TokenRefreshRequesterPolicy": {
            ("lambda:InvokeFunction", "GETATT:TokenRefresherFunction.Arn"),
        },
        "TokenOperatorPolicy": {
            ("lambda:InvokeFunction", "GETATT:TokenRefresherFunction.Arn:operator"),
        },
    }


@pytest.mark.parametrize("with_kms", [False, True], ids=["aws-managed-keys", "customer-keys"])
def test_iam_grants_name_only_the_stack_s_own_resources(evaluate: Any, with_kms: bool) -> None:
    resources = evaluate(**(WITH_KMS if with_kms else WITHOUT_KMS)).resources()
    assert _grants(resources) == _expected_grants(with_kms)


def test_only_describe_parameters_uses_a_wildcard_resource(evaluate: Any) -> None:
    grants = _grants(evaluate(**WITH_KMS).resources())
    wildcard_actions = {
        action for pairs in grants.values() for action, resource in pairs if "*" in resource
    }
    assert wildcard_actions == {"ssm:DescribeParameters"}


FLEET_PATH = "/joor/fleet"
FLEET_PARAMETERS_ARN = f"arn:aws:ssm:us-east-1:123456789012:parameter{FLEET_PATH}/*"


def test_a_fleet_reads_only_secrets_tagged_for_its_path_and_writes_only_under_it(
    evaluate: Any,
) -> None:
    resources = evaluate(TokenParameterPath=FLEET_PATH).resources()
    grants = _grants(resources)

    assert grants["TokenRefresherRole"] == {
        ("logs:CreateLogStream", "GETATT:TokenRefresherLogGroup.Arn"),
        ("logs:PutLogEvents", "GETATT:TokenRefresherLogGroup.Arn"),
        ("secretsmanager:ListSecrets", "*"),
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"),
        ("secretsmanager:TagResource", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"),
        ("ssm:DescribeParameters", "*"),
        ("ssm:PutParameter", FLEET_PARAMETERS_ARN),
    }
    assert grants["TokenReaderPolicy"] == {
        ("ssm:GetParameter", FLEET_PARAMETERS_ARN),
        ("ssm:GetParameters", FLEET_PARAMETERS_ARN),
    }
    (read,) = [
        s
        for s in resources["FleetPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "secretsmanager:GetSecretValue"
    ]
    assert read["Condition"] == {
        "StringLike": {"secretsmanager:ResourceTag/joor-token-parameter": f"{FLEET_PATH}/*"}
    }
    assert "NamedAccountPolicy" not in resources
    variables = _function(resources)["Environment"]["Variables"]
    assert variables["TOKEN_PARAMETER_PATH"] == FLEET_PATH
    assert (variables["CREDENTIALS_SECRET_ID"], variables["TOKEN_PARAMETER_NAME"]) == ("", "")


def test_a_fleet_with_customer_keys_limits_kms_to_its_path(evaluate: Any) -> None:
    resources = evaluate(
        TokenParameterPath=FLEET_PATH, TokenKmsKeyArn=TOKEN_KEY_ARN, SecretKmsKeyArn=SECRET_KEY_ARN
    ).resources()

    for logical_id in ("TokenEncryptPolicy", "TokenReaderPolicy"):
        statements = resources[logical_id]["Properties"]["PolicyDocument"]["Statement"]
        (kms,) = [s for s in statements if str(s["Action"]).startswith(("kms:", "['kms:"))]
        assert kms["Condition"]["StringEquals"] == {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}
        assert kms["Condition"]["StringLike"] == {
            "kms:EncryptionContext:PARAMETER_ARN": FLEET_PARAMETERS_ARN
        }
    (decrypt,) = resources["SecretDecryptPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }


def test_the_stack_needs_a_named_account_or_a_fleet(template: dict[str, Any]) -> None:
    (assertion,) = template["Rules"]["OneAccountOrAFleet"]["Assertions"]
    both_empty = {
        "Fn::And": [
            {"Fn::Equals": [{"Ref": "CredentialsSecretArn"}, ""]},
            {"Fn::Equals": [{"Ref": "TokenParameterPath"}, ""]},
        ]
    }
    assert assertion["Assert"] == {"Fn::Not": [both_empty]}


def test_the_dashboard_lists_the_accounts_closest_to_expiry_and_the_failed_ones(
    evaluate: Any,
) -> None:
    import json

    body = json.loads(
        evaluate(TokenParameterPath=FLEET_PATH).resources()["TokenDashboard"]["Properties"][
            "DashboardBody"
        ]
    )
    queries = [w["properties"]["query"] for w in body["widgets"] if w["type"] == "log"]

    assert len(queries) == 3
    assert all(q.startswith("SOURCE 'REF:TokenRefresherLogGroup'") for q in queries)
    assert "sort seconds_left asc" in queries[0]
    assert "credentials = 'rejected'" in queries[1]
    assert "result = 'failed'" in queries[2]


def test_kms_use_is_limited_to_the_owning_service_and_resource(evaluate: Any) -> None:
    resources = evaluate(**WITH_KMS).resources()
    expected = {
        "SecretDecryptPolicy": (
            "secretsmanager.us-east-1.amazonaws.com",
            "kms:EncryptionContext:SecretARN",
            SECRET_ARN,
        ),
        "TokenEncryptPolicy": (
            "ssm.us-east-1.amazonaws.com",
            "kms:EncryptionContext:PARAMETER_ARN",
            PARAMETER_ARN,
        ),
        "TokenReaderPolicy": (
            "ssm.us-east-1.amazonaws.com",
            "kms:EncryptionContext:PARAMETER_ARN",
            PARAMETER_ARN,
        ),
    }
    for logical_id, (service, context_key, context_value) in expected.items():
        statements = resources[logical_id]["Properties"]["PolicyDocument"]["Statement"]
        kms_statements = [
            s for s in statements if all(a.startswith("kms:") for a in _as_list(s["Action"]))
        ]
        assert len(kms_statements) == 1, logical_id
        condition = kms_statements[0]["Condition"]["StringEquals"]
        assert condition["kms:ViaService"] == service
        assert condition[context_key] == context_value


def test_without_customer_keys_no_kms_permission_exists(evaluate: Any) -> None:
    resources = evaluate(**WITHOUT_KMS).resources()
    assert "SecretDecryptPolicy" not in resources
    assert "TokenEncryptPolicy" not in resources
    assert not [
        a for pairs in _grants(resources).values() for a, _ in pairs if a.startswith("kms:")
    ]


# --- alarms, dashboard, outputs --------------------------------------------------------------


def test_every_alarm_notifies_the_alarm_topic(evaluate: Any) -> None:
    resources = evaluate(**WITHOUT_KMS).resources()
    alarms = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"
    }

    assert set(alarms) == {
        "CredentialsRejectedAlarm",
        "RefreshFailingAlarm",
        "ScheduleDeadLetterAlarm",
        "TokenRemainingLifeAlarm",
    }
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == ["REF:AlarmTopic"], name
        assert alarm["OKActions"] == ["REF:AlarmTopic"], name
    assert (
        alarms["ScheduleDeadLetterAlarm"]["Dimensions"][0]["Value"]
        == "GETATT:ScheduleDeadLetterQueue.QueueName"
    )


def test_remaining_life_alarm_notifies_when_the_metric_is_low_or_stops(evaluate: Any) -> None:
    alarm = evaluate(**WITHOUT_KMS).resources()["TokenRemainingLifeAlarm"]["Properties"]

    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "JoorTokenRefresher",
        "TokenSecondsRemaining",
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "joor-token-refresher-test"}]
    assert alarm["Statistic"] == "Minimum"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    # No report in the evaluation range => INSUFFICIENT_DATA, which notifies like an alarm.
    assert alarm["TreatMissingData"] == "missing"
    assert alarm["InsufficientDataActions"] == ["REF:AlarmTopic"]
    assert alarm["OKActions"] == ["REF:AlarmTopic"]


def test_no_alarm_goes_to_alarm_before_its_metric_first_reports(evaluate: Any) -> None:
    """A new alarm has no data; treating that as breaching mails ALARM then OK at each new stack."""
    resources = evaluate(**WITHOUT_KMS).resources()
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}

    assert alarms
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"].get("TreatMissingData", "missing") != "breaching", logical_id


def test_alarm_email_subscription_exists_only_when_an_address_is_given(evaluate: Any) -> None:
    assert "AlarmEmailSubscription" not in evaluate(**WITHOUT_KMS).resources()
    subscription = evaluate(**WITHOUT_KMS, AlarmEmail="oncall@example.com").resources()[
        "AlarmEmailSubscription"
    ]
    assert subscription["Properties"] == {
        "TopicArn": "REF:AlarmTopic",
        "Protocol": "email",
        "Endpoint": "oncall@example.com",
    }


def test_dashboard_shows_remaining_life_and_outcomes(evaluate: Any) -> None:
    import json

    body = json.loads(
        evaluate(**WITHOUT_KMS).resources()["TokenDashboard"]["Properties"]["DashboardBody"]
    )
    metrics = json.dumps([widget["properties"].get("metrics") for widget in body["widgets"]])

    for name in (
        "TokenSecondsRemaining",
        "TokenRefreshed",
        "TokenRefreshSkipped",
        "TokenRefreshFailed",
    ):
        assert name in metrics, name
    assert "joor-token-refresher-test" in metrics
    assert "${" not in json.dumps(body)


def test_outputs_give_consumers_and_operators_what_they_need(template: dict[str, Any]) -> None:
    assert {
        "TokenRefresherFunctionName",
        "TokenParameterName",
        "TokenParameterArn",
        "TokenReaderPolicyArn",
        "ScheduleDeadLetterQueueUrl",
        "AlarmTopicArn",
    } <= set(template["Outputs"])
    assert template["Resources"]["TokenReaderPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"


def test_every_checkov_skip_gives_a_reason(template: dict[str, Any]) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "expected the documented skips"
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), logical_id
        assert len(skip.get("comment", "").split()) >= 8, (
            f"{logical_id} skips {skip['id']} without a reason"
        )


# --- samconfig.toml --------------------------------------------------------------------------


def _overrides(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', text))


def test_samconfig_deploys_sandbox_and_production_side_by_side(template: dict[str, Any]) -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    stacks, parameter_names = set(), set()

    for environment, joor_environment in (("default", "sandbox"), ("production", "production")):
        stack_name = config[environment]["global"]["parameters"]["stack_name"]
        overrides = _overrides(config[environment]["deploy"]["parameters"]["parameter_overrides"])
        stacks.add(stack_name)
        parameter_names.add(overrides["TokenParameterName"])
        assert overrides["JoorEnvironment"] == joor_environment
        assert f"/{joor_environment}/" in overrides["TokenParameterName"]
        assert config[environment]["deploy"]["parameters"]["s3_prefix"] == stack_name
        for name, value in overrides.items():
            spec = template["Parameters"][name]
            if "AllowedValues" in spec:
                assert value in [str(v) for v in spec["AllowedValues"]], (environment, name)
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), (environment, name)
    assert len(stacks) == 2
    assert len(parameter_names) == 2


def test_every_environment_deploys_again_when_nothing_changed() -> None:
    """sam deploy fails on an empty change set unless told not to; make deploy must go on."""
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    environments = [name for name, table in config.items() if isinstance(table, dict)]

    assert {"default", "production"} <= set(environments)
    for environment in environments:
        deploy = config[environment].get("deploy", {}).get("parameters")
        assert deploy is not None, f"{environment} has no deploy parameters"
        assert deploy.get("fail_on_empty_changeset") is False, environment


def test_the_time_budget_adds_up_and_the_local_stand_ins_give_the_template_s_timeout(
    evaluate: Any,
) -> None:
    timeout = _function(evaluate(**WITHOUT_KMS).resources())["Timeout"]

    # 4 JOOR attempts of 3.05 s connect + 10 s answer and waits of at most 1, 2 and 4 s.
    assert pytest.approx(4 * (3.05 + 10) + 1 + 2 + 4) == JOOR_WORST_SECONDS
    assert timeout - RESERVED_SECONDS >= JOOR_WORST_SECONDS
    assert LocalLambdaContext().timeout_seconds == timeout
    assert inspect.signature(LocalFunction).parameters["timeout_seconds"].default == timeout


# --- consumers -------------------------------------------------------------------------------


def test_other_accounts_get_a_reader_role_only_when_listed(evaluate: Any) -> None:
    assert "TokenReaderRole" not in evaluate(**WITHOUT_KMS).resources()

    role = evaluate(**WITHOUT_KMS, ReaderAccountIds="111122223333,444455556666").resources()[
        "TokenReaderRole"
    ]["Properties"]

    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": ["111122223333", "444455556666"]}
    assert trust["Action"] == "sts:AssumeRole"
    assert role["ManagedPolicyArns"] == ["REF:TokenReaderPolicy", "REF:TokenRefreshRequesterPolicy"]
    assert "Policies" not in role


def test_reader_account_ids_must_be_twelve_digits(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["ReaderAccountIds"]["AllowedPattern"]
    assert re.fullmatch(pattern, "111122223333")
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "11112222333")
    assert not re.fullmatch(pattern, "arn:aws:iam::111122223333:root")


def test_the_consumer_package_ships_as_a_layer_for_the_python_runtimes(
    template: dict[str, Any],
) -> None:
    layer = template["Resources"]["JoorTokenLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Properties"]["ContentUri"] == "clients/python/"
    assert set(layer["Properties"]["CompatibleArchitectures"]) == {"arm64", "x86_64"}
    assert {"JoorTokenLayerArn", "TokenRefreshRequesterPolicyArn", "TokenReaderRoleArn"} <= set(
        template["Outputs"]
    )


def test_the_layer_claims_the_python_versions_the_package_supports(
    template: dict[str, Any],
) -> None:
    """From the package's floor (requires-python) to the newest Python it is tested on, the
    functions' runtime; the package's classifiers name the same versions."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "clients" / "python" / "pyproject.toml").read_text())[
        "project"
    ]
    floor = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert floor, project["requires-python"]
    newest = re.fullmatch(r"python3\.(\d+)", template["Globals"]["Function"]["Runtime"])
    assert newest
    supported = [f"3.{minor}" for minor in range(int(floor[1]), int(newest[1]) + 1)]

    runtimes = template["Resources"]["JoorTokenLayer"]["Properties"]["CompatibleRuntimes"]
    classified = [
        c.rsplit(" ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert supported == ["3.10", "3.11", "3.12", "3.13"]
    assert runtimes == [f"python{v}" for v in supported]
    assert classified == supported
    assert "python3.10 to python3.13" in template["Outputs"]["JoorTokenLayerArn"]["Description"]


def test_the_layer_is_granted_to_an_organization_only_when_one_is_given(evaluate: Any) -> None:
    assert "JoorTokenLayerOrganizationPermission" not in evaluate(**WITHOUT_KMS).resources()

    resources = evaluate(**WITHOUT_KMS, ReaderOrganizationId="o-a1b2c3d4e5").resources()

    grant = resources["JoorTokenLayerOrganizationPermission"]
    assert grant["Type"] == "AWS::Lambda::LayerVersionPermission"
    # SAM names each layer version JoorTokenLayer<hash of its content>.
    layer = grant["Properties"].pop("LayerVersionArn")
    assert re.fullmatch(r"REF:JoorTokenLayer[0-9a-f]{10}", layer)
    assert resources[layer.removeprefix("REF:")]["Type"] == "AWS::Lambda::LayerVersion"
    assert grant["Properties"] == {
        "Action": "lambda:GetLayerVersion",
        "Principal": "*",
        "OrganizationId": "o-a1b2c3d4e5",
    }
    # The versions an update leaves behind (the layer retains them) keep their grant.
    assert grant["DeletionPolicy"] == grant["UpdateReplacePolicy"] == "Retain"


def test_reader_organization_id_must_be_an_organizations_id(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["ReaderOrganizationId"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "o-a1b2c3d4e5")
    assert not re.fullmatch(pattern, "r-a1b2")
    assert not re.fullmatch(pattern, "111122223333")
    assert not re.fullmatch(pattern, "o-A1B2C3D4E5")
