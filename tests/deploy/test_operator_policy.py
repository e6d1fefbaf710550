"""docs/operator-policy.json names every AWS API the operator's tools call.

The calls are recorded, not listed by hand: each tool runs against moto server (preflight for
one account with customer managed keys and for a fleet, the deploy with its first refresh,
status in both forms, delete), and every request botocore makes in this process is noted as
the IAM action it needs. The SAM CLI's own calls (sam deploy, sam logs, sam delete) are in the
policy too, read from the template's resource types (tests/template) and the SAM CLI source;
they run in its own process and are not recorded here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from infra.deploy import delete, deploy, preflight
from infra.deploy import status as make_status
from infra.local.lambda_server import LambdaServer
from refresher.cli import main as refresher_main
from tests.deploy.conftest import REGION, put_token, write_config
from tests.deploy.test_delete_and_logs import publish_layer_versions, stack_name_of
from tests.deploy.test_preflight import create_key
from tests.deploy.test_preflight_region_and_keys import encrypted_secret
from tests.deploy.test_status import deployed_stack, tagged_secret
from tests.leakwatch import WATCH

POLICY = Path(__file__).resolve().parents[2] / "docs" / "operator-policy.json"
# Where an IAM action is not the service's signing name and the operation's name.
RENAMED = {"lambda:Invoke": "lambda:InvokeFunction"}


def policy_actions() -> set[str]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    return {action for statement in policy["Statement"] for action in statement["Action"]}


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch) -> Callable[[], set[str]]:
    """Start noting every API call made in this process; call the result to read them."""
    calls: set[str] = set()
    original = BaseClient._make_api_call

    def noted(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        action = f"{self.meta.service_model.signing_name}:{operation}"
        calls.add(RENAMED.get(action, action))
        return original(self, operation, params)

    def start() -> set[str]:
        monkeypatch.setattr(BaseClient, "_make_api_call", noted)
        return calls

    return start


@pytest.mark.usefixtures("local_aws")
def test_the_policy_names_every_call_the_tools_make(
    tmp_path: Path,
    sam: Path,
    record: Callable[[], set[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One account with customer managed keys, and a fleet beside it.
    token_key, secret_key = create_key(), create_key()
    named = encrypted_secret(secret_key)
    tagged_secret("joor/fleet/brand-a", "/joor/fleet/brand-a/token")
    put_token("/joor/sandbox/access-token", timedelta(hours=9))
    named_config = write_config(
        tmp_path, CredentialsSecretArn=named, TokenKmsKeyArn=token_key, SecretKmsKeyArn=secret_key
    )
    fleet_dir = tmp_path / "fleet"
    fleet_dir.mkdir()
    fleet_config = write_config(fleet_dir, TokenParameterPath="/joor/fleet")
    put_token("/joor/fleet/brand-a/token", timedelta(hours=9))
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    stack = deployed_stack(stack_dir, {"TOKEN_PARAMETER_PATH": "/joor/fleet"})
    publish_layer_versions(stack_name_of(stack), 1)
    calls = record()

    preflight.main(["--config-file", str(named_config)])
    preflight.main(["--config-file", str(fleet_config)])
    monkeypatch.setenv("TOKEN_PARAMETER_NAME", "/joor/sandbox/access-token")
    monkeypatch.setenv("CREDENTIALS_SECRET_ID", named)
    refresher_main(["status"])
    make_status.main(["--config-file", str(stack)])
    delete.main(["--config-file", str(stack), "--sam", str(sam), "--yes"])

    api = LambdaServer(lambda _event, _context: {"result": "refreshed"}, region=REGION).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", api.url)
        monkeypatch.setenv("FAKE_SAM_FUNCTION", api.function_name)
        deploy_dir = tmp_path / "deploy"
        deploy_dir.mkdir()
        deploy_config = write_config(
            deploy_dir, CredentialsSecretArn=named, ReserveConcurrency="false"
        )
        assert deploy.main(["--config-file", str(deploy_config), "--sam", str(sam)]) == 0
    finally:
        api.stop()
    output = capsys.readouterr()
    WATCH.record("operator tools output", output.out + output.err)

    missing = sorted(calls - policy_actions())
    assert missing == [], f"docs/operator-policy.json lacks {missing}"
    assert {
        "lambda:GetAccountSettings",
        "kms:GetKeyPolicy",
        "secretsmanager:ListSecrets",
        "lambda:InvokeFunction",
        "cloudformation:ListChangeSets",
        "ssm:DeleteParameters",
        "lambda:DeleteLayerVersion",
    } <= calls
    assert boto3  # the tools reach moto through boto3's environment
