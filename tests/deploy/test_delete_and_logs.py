"""`make delete` (infra/deploy/delete.py) and `make logs` (infra/deploy/logs.py), against moto
server with a stand-in `sam` on PATH: the confirmation lists everything that will go, nothing
goes without it, and the SAM CLI is given the region however it was set."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import boto3
import pytest

from infra.deploy.delete import main as delete
from infra.deploy.logs import main as logs
from tests.deploy.conftest import REGION, FakeSam, LocalAws
from tests.deploy.test_preflight import write_config
from tests.deploy.test_status import NAMED, PATH, parameter, secret, stack, token
from tests.leakwatch import WATCH

STACK = "joor-token-refresher-sandbox"
LAYER = f"{STACK}-joor-token"


def layer_versions(count: int) -> None:
    content = io.BytesIO()
    with zipfile.ZipFile(content, "w") as archive:
        archive.writestr("python/joor_token/__init__.py", "")
    for _ in range(count):
        boto3.client("lambda").publish_layer_version(
            LayerName=LAYER, Content={"ZipFile": content.getvalue()}
        )


def remaining_layer_versions() -> list[int]:
    found = boto3.client("lambda").list_layer_versions(LayerName=LAYER)["LayerVersions"]
    return sorted(int(v["Version"]) for v in found)


def parameters() -> list[str]:
    pages = boto3.client("ssm").get_paginator("describe_parameters").paginate()
    return sorted(p["Name"] for page in pages for p in page["Parameters"])


def stack_exists() -> bool:
    try:
        found = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    except boto3.client("cloudformation").exceptions.ClientError:
        return False
    return bool(found) and found[0]["StackStatus"] != "DELETE_COMPLETE"


def run_delete(
    capsys: pytest.CaptureFixture[str], config: Path, answer: str | None, *args: str
) -> tuple[int, str]:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        if answer is None:
            raise EOFError  # no terminal: nobody to answer
        return answer

    code = delete(["--config-file", str(config), "--sam", "sam", *args], ask=ask)
    captured = capsys.readouterr()
    output = captured.out + captured.err + "".join(asked)
    WATCH.record("delete output", output)
    return code, output


@pytest.fixture
def a_fleet(local_aws: LocalAws) -> None:
    for brand in "ab":
        secret(f"joor/fleet/{brand}", parameter(brand))
        token(parameter(brand), 36000)
    token(parameter("gone"), 20000)  # unclaimed: written by the function, no secret now
    boto3.client("ssm").put_parameter(Name=f"{PATH}/notes", Value="someone's", Type="String")
    token("/joor/other-stack/access-token", 36000)  # outside the path: not this stack's
    stack(TokenParameterPath=PATH)
    layer_versions(2)


def test_the_confirmation_lists_the_fleet_s_parameters_and_the_layer_versions_then_all_go(
    a_fleet: None,
    fake_sam: FakeSam,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    code, output = run_delete(capfd, write_config(tmp_path), "y")

    assert code == 0, output
    listed = output.split("Delete all of this?")[0]
    assert f"1. delete the stack {STACK} (sam delete)" in listed
    assert "2. delete 3 token parameter(s) the function wrote:" in listed
    for brand in ("a", "b", "gone"):
        assert f"       {parameter(brand)}\n" in listed
    assert f"3. delete the retained layer {LAYER}, versions 1, 2" in listed
    assert (
        f"leaves 1 parameter(s) under the path that the function did not write: {PATH}/notes"
        in listed
    )
    assert "/joor/other-stack" not in listed
    assert fake_sam.calls() == [
        ["delete", "--stack-name", STACK, "--region", REGION, "--no-prompts"]
    ]
    assert not stack_exists()
    assert parameters() == [f"{PATH}/notes", "/joor/other-stack/access-token"]
    assert remaining_layer_versions() == []


@pytest.mark.parametrize("answer", ["n", "", None], ids=["no", "enter", "no-terminal"])
def test_without_a_yes_nothing_is_deleted(
    a_fleet: None,
    fake_sam: FakeSam,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    answer: str | None,
) -> None:
    before = parameters()

    code, output = run_delete(capfd, write_config(tmp_path), answer)

    assert code == 1
    assert "Not confirmed: nothing was deleted (YES=1 deletes without asking)." in output
    assert fake_sam.calls() == []
    assert stack_exists()
    assert parameters() == before
    assert remaining_layer_versions() == [1, 2]


def test_yes_deletes_without_asking(
    a_fleet: None, fake_sam: FakeSam, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, output = run_delete(capfd, write_config(tmp_path), None, "--yes")

    assert code == 0, output
    assert "Delete all of this?" not in output
    assert not stack_exists()


def test_one_account_s_parameter_goes_and_nothing_else(
    local_aws: LocalAws, fake_sam: FakeSam, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    arn = secret("joor/sandbox/api-credentials")
    token(NAMED, 36000)
    token("/joor/production/access-token", 36000)
    stack(CredentialsSecretArn=arn, TokenParameterName=NAMED)

    code, output = run_delete(capfd, write_config(tmp_path), "y")

    assert code == 0, output
    assert f"2. delete 1 token parameter(s) the function wrote:\n       {NAMED}" in output
    assert f"3. (no version of the layer {LAYER} to delete)" in output
    assert parameters() == ["/joor/production/access-token"]
    # The credentials are the operator's: never deleted.
    assert boto3.client("secretsmanager").describe_secret(SecretId=arn)["ARN"] == arn


def test_a_failed_stack_deletion_keeps_the_parameters_and_layers(
    a_fleet: None,
    fake_sam: FakeSam,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_SAM_FAIL", "1")
    before = parameters()

    code, output = run_delete(capfd, write_config(tmp_path), "y")

    assert code == 1
    assert "sam delete failed (exit 1): the parameters and layer versions are kept" in output
    assert parameters() == before
    assert remaining_layer_versions() == [1, 2]


def test_after_the_stack_is_gone_the_leftovers_are_found_from_samconfig(
    local_aws: LocalAws, fake_sam: FakeSam, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A stack deleted by hand (sam delete, the console): what it left is still listed."""
    secret("joor/fleet/a", parameter("a"))
    token(parameter("a"), 36000)
    layer_versions(1)
    config = write_config(tmp_path, TokenParameterPath=PATH)

    code, output = run_delete(capfd, config, "y")

    assert code == 0, output
    assert "1. (no stack to delete)" in output
    assert fake_sam.calls() == []
    assert parameters() == []
    assert remaining_layer_versions() == []


def test_the_sam_cli_gets_the_region_from_aws_region(
    a_fleet: None,
    fake_sam: FakeSam,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    config = write_config(tmp_path)

    deleted, _ = run_delete(capfd, config, "y")
    followed = logs(["--config-file", str(config), "--sam", "sam", "--start-time", "1 hour ago"])

    assert (deleted, followed) == (0, 0)
    assert fake_sam.calls() == [
        ["delete", "--stack-name", STACK, "--region", REGION, "--no-prompts"],
        [
            "logs",
            "--stack-name",
            STACK,
            "--name",
            "TokenRefresherFunction",
            "--tail",
            "--region",
            REGION,
            "--start-time",
            "1 hour ago",
        ],
    ]
    assert f"(the logs of TokenRefresherFunction in {STACK})" in capfd.readouterr().out
