"""`make preflight` for a fleet (TokenParameterPath, no CredentialsSecretArn), against moto
server: the tagged secrets replace the one secret, and each problem fails its own check."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from infra.local.aws_fault_proxy import AwsFault
from tests.deploy.conftest import Preflight, put_token
from tests.deploy.test_preflight import fresh_credentials, line
from tests.leakwatch import WATCH

PATH = "/joor/fleet"
CHECKS = (
    "credentials",
    "stack name",
    "stack",
    "region",
    "concurrency",
    "fleet secrets",
    "fleet secret values",
    "token path",
    "secret keys",
)


def parameter(brand: str) -> str:
    return f"{PATH}/{brand}/access-token"


def tagged_secret(
    brand: str, tags: dict[str, str] | None = None, value: Any = None, name: str | None = None
) -> str:
    """A secret holding made-up credentials (or ``value``), tagged for its brand's parameter."""
    tags = {"joor-token-parameter": parameter(brand)} if tags is None else tags
    text = value if isinstance(value, str) else json.dumps(value or fresh_credentials())
    created = boto3.client("secretsmanager").create_secret(
        Name=name or f"joor/fleet/{brand}",
        SecretString=text,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(created["ARN"])


def test_a_ready_fleet_passes_every_check_without_a_named_secret(preflight: Preflight) -> None:
    for brand in ("brand-a", "brand-b"):
        tagged_secret(brand)
    tagged_secret(
        "brand-c", {"joor-token-parameter": parameter("brand-c"), "joor-environment": "production"}
    )
    put_token(parameter("brand-a"))

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 0, output
    for check in CHECKS:
        assert line(output, check).startswith("ok  "), check
    assert "3 secret(s) claim a parameter under /joor/fleet/" in line(output, "fleet secrets")
    assert "all 3 are readable" in line(output, "fleet secret values")
    assert "holds 1 token(s) this tool wrote" in line(output, "token path")
    assert "secret:" not in output.replace("fleet secret", "")  # no named-secret check
    assert output.rstrip().endswith(f"{len(CHECKS)} ok, 0 failed")


def test_a_fleet_with_no_tagged_secret_yet_is_a_warning_not_a_failure(preflight: Preflight) -> None:
    code, output = preflight(TokenParameterPath=PATH)

    assert code == 0, output
    warned = line(output, "fleet secrets")
    assert warned.startswith("warn  fleet secrets: no secret is tagged joor-token-parameter")
    assert "is empty" in line(output, "token path")
    assert output.rstrip().endswith("7 ok, 0 failed, 1 to look at")


def test_a_secret_claiming_a_parameter_another_secret_claims_fails_and_the_older_keeps_it(
    preflight: Preflight,
) -> None:
    tagged_secret("brand-a")
    time.sleep(1.1)  # Secrets Manager (and moto) date secrets to the second
    tagged_secret("brand-a", name="joor/fleet/brand-a-copy")

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 1
    failed = line(output, "fleet refusals")
    assert failed.startswith("FAIL  fleet refusals: 1 tagged secret(s) would get no token: ")
    assert "joor/fleet/brand-a-copy: its tag joor-token-parameter names" in failed
    assert "already claims" in failed
    assert "1 secret(s) claim" in line(output, "fleet secrets")


def test_a_secret_with_a_bad_joor_environment_fails(preflight: Preflight) -> None:
    tagged_secret(
        "brand-a", {"joor-token-parameter": parameter("brand-a"), "joor-environment": "staging"}
    )

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 1
    failed = line(output, "fleet refusals")
    assert (
        "joor/fleet/brand-a: its tag joor-environment must be 'sandbox' or 'production'" in failed
    )
    assert line(output, "fleet secrets").startswith("warn")


def test_a_secret_tagged_outside_the_path_is_a_warning_naming_it(preflight: Preflight) -> None:
    tagged_secret("brand-a")
    tagged_secret(
        "brand-z", {"joor-token-parameter": "/joor/production-fleet/brand-z/access-token"}
    )

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 0, output
    warned = line(output, "fleet other paths")
    assert warned.startswith("warn  fleet other paths: 1 secret(s) tagged joor-token-parameter")
    assert "joor/fleet/brand-z" in warned
    assert "fleet refusals" not in output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json at all", "Secret 'joor/fleet/brand-b' is not valid JSON"),
        ("drop:password", "Secret 'joor/fleet/brand-b' is missing keys: password"),
    ],
    ids=["not-json", "missing-key"],
)
def test_a_claimed_secret_the_function_could_not_use_fails_naming_keys_never_values(
    preflight: Preflight, content: str, expected: str
) -> None:
    tagged_secret("brand-a")
    values = fresh_credentials()
    if content.startswith("drop:"):
        del values[content.removeprefix("drop:")]
        tagged_secret("brand-b", value=values)
    else:
        WATCH.add_secrets(content)
        tagged_secret("brand-b", value=content)

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 1
    failed = line(output, "fleet secret values")
    assert failed.startswith("FAIL  fleet secret values: 1 of 2 cannot be used: ")
    assert expected in failed
    for value in values.values():
        assert value not in output


def test_a_claimed_secret_the_caller_cannot_read_fails(preflight: Preflight) -> None:
    tagged_secret("brand-a")
    preflight.aws.proxy.inject(
        AwsFault("secretsmanager.GetSecretValue", "AccessDeniedException", "not authorized")
    )

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 1
    assert "your credentials cannot read joor/fleet/brand-a" in line(output, "fleet secret values")


def test_credentials_that_cannot_list_the_secrets_fail(preflight: Preflight) -> None:
    preflight.aws.proxy.inject(
        AwsFault("secretsmanager.ListSecrets", "AccessDeniedException", "not authorized")
    )

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 1
    failed = line(output, "fleet secrets")
    assert failed.startswith("FAIL  fleet secrets: Could not list the secrets tagged")
    assert "secretsmanager:ListSecrets" in failed


def test_a_secure_string_under_the_path_this_tool_did_not_write_fails(preflight: Preflight) -> None:
    tagged_secret("brand-a")
    put_token(parameter("brand-a"))
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=f"{PATH}/db/password", Value="someone's", Type="SecureString")
    ssm.put_parameter(Name=f"{PATH}/notes", Value="plain text", Type="String")

    code, output = preflight(TokenParameterPath=PATH)

    assert code == 1
    failed = line(output, "token path")
    assert failed.startswith(
        "FAIL  token path: /joor/fleet/ holds SecureString parameters this tool did not write: "
        "/joor/fleet/db/password."
    )
    assert "TokenReaderPolicy" in failed


def test_a_named_account_beside_a_fleet_gets_both_checks_and_keeps_its_parameter(
    preflight: Preflight,
) -> None:
    named = parameter("named")
    arn = boto3.client("secretsmanager").create_secret(
        Name="joor/sandbox/api-credentials", SecretString=json.dumps(fresh_credentials())
    )["ARN"]
    tagged_secret("brand-a")
    tagged_secret("brand-b", {"joor-token-parameter": named})
    code, output = preflight(
        TokenParameterPath=PATH, CredentialsSecretArn=arn, TokenParameterName=named
    )

    assert code == 1
    for check in ("secret", "token parameter", "fleet secrets", "token path"):
        assert line(output, check)
    assert line(output, "secret").startswith("ok  ")
    assert "1 secret(s) claim" in line(output, "fleet secrets")
    refused = line(output, "fleet refusals")
    assert "joor/fleet/brand-b" in refused
    assert arn in refused  # the named account's secret keeps the parameter
