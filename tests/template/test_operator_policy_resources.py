"""docs/operator-policy.json lets `sam deploy` create, and `sam delete` remove, every resource
type the (SAM-translated) template holds: CloudFormation acts with the deployer's
permissions. tests/deploy/test_operator_policy.py checks the calls of the project's own tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POLICY = Path(__file__).resolve().parents[2] / "docs" / "operator-policy.json"

# What CloudFormation calls to create and to delete each resource type the template uses
# (the resource type's "handlers" in the CloudFormation resource schema, create and delete).
NEEDED = {
    "AWS::IAM::Role": ("iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole", "iam:DeleteRole"),
    "AWS::IAM::Policy": ("iam:PutRolePolicy", "iam:DeleteRolePolicy"),
    "AWS::IAM::ManagedPolicy": ("iam:CreatePolicy", "iam:DeletePolicy"),
    "AWS::Lambda::Function": (
        "lambda:CreateFunction",
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunction",
    ),
    "AWS::Lambda::LayerVersion": ("lambda:PublishLayerVersion", "lambda:GetLayerVersion"),
    "AWS::Lambda::LayerVersionPermission": (
        "lambda:AddLayerVersionPermission",
        "lambda:GetLayerVersionPolicy",
        "lambda:RemoveLayerVersionPermission",
    ),
    "AWS::Lambda::Alias": ("lambda:CreateAlias", "lambda:DeleteAlias"),
    "AWS::Lambda::Permission": ("lambda:AddPermission", "lambda:RemovePermission"),
    "AWS::Lambda::EventInvokeConfig": (
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ),
    "AWS::Logs::LogGroup": (
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteLogGroup",
    ),
    "AWS::SNS::Topic": ("sns:CreateTopic", "sns:DeleteTopic"),
    "AWS::SNS::Subscription": ("sns:Subscribe", "sns:Unsubscribe"),
    "AWS::CloudWatch::Alarm": ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"),
    "AWS::CloudWatch::Dashboard": ("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"),
    "AWS::Scheduler::Schedule": ("scheduler:CreateSchedule", "scheduler:DeleteSchedule"),
    "AWS::SQS::Queue": ("sqs:CreateQueue", "sqs:DeleteQueue"),
    "AWS::SQS::QueuePolicy": ("sqs:SetQueueAttributes",),
    "AWS::Events::Rule": ("events:PutRule", "events:PutTargets", "events:DeleteRule"),
}


def test_the_policy_covers_every_resource_type_of_the_template(translated: dict[str, Any]) -> None:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    types = {resource["Type"] for resource in translated["Resources"].values()}

    unknown = sorted(types - NEEDED.keys())
    assert unknown == [], (
        f"a new resource type: add what it needs to NEEDED and the policy: {unknown}"
    )
    missing = sorted({a for t in types for a in NEEDED[t]} - actions)
    assert missing == [], f"docs/operator-policy.json lacks {missing}"
