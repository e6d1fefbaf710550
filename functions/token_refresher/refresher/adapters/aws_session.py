"""The boto3 session of every tool run outside Lambda: the region from ``AWS_REGION`` too.

boto3 reads the region from ``AWS_DEFAULT_REGION`` and the profile's ``region`` only
(botocore/configprovider.py: ``'region': ('region', 'AWS_DEFAULT_REGION', ...)``), while
Lambda sets both variables and the AWS CLI v2 and the other AWS SDKs read ``AWS_REGION``
(AWS SDKs and Tools reference guide, "AWS Region":
https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html). So a region given
explicitly wins, then ``AWS_DEFAULT_REGION`` (as in boto3), then ``AWS_REGION``, then the
profile's. In Lambda both variables hold the same region: nothing changes there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from refresher.domain.errors import ConfigurationError

if TYPE_CHECKING:
    import boto3

# What works, for every message that finds no region.
REGION_HINT = "set AWS_REGION (or AWS_DEFAULT_REGION), or region in your AWS profile"


def region_from_environment(env: Mapping[str, str] | None = None) -> str | None:
    """``AWS_REGION`` when ``AWS_DEFAULT_REGION`` is unset (boto3 reads that one itself)."""
    env = os.environ if env is None else env
    if env.get("AWS_DEFAULT_REGION", "").strip():
        return None
    return env.get("AWS_REGION", "").strip() or None


def aws_session(region: str | None = None, profile: str | None = None) -> boto3.Session:
    """A session with a region, or ConfigurationError naming the variables that give one."""
    import boto3

    session = boto3.Session(
        profile_name=profile or None, region_name=region or region_from_environment()
    )
    if not session.region_name:
        raise ConfigurationError(
            "AWS_REGION", f"is not set and no region is configured: {REGION_HINT}"
        )
    return session
