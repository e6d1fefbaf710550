"""The cold-start floor: import boto3 and requests, make the one SSM call a fresh run makes.

The call is the refresher's own: DescribeParameters with a ``Name Equals`` filter, so both
sides of the ratio send the same request to the same moto server.
"""

import os

import boto3
import requests  # noqa: F401 - the floor pays for what a refresher needs to import

PARAMETER_NAME = os.environ.get("TOKEN_PARAMETER_NAME", "/joor/sandbox/access-token")


def lambda_handler(event: object, context: object) -> dict[str, object]:
    ssm = boto3.client("ssm")
    response = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [PARAMETER_NAME]}]
    )
    return {"found": len(response["Parameters"])}
