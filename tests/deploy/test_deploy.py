"""`make deploy` against moto server: the checks that would fail CloudFormation stop it before
`sam deploy` runs, and the first refresh follows only a change set that ran or found nothing
to change, never a declined one.

`sam` is tests/deploy/fake_sam.py, which leaves CloudFormation (moto) as the real SAM CLI does
in each case; Lambda's Invoke is the local stand-in (infra/local/lambda_server.py).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.deploy import deploy
from infra.local.lambda_server import LambdaServer
from tests.deploy.conftest import REGION, LocalAws, account_settings, sam_calls, samconfig
from tests.leakwatch import WATCH

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTION_NAME = "joor-token-refresher-fn"
SUMMARY = {"result": "refreshed", "reason": "forced", "version": 1}


@dataclass
class Invoked:
    """The Lambda Invoke stand-in, and the ARN (alias included) each invocation named."""

    api: LambdaServer
    arns: list[str] = field(default_factory=list)

    @property
    def events(self) -> list[Any]:
        return self.api.events


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoked]:
    monkeypatch.setenv("FAKE_SAM_FUNCTION", FUNCTION_NAME)
    arns: list[str] = []

    def handler(_event: Any, context: Any) -> Any:
        arns.append(context.invoked_function_arn)
        return SUMMARY

    api = LambdaServer(handler, function_name=FUNCTION_NAME, region=REGION).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", api.url)
    yield Invoked(api, arns)
    api.stop()


def write_config(tmp_path: Path, reserve: bool = False) -> Path:
    return samconfig(
        tmp_path,
        f"joor-token-refresher-{uuid.uuid4().hex[:8]}",
        "confirm_changeset = true\nfail_on_empty_changeset = false\n"
        f'parameter_overrides = "ReserveConcurrency=\\"{str(reserve).lower()}\\""\n',
    )


@dataclass
class Deploying:
    """`make deploy` against moto, the fake SAM CLI and the Invoke stand-in."""

    sam: Path
    lambda_api: Invoked
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str, config: Path | None = None) -> tuple[int, str]:
        """deploy.main with a fresh samconfig.toml (or ``config``): its exit status and output."""
        config = config or write_config(self.tmp_path)
        code = deploy.main(["--config-file", str(config), "--sam", str(self.sam), *args])
        captured = self.capsys.readouterr()
        WATCH.record("deploy output", captured.out + captured.err)
        return code, captured.out + captured.err

    @property
    def sam_calls(self) -> list[list[str]]:
        return sam_calls(self.sam)


@pytest.fixture
def deploying(
    local_aws: LocalAws,
    sam: Path,
    lambda_api: Invoked,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Deploying:
    return Deploying(sam, lambda_api, tmp_path, capsys)


@pytest.mark.parametrize("quota", [10, 50])
def test_an_account_that_cannot_spare_the_reservation_stops_before_sam_deploy(
    deploying: Deploying, local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch, quota: int
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_LAMBDA")  # Lambda's account settings from the proxy
    local_aws.proxy.reset()
    local_aws.proxy.inject(account_settings(total=quota, unreserved=quota))

    code, output = deploying.run(config=write_config(deploying.tmp_path, reserve=True))

    assert code == 1
    assert deploying.sam_calls == []
    assert f"the account has {quota} concurrent executions" in output
    assert 'ReserveConcurrency="false"' in output
    assert "deploy stopped before sam deploy" in output


def test_a_stack_name_cloudformation_refuses_stops_before_sam_deploy(deploying: Deploying) -> None:
    config = write_config(deploying.tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('stack_name = "joor', 'stack_name = "' + "x" * 120 + "-joor"), encoding="utf-8"
    )

    code, output = deploying.run(config=config)

    assert code == 1
    assert deploying.sam_calls == []
    assert "(150 characters) is not a CloudFormation stack name" in output


def test_a_profile_that_does_not_exist_stops_before_sam_deploy_as_preflight_says_it(
    deploying: Deploying, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(deploying.tmp_path / "aws-config"))

    code, output = deploying.run("--profile", "nowhere")

    assert code == 1
    assert deploying.sam_calls == []
    assert output.strip() == (
        "FAIL  credentials: The config profile (nowhere) could not be found: check "
        "AWS_PROFILE, --profile, or profile in samconfig.toml"
    )


def test_an_executed_change_set_is_followed_by_one_forced_refresh_through_the_alias(
    deploying: Deploying,
) -> None:
    code, output = deploying.run()

    assert code == 0, output
    assert len(deploying.sam_calls) == 1
    assert "change set: executed" in output
    assert deploying.lambda_api.events == [{"force": True}]
    assert [arn.rsplit(":", 1)[1] for arn in deploying.lambda_api.arns] == ["operator"]


def test_a_declined_change_set_logs_nothing_in(
    deploying: Deploying, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SAM_MODE", "decline")

    code, output = deploying.run()

    assert code == 0, output
    assert len(deploying.sam_calls) == 1
    assert "the change set was declined: nothing deployed, no refresh" in output
    assert deploying.lambda_api.events == []


def test_a_deploy_with_nothing_to_change_still_refreshes(deploying: Deploying) -> None:
    config = write_config(deploying.tmp_path)
    assert deploying.run(config=config)[0] == 0

    code, output = deploying.run(config=config)

    assert code == 0, output
    assert "change set: nothing to change" in output
    assert deploying.lambda_api.events == [{"force": True}, {"force": True}]


def test_a_failed_sam_deploy_fails_the_command_without_a_refresh(
    deploying: Deploying, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SAM_MODE", "fail")

    code, output = deploying.run()

    assert code == 1
    assert "sam deploy failed (exit 1); no refresh" in output
    assert deploying.lambda_api.events == []


def test_with_only_aws_region_set_sam_is_given_that_region(
    deploying: Deploying, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)

    code, output = deploying.run()

    assert code == 0, output
    (call,) = deploying.sam_calls
    assert call[call.index("--region") + 1] == REGION
    assert deploying.lambda_api.events == [{"force": True}]


def test_the_make_target_runs_the_same_steps_with_the_project_s_sam() -> None:
    dry_run = subprocess.run(
        [shutil.which("make") or "make", "-n", "deploy", "SAM_DEPLOY_FLAGS=--no-confirm-changeset"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert "-m infra.deploy.deploy --config-env default --sam .venv-sam/bin/sam" in dry_run
    assert "--sam-flags='--no-confirm-changeset'" in dry_run
    assert boto3  # the tests above talk to moto through boto3's environment


# --- the decision on what AWS shows, where moto differs ---------------------------------------

AVAILABLE = {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE"}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # AWS removes a stack's change sets once one is executed: the stack alone tells.
        (("UPDATE_COMPLETE", "t1", {}), ("UPDATE_COMPLETE", "t2", {}), deploy.EXECUTED),
        ((None, None, {}), ("CREATE_COMPLETE", "t1", {}), deploy.EXECUTED),
        # An older declined change set stays AVAILABLE beside the one that ran.
        (
            ("UPDATE_COMPLETE", "t1", {"old": AVAILABLE}),
            ("UPDATE_COMPLETE", "t2", {"old": AVAILABLE}),
            deploy.EXECUTED,
        ),
        (
            ("UPDATE_COMPLETE", "t1", {}),
            ("UPDATE_COMPLETE", "t1", {"new": AVAILABLE}),
            deploy.DECLINED,
        ),
        ((None, None, {}), ("REVIEW_IN_PROGRESS", "t1", {"new": AVAILABLE}), deploy.DECLINED),
        # Nothing new and nothing moved, or a rollback: no refresh.
        (("UPDATE_COMPLETE", "t1", {}), ("UPDATE_COMPLETE", "t1", {}), deploy.UNKNOWN),
        (("UPDATE_COMPLETE", "t1", {}), ("UPDATE_ROLLBACK_COMPLETE", "t2", {}), deploy.UNKNOWN),
    ],
    ids=[
        "updated",
        "created",
        "updated-beside-an-old-declined-one",
        "declined",
        "declined-first-deploy",
        "nothing-seen",
        "rolled-back",
    ],
)
def test_what_sam_deploy_did_is_read_as_aws_shows_it(
    before: tuple[Any, ...], after: tuple[Any, ...], expected: str
) -> None:
    assert deploy.outcome(deploy.StackSnapshot(*before), deploy.StackSnapshot(*after)) == expected
