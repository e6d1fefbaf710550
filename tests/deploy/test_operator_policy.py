"""docs/operator-policy.json allows every AWS call the operator's tools make, as recorded while
they run against moto server, and covers every resource type the template deploys."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from infra.deploy.delete import main as delete
from infra.deploy.preflight import main as preflight
from infra.deploy.status import main as status
from infra.deploy.template import load_cfn_yaml, translate
from refresher.adapters.secrets_manager import parse_secret
from tests.deploy.conftest import LocalAws
from tests.deploy.test_delete_and_logs import layer_versions
from tests.deploy.test_deploy import Deploy, deploy  # noqa: F401 - the fixture
from tests.deploy.test_preflight import create_key, create_secret, write_config
from tests.deploy.test_status import PATH, fleet, stack

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY = REPO_ROOT / "docs" / "operator-policy.json"
# Where an operation's IAM action is not named as the operation.
ACTION_OF = {"lambda:Invoke": "lambda:InvokeFunction"}

# What CloudFormation needs to create, update and delete each resource type the template
# deploys, with the caller's credentials (each type's "handlers" permissions in the
# CloudFormation resource schemas; the SAM transform's own types become these).
DEPLOY_ACTIONS = {
    "AWS::IAM::Role": [
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
    ],
    "AWS::IAM::Policy": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
    "AWS::IAM::ManagedPolicy": [
        "iam:CreatePolicy",
        "iam:DeletePolicy",
        "iam:GetPolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:ListPolicyVersions",
        "iam:ListEntitiesForPolicy",
    ],
    "AWS::Lambda::Function": [
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:GetFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
        "lambda:TagResource",
        "iam:PassRole",
        "s3:GetObject",
    ],
    "AWS::Lambda::Alias": [
        "lambda:CreateAlias",
        "lambda:UpdateAlias",
        "lambda:DeleteAlias",
        "lambda:GetAlias",
    ],
    "AWS::Lambda::Permission": ["lambda:AddPermission", "lambda:RemovePermission"],
    "AWS::Lambda::EventInvokeConfig": [
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:UpdateFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
        "lambda:GetFunctionEventInvokeConfig",
    ],
    "AWS::Lambda::LayerVersion": [
        "lambda:PublishLayerVersion",
        "lambda:GetLayerVersion",
        "lambda:DeleteLayerVersion",
        "s3:GetObject",
    ],
    "AWS::Logs::LogGroup": [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DescribeLogGroups",
        "logs:PutRetentionPolicy",
    ],
    "AWS::Scheduler::Schedule": [
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
        "iam:PassRole",
    ],
    "AWS::Events::Rule": [
        "events:PutRule",
        "events:DeleteRule",
        "events:DescribeRule",
        "events:PutTargets",
        "events:RemoveTargets",
    ],
    "AWS::SQS::Queue": [
        "sqs:CreateQueue",
        "sqs:DeleteQueue",
        "sqs:GetQueueAttributes",
        "sqs:SetQueueAttributes",
    ],
    "AWS::SQS::QueuePolicy": ["sqs:SetQueueAttributes"],
    "AWS::SNS::Topic": [
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
    ],
    "AWS::SNS::Subscription": ["sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes"],
    "AWS::CloudWatch::Alarm": [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DescribeAlarms",
    ],
    "AWS::CloudWatch::Dashboard": [
        "cloudwatch:PutDashboard",
        "cloudwatch:DeleteDashboards",
        "cloudwatch:GetDashboard",
    ],
}
# The SAM CLI's own calls (it runs in its own process, unrecorded): sam deploy's change set
# on the stack and its artifacts bucket, sam logs' lookup and polling, sam delete's.
SAM_CLI_ACTIONS = [
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DescribeStackEvents",
    "cloudformation:GetTemplateSummary",
    "cloudformation:GetTemplate",
    "cloudformation:DeleteStack",
    "cloudformation:ListStackResources",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
    "lambda:GetFunctionConfiguration",
    "logs:FilterLogEvents",
]


def allowed_actions(policy: dict[str, Any]) -> list[str]:
    return [
        str(action)
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    ]


def not_allowed(policy: dict[str, Any], actions: set[str]) -> list[str]:
    patterns = allowed_actions(policy)
    return sorted(
        a for a in actions if not any(fnmatchcase(a.lower(), p.lower()) for p in patterns)
    )


def policy() -> dict[str, Any]:
    return dict(json.loads(POLICY.read_text(encoding="utf-8")))


class Recorder:
    """The IAM action of every AWS call made inside ``with recorder:`` (they still go to moto):
    the tools' calls, not the test's own setting up."""

    def __init__(self) -> None:
        self.calls: set[str] = set()
        self.on = False

    def __enter__(self) -> Recorder:
        self.on = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.on = False


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder()
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: Any) -> Any:
        if found.on:
            action = f"{self.meta.service_model.signing_name}:{operation}"
            found.calls.add(ACTION_OF.get(action, action))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return found


def test_every_call_the_tools_make_is_allowed_by_the_documented_policy(  # noqa: PLR0917
    deploy: Deploy,  # noqa: F811 - the fixture imported above
    local_aws: LocalAws,
    recorder: Recorder,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The preflight of one account with both keys, and of a fleet.
    (tmp_path / "one").mkdir()
    (tmp_path / "fleet").mkdir()
    one = write_config(
        tmp_path / "one",
        CredentialsSecretArn=create_secret(name="joor/other"),
        TokenKmsKeyArn=create_key(),
        SecretKmsKeyArn=create_key(),
    )
    fleet(local_aws)
    fleet_config = write_config(tmp_path / "fleet", TokenParameterPath=PATH)
    with recorder:
        assert preflight(["--config-file", str(one)]) == 0
        assert preflight(["--config-file", str(fleet_config)]) == 0
        # make deploy: its checks, the stack read before and after, the first refresh.
        assert deploy.run(capfd, answer="y")[0] == 0
    # make status of a fleet, then make delete.
    local_aws.moto.reset()
    monkeypatch.delenv("AWS_ENDPOINT_URL_LAMBDA")  # layers are moto's, not the Invoke stand-in's
    fleet(local_aws)
    stack(TokenParameterPath=PATH)
    layer_versions(1)
    with recorder:
        assert status(["--config-file", str(fleet_config)]) == 1
        assert delete(["--config-file", str(fleet_config), "--sam", "sam", "--yes"]) == 0
    # and of one account.
    arn = create_secret(name="joor/named")
    stack(CredentialsSecretArn=arn, TokenParameterName="/joor/named/access-token")
    with recorder:
        assert status(["--config-file", str(fleet_config)]) == 1
    capfd.readouterr()

    assert not_allowed(policy(), recorder.calls) == []
    assert {
        "sts:GetCallerIdentity",
        "kms:GetKeyPolicy",
        "lambda:GetAccountSettings",
        "lambda:InvokeFunction",
        "secretsmanager:ListSecrets",
        "secretsmanager:DescribeSecret",
        "ssm:DeleteParameters",
        "lambda:DeleteLayerVersion",
        "cloudformation:ListChangeSets",
    } <= recorder.calls


def test_the_sam_cli_s_calls_are_allowed() -> None:
    assert not_allowed(policy(), set(SAM_CLI_ACTIONS)) == []


def test_every_resource_type_the_template_deploys_is_covered() -> None:
    template = translate(load_cfn_yaml(REPO_ROOT / "template.yaml"))
    types = {resource["Type"] for resource in template["Resources"].values()}

    unknown = sorted(types - set(DEPLOY_ACTIONS))
    assert unknown == [], "add their actions to DEPLOY_ACTIONS and docs/operator-policy.json"
    needed = {action for t in types for action in DEPLOY_ACTIONS[t]}
    assert not_allowed(policy(), needed) == []


def test_the_check_finds_an_action_the_policy_lacks() -> None:
    trimmed = policy()
    for statement in trimmed["Statement"]:
        if isinstance(statement["Action"], list):
            statement["Action"] = [a for a in statement["Action"] if a != "kms:GetKeyPolicy"]

    assert not_allowed(trimmed, {"kms:GetKeyPolicy", "kms:DescribeKey"}) == ["kms:GetKeyPolicy"]


def test_the_sample_credentials_file_has_the_keys_the_function_needs_and_no_real_value() -> None:
    """infra/deploy/credentials.example.json, which the README copies into the secret."""
    text = (REPO_ROOT / "infra" / "deploy" / "credentials.example.json").read_text(encoding="utf-8")

    credentials = parse_secret("credentials.example.json", text)

    assert credentials.grant_type == "password"
    for value in (credentials.client_id, credentials.client_secret, credentials.password):
        assert value.startswith("REPLACE-with-")
    assert credentials.username.endswith("@example.com")
    assert "credentials.json" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").split()
