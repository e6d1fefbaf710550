"""The AWS Region from the environment, as Lambda and the AWS CLI v2 name it.

botocore reads only AWS_DEFAULT_REGION (and a profile's ``region``); Lambda sets both
AWS_REGION and AWS_DEFAULT_REGION, and the AWS CLI v2 honours AWS_REGION first. So a
workstation with only AWS_REGION exported would find no Region: a session made with
``region_name=region_from_environment()`` finds it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# What every "no Region" message tells the user to do.
HOW_TO_SET = "export AWS_REGION (or AWS_DEFAULT_REGION), or set region in your AWS profile"


def region_from_environment(env: Mapping[str, str] | None = None) -> str | None:
    """AWS_REGION when AWS_DEFAULT_REGION is unset; None leaves botocore's own chain to decide."""
    env = os.environ if env is None else env
    if env.get("AWS_DEFAULT_REGION"):
        return None
    return env.get("AWS_REGION") or None
