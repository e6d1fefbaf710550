"""Preflight against moto server: the Region from AWS_REGION, an unreachable endpoint, names
over their limits, and which KMS keys the function can use (the secrets' keys, key policies)."""

from __future__ import annotations

import json
import socket
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
    run,
    write_config,
)
from tests.deploy.test_preflight import (
    REPO_ROOT,
    create_key,
    create_secret,
    fresh_credentials,
    line,
)

# --- the Region ------------------------------------------------------------------------


def test_aws_region_alone_is_enough(
    local_aws: LocalAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arn = create_secret()
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)

    code, output = run(capsys, write_config(tmp_path, CredentialsSecretArn=arn))

    assert code == 0, output
    assert output.startswith(
        f"preflight for stack joor-token-refresher-sandbox (default), {REGION}"
    )


def test_without_any_region_it_names_every_way_to_set_one(
    local_aws: LocalAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))

    code, output = run(capsys, write_config(tmp_path))

    assert code == 1
    assert output.strip() == (
        "FAIL  region: no AWS Region: export AWS_REGION (or AWS_DEFAULT_REGION), or set "
        "region in your AWS profile, add region to samconfig.toml [default], or pass --region"
    )


# --- the network -----------------------------------------------------------------------


def test_an_unreachable_endpoint_is_reported_as_the_network_not_the_credentials(
    local_aws: LocalAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)

    code, output = run(capsys, write_config(tmp_path))

    assert code == 1
    failed = line(output, "network")
    assert failed.startswith(f"FAIL  network: cannot reach {closed}")
    assert "EndpointConnectionError" in failed
    assert "sso" not in output


def test_without_credentials_it_says_which_error_botocore_gave_and_how_to_sign_in(
    local_aws: LocalAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code, output = run(capsys, write_config(tmp_path))

    assert code == 1
    assert line(output, "credentials") == (
        "FAIL  credentials: cannot call AWS (NoCredentialsError: Unable to locate credentials): "
        "set AWS_PROFILE, run `aws sso login`, or export credentials, then run again"
    )


# --- names built from the stack name ---------------------------------------------------


def test_a_stack_name_that_makes_a_name_too_long_fails_naming_it_and_the_limit(
    preflight: Preflight,
) -> None:
    template = preflight.tmp_path / "template.yaml"
    template.write_text(
        (REPO_ROOT / "template.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "DisplayName: JOOR token alarms",
            "DisplayName: !Sub ${AWS::StackName} JOOR token alarms",
        ),
        encoding="utf-8",
    )
    stack_name = "j" + "x" * 89
    code, output = preflight(
        "--template-file",
        str(template),
        stack_name=stack_name,
        CredentialsSecretArn=create_secret(),
    )

    assert code == 1
    failed = line(output, "stack name")
    assert failed.startswith("FAIL")
    assert "AlarmTopic DisplayName (108 of 100 characters)" in failed
    assert "Use a stack name of at most 82 characters" in failed


# --- the secrets' keys -----------------------------------------------------------------


def encrypted_secret(key: str, name: str = "joor/sandbox/api-credentials", **tags: str) -> str:
    client = boto3.client("secretsmanager")
    arn = client.create_secret(
        Name=name,
        SecretString=json.dumps(fresh_credentials()),
        KmsKeyId=key,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["ARN"]
    return str(arn)


def test_a_secret_encrypted_with_a_key_the_stack_does_not_grant_fails(preflight: Preflight) -> None:
    used, granted = create_key(), create_key()
    arn = encrypted_secret(used)
    code, output = preflight(CredentialsSecretArn=arn, SecretKmsKeyArn=granted)

    assert code == 1
    failed = line(output, "secret keys")
    assert failed.startswith("FAIL")
    assert f"(SecretKmsKeyArn={granted})" in failed
    assert f"joor/sandbox/api-credentials: {used}" in failed


def test_a_secret_encrypted_with_a_customer_key_and_none_granted_fails(
    preflight: Preflight,
) -> None:
    used = create_key()
    code, output = preflight(CredentialsSecretArn=encrypted_secret(used))

    assert code == 1
    assert "(no SecretKmsKeyArn)" in line(output, "secret keys")


def test_a_secret_encrypted_with_the_granted_key_passes(preflight: Preflight) -> None:
    key = create_key()
    code, output = preflight(CredentialsSecretArn=encrypted_secret(key), SecretKmsKeyArn=key)

    assert code == 0, output
    assert line(output, "secret keys").startswith("ok")


def test_a_fleet_secret_encrypted_with_another_key_fails(preflight: Preflight) -> None:
    granted, other = create_key(), create_key()
    encrypted_secret(
        granted, "joor/fleet/brand-a", **{"joor-token-parameter": "/joor/fleet/brand-a/token"}
    )
    encrypted_secret(
        other, "joor/fleet/brand-b", **{"joor-token-parameter": "/joor/fleet/brand-b/token"}
    )
    code, output = preflight(TokenParameterPath="/joor/fleet", SecretKmsKeyArn=granted)

    assert code == 1
    failed = line(output, "secret keys")
    assert f"joor/fleet/brand-b: {other}" in failed
    assert "brand-a" not in failed


def test_a_named_parameter_outside_the_fleet_s_path_fails(preflight: Preflight) -> None:
    # write_config names PARAMETER_NAME, which lies under /joor/sandbox, not /joor/fleet.
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenParameterPath="/joor/fleet")

    assert code == 1
    failed = line(output, "named parameter")
    assert failed.startswith(
        f"FAIL  named parameter: TokenParameterName {PARAMETER_NAME} is not under"
    )
    assert f"/joor/fleet{PARAMETER_NAME}" in failed


def test_a_named_parameter_under_the_fleet_s_path_passes(preflight: Preflight) -> None:
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenParameterPath="/joor")

    assert code == 0, output
    assert line(output, "named parameter").startswith("ok")


