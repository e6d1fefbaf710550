"""infra/deploy/names.py's limits are never looser than the ones botocore's service models
state (where a model states one: some, like SNS's DisplayName, live only in the API reference)."""

from __future__ import annotations

import botocore.session
import pytest

from infra.deploy.names import LIMITS

# (service, operation, member) that each limited template property becomes.
API_FIELDS = {
    ("AWS::CloudWatch::Alarm", "AlarmName"): ("cloudwatch", "PutMetricAlarm", "AlarmName"),
    ("AWS::CloudWatch::Alarm", "AlarmDescription"): (
        "cloudwatch",
        "PutMetricAlarm",
        "AlarmDescription",
    ),
    ("AWS::Logs::LogGroup", "LogGroupName"): ("logs", "CreateLogGroup", "logGroupName"),
    ("AWS::Lambda::Alias", "Name"): ("lambda", "CreateAlias", "Name"),
    ("AWS::Lambda::Alias", "Description"): ("lambda", "CreateAlias", "Description"),
    ("AWS::Lambda::Function", "Description"): ("lambda", "CreateFunction", "Description"),
    ("AWS::Lambda::LayerVersion", "LayerName"): ("lambda", "PublishLayerVersion", "LayerName"),
    ("AWS::IAM::Role", "RoleName"): ("iam", "CreateRole", "RoleName"),
    ("AWS::IAM::Role", "Description"): ("iam", "CreateRole", "Description"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): ("iam", "CreatePolicy", "PolicyName"),
    ("AWS::IAM::ManagedPolicy", "Description"): ("iam", "CreatePolicy", "Description"),
    ("AWS::IAM::Policy", "PolicyName"): ("iam", "PutRolePolicy", "PolicyName"),
    ("AWS::Events::Rule", "Name"): ("events", "PutRule", "Name"),
    ("AWS::Events::Rule", "Description"): ("events", "PutRule", "Description"),
}


@pytest.mark.parametrize(("field", "api"), API_FIELDS.items(), ids="-".join)
def test_a_limit_is_no_looser_than_the_service_model_s(
    field: tuple[str, str], api: tuple[str, str, str]
) -> None:
    service, operation, member = api
    model = botocore.session.get_session().get_service_model(service)
    stated = model.operation_model(operation).input_shape.members[member].metadata.get("max")

    assert stated is not None
    assert LIMITS[field] <= stated
