"""The refreshers the composition root builds, doing their job against moto's server and the JOOR
stand-in: which parameter, secret, /auth/ URL and KMS key each account gets, the clients'
retries, and what a fleet shares between its accounts and its runs.

The session is the one build_refresher makes itself, from the environment a Lambda function or
an operator's shell gives it (AWS_REGION, AWS_ENDPOINT_URL to moto); tests/unit/test_composition.py
checks the wiring without a socket.
"""

from __future__ import annotations

import json

import pytest

from infra.local.aws_fault_proxy import AwsFault
from infra.local.joor_auth_server import JoorAuthServer, keycloak_error
from refresher.adapters.login_record import TAG
from refresher.composition import build_refresher
from refresher.config import Settings
from refresher.domain.errors import (
    EndpointUnavailableError,
    FleetRefreshError,
    SecretUnavailableError,
)
from refresher.domain.models import (
    Credentials,
    FleetOutcome,
    RefreshOutcome,
    RefreshRequest,
    SecretChange,
)
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from tests.adapters.conftest import Aws

pytestmark = pytest.mark.integration

PATH = "/joor/fleet"
SECRET = "joor/one/api-credentials"
PARAMETER = "/joor/one/access-token"


@pytest.fixture
def env(aws_env: Aws, joor: JoorAuthServer) -> dict[str, str]:
    """AWS reached from the process environment; the settings the test adds to this mapping."""
    return {"JOOR_AUTH_URL": joor.url}


def create_secret(aws: Aws, name: str, credentials: Credentials, **tags: str) -> None:
    value = {
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "username": credentials.username,
        "password": credentials.password,
    }
    aws.client("secretsmanager", direct=True).create_secret(
        Name=name,
        SecretString=json.dumps(value),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def stored(aws: Aws, parameter: str) -> tuple[str, int, str | None]:
    """The token, its version and the KMS key it is encrypted with."""
    ssm = aws.client("ssm", direct=True)
    value = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [parameter]}])[
        "Parameters"
    ][0]
    return value["Value"], value["Version"], described.get("KeyId")


def last_login(aws: Aws, secret: str) -> str:
    tags = aws.client("secretsmanager", direct=True).describe_secret(SecretId=secret)["Tags"]
    return next(t["Value"] for t in tags if t["Key"] == TAG).split()[0]


def kms_key(aws: Aws) -> str:
    return str(aws.client("kms", direct=True).create_key()["KeyMetadata"]["KeyId"])


def one_account(env: dict[str, str], **more: str) -> dict[str, str]:
    return {**env, "CREDENTIALS_SECRET_ID": SECRET, "TOKEN_PARAMETER_NAME": PARAMETER, **more}


# --- one account ---------------------------------------------------------------------------