# --- key policies ----------------------------------------------------------------------


def set_policy(key: str, *statements: dict[str, Any], region: str = REGION) -> None:
    boto3.client("kms", region_name=region).put_key_policy(
        KeyId=key.rsplit("/", 1)[1],
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )


def test_a_policy_that_allows_the_account_through_the_service_passes(preflight: Preflight) -> None:
    """The shape of the AWS managed keys' policies: every principal, under conditions the
    function's requests meet."""
    key = create_key()
    set_policy(
        key,
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": ACCOUNT_ID,
                    "kms:ViaService": f"ssm.{REGION}.amazonaws.com",
                },
                "StringLike": {
                    "kms:EncryptionContext:PARAMETER_ARN": "arn:aws:ssm:*:*:parameter/joor/*"
                },
            },
        },
    )
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenKmsKeyArn=key)

    assert code == 0, output
    assert line(output, "TokenKmsKeyArn") == (
        f"ok    TokenKmsKeyArn: {key} is enabled and its policy lets IAM grant its use"
    )


def test_a_policy_whose_condition_the_function_does_not_meet_fails(preflight: Preflight) -> None:
    key = create_key()
    set_policy(
        key,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
            },
        },
    )
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenKmsKeyArn=key)

    assert code == 1
    assert "does not let IAM policies grant kms:Encrypt" in line(output, "TokenKmsKeyArn")


def test_a_condition_preflight_cannot_judge_is_a_warning_naming_it(preflight: Preflight) -> None:
    key = create_key()
    set_policy(
        key,
        {
            "Sid": "OnlyFromTheVpc",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}},
        },
    )
    code, output = preflight(CredentialsSecretArn=create_secret(), SecretKmsKeyArn=key)

    assert code == 0, output
    warned = line(output, "SecretKmsKeyArn")
    assert warned.startswith("warn")
    assert (
        "statement OnlyFromTheVpc: cannot tell whether StringEquals aws:SourceVpce holds" in warned
    )


def test_a_key_policy_in_another_partition_names_that_partition_s_root(
    preflight: Preflight,
) -> None:
    region = "us-gov-west-1"
    key = str(boto3.client("kms", region_name=region).create_key()["KeyMetadata"]["Arn"])
    assert key.startswith("arn:aws-us-gov:kms:")
    set_policy(
        key,
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws-us-gov:iam::{ACCOUNT_ID}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        region=region,
    )
    secret = boto3.client("secretsmanager", region_name=region).create_secret(
        Name="joor/sandbox/api-credentials", SecretString=json.dumps(fresh_credentials())
    )["ARN"]
    code, output = preflight("--region", region, CredentialsSecretArn=secret, TokenKmsKeyArn=key)

    assert code == 0, output
    assert line(output, "TokenKmsKeyArn").startswith("ok")


def test_without_kms_get_key_policy_the_policy_check_is_a_warning_with_the_reason(
    preflight: Preflight,
) -> None:
    key = create_key()
    preflight.aws.proxy.inject(
        AwsFault(
            "TrentService.GetKeyPolicy",
            "AccessDeniedException",
            "not authorized to kms:GetKeyPolicy",
        )
    )
    code, output = preflight(CredentialsSecretArn=create_secret(), TokenKmsKeyArn=key)

    assert code == 0, output
    warned = line(output, "TokenKmsKeyArn")
    assert warned.startswith(
        f"warn  TokenKmsKeyArn: {key} is enabled, but its key policy could not be read"
    )
    assert "AccessDeniedException" in warned
    assert "needs kms:GetKeyPolicy" in warned
