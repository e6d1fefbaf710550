"""The length limits of what template.yaml builds from the stack name, and which a stack name breaks.

CloudFormation accepts any stack name of up to 128 characters, but the stack fails at creation
(and rolls back) when a name or text built from it is longer than its service allows. Each
limit below is the one AWS documents; the template's tests check that every property holding
the stack name is listed here, and that a 128-character stack name fits them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from infra.deploy.template import CfnEvaluator, load_cfn_yaml, translate

# CloudFormation stack names: start with a letter; letters, digits and hyphens; 128 at most
# (CreateStack, StackName: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
MAX_STACK_NAME = 128


@dataclass(frozen=True)
class Limit:
    resource_type: str
    path: str  # the property, dotted; * matches a list index or a key
    limit: int | None  # None: AWS documents no limit that a stack name could reach
    source: str

    def matches(self, resource_type: str, path: str) -> bool:
        return resource_type == self.resource_type and fnmatchcase(path, self.path)


_CW = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference"
LIMITS = (
    Limit(
        "AWS::Logs::LogGroup",
        "LogGroupName",
        512,
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
    Limit(
        "AWS::SNS::Topic",
        "DisplayName",
        100,
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topic.html",
    ),
    Limit("AWS::CloudWatch::Alarm", "AlarmName", 255, f"{_CW}/API_PutMetricAlarm.html"),
    Limit("AWS::CloudWatch::Alarm", "AlarmDescription", 1024, f"{_CW}/API_PutMetricAlarm.html"),
    Limit("AWS::CloudWatch::Alarm", "Dimensions.*.Value", 1024, f"{_CW}/API_Dimension.html"),
    Limit("AWS::CloudWatch::Dashboard", "DashboardName", 255, f"{_CW}/API_PutDashboard.html"),
    # The body quotes the stack name in its metrics and queries; PutDashboard sets no length.
    Limit("AWS::CloudWatch::Dashboard", "DashboardBody", None, f"{_CW}/API_PutDashboard.html"),
    Limit(
        "AWS::IAM::ManagedPolicy",
        "Description",
        1000,
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html",
    ),
    Limit(
        "AWS::IAM::Role",
        "Description",
        1000,
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
    ),
    Limit(
        "AWS::Lambda::LayerVersion",
        "LayerName",
        140,
        "https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html",
    ),
    # "4 KB ... the total size of all environment variables" (Lambda quotas); measured below as
    # the sum of every variable's name and value.
    Limit(
        "AWS::Lambda::Function",
        "Environment.Variables.*",
        4096,
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
)


@dataclass(frozen=True)
class DerivedName:
    """A property of the template built from the stack name, and how long it comes out."""

    logical_id: str
    path: str
    length: int
    limit: Limit | None  # None: no limit known for it (a template test fails on it)
    per_character: int  # how many characters it grows by per character of the stack name

    @property
    def too_long(self) -> bool:
        return (
            self.limit is not None
            and self.limit.limit is not None
            and self.length > self.limit.limit
        )

    def longest_stack_name(self, stack_name: str) -> int:
        """The longest stack name with which this property still fits its limit."""
        if self.limit is None or self.limit.limit is None or self.per_character == 0:
            return MAX_STACK_NAME
        fixed = self.length - self.per_character * len(stack_name)
        return min(MAX_STACK_NAME, (self.limit.limit - fixed) // self.per_character)


def _strings(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield ".".join(path), node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, str(index)))


def limit_for(resource_type: str, path: str) -> Limit | None:
    return next((limit for limit in LIMITS if limit.matches(resource_type, path)), None)


def derived_names(evaluated: CfnEvaluator, stack_name: str) -> list[DerivedName]:
    """Every property holding the stack name; a function's variables summed, as Lambda counts."""
    found: list[DerivedName] = []
    for logical_id, resource in evaluated.resources().items():
        environment = 0
        for path, value in _strings(resource.get("Properties", {})):
            limit = limit_for(resource["Type"], path)
            if limit is not None and limit.path.startswith("Environment.Variables"):
                environment += len(path.rsplit(".", 1)[-1]) + len(value)
                continue
            count = value.count(stack_name)
            if count:
                found.append(DerivedName(logical_id, path, len(value), limit, count))
        if environment:
            limit = limit_for(resource["Type"], "Environment.Variables.*")
            variables = resource["Properties"]["Environment"]["Variables"]
            count = sum(str(v).count(stack_name) for v in variables.values())
            found.append(
                DerivedName(logical_id, "Environment.Variables", environment, limit, count)
            )
    return found


def check_stack_name(
    stack_name: str, parameters: dict[str, str], template_file: Path, region: str
) -> list[DerivedName]:
    """The derived names that ``stack_name`` makes too long, with these parameters."""
    translated = translate(load_cfn_yaml(template_file), region=region)
    evaluated = CfnEvaluator(translated, parameters, stack_name)
    return [name for name in derived_names(evaluated, stack_name) if name.too_long]
