"""`make delete` and `make logs` against moto server, with tests/deploy/fake_sam.py as `sam`:
the listing names every parameter the function created and every retained layer version,
nothing is deleted without the stack's name typed back, and then all of them go."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from infra.deploy import delete, logs
from tests.deploy.conftest import (
    REGION,
    LocalAws,
    put_token,
    recording_sam,
    sam_calls,
    samconfig,
)
from tests.deploy.test_preflight import create_secret
from tests.deploy.test_status import deployed_stack
from tests.leakwatch import WATCH


def stack_name_of(config: Path) -> str:
    return config.read_text(encoding="utf-8").split('stack_name = "', 1)[1].split('"', 1)[0]


def publish_layer_versions(stack_name: str, count: int) -> list[str]:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as content:
        content.writestr("python/joor_token/__init__.py", "")
    client = boto3.client("lambda")
    return [
        str(
            client.publish_layer_version(
                LayerName=f"{stack_name}-joor-token", Content={"ZipFile": archive.getvalue()}
            )["LayerVersionArn"]
        )
        for _ in range(count)
    ]


def parameter_names() -> set[str]:
    pages = boto3.client("ssm").get_paginator("describe_parameters").paginate()
    return {p["Name"] for page in pages for p in page["Parameters"]}


@pytest.fixture
def fleet(local_aws: LocalAws, tmp_path: Path) -> tuple[Path, list[str]]:
    """A fleet stack with a named account, two fleet tokens, a foreign parameter under the
    path, a token of another stack, and two retained layer versions."""
    for name in (
        "/joor/fleet/named/token",
        "/joor/fleet/brand-a/token",
        "/joor/fleet/brand-b/token",
    ):
        put_token(name, timedelta(hours=8))
    put_token("/joor/other-stack/token", timedelta(hours=8))
    boto3.client("ssm").put_parameter(Name="/joor/fleet/notes", Value="hand-made", Type="String")
    config = deployed_stack(
        tmp_path,
        {
            "TOKEN_PARAMETER_PATH": "/joor/fleet",
            "CREDENTIALS_SECRET_ID": create_secret(name="joor/fleet/named"),
            "TOKEN_PARAMETER_NAME": "/joor/fleet/named/token",
        },
    )
    return config, publish_layer_versions(stack_name_of(config), 2)


def run_delete(
    config: Path, sam: Path, capsys: pytest.CaptureFixture[str], answer: str, *args: str
) -> tuple[int, str]:
    code = delete.main(
        ["--config-file", str(config), "--sam", str(sam), *args], ask=lambda _prompt: answer
    )
    captured = capsys.readouterr()
    WATCH.record("delete output", captured.out + captured.err)
    return code, captured.out + captured.err


def test_the_listing_names_every_parameter_and_layer_version_and_a_wrong_answer_deletes_nothing(
    fleet: tuple[Path, list[str]], sam: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, versions = fleet

    code, output = run_delete(config, sam, capsys, "y")

    assert code == 1
    assert "3 token parameter(s) the function created:" in output
    for name in (
        "/joor/fleet/named/token",
        "/joor/fleet/brand-a/token",
        "/joor/fleet/brand-b/token",
    ):
        assert f"    {name}\n" in output
    assert "2 retained layer version(s):" in output
    for arn in versions:
        assert f"    {arn}\n" in output
    assert "which it did not write:\n    /joor/fleet/notes" in output
    assert "/joor/other-stack/token" not in output
    assert output.rstrip().endswith("nothing deleted")
    assert sam_calls(sam) == []
    assert len(parameter_names()) == 5


def test_typing_the_stack_name_deletes_the_stack_then_the_leftovers(
    fleet: tuple[Path, list[str]], sam: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, versions = fleet
    stack_name = stack_name_of(config)

    code, output = run_delete(config, sam, capsys, stack_name)

    assert code == 0, output
    assert sam_calls(sam) == [
        ["delete", "--stack-name", stack_name, "--region", REGION, "--no-prompts"]
    ]
    assert parameter_names() == {"/joor/fleet/notes", "/joor/other-stack/token"}
    layer = boto3.client("lambda").list_layer_versions(LayerName=f"{stack_name}-joor-token")
    assert layer["LayerVersions"] == []
    assert output.rstrip().endswith("deleted the stack, 3 parameter(s) and 2 layer version(s)")
    assert versions


def test_when_sam_delete_fails_the_leftovers_are_kept(
    fleet: tuple[Path, list[str]],
    sam: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_SAM_MODE", "fail")
    config, _ = fleet

    code, output = run_delete(config, sam, capsys, "", "--yes")

    assert code == 1
    assert "sam delete failed; the parameters and layer versions are kept" in output
    assert len(parameter_names()) == 5


def test_make_logs_follows_the_function_through_the_project_s_sam_in_the_region_from_aws_region(
    local_aws: LocalAws, sam: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    sam, arguments = recording_sam(tmp_path)

    code = logs.main(["--config-file", str(samconfig(tmp_path, "s1")), "--sam", str(sam)])

    assert code == 0
    assert arguments.read_text(encoding="utf-8").split() == [
        "logs",
        "--stack-name",
        "s1",
        "--name",
        "TokenRefresherFunction",
        "--region",
        REGION,
        "--tail",
    ]


def test_make_logs_gives_the_sam_cli_the_profile_asked_for(
    local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aws-config").write_text("[profile ops]\nregion = eu-west-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    sam, arguments = recording_sam(tmp_path)
    config = samconfig(tmp_path, "s1")

    code = logs.main(["--config-file", str(config), "--sam", str(sam), "--profile", "ops"])

    assert code == 0
    assert arguments.read_text(encoding="utf-8").split()[-2:] == ["--profile", "ops"]
