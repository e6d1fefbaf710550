"""A workload in another AWS account reads the token through the stack's TokenReaderRole, with
credentials that renew themselves, against moto's STS and SSM and the Lambda stand-in.

The documented way (docs/consumers.md, "Workloads in other AWS accounts"): an AWS config
profile with ``role_arn`` and ``credential_source``, and ``TokenReader(session=
boto3.Session(profile_name=...))``. botocore's assume-role provider then holds refreshable
credentials: it calls AssumeRole on first use and again when less than 15 minutes are left
(``RefreshableCredentials`` advisory window; ``CachedCredentialFetcher`` expiry window, both
15 minutes in botocore 1.44), so a reader never signs with expired credentials.

An hour is not waited for. One clock, which the test moves, stands for the time everywhere:
botocore reads it through ``botocore.credentials._local_now`` (the assume-role provider passes
it as the credentials' ``time_fetcher``, and the fetcher's cache calls it), the reader takes it
as its ``clock``, and STS issues by it: moto stamps ``Expiration`` one hour (``DurationSeconds``
3600, the role's ``MaxSessionDuration``) after the real time and has no clock to move, so an
``after-call.sts.AssumeRole`` hook on the session adds the same offset to what moto answered.
moto accepts any signature, expired or not, so what shows the renewal is who signed each
request: a new AssumeRole once the credentials in use have expired, and the reads after it
signed with the new keys.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.local.stack import ACCOUNT_ID, PARAMETER_NAME, LocalStack
from joor_token import JoorBearerAuth, TokenReader

pytestmark = pytest.mark.integration

ROLE_NAME = "joor-token-reader"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
WORKLOAD_KEY_ID = "workload-account-key"  # the reader account's own credentials (Lambda's env)
PROFILE = f"""\
[profile joor-reader]
role_arn = {ROLE_ARN}
credential_source = Environment
role_session_name = orders-service
"""


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def utc(self) -> datetime.datetime:
        from dateutil.tz import tzlocal

        return datetime.datetime.now(tzlocal()) + datetime.timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def issue(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        """STS answered by real time; its answer as it would be at this clock's time."""
        credentials = parsed["Credentials"]
        credentials["Expiration"] += datetime.timedelta(seconds=self.offset)


def role_session(clock: Clock) -> boto3.Session:
    """What the documentation tells a workload in a reader account to use, on the test's clock."""
    session = boto3.Session(profile_name="joor-reader")
    session.events.register("after-call.sts.AssumeRole", clock.issue)
    return session


@pytest.fixture
def reader_account(
    aged_token_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalStack:
    """A stored token, the reader role, and a process of the other account: its own credentials
    in the environment and an AWS config file with the profile above."""
    stack = aged_token_stack
    stack.client("iam").create_role(
        RoleName=ROLE_NAME,
        MaxSessionDuration=3600,  # as the template's TokenReaderRole
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "111122223333"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    config = tmp_path / "aws-config"
    config.write_text(PROFILE)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in stack.consumer_env().items():
        if name != "AWS_SESSION_TOKEN":
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WORKLOAD_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "workload-account-secret-key")
    stack.moto.reset_recording()
    return stack


@dataclass
class RoleReader:
    """A reader of the other account through the role, and the clock it and botocore run on."""

    reader: TokenReader
    clock: Clock


@pytest.fixture
def role_reader(reader_account: LocalStack, monkeypatch: pytest.MonkeyPatch) -> RoleReader:
    import botocore.credentials

    clock = Clock()
    monkeypatch.setattr(botocore.credentials, "_local_now", clock.utc)
    return RoleReader(TokenReader(session=role_session(clock), clock=clock.monotonic), clock)


def signed_calls(stack: LocalStack) -> list[tuple[str, str]]:
    """(operation, access key id that signed it) of each request moto recorded."""
    with urllib.request.urlopen(  # noqa: S310 - the local moto server
        f"{stack.moto.url}/moto-api/recorder/download-recording", timeout=10
    ) as response:
        lines = response.read().decode().splitlines()
    calls = []
    for line in filter(None, lines):
        entry: dict[str, Any] = json.loads(line)
        headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
        key = headers.get("authorization", "").partition("Credential=")[2].partition("/")[0]
        operation = headers.get("x-amz-target")
        if operation is None:
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode(errors="replace")
            operation = next(
                (p.split("=", 1)[1] for p in body.split("&") if p.startswith("Action=")), "?"
            )
        calls.append((operation, key))
    return calls


def test_a_reader_in_another_account_keeps_reading_after_its_first_role_credentials_expire(
    reader_account: LocalStack, role_reader: RoleReader
) -> None:
    stack, reader, clock = reader_account, role_reader.reader, role_reader.clock

    tokens = [reader.token()]
    for _ in range(2):
        clock.offset += 61 * 60  # past the hour of the credentials in use, and the cache
        tokens.append(reader.token())

    calls = signed_calls(stack)
    assert [operation for operation, _ in calls] == [
        "AssumeRole",
        "AmazonSSM.GetParameter",
    ] * 3
    assumed_with = {key for operation, key in calls if operation == "AssumeRole"}
    read_with = [key for operation, key in calls if operation != "AssumeRole"]
    assert assumed_with == {WORKLOAD_KEY_ID}  # the workload's own credentials assume the role
    assert all(key.startswith("ASIA") for key in read_with)
    assert len(set(read_with)) == 3  # each read after an expiry used renewed credentials
    assert len(set(tokens)) == 1


def test_a_reader_in_another_account_renews_the_token_through_the_role(
    reader_account: LocalStack, role_reader: RoleReader
) -> None:
    stack, reader, clock = reader_account, role_reader.reader, role_reader.clock
    revoked = reader.token()
    clock.offset += 61 * 60
    stack.joor.revoke_all()
    before = stack.joor.logins

    response = requests.get(stack.joor.api_url, auth=JoorBearerAuth(reader), timeout=30)

    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert stack.joor.logins - before == 1
    assert reader.token() != revoked
    assert stack.lambda_.events[-1] == {
        "force": True,
        "seen_version": 1,
        "parameter": PARAMETER_NAME,
    }
    # The role was assumed again once the first credentials had expired.
    assert [op for op, _ in signed_calls(stack)].count("AssumeRole") == 2
