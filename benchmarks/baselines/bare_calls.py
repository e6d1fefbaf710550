"""The warm floor: the same requests a refresher run sends, with bare boto3 and requests.

Clients and the HTTP session are made once and reused, as in any warm Lambda environment;
nothing is validated, logged or measured beyond what the calls need.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import requests


class BareCalls:
    def __init__(self) -> None:
        self.ssm = boto3.client("ssm")
        self.secrets = boto3.client("secretsmanager")
        self.http = requests.Session()
        self.url = os.environ["JOOR_AUTH_URL"]
        self.secret_id = os.environ["CREDENTIALS_SECRET_ID"]
        self.parameter = os.environ["TOKEN_PARAMETER_NAME"]

    def fresh_run(self) -> int:
        """What a run that finds the token fresh needs: one DescribeParameters."""
        response = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [self.parameter]}]
        )
        return len(response["Parameters"])

    def forced_refresh(self) -> int:
        """What a forced refresh that must not lock the JOOR account needs: DescribeSecret (did
        JOOR reject this version?), GetSecretValue, POST /auth/, PutParameter."""
        self.secrets.describe_secret(SecretId=self.secret_id)
        creds = json.loads(self.secrets.get_secret_value(SecretId=self.secret_id)["SecretString"])
        response = self.http.post(
            self.url,
            files={key: (None, creds[key]) for key in creds},
            timeout=10,
        )
        token = response.json()
        expires_at = datetime.now(UTC) + timedelta(seconds=token["expires_in"])
        written = self.ssm.put_parameter(
            Name=self.parameter,
            Value=token["access_token"],
            Type="SecureString",
            Overwrite=True,
            Description=f"expires_at={expires_at:%Y-%m-%dT%H:%M:%SZ}",
            Tier="Intelligent-Tiering",
        )
        return int(written["Version"])
