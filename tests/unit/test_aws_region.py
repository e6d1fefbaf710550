"""The AWS Region the refresher's sessions get from the environment: AWS_REGION (what Lambda
and the AWS CLI v2 set) when AWS_DEFAULT_REGION (what botocore reads) is not set."""

from __future__ import annotations

import pytest

from refresher.aws_region import region_from_environment


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, None),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": ""}, "eu-west-1"),
        ({"AWS_REGION": ""}, None),
        ({}, None),
    ],
    ids=["only-aws-region", "botocore-reads-the-default", "an-empty-default", "empty", "neither"],
)
def test_aws_region_is_given_only_where_botocore_would_not_find_one(
    env: dict[str, str], region: str | None
) -> None:
    assert region_from_environment(env) == region


def test_without_a_mapping_it_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")

    assert region_from_environment() == "ap-southeast-2"
    assert region_from_environment({}) is None  # a mapping given is all it reads
