"""`make status` (infra/deploy/status.py, the deployed stack) and `python -m refresher status`
(the function's variables), against moto server: every state, one account and a fleet, from
metadata only, and an exit status a cron job can watch."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from infra.deploy.status import main as make_status
from refresher.adapters import login_record
from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT, format_expiry
from refresher.cli import main as refresher_cli
from refresher.domain.models import LoginRecord
from tests.deploy.conftest import REGION, LocalAws
from tests.deploy.test_preflight import fresh_credentials, write_config
from tests.leakwatch import WATCH

REPO_ROOT = Path(__file__).resolve().parents[2]
PATH = "/joor/fleet"
NAMED = "/joor/sandbox/access-token"
HOUR = 3600
# The defaults: a 3 h window, a 15 min interval, so a 2 h 45 min guarantee.
GUARANTEE = 9900


def parameter(brand: str) -> str:
    return f"{PATH}/{brand}/access-token"


def token(name: str, seconds_left: int) -> str:
    """A token as the function writes it, expiring in ``seconds_left``."""
    value = secrets.token_urlsafe(40)
    WATCH.add_secrets(value)
    expires = datetime.now(UTC) + timedelta(seconds=seconds_left)
    boto3.client("ssm").put_parameter(
        Name=name,
        Value=value,
        Type="SecureString",
        Overwrite=True,
        Description=DESCRIPTION_FORMAT.format(expires_at=format_expiry(expires)),
    )
    return value


def secret(name: str, tag_parameter: str | None = None) -> str:
    tags = [{"Key": "joor-token-parameter", "Value": tag_parameter}] if tag_parameter else []
    created = boto3.client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps(fresh_credentials()), Tags=tags
    )
    return str(created["ARN"])


def reject(arn: str) -> None:
    """JOOR rejected the secret's current version, as the login gate records it."""
    client = boto3.client("secretsmanager")
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(v for v, stages in versions.items() if "AWSCURRENT" in stages)
    record = LoginRecord("rejected", datetime.now(UTC).replace(microsecond=0), current)
    client.tag_resource(
        SecretId=arn, Tags=[{"Key": login_record.TAG, "Value": login_record.encode(record)}]
    )


def fleet(local_aws: LocalAws) -> dict[str, str]:
    """One fleet account in each state: fresh, due, missing, credentials rejected, unclaimed."""
    arns = {brand: secret(f"joor/fleet/{brand}", parameter(brand)) for brand in "abcd"}
    token(parameter("a"), 10 * HOUR)  # fresh
    token(parameter("b"), 2 * HOUR + 50 * 60)  # due, still above the guarantee
    # c: no token yet (missing)
    token(parameter("d"), 9 * HOUR)
    reject(arns["d"])  # credentials rejected
    token(parameter("e"), 5 * HOUR)  # no secret claims it: unclaimed
    return arns


def stack(**parameters: str) -> None:
    """A deployed stack as DescribeStacks shows it: its parameters and its guarantee output."""
    names = (
        "CredentialsSecretArn",
        "TokenParameterName",
        "TokenParameterPath",
        "RefreshWindowSeconds",
        "JoorEnvironment",
    )
    template = {
        "Parameters": {name: {"Type": "String", "Default": ""} for name in names},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"TokenGuaranteeSeconds": {"Value": str(GUARANTEE)}},
    }
    boto3.client("cloudformation").create_stack(
        StackName="joor-token-refresher-sandbox",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )


def status(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    code = make_status(["--config-file", str(config), *args])
    captured = capsys.readouterr()
    WATCH.record("status output", captured.out + captured.err)
    return code, captured.out + captured.err


def row(output: str, name: str) -> list[str]:
    found = [line.split() for line in output.splitlines() if line.startswith(name + " ")]
    assert len(found) == 1, output
    return found[0]


def no_value_read(local_aws: LocalAws) -> None:
    seen = set(local_aws.proxy.seen)
    assert not {
        op for op in seen if "GetSecretValue" in op or "GetParameter" in op or "Decrypt" in op
    }, seen


def test_a_fleet_shows_every_state_with_the_secret_each_comes_from(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet(local_aws)
    stack(TokenParameterPath=PATH, RefreshWindowSeconds="10800")
    local_aws.proxy.reset()

    code, output = status(capsys, write_config(tmp_path))

    assert code == 1, output  # c has no token: less than the guarantee
    assert (
        output.splitlines()[0]
        == f"stack joor-token-refresher-sandbox (default) in {REGION}, CREATE_COMPLETE"
    )
    assert f"guarantee: 2h45m ({GUARANTEE} s; the stack output TokenGuaranteeSeconds)" in output
    assert row(output, parameter("a"))[1:3] == ["1", "9h59m"]
    assert row(output, parameter("a"))[-2:] == ["fresh", "joor/fleet/a"]
    assert row(output, parameter("b"))[-2:] == ["due", "joor/fleet/b"]
    assert row(output, parameter("c"))[1:] == ["-", "none", "-", "missing", "joor/fleet/c"]
    assert row(output, parameter("d"))[-3:] == ["credentials", "rejected", "joor/fleet/d"]
    assert row(output, parameter("e"))[-2:] == ["unclaimed", "-"]
    assert f"{parameter('d')}: JOOR rejected the current version of" in output
    assert f"1 of 4 token(s) have less life left than the guarantee: {parameter('c')}" in output
    assert output.rstrip().endswith(
        "AWS calls: 1 DescribeParameters, 1 ListSecrets (metadata only: no secret value read, "
        "nothing decrypted)"
    )
    no_value_read(local_aws)


def test_a_fleet_whose_tokens_all_have_the_guarantee_exits_0_and_json_says_it_all(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet(local_aws)
    token(parameter("c"), 4 * HOUR)
    stack(TokenParameterPath=PATH)

    code, output = status(capsys, write_config(tmp_path), "--json")

    assert code == 0, output
    report = json.loads(output)
    states = {t["parameter"]: t["state"] for t in report["tokens"]}
    assert states == {
        parameter("a"): "fresh",
        parameter("b"): "due",
        parameter("c"): "fresh",
        parameter("d"): "credentials rejected",
        parameter("e"): "unclaimed",
    }
    assert report["guarantee_seconds"] == GUARANTEE
    assert report["below_guarantee"] == []
    d = next(t for t in report["tokens"] if t["parameter"] == parameter("d"))
    assert d["last_login"]["result"] == "rejected"
    assert d["secret"].startswith(f"arn:aws:secretsmanager:{REGION}:")
    assert d["version"] == 1
    assert 9 * HOUR - 60 < d["seconds_left"] <= 9 * HOUR
    assert d["written_at"].endswith("Z")
    assert report["stack"] == "joor-token-refresher-sandbox"
    assert report["aws_calls"] == {"DescribeParameters": 1, "ListSecrets": 1}


def test_one_account_fresh_then_below_the_guarantee(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = secret("joor/sandbox/api-credentials")
    stack(CredentialsSecretArn=arn, TokenParameterName=NAMED)
    token(NAMED, 10 * HOUR)
    config = write_config(tmp_path)

    fresh_code, fresh = status(capsys, config)
    token(NAMED, 2 * HOUR)
    low_code, low = status(capsys, config)

    assert fresh_code == 0, fresh
    assert row(fresh, NAMED)[1:2] + row(fresh, NAMED)[-2:] == [
        "1",
        "fresh",
        "joor/sandbox/api-credentials",
    ]
    assert "every kept token has at least the guarantee left" in fresh
    assert "AWS calls: 1 DescribeParameters, 1 DescribeSecret" in fresh
    assert low_code == 1
    assert row(low, NAMED)[1:3] + row(low, NAMED)[-2:-1] == ["2", "1h59m", "due"]
    assert f"1 of 1 token(s) have less life left than the guarantee: {NAMED}" in low


def test_one_account_whose_credentials_were_rejected_says_so(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = secret("joor/sandbox/api-credentials")
    reject(arn)
    stack(CredentialsSecretArn=arn, TokenParameterName=NAMED)
    local_aws.proxy.reset()

    code, output = status(capsys, write_config(tmp_path))

    assert code == 1
    assert row(output, NAMED)[-3:] == ["credentials", "rejected", "joor/sandbox/api-credentials"]
    no_value_read(local_aws)


def test_a_stack_that_is_not_deployed_says_what_to_do(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = status(capsys, write_config(tmp_path))

    assert code == 1
    assert output.strip() == (
        f"FAILED: no stack joor-token-refresher-sandbox in {REGION}: deploy it first "
        "(make deploy SAM_CONFIG_ENV=default), or check the region"
    )


# --- python -m refresher status: the function's own variables ------------------------------


def refresher_env(local_aws: LocalAws, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **env,
        "AWS_ENDPOINT_URL": local_aws.proxy.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,  # and no AWS_DEFAULT_REGION
        "PYTHONPATH": str(REPO_ROOT / "functions" / "token_refresher"),
        **variables,
    }


def test_python_m_refresher_status_reads_the_fleet_with_only_aws_region_set(
    local_aws: LocalAws,
) -> None:
    fleet(local_aws)
    env = refresher_env(local_aws, TOKEN_PARAMETER_PATH=PATH)

    result = subprocess.run(
        [sys.executable, "-m", "refresher", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    WATCH.record("refresher status", result.stdout + result.stderr)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["guarantee_from"] == (
        "REFRESH_WINDOW_SECONDS - SCHEDULE_INTERVAL_SECONDS = 10800 - 900"
    )
    assert report["below_guarantee"] == [parameter("c")]
    assert [t["state"] for t in report["tokens"]] == [
        "fresh",
        "due",
        "missing",
        "credentials rejected",
        "unclaimed",
    ]
    assert result.stderr == ""


def test_python_m_refresher_status_with_a_shorter_interval_has_a_larger_guarantee(
    local_aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret("joor/sandbox/api-credentials")
    token(NAMED, 2 * HOUR + 50 * 60)
    for name, value in refresher_env(
        local_aws,
        CREDENTIALS_SECRET_ID="joor/sandbox/api-credentials",
        TOKEN_PARAMETER_NAME=NAMED,
        SCHEDULE_INTERVAL_SECONDS="300",
    ).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)

    code = refresher_cli(["status"])

    output = capsys.readouterr().out
    assert code == 1  # 2 h 50 min left, 2 h 55 min promised
    assert "guarantee: 2h55m (10500 s; REFRESH_WINDOW_SECONDS - SCHEDULE_INTERVAL_SECONDS" in output
    assert row(output, NAMED)[-2:] == ["due", "joor/sandbox/api-credentials"]


def test_python_m_refresher_without_a_region_names_what_works(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    env = refresher_env(
        local_aws,
        CREDENTIALS_SECRET_ID="joor/x",
        TOKEN_PARAMETER_NAME=NAMED,
        AWS_CONFIG_FILE=str(tmp_path / "none"),
    )
    del env["AWS_REGION"]

    for args in (["status"], []):
        result = subprocess.run(
            [sys.executable, "-m", "refresher", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "error (configuration): Invalid configuration: AWS_REGION is not set and no region "
            "is configured: set AWS_REGION (or AWS_DEFAULT_REGION), or region in your AWS profile"
        )