def test_one_account_logs_in_with_its_secret_at_its_url_and_writes_its_parameter_with_its_key(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    create_secret(aws, SECRET, credentials)
    key = kms_key(aws)
    refresher = build_refresher(Settings.from_env(one_account(env, TOKEN_KMS_KEY_ID=key)))

    outcome = refresher.run(RefreshRequest(), time_limit=30)

    assert isinstance(refresher, TokenRefresher)
    assert isinstance(outcome, RefreshOutcome)
    token, version, key_id = stored(aws, PARAMETER)
    assert (outcome.refreshed, outcome.parameter, outcome.version) == (True, PARAMETER, version)
    assert key_id == key
    assert joor.state.is_valid(token)
    assert joor.logins == 1
    assert last_login(aws, SECRET) == "ok"


def test_without_a_kms_key_the_token_is_encrypted_with_the_aws_managed_key(
    aws: Aws, credentials: Credentials, env: dict[str, str]
) -> None:
    create_secret(aws, SECRET, credentials)

    build_refresher(Settings.from_env(one_account(env))).run(RefreshRequest(), time_limit=30)

    assert stored(aws, PARAMETER)[2] == "alias/aws/ssm"


def test_secrets_manager_is_asked_three_times_at_most_when_it_throttles(
    aws: Aws, credentials: Credentials, env: dict[str, str]
) -> None:
    """The SDK's own default would try five times (legacy mode)."""
    create_secret(aws, SECRET, credentials)
    throttled = AwsFault("secretsmanager.GetSecretValue", "ThrottlingException", "Rate exceeded")
    aws.proxy.inject(throttled, throttled, throttled)
    refresher = build_refresher(Settings.from_env(one_account(env)))

    with pytest.raises(SecretUnavailableError):
        refresher.run(RefreshRequest(), time_limit=30)

    assert aws.proxy.seen["secretsmanager.GetSecretValue"] == 3


def test_the_retry_policy_given_is_the_one_the_login_follows(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    """The default policy would try again and get a token from the second attempt."""
    create_secret(aws, SECRET, credentials)
    joor.queue(keycloak_error(503, "unavailable"))
    refresher = build_refresher(
        Settings.from_env(one_account(env)), retry=RetryPolicy(max_attempts=1)
    )

    with pytest.raises(EndpointUnavailableError) as caught:
        refresher.run(RefreshRequest(), time_limit=30)

    assert str(caught.value) == (
        "JOOR /auth/ unavailable after 1 attempts (last problem: JOOR answered HTTP 503)"
    )
    assert joor.calls == 1


# --- a fleet ------------------------------------------------------------------------------


def fleet(env: dict[str, str], **more: str) -> FleetRefresher:
    refresher = build_refresher(Settings.from_env({**env, "TOKEN_PARAMETER_PATH": PATH, **more}))
    assert isinstance(refresher, FleetRefresher)
    return refresher


def test_a_fleet_serves_its_tagged_secrets_and_the_configured_account_with_its_key(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    """One secret tagged without an environment (the stack's), one tagged production, and the
    account the configuration names, untagged: JOOR_AUTH_URL serves all three."""
    create_secret(aws, "brand-a", credentials, **{"joor-token-parameter": f"{PATH}/a/token"})
    create_secret(
        aws,
        "brand-b",
        credentials,
        **{"joor-token-parameter": f"{PATH}/b/token", "joor-environment": "production"},
    )
    create_secret(aws, "configured", credentials)
    key = kms_key(aws)
    refresher = fleet(
        env,
        CREDENTIALS_SECRET_ID="configured",
        TOKEN_PARAMETER_NAME=f"{PATH}/configured/token",
        TOKEN_KMS_KEY_ID=key,
    )

    outcome = refresher.run(RefreshRequest(), time_limit=30)

    assert isinstance(outcome, FleetOutcome)
    parameters = [f"{PATH}/{name}/token" for name in ("a", "b", "configured")]
    assert sorted((r.parameter, r.status) for r in outcome.results) == [
        (parameter, "refreshed") for parameter in parameters
    ]
    for parameter in parameters:
        token, _, key_id = stored(aws, parameter)
        assert joor.state.is_valid(token)
        assert key_id == key
    assert [last_login(aws, s) for s in ("brand-a", "brand-b", "configured")] == ["ok"] * 3


def test_a_fleet_without_a_configured_account_serves_its_tagged_secrets_alone(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    create_secret(aws, "brand-a", credentials, **{"joor-token-parameter": f"{PATH}/a/token"})

    outcome = fleet(env).run(RefreshRequest(), time_limit=30)

    assert isinstance(outcome, FleetOutcome)
    assert [(r.parameter, r.status) for r in outcome.results] == [(f"{PATH}/a/token", "refreshed")]
    assert joor.logins == 1
    # What the listing said of the secret is not asked again.
    assert aws.proxy.seen["secretsmanager.DescribeSecret"] == 0


def test_a_report_for_one_parameter_of_a_fleet_reads_that_parameter_first(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    """A consumer's report of a version already replaced costs no login."""
    create_secret(aws, "brand-a", credentials, **{"joor-token-parameter": f"{PATH}/a/token"})
    refresher = fleet(env)
    refresher.run(RefreshRequest(), time_limit=30)
    refresher.run(RefreshRequest(force=True, operator=True), time_limit=30)
    assert stored(aws, f"{PATH}/a/token")[1] == 2

    outcome = refresher.run(
        RefreshRequest(force=True, seen_version=1, parameter=f"{PATH}/a/token"), time_limit=30
    )

    assert isinstance(outcome, RefreshOutcome)
    assert (outcome.refreshed, outcome.reason, outcome.version) == (False, "already_replaced", 2)
    assert joor.logins == 2


def test_a_fleet_remembers_a_rejection_it_could_not_tag_for_its_next_run(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    """What the run's account wrote, the next run's listing finds: one memory, shared."""
    create_secret(aws, "brand-a", credentials, **{"joor-token-parameter": f"{PATH}/a/token"})
    refresher = fleet(env)
    joor.queue(keycloak_error(401, "invalid_grant", "Invalid user credentials"))
    aws.proxy.inject(AwsFault("secretsmanager.TagResource", "AccessDeniedException", "denied"))
    with pytest.raises(FleetRefreshError):
        refresher.run(RefreshRequest(), time_limit=30)

    with pytest.raises(FleetRefreshError) as caught:
        refresher.run(RefreshRequest(), time_limit=30)

    assert [r.failure for r in caught.value.outcome.results] == ["credentials_rejected_earlier"]
    assert joor.calls == 1


def test_a_secret_change_in_a_fleet_logs_in_with_what_the_listing_said_of_the_secret(
    aws: Aws, joor: JoorAuthServer, credentials: Credentials, env: dict[str, str]
) -> None:
    """The listing that found the account told its versions and tags: no DescribeSecret."""
    create_secret(aws, "brand-a", credentials, **{"joor-token-parameter": f"{PATH}/a/token"})
    described = aws.client("secretsmanager", direct=True).describe_secret(SecretId="brand-a")
    version = next(v for v, s in described["VersionIdsToStages"].items() if "AWSCURRENT" in s)
    aws.proxy.reset()

    outcome = fleet(env).run(
        RefreshRequest(secret_change=SecretChange(described["ARN"], "brand-a", version)),
        time_limit=30,
    )

    assert isinstance(outcome, RefreshOutcome)
    assert (outcome.refreshed, outcome.reason) == (True, "credentials_changed")
    assert joor.state.is_valid(stored(aws, f"{PATH}/a/token")[0])
    assert aws.proxy.seen["secretsmanager.DescribeSecret"] == 0
