"""The region of every tool run outside Lambda: AWS_REGION too, which boto3 alone ignores."""

from __future__ import annotations

from pathlib import Path

import pytest

from refresher.adapters.aws_session import REGION_HINT, aws_session, region_from_environment
from refresher.domain.errors import ConfigurationError


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_REGION": " eu-west-1 "}, "eu-west-1"),
        # boto3 reads AWS_DEFAULT_REGION itself: it wins, as it does in boto3.
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, None),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, None),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": " "}, None),
        ({}, None),
    ],
    ids=["aws-region", "trimmed", "default-wins", "default-only", "blank", "none"],
)
def test_aws_region_is_used_when_aws_default_region_is_unset(
    env: dict[str, str], expected: str | None
) -> None:
    assert region_from_environment(env) == expected


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return monkeypatch


def test_the_session_takes_aws_region(no_region: pytest.MonkeyPatch) -> None:
    no_region.setenv("AWS_REGION", "eu-west-1")

    assert aws_session().region_name == "eu-west-1"


def test_the_default_region_and_then_an_explicit_one_win(no_region: pytest.MonkeyPatch) -> None:
    no_region.setenv("AWS_REGION", "eu-west-1")
    no_region.setenv("AWS_DEFAULT_REGION", "us-east-1")

    assert aws_session().region_name == "us-east-1"
    assert aws_session(region="ap-south-1").region_name == "ap-south-1"


def test_the_profile_s_region_is_used_without_either_variable(
    no_region: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config").write_text("[profile ops]\nregion = sa-east-1\n", encoding="utf-8")

    assert aws_session(profile="ops").region_name == "sa-east-1"


def test_no_region_anywhere_names_every_way_to_give_one(no_region: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as raised:
        aws_session()

    assert raised.value.variable == "AWS_REGION"
    assert str(raised.value) == (
        f"Invalid configuration: AWS_REGION is not set and no region is configured: {REGION_HINT}"
    )
    assert REGION_HINT == "set AWS_REGION (or AWS_DEFAULT_REGION), or region in your AWS profile"
