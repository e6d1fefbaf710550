"""`make status` and `python -m refresher status` against moto server: one line per token with
its life, its writing time and its state, from metadata only, and an exit status that says
whether every token kept has the guarantee left."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.deploy import status as make_status
from refresher.adapters import login_record
from refresher.cli import main as refresher_main
from refresher.domain.models import LoginRecord
from tests.deploy.conftest import LocalAws, function_stack, put_token, samconfig
from tests.deploy.test_preflight import create_secret
from tests.leakwatch import WATCH

PARAMETER = "/joor/sandbox/access-token"
SECRET = "joor/sandbox/api-credentials"
# The defaults: a 3 h window and a 15 min interval promise 2 h 45 min.
GUARANTEE = timedelta(hours=2, minutes=45)
# What status may call: metadata only.
METADATA_ONLY = {
    "AmazonSSM.DescribeParameters",
    "secretsmanager.DescribeSecret",
    "secretsmanager.ListSecrets",
}


def reject_current_version(secret: str) -> None:
    client = boto3.client("secretsmanager")
    stages = client.describe_secret(SecretId=secret)["VersionIdsToStages"]
    current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
    value = login_record.encode(LoginRecord("rejected", datetime.now(UTC), current))
    client.tag_resource(SecretId=secret, Tags=[{"Key": login_record.TAG, "Value": value}])


def tagged_secret(name: str, parameter: str) -> str:
    arn = create_secret(name=name)
    boto3.client("secretsmanager").tag_resource(
        SecretId=arn, Tags=[{"Key": "joor-token-parameter", "Value": parameter}]
    )
    return arn


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = refresher_main(["status", *args])
    captured = capsys.readouterr()
    WATCH.record("status output", captured.out + captured.err)
    return code, captured.out + captured.err


def row(output: str, parameter: str) -> str:
    (found,) = [line for line in output.splitlines() if line.startswith(parameter + " ")]
    return found


@pytest.fixture
def named(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = create_secret(name=SECRET)
    monkeypatch.setenv("CREDENTIALS_SECRET_ID", arn)
    monkeypatch.setenv("TOKEN_PARAMETER_NAME", PARAMETER)
    monkeypatch.delenv("TOKEN_PARAMETER_PATH", raising=False)
    return arn


def test_a_fresh_token_shows_its_life_version_and_secret_and_exits_0(
    local_aws: LocalAws, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    put_token(PARAMETER, timedelta(hours=9, minutes=30))

    code, output = status(capsys)

    assert code == 0, output
    assert output.splitlines()[0] == (
        f"JOOR tokens of {PARAMETER}: guarantee 2 h 45 min (refresh window 3 h 00 min minus "
        "the schedule interval)"
    )
    line = row(output, PARAMETER)
    assert line.split()[1:5] == ["1", "9", "h", "29"]  # version, then 9 h 29 min left
    assert " fresh " in line
    assert line.endswith(f" {SECRET}")  # the name, not the ARN
    assert output.rstrip().endswith("no value read, nothing decrypted")
    assert "1 token(s) kept, 0 below the guarantee" in output


def test_it_reads_metadata_only(
    local_aws: LocalAws, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    put_token(PARAMETER, timedelta(hours=9))
    local_aws.proxy.reset()

    status(capsys)

    assert set(local_aws.proxy.seen) <= METADATA_ONLY
    assert local_aws.proxy.seen["AmazonSSM.DescribeParameters"] == 1


@pytest.mark.parametrize(
    ("left", "state", "code"),
    [
        (timedelta(hours=2, minutes=50), "due", 0),
        (timedelta(hours=1), "due (below the guarantee)", 1),
        (timedelta(minutes=-5), "due (below the guarantee)", 1),
    ],
    ids=["due-within-the-guarantee", "below-the-guarantee", "expired"],
)
@pytest.mark.usefixtures("local_aws")
def test_a_token_under_the_window_is_due_and_under_the_guarantee_fails(
    named: str,
    capsys: pytest.CaptureFixture[str],
    left: timedelta,
    state: str,
    code: int,
) -> None:
    put_token(PARAMETER, left)

    exit_code, output = status(capsys)

    assert exit_code == code, output
    assert f" {state} " in row(output, PARAMETER)


def test_a_missing_token_fails(
    local_aws: LocalAws, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = status(capsys)

    assert code == 1
    line = row(output, PARAMETER)
    assert " missing (below the guarantee) " in line
    assert line.split()[1:3] == ["-", "-"]


def test_credentials_joor_rejected_are_named_whatever_life_the_token_has(
    local_aws: LocalAws, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    put_token(PARAMETER, timedelta(hours=9))
    reject_current_version(named)

    code, output = status(capsys, "--json")

    assert code == 0, output
    (token,) = json.loads(output)["tokens"]
    assert token["state"] == "credentials rejected"
    assert token["secret"] == named
    assert token["below_guarantee"] is False


def test_a_fleet_lists_claimed_missing_and_unclaimed_tokens_and_refusals(
    local_aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_SECRET_ID", raising=False)
    monkeypatch.delenv("TOKEN_PARAMETER_NAME", raising=False)
    monkeypatch.setenv("TOKEN_PARAMETER_PATH", "/joor/fleet")
    brand_a = tagged_secret("joor/fleet/brand-a", "/joor/fleet/brand-a/token")
    brand_b = tagged_secret("joor/fleet/brand-b", "/joor/fleet/brand-b/token")
    tagged_secret("joor/fleet/broken", "not a parameter name")
    put_token("/joor/fleet/brand-a/token", timedelta(hours=8))
    put_token("/joor/fleet/gone/token", timedelta(hours=1))
    local_aws.proxy.reset()

    code, output = status(capsys, "--json")

    assert code == 1  # brand-b has no token yet
    report: dict[str, Any] = json.loads(output)
    states = {t["parameter"]: (t["state"], t["secret"]) for t in report["tokens"]}
    assert states == {
        "/joor/fleet/brand-a/token": ("fresh", brand_a),
        "/joor/fleet/brand-b/token": ("missing", brand_b),
        "/joor/fleet/gone/token": ("unclaimed", None),
    }
    assert report["below_guarantee"] == ["/joor/fleet/brand-b/token"]
    assert [r.split(":")[0] for r in report["refused_secrets"]] == ["joor/fleet/broken"]
    assert report["guarantee_seconds"] == GUARANTEE.total_seconds()
    assert report["aws_calls"] == {"DescribeParameters": 1, "ListSecrets": 1}
    assert set(local_aws.proxy.seen) <= METADATA_ONLY


# --- make status: the deployed stack's own settings ---------------------------------------


def deployed_stack(tmp_path: Path, variables: dict[str, str]) -> Path:
    """A function in moto with the stack's environment, a stack naming it, a samconfig.toml."""
    role = boto3.client("iam").create_role(
        RoleName=f"refresher-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    function = boto3.client("lambda").create_function(
        FunctionName=f"joor-token-refresher-{uuid.uuid4().hex[:8]}",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": variables},
    )["FunctionName"]
    stack_name = f"joor-token-refresher-{uuid.uuid4().hex[:8]}"
    function_stack(stack_name, function)
    return samconfig(tmp_path, stack_name)


