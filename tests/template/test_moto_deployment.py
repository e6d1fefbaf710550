"""The translated template deploys into moto's CloudFormation and the resources it supports come up."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

import boto3
import pytest

# Resource types moto's CloudFormation (moto 5.2) does not implement: it logs
# "not supported by moto's CloudFormation implementation" and creates nothing. Their
# properties are covered by test_template_contract.py on the translated template instead.
MOTO_SKIPPED_TYPES = {
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::Alias",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::LayerVersionPermission",
    "AWS::Scheduler::Schedule",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
}


@pytest.fixture
def deploy(aws_env: str, translated: dict[str, Any], code_location: tuple[str, str]) -> Any:
    """deploy(parameters) => (stack name, outputs) of the translated template in moto."""
    bucket, key = code_location
    s3 = boto3.client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
        s3.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return lambda parameters: _deploy(translated, parameters)


def _deploy(translated: dict[str, Any], parameters: dict[str, str]) -> tuple[str, dict[str, str]]:

    stack_name = f"joor-token-refresher-{uuid.uuid4().hex[:8]}"
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.monotonic() + 60
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return stack_name, outputs


def _physical_ids(stack_name: str) -> dict[str, tuple[str, str]]:
    summaries = boto3.client("cloudformation").list_stack_resources(StackName=stack_name)[
        "StackResourceSummaries"
    ]
    # moto lists the resources it skipped with an empty logical id.
    return {
        s["LogicalResourceId"]: (s["ResourceType"], s["PhysicalResourceId"])
        for s in summaries
        if s["LogicalResourceId"]
    }


@pytest.fixture
def secret_arn(aws_env: str) -> str:
    return boto3.client("secretsmanager").create_secret(
        Name=f"joor/api-credentials-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps(
            {"client_id": "c", "client_secret": "s", "username": "u", "password": "p"}
        ),
    )["ARN"]


@pytest.fixture
def kms_key_arn(aws_env: str) -> str:
    return boto3.client("kms").create_key(Description="token key")["KeyMetadata"]["Arn"]


def test_stack_comes_up_in_moto_except_the_types_moto_skips(
    deploy: Any, translated: dict[str, Any], secret_arn: str, kms_key_arn: str
) -> None:
    # Every optional parameter set, so every conditional resource is in the stack too.
    stack_name, _ = deploy(
        {
            "CredentialsSecretArn": secret_arn,
            "TokenKmsKeyArn": kms_key_arn,
            "SecretKmsKeyArn": kms_key_arn,
            "AlarmEmail": "oncall@example.com",
            "TokenParameterName": "/joor/sandbox/access-token",
            "TokenParameterPath": "/joor",
            "ReaderAccountIds": "111122223333",
            "ReaderOrganizationId": "o-a1b2c3d4e5",
        }
    )
    created = _physical_ids(stack_name)

    expected = {
        logical_id: resource["Type"] for logical_id, resource in translated["Resources"].items()
    }
    skipped_types = {expected[logical_id] for logical_id in set(expected) - set(created)}
    assert skipped_types == MOTO_SKIPPED_TYPES
    assert all(status[0] == expected[logical_id] for logical_id, status in created.items())


def test_deployed_function_has_its_configuration(deploy: Any, secret_arn: str) -> None:
    stack_name, outputs = deploy({"CredentialsSecretArn": secret_arn})
    awslambda = boto3.client("lambda")

    function = awslambda.get_function(FunctionName=outputs["TokenRefresherFunctionName"])
    configuration = function["Configuration"]
    assert configuration["Runtime"] == "python3.13"
    # moto's CloudFormation ignores Architectures (x86_64 whatever the template says); the
    # contract test checks arm64 on the translated template.
    assert (configuration["MemorySize"], configuration["Timeout"]) == (256, 100)
    assert configuration["Environment"]["Variables"]["CREDENTIALS_SECRET_ID"] == secret_arn
    assert configuration["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == stack_name
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 1

    role_name = configuration["Role"].rsplit("/", 1)[1]
    assert _physical_ids(stack_name)["TokenRefresherRole"][1] == role_name

    # The function's name is generated (moto ignores LoggingConfig: the contract test checks
    # that the function logs to this group).
    assert outputs["TokenRefresherFunctionName"].startswith(f"{stack_name}-")
    log_group = outputs["TokenRefresherLogGroupName"]
    assert log_group == f"/aws/lambda/{stack_name}-token-refresher"
    groups = boto3.client("logs").describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(log_group, 365)]


def test_function_deploys_without_a_reservation_when_told(deploy: Any, secret_arn: str) -> None:
    _, outputs = deploy({"CredentialsSecretArn": secret_arn, "ReserveConcurrency": "false"})

    function = boto3.client("lambda").get_function(
        FunctionName=outputs["TokenRefresherFunctionName"]
    )
    assert "ReservedConcurrentExecutions" not in function.get("Concurrency", {})


def test_deployed_queue_topic_dashboard_and_outputs(deploy: Any, secret_arn: str) -> None:
    _, outputs = deploy({"CredentialsSecretArn": secret_arn})

    queue = boto3.client("sqs").get_queue_attributes(
        QueueUrl=outputs["ScheduleDeadLetterQueueUrl"], AttributeNames=["All"]
    )
    assert queue["Attributes"]["SqsManagedSseEnabled"] == "true"
    assert queue["Attributes"]["QueueArn"] == outputs["ScheduleDeadLetterQueueArn"]

    topics = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert outputs["AlarmTopicArn"] in topics

    dashboard = boto3.client("cloudwatch").get_dashboard(DashboardName=outputs["DashboardName"])
    assert "TokenSecondsRemaining" in dashboard["DashboardBody"]

    assert (
        outputs["TokenParameterArn"]
        == "arn:aws:ssm:us-east-1:123456789012:parameter/joor/sandbox/access-token"
    )
    assert outputs["TokenGuaranteeSeconds"] == "9900"


def test_reader_policy_grants_get_parameter_and_kms_decrypt_through_ssm(
    deploy: Any, secret_arn: str, kms_key_arn: str
) -> None:
    _, outputs = deploy(
        {
            "CredentialsSecretArn": secret_arn,
            "TokenKmsKeyArn": kms_key_arn,
            "AlarmEmail": "oncall@example.com",
        },
    )
    iam = boto3.client("iam")
    policy = iam.get_policy(PolicyArn=outputs["TokenReaderPolicyArn"])["Policy"]
    document = iam.get_policy_version(
        PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    if isinstance(document, str):
        document = json.loads(document)
    grants = {
        (action, s["Resource"])
        for s in document["Statement"]
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert grants == {
        ("ssm:GetParameter", outputs["TokenParameterArn"]),
        ("ssm:GetParameters", outputs["TokenParameterArn"]),
        ("kms:Decrypt", kms_key_arn),
    }


def test_customer_key_adds_only_the_encrypt_policy_to_the_named_account_s_role(
    deploy: Any, secret_arn: str, kms_key_arn: str
) -> None:
    stack_name, _ = deploy({"CredentialsSecretArn": secret_arn, "TokenKmsKeyArn": kms_key_arn})
    resources = _physical_ids(stack_name)
    role_name = resources["TokenRefresherRole"][1]

    iam = boto3.client("iam")
    policy_names = set(iam.list_role_policies(RoleName=role_name)["PolicyNames"])
    assert policy_names == {"token-refresher", "read-joor-credentials", "encrypt-joor-token"}
    document = iam.get_role_policy(RoleName=role_name, PolicyName="encrypt-joor-token")[
        "PolicyDocument"
    ]
    if isinstance(document, str):
        document = json.loads(document)
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (["kms:Encrypt", "kms:GenerateDataKey"], kms_key_arn)
    ]
    assert "SecretDecryptPolicy" not in resources


def test_a_fleet_only_stack_comes_up_without_a_named_account(deploy: Any) -> None:
    stack_name, outputs = deploy({"TokenParameterPath": "/joor/fleet"})
    resources = _physical_ids(stack_name)
    role_name = resources["TokenRefresherRole"][1]

    iam = boto3.client("iam")
    policy_names = set(iam.list_role_policies(RoleName=role_name)["PolicyNames"])
    assert policy_names == {"token-refresher", "read-fleet-credentials"}
    assert outputs["TokenParameterPath"] == "/joor/fleet"
    assert "TokenParameterName" not in outputs
    function = boto3.client("lambda").get_function(
        FunctionName=outputs["TokenRefresherFunctionName"]
    )
    variables = function["Configuration"]["Environment"]["Variables"]
    assert (variables["CREDENTIALS_SECRET_ID"], variables["TOKEN_PARAMETER_NAME"]) == ("", "")
    assert variables["TOKEN_PARAMETER_PATH"] == "/joor/fleet"
