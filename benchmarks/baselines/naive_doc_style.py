"""A straightforward refresher, written the way JOOR's documentation sample and the boto3
docs suggest: module-level clients, ``requests`` with ``files=``, ``print`` for logs.

Kept only as a point of comparison for ``make bench``; it is not used by the function.
Like the refresher, it keeps the expiry in the parameter's Description and checks it with
DescribeParameters, so a fresh run makes the same single AWS call. (The sample's
``g-recaptcha-response`` field is left out: the local auth server, like Keycloak, refuses
fields the documentation does not list.)
"""

import json
import os
import re
from datetime import UTC, datetime, timedelta

import boto3
import requests

ssm = boto3.client("ssm")
secrets = boto3.client("secretsmanager")

AUTH_URL = os.environ.get("JOOR_AUTH_URL", "https://atlas-sandbox.jooraccess.com/auth/")
SECRET_ID = os.environ["CREDENTIALS_SECRET_ID"]
PARAMETER_NAME = os.environ["TOKEN_PARAMETER_NAME"]
WINDOW = timedelta(seconds=int(os.environ.get("REFRESH_WINDOW_SECONDS", "10800")))


def stored_expiry() -> datetime | None:
    response = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [PARAMETER_NAME]}]
    )
    for parameter in response["Parameters"]:
        match = re.search(r"expires_at=(\S+Z)", parameter.get("Description", ""))
        if match:
            return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return None


def authenticate(creds: dict[str, str]) -> dict[str, object]:
    request = requests.Request(
        "POST",
        AUTH_URL,
        files={
            "client_id": (None, creds["client_id"]),
            "grant_type": (None, "password"),
            "client_secret": (None, creds["client_secret"]),
            "username": (None, creds["username"]),
            "password": (None, creds["password"]),
        },
    ).prepare()
    response = requests.Session().send(request, timeout=10)
    response.raise_for_status()
    data: dict[str, object] = response.json()
    return data


def lambda_handler(event: dict[str, object] | None, context: object) -> dict[str, object]:
    now = datetime.now(UTC)
    expires_at = stored_expiry()
    force = bool((event or {}).get("force"))
    if not force and expires_at is not None and expires_at - now > WINDOW:
        print(json.dumps({"message": "token fresh", "expires_at": expires_at.isoformat()}))
        return {"result": "skipped"}
    creds = json.loads(secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    token = authenticate(creds)
    expires_at = now + timedelta(seconds=float(str(token["expires_in"])))
    ssm.put_parameter(
        Name=PARAMETER_NAME,
        Value=str(token["access_token"]),
        Type="SecureString",
        Overwrite=True,
        Description=f"expires_at={expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
    )
    print(json.dumps({"message": "token refreshed", "expires_at": expires_at.isoformat()}))
    return {"result": "refreshed"}