def test_make_status_reads_the_deployed_function_s_settings(
    local_aws: LocalAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("CREDENTIALS_SECRET_ID", "TOKEN_PARAMETER_NAME", "TOKEN_PARAMETER_PATH"):
        monkeypatch.delenv(name, raising=False)
    arn = create_secret(name=SECRET)
    put_token(PARAMETER, timedelta(minutes=90))
    config = deployed_stack(
        tmp_path,
        {
            "CREDENTIALS_SECRET_ID": arn,
            "TOKEN_PARAMETER_NAME": PARAMETER,
            "REFRESH_WINDOW_SECONDS": "7200",
            "SCHEDULE_INTERVAL_SECONDS": "3600",
        },
    )

    code = make_status.main(["--config-file", str(config)])

    output = capsys.readouterr().out
    WATCH.record("make status output", output)
    assert code == 0, output  # 1 h 30 min left: more than this stack's guarantee of 1 h
    assert "guarantee 1 h 00 min (refresh window 2 h 00 min" in output
    assert " due " in row(output, PARAMETER)


def test_make_status_without_a_stack_exits_2_saying_so(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = make_status.main(["--config-file", str(samconfig(tmp_path, "nowhere"))])

    assert code == 2
    assert "stack nowhere not found" in capsys.readouterr().err
