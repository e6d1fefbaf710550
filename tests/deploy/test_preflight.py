"""`make preflight` against moto server: every check passes on a ready account, and each fails alone."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.aws_fault_proxy import AwsFault
from tests.deploy.conftest import (
    ACCOUNT_ID,
    PARAMETER_NAME,
    REGION,
    LocalAws,
    Preflight,
    account_settings,
    put_token,
    write_config,
)
from tests.leakwatch import WATCH

REPO_ROOT = Path(__file__).resolve().parents[2]


def fresh_credentials() -> dict[str, str]:
    """Made-up credentials, registered with the session's leak scan."""
    values = {
        "client_id": f"client-{secrets.token_hex(8)}",
        "client_secret": secrets.token_urlsafe(32),
        "username": f"user-{secrets.token_hex(4)}@example.com",
        "password": secrets.token_urlsafe(18),
    }
    WATCH.add_secrets(*values.values())
    return values


def create_secret(value: Any = None, name: str = "joor/sandbox/api-credentials") -> str:
    text = value if isinstance(value, str) else json.dumps(value or fresh_credentials())
    return str(boto3.client("secretsmanager").create_secret(Name=name, SecretString=text)["ARN"])


def create_key() -> str:
    return str(boto3.client("kms").create_key(Description="joor token")["KeyMetadata"]["Arn"])


def line(output: str, check: str) -> str:
    found = [text for text in output.splitlines() if text[6:].startswith(f"{check}:")]
    assert len(found) == 1, f"no single line for {check!r} in:\n{output}"
    return found[0]


# --- everything ready --------------------------------------------------------------------


def test_a_ready_account_passes_every_check(preflight: Preflight) -> None:
    code, output = preflight(
        CredentialsSecretArn=create_secret(),
        TokenKmsKeyArn=create_key(),
        SecretKmsKeyArn=create_key(),
    )

    assert code == 0, output
    for check in (
        "credentials",
        "stack name",
        "stack",
        "region",
        "concurrency",
        "secret",
        "token parameter",
        "secret keys",
        "TokenKmsKeyArn",
        "SecretKmsKeyArn",
    ):
        assert line(output, check).startswith("ok  "), check
    assert output.rstrip().endswith("10 ok, 0 failed")


def test_the_module_runs_as_a_command_and_exits_non_zero_on_a_failure(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    config = write_config(tmp_path)  # no CredentialsSecretArn yet

    result = subprocess.run(
        [sys.executable, "-m", "infra.deploy.preflight", "--config-file", str(config)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": "functions/token_refresher"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert line(result.stdout, "secret").startswith("FAIL")
    assert "CredentialsSecretArn is not set" in result.stdout


# --- one failing check at a time ---------------------------------------------------------


def test_an_account_too_small_for_the_reservation_fails_and_says_to_turn_it_off(
    preflight: Preflight,
) -> None:
    preflight.aws.proxy.reset()
    preflight.aws.proxy.inject(account_settings(total=10, unreserved=10))
    code, output = preflight(CredentialsSecretArn=create_secret())

    assert code == 1
    failed = line(output, "concurrency")
    assert failed.startswith("FAIL")
    assert "10 concurrent executions, 10 unreserved" in failed
    assert 'ReserveConcurrency="false"' in failed
    assert output.rstrip().endswith("7 ok, 1 failed")


def test_an_account_with_exactly_100_unreserved_cannot_give_one_more(preflight: Preflight) -> None:
    preflight.aws.proxy.reset()
    preflight.aws.proxy.inject(account_settings(total=1000, unreserved=100))
    _, output = preflight(CredentialsSecretArn=create_secret())

    assert line(output, "concurrency").startswith("FAIL")


def test_with_the_reservation_off_a_small_account_passes(preflight: Preflight) -> None:
    preflight.aws.proxy.reset()
    preflight.aws.proxy.inject(account_settings(total=10, unreserved=10))
    code, output = preflight(CredentialsSecretArn=create_secret(), ReserveConcurrency="false")

    assert code == 0, output
    assert "ReserveConcurrency=false" in line(output, "concurrency")


def test_a_secret_that_does_not_exist_fails(preflight: Preflight) -> None:
    missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:joor/nothing-AbCdEf"
    code, output = preflight(CredentialsSecretArn=missing)

    assert code == 1
    assert line(output, "secret").startswith(f"FAIL  secret: no secret at {missing}")
    assert output.rstrip().endswith("6 ok, 1 failed")


def test_a_secret_arn_without_its_suffix_fails(preflight: Preflight) -> None:
    partial = create_secret().rsplit("-", 1)[0]
    code, output = preflight(CredentialsSecretArn=partial)

    assert code == 1
    assert "is not a full secret ARN" in line(output, "secret")


def test_a_secret_the_caller_cannot_read_fails(preflight: Preflight) -> None:
    arn = create_secret()
    preflight.aws.proxy.inject(
        AwsFault("secretsmanager.GetSecretValue", "AccessDeniedException", "not authorized")
    )
    code, output = preflight(CredentialsSecretArn=arn)

    assert code == 1
    assert f"your credentials cannot read {arn}" in line(output, "secret")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json at all", "is not valid JSON"),
        (["a", "list"], "is JSON but not an object"),
        ("drop:password,client_secret", "is missing keys: client_secret, password"),
        ("blank:password", "empty or non-string values for keys: password"),
        ("number:client_id", "empty or non-string values for keys: client_id"),
    ],
    ids=["not-json", "not-an-object", "missing-keys", "empty-value", "non-string-value"],
)
def test_a_malformed_secret_fails_naming_keys_never_values(
    preflight: Preflight, content: Any, expected: str
) -> None:
    values: dict[str, Any] = fresh_credentials()
    if isinstance(content, str) and content.startswith("drop:"):
        for key in content.removeprefix("drop:").split(","):
            del values[key]
        content = values
    elif isinstance(content, str) and content.startswith("blank:"):
        values[content.removeprefix("blank:")] = "   "
        content = values
    elif isinstance(content, str) and content.startswith("number:"):
        values[content.removeprefix("number:")] = 12345
        content = values
    code, output = preflight(CredentialsSecretArn=create_secret(content))

    assert code == 1
    assert expected in line(output, "secret")
    for value in (v for v in values.values() if isinstance(v, str) and v.strip()):
        assert value not in output


def test_a_parameter_this_tool_did_not_write_fails(preflight: Preflight) -> None:
    boto3.client("ssm").put_parameter(Name=PARAMETER_NAME, Value="something else", Type="String")
    code, output = preflight(CredentialsSecretArn=create_secret())

    assert code == 1
    failed = line(output, "token parameter")
    assert failed.startswith(f"FAIL  token parameter: {PARAMETER_NAME} exists (String)")
    assert "choose another TokenParameterName" in failed


def test_a_parameter_this_tool_wrote_passes(preflight: Preflight) -> None:
    token = put_token(PARAMETER_NAME)
    code, output = preflight(CredentialsSecretArn=create_secret())

    assert code == 0, output
    assert "already holds a token this tool wrote" in line(output, "token parameter")
    assert token not in output


def test_a_secure_string_without_this_tool_s_mark_fails(preflight: Preflight) -> None:
    boto3.client("ssm").put_parameter(
        Name=PARAMETER_NAME, Value="someone's", Type="SecureString", Description="database"
    )
    _, output = preflight(CredentialsSecretArn=create_secret())

    assert line(output, "token parameter").startswith("FAIL")


def test_a_disabled_key_fails(preflight: Preflight) -> None:
    key = create_key()
    boto3.client("kms").disable_key(KeyId=key.rsplit("/", 1)[1])  # moto: id, not ARN
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenKmsKeyArn=key)

    assert code == 1
    assert (
        line(output, "TokenKmsKeyArn")
        == f"FAIL  TokenKmsKeyArn: {key} is Disabled: enable it (or cancel its deletion)"
    )


