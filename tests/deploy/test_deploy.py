"""`make deploy` (infra/deploy/deploy.py) with a stand-in `sam` on PATH (tests/deploy/fake_sam.py)
that changes moto's CloudFormation as the real one does and exits as the real one exits.

The first refresh goes to the Lambda Invoke stand-in: it is made when the change set ran or
there was nothing to change, never after a declined one, and `sam deploy` never runs when a
blocking check fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from infra.deploy.deploy import (
    EXECUTED,
    NOT_EXECUTED,
    UNKNOWN,
    ChangeSet,
    StackState,
    main,
    what_happened,
)
from infra.local.aws_fault_proxy import AwsFaultProxy
from infra.local.lambda_server import LambdaServer
from tests.deploy.conftest import REGION, FakeSam, LocalAws, account_settings
from tests.deploy.test_preflight import create_secret, write_config

FUNCTION_NAME = "joor-token-refresher-sandbox-TokenRefresherFunction-AbC123"
SUMMARY = {"result": "refreshed", "reason": "forced", "forced": True, "version": 1}
STACK = "joor-token-refresher-sandbox"


@dataclass
class Deploy:
    config: Path
    api: LambdaServer
    lambda_proxy: AwsFaultProxy
    sam: FakeSam
    monkeypatch: pytest.MonkeyPatch

    def run(self, capfd: pytest.CaptureFixture[str], *flags: str, **fake: str) -> tuple[int, str]:
        for name, value in fake.items():
            self.monkeypatch.setenv(f"FAKE_SAM_{name.upper()}", value)
        code = main(["--config-file", str(self.config), "--sam", "sam", *flags])
        captured = capfd.readouterr()
        return code, captured.out + captured.err

    def sam_calls(self) -> list[list[str]]:
        return self.sam.calls()

    @property
    def refreshes(self) -> int:
        return len(self.api.events)


@pytest.fixture
def deploy(
    local_aws: LocalAws, fake_sam: FakeSam, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deploy]:
    """A samconfig.toml for a new stack, the fake `sam` first on PATH, the Lambda stand-in."""
    monkeypatch.setenv("FAKE_SAM_FUNCTION", FUNCTION_NAME)
    api = LambdaServer(
        lambda _event, _context: SUMMARY, function_name=FUNCTION_NAME, region=REGION
    ).start()
    # Lambda is the Invoke stand-in behind a fault proxy of its own, which answers
    # GetAccountSettings (the stand-in does not serve it) as the account's quota says.
    lambda_proxy = AwsFaultProxy(api.url).start()
    lambda_proxy.inject(account_settings(total=1000, unreserved=1000))
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_proxy.url)
    config = write_config(tmp_path, STACK, CredentialsSecretArn=create_secret())
    try:
        yield Deploy(config, api, lambda_proxy, fake_sam, monkeypatch)
    finally:
        lambda_proxy.stop()
        api.stop()


def stack_status() -> str:
    return str(
        boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
    )


def test_an_executed_change_set_is_followed_by_one_refresh_through_the_operator_alias(
    deploy: Deploy, capfd: pytest.CaptureFixture[str]
) -> None:
    code, output = deploy.run(capfd, answer="y")

    assert code == 0, output
    assert stack_status().endswith("_COMPLETE")
    assert "sam deploy: executed; the first refresh" in output
    assert deploy.refreshes == 1
    assert deploy.api.events == [{"force": True}]
    assert f"invoking {FUNCTION_NAME}:operator" in output


def test_a_declined_change_set_makes_no_refresh_and_exits_0(
    deploy: Deploy, capfd: pytest.CaptureFixture[str]
) -> None:
    deploy.run(capfd, answer="y")  # the stack exists

    code, output = deploy.run(capfd, answer="n")

    assert code == 0, output
    assert "The change set was not executed" in output
    assert "JOOR was not called" in output
    assert deploy.refreshes == 1  # the first deploy's only


def test_a_declined_first_deploy_makes_no_refresh(
    deploy: Deploy, capfd: pytest.CaptureFixture[str]
) -> None:
    code, output = deploy.run(capfd, answer="n")

    assert code == 0, output
    assert stack_status() == "REVIEW_IN_PROGRESS"
    assert deploy.refreshes == 0


def test_a_change_set_left_unexecuted_by_flag_makes_no_refresh(
    deploy: Deploy, capfd: pytest.CaptureFixture[str]
) -> None:
    code, output = deploy.run(capfd, "--no-execute-changeset")

    assert code == 0, output
    assert deploy.refreshes == 0
    assert deploy.sam_calls()[-1][-1] == "--no-execute-changeset"


def test_nothing_to_change_still_refreshes(
    deploy: Deploy, capfd: pytest.CaptureFixture[str]
) -> None:
    deploy.run(capfd, answer="y")

    code, output = deploy.run(capfd, answer="y", changes="none")

    assert code == 0, output
    assert "No changes to deploy" in output
    assert "sam deploy: no changes; the first refresh" in output
    assert deploy.refreshes == 2


def test_a_failed_deploy_exits_with_sam_s_status_and_makes_no_refresh(
    deploy: Deploy, capfd: pytest.CaptureFixture[str]
) -> None:
    code, output = deploy.run(capfd, answer="y", fail="1")

    assert code == 1
    assert "sam deploy failed (exit 1): no refresh was made" in output
    assert deploy.refreshes == 0


def test_ci_deploys_without_a_prompt(deploy: Deploy, capfd: pytest.CaptureFixture[str]) -> None:
    """make deploy SAM_DEPLOY_FLAGS=--no-confirm-changeset: what a CI job runs."""
    code, output = deploy.run(capfd, "--no-confirm-changeset", answer="n")

    assert code == 0, output
    assert "Deploy this changeset?" not in output
    assert deploy.refreshes == 1


def test_sam_is_given_the_region_when_only_aws_region_is_set(
    deploy: Deploy, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)

    code, output = deploy.run(capfd, answer="y")

    assert code == 0, output
    call = deploy.sam_calls()[0]
    assert call[:3] == ["deploy", "--config-env", "default"]
    assert call[call.index("--region") + 1] == REGION


@pytest.mark.parametrize("quota", [10, 50])
def test_an_account_whose_quota_cannot_spare_the_reservation_stops_before_sam_deploy(
    deploy: Deploy, capfd: pytest.CaptureFixture[str], quota: int
) -> None:
    deploy.lambda_proxy.reset()
    deploy.lambda_proxy.inject(account_settings(total=quota, unreserved=quota))

    code, output = deploy.run(capfd, answer="y")

    assert code == 1
    assert f"FAIL  concurrency: the account has {quota} concurrent executions" in output
    assert 'ReserveConcurrency="false"' in output
    assert "Stopped before sam deploy" in output
    assert deploy.sam_calls() == []
    assert deploy.refreshes == 0
    with pytest.raises(boto3.client("cloudformation").exceptions.ClientError):
        stack_status()  # no stack to delete by hand


def test_with_the_reservation_off_a_small_account_deploys(
    deploy: Deploy, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    deploy.lambda_proxy.reset()
    deploy.lambda_proxy.inject(account_settings(total=10, unreserved=10))
    deploy.config = write_config(
        tmp_path,
        STACK,
        CredentialsSecretArn=create_secret("{}", "other"),
        ReserveConcurrency="false",
    )

    code, output = deploy.run(capfd, answer="y")

    assert code == 0, output
    assert deploy.refreshes == 1


# --- what CloudFormation shows on AWS, where moto differs ------------------------------------

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 1, 2, tzinfo=UTC)
DECLINED = ChangeSet("CREATE_COMPLETE", "AVAILABLE")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # AWS removes a stack's change sets when one is executed: only the stack tells.
        (StackState("UPDATE_COMPLETE", T1), StackState("UPDATE_COMPLETE", T2), EXECUTED),
        (StackState(None), StackState("CREATE_COMPLETE", T1), EXECUTED),
        # An older declined change set stays AVAILABLE; a new one ran.
        (
            StackState("UPDATE_COMPLETE", T1, {"old": DECLINED}),
            StackState("UPDATE_COMPLETE", T2, {"old": DECLINED}),
            EXECUTED,
        ),
        (
            StackState("UPDATE_COMPLETE", T1),
            StackState("UPDATE_COMPLETE", T1, {"new": DECLINED}),
            NOT_EXECUTED,
        ),
        (StackState(None), StackState("REVIEW_IN_PROGRESS", T1, {"new": DECLINED}), NOT_EXECUTED),
        # Nothing new and nothing changed: not a state sam deploy leaves after exit 0.
        (StackState("UPDATE_COMPLETE", T1), StackState("UPDATE_COMPLETE", T1), UNKNOWN),
        (StackState("UPDATE_COMPLETE", T1), StackState("UPDATE_ROLLBACK_COMPLETE", T2), UNKNOWN),
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
def test_what_happened_is_read_from_the_stack_as_aws_shows_it(
    before: StackState, after: StackState, expected: str
) -> None:
    assert what_happened(before, after) == expected
