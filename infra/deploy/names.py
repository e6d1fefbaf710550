"""The names and descriptions the template derives from the stack name, and AWS's length limits.

CloudFormation accepts a stack name of up to 128 characters, but a resource whose name or
description is built from it fails at creation when the result is over that resource's own
limit, and the stack rolls back. So the limits below are checked twice: by the template's
tests with the longest stack name CloudFormation accepts (every name must fit), and by
`make preflight` (and so `make deploy`) with the stack name about to be deployed.

Each limit is the one the service's API reference states for that field (tests/template/
test_name_limits.py checks none is looser than botocore's service model, where the model
states one; for LayerName the model says 2048, the API reference 140, and 140 is kept):
- AWS::SNS::Topic DisplayName: 100 ("maximum 100 characters", SNS SetTopicAttributes,
  CreateTopic attributes); TopicName: 256 (SNS CreateTopic).
- AWS::CloudWatch::Alarm AlarmName: 255; AlarmDescription: 1024 (CloudWatch PutMetricAlarm).
- AWS::CloudWatch::Dashboard DashboardName: 255 (CloudWatch PutDashboard).
- AWS::Logs::LogGroup LogGroupName: 512 (CloudWatch Logs CreateLogGroup).
- Lambda LayerName: 140 (PublishLayerVersion); FunctionName: 64 (CreateFunction); a
  function's or an alias's Description: 256; an alias's Name: 128 (CreateAlias).
- IAM RoleName: 64; ManagedPolicyName and PolicyName: 128; a role's or a managed policy's
  Description: 1000 (IAM CreateRole, CreatePolicy, PutRolePolicy).
- SQS QueueName: 80 (CreateQueue). EventBridge rule Name: 64; Description: 512 (PutRule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_STACK_NAME = 128  # CloudFormation CreateStack: StackName, 128 characters at most

LIMITS: dict[tuple[str, str], int] = {
    ("AWS::SNS::Topic", "DisplayName"): 100,
    ("AWS::SNS::Topic", "TopicName"): 256,
    ("AWS::CloudWatch::Alarm", "AlarmName"): 255,
    ("AWS::CloudWatch::Alarm", "AlarmDescription"): 1024,
    ("AWS::CloudWatch::Dashboard", "DashboardName"): 255,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::Serverless::LayerVersion", "LayerName"): 140,
    ("AWS::Lambda::LayerVersion", "LayerName"): 140,
    ("AWS::Serverless::Function", "FunctionName"): 64,
    ("AWS::Serverless::Function", "Description"): 256,
    ("AWS::Lambda::Function", "FunctionName"): 64,
    ("AWS::Lambda::Function", "Description"): 256,
    ("AWS::Lambda::Alias", "Name"): 128,
    ("AWS::Lambda::Alias", "Description"): 256,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::IAM::Role", "Description"): 1000,
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): 128,
    ("AWS::IAM::ManagedPolicy", "Description"): 1000,
    ("AWS::IAM::Policy", "PolicyName"): 128,
    ("AWS::SQS::Queue", "QueueName"): 80,
    ("AWS::Events::Rule", "Name"): 64,
    ("AWS::Events::Rule", "Description"): 512,
}

# The longest value a pseudo parameter or a generated name can take, for names that embed one.
_LONGEST = {
    "AWS::Region": "ap-southeast-5",  # the longest Region names have 14 characters
    "AWS::AccountId": "0" * 12,
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
}
# A resource named by Ref in a Sub: the longest physical id of its type.
_GENERATED = {
    "AWS::Serverless::Function": 64,
    "AWS::Lambda::Function": 64,
    "AWS::SNS::Topic": 256,
    "AWS::SQS::Queue": 80,
}
_GENERATED_DEFAULT = 256
_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


class CfnLoader(yaml.SafeLoader):
    """CloudFormation YAML: short-form tags become their long form ({"Fn::Sub": ...}, {"Ref":
    ...}, {"Condition": ...}, {"Fn::GetAtt": [id, attribute]})."""


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _long_form)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        template: dict[str, Any] = yaml.load(stream, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    return template


@dataclass(frozen=True)
class DerivedName:
    resource: str  # logical id
    resource_type: str
    field: str
    limit: int
    length: int  # with the stack name given
    fixed: int  # characters besides the stack name(s)
    stack_name_uses: int  # how often the stack name appears in it

    @property
    def fits(self) -> bool:
        return self.length <= self.limit

    @property
    def longest_stack_name(self) -> int:
        """The longest stack name with which this one still fits."""
        if not self.stack_name_uses:
            return MAX_STACK_NAME
        return (self.limit - self.fixed) // self.stack_name_uses

    def describe(self) -> str:
        return f"{self.resource} {self.field} ({self.length} of {self.limit} characters)"


def derived_names(
    template: dict[str, Any], stack_name: str, parameters: dict[str, str] | None = None
) -> list[DerivedName]:
    """Every limited name or description the template builds from the stack name.

    A placeholder for a template parameter takes the given value, else the longest value the
    template allows for it (its AllowedValues, MaxLength or Default); one for a resource
    takes the longest name of its type.
    """
    resources: dict[str, Any] = template.get("Resources", {})
    specs: dict[str, Any] = template.get("Parameters", {})
    found = []
    for logical_id, resource in resources.items():
        kind = str(resource.get("Type", ""))
        for prop, value in (resource.get("Properties") or {}).items():
            text = _sub_text(value)
            if text is None or "${AWS::StackName}" not in text:
                continue
            limit = LIMITS.get((kind, prop))
            if limit is None:
                continue
            uses = text.count("${AWS::StackName}")
            rest = text.replace("${AWS::StackName}", "")
            fixed = len(
                _PLACEHOLDER.sub(
                    lambda m: "x" * _longest(m.group(1), resources, specs, parameters or {}), rest
                )
            )
            found.append(
                DerivedName(
                    logical_id, kind, prop, limit, fixed + uses * len(stack_name), fixed, uses
                )
            )
    return found


def unlimited_names(template: dict[str, Any]) -> list[str]:
    """Name-like properties built from the stack name whose limit LIMITS does not know."""
    unknown = []
    for logical_id, resource in template.get("Resources", {}).items():
        kind = str(resource.get("Type", ""))
        for prop, value in (resource.get("Properties") or {}).items():
            text = _sub_text(value)
            if text is None or "${AWS::StackName}" not in text:
                continue
            if (prop.endswith(("Name", "Description"))) and (kind, prop) not in LIMITS:
                unknown.append(f"{logical_id} {kind} {prop}")
    return unknown


def _sub_text(value: Any) -> str | None:
    """The text of a !Sub (either form); None for anything else."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        if isinstance(sub, str):
            return sub
        if isinstance(sub, list) and sub and isinstance(sub[0], str):
            return sub[0]
    return None


def _longest(
    name: str, resources: dict[str, Any], specs: dict[str, Any], parameters: dict[str, str]
) -> int:
    if name in _LONGEST:
        return len(_LONGEST[name])
    base = name.split(".", 1)[0]
    if base in parameters:
        return len(parameters[base])
    if base in specs:
        spec = specs[base]
        if "AllowedValues" in spec:
            return max(len(str(v)) for v in spec["AllowedValues"])
        if "MaxLength" in spec:
            return int(spec["MaxLength"])
        return len(str(spec.get("Default", "")))
    if base in resources:
        return _GENERATED.get(str(resources[base].get("Type", "")), _GENERATED_DEFAULT)
    return _GENERATED_DEFAULT