def test_a_key_pending_deletion_fails(preflight: Preflight) -> None:
    key = create_key()
    boto3.client("kms").schedule_key_deletion(KeyId=key.rsplit("/", 1)[1], PendingWindowInDays=7)
    code, output = preflight(CredentialsSecretArn=create_secret(), SecretKmsKeyArn=key)

    assert code == 1
    assert "is PendingDeletion" in line(output, "SecretKmsKeyArn")


def test_a_key_that_does_not_exist_fails(preflight: Preflight) -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenKmsKeyArn=key)

    assert code == 1
    assert line(output, "TokenKmsKeyArn").startswith(f"FAIL  TokenKmsKeyArn: no KMS key {key}")


def test_a_key_whose_policy_does_not_enable_iam_policies_fails(preflight: Preflight) -> None:
    key = create_key()
    # Only one administrator role may use the key: IAM policies elsewhere grant nothing.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeyAdministrators",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/key-admin"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    boto3.client("kms").put_key_policy(
        KeyId=key.rsplit("/", 1)[1], PolicyName="default", Policy=json.dumps(policy)
    )
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenKmsKeyArn=key)

    assert code == 1
    failed = line(output, "TokenKmsKeyArn")
    assert "does not let IAM policies grant kms:Encrypt, kms:GenerateDataKey, kms:Decrypt" in failed
    assert f"arn:aws:iam::{ACCOUNT_ID}:root" in failed


def test_a_key_in_another_region_fails(preflight: Preflight) -> None:
    elsewhere = str(boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"])
    code, output = preflight(CredentialsSecretArn=create_secret(), SecretKmsKeyArn=elsewhere)

    assert code == 1
    assert f"is in us-east-1, not {REGION}" in line(output, "SecretKmsKeyArn")


@pytest.mark.parametrize(
    "stack_name",
    ["j" + "x" * 128, "joor_token_refresher", "1-joor"],
    ids=["129-chars", "underscore", "digit-first"],
)
def test_a_stack_name_cloudformation_refuses_fails(preflight: Preflight, stack_name: str) -> None:
    code, output = preflight(stack_name=stack_name, CredentialsSecretArn=create_secret())

    assert code == 1
    assert line(output, "stack name").startswith("FAIL")


def test_a_128_character_stack_name_passes(preflight: Preflight) -> None:
    code, output = preflight(stack_name="j" + "x" * 127, CredentialsSecretArn=create_secret())

    assert code == 0, output
    assert "(128 of 128 characters)" in line(output, "stack name")


def test_deploying_to_a_region_other_than_the_secret_s_fails(preflight: Preflight) -> None:
    code, output = preflight("--region", "us-east-1", CredentialsSecretArn=create_secret())

    assert code == 1
    failed = line(output, "region")
    assert failed.startswith(
        f"FAIL  region: deploying to us-east-1 but the secret lives in {REGION}"
    )
