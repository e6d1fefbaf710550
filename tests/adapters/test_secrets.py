"""SecretsManagerCredentials and TaggedSecretsDirectory against moto's server."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from botocore.config import Config

from infra.local.aws_fault_proxy import AwsAnswer, AwsFault
from infra.local.moto_server import free_port
from refresher.adapters.secrets_manager import SecretsManagerCredentials
from refresher.adapters.tagged_secrets import TaggedSecretsDirectory
from refresher.domain.errors import (
    AccountDiscoveryError,
    SecretMalformedError,
    SecretUnavailableError,
)
from refresher.domain.models import Account, Credentials, Discovery, Refusal
from tests.adapters.conftest import Aws

pytestmark = pytest.mark.integration

SECRET = "joor/test/api-credentials"
URLS = {"sandbox": "https://sandbox.example/auth/", "production": "https://prod.example/auth/"}


def put_secret(aws: Aws, credentials: Credentials, grant_type: str | None = None) -> None:
    value = {
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "username": credentials.username,
        "password": credentials.password,
    }
    if grant_type is not None:
        value["grant_type"] = grant_type
    aws.client("secretsmanager", direct=True).create_secret(
        Name=SECRET, SecretString=json.dumps(value)
    )


def source(aws: Aws) -> SecretsManagerCredentials:
    return SecretsManagerCredentials(SECRET, lambda: aws.client("secretsmanager"))


def test_the_secret_gives_every_credential_and_names_where_they_came_from(
    aws: Aws, credentials: Credentials
) -> None:
    put_secret(aws, credentials)

    loaded = source(aws).load()

    assert loaded.secret_values() == credentials.secret_values()
    assert loaded.grant_type == "password"
    assert loaded.source == SECRET


def test_a_grant_type_in_the_secret_is_used(aws: Aws, credentials: Credentials) -> None:
    put_secret(aws, credentials, grant_type="client_credentials")

    assert source(aws).load().grant_type == "client_credentials"


def test_the_client_is_made_on_the_first_load_and_kept(aws: Aws, credentials: Credentials) -> None:
    put_secret(aws, credentials)
    made = []

    def factory() -> object:
        made.append(aws.client("secretsmanager"))
        return made[-1]

    loader = SecretsManagerCredentials(SECRET, factory)  # type: ignore[arg-type]
    assert made == []

    loader.load()
    loader.load()

    assert len(made) == 1
    assert aws.proxy.seen["secretsmanager.GetSecretValue"] == 2


def test_a_missing_secret_says_which_setting_to_check(aws: Aws) -> None:
    with pytest.raises(SecretUnavailableError) as caught:
        source(aws).load()

    assert str(caught.value) == (
        f"Could not read secret {SECRET!r}: it does not exist "
        "(check CREDENTIALS_SECRET_ID and the region)"
    )


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied"])
def test_a_denied_read_is_called_so(aws: Aws, code: str) -> None:
    aws.proxy.inject(AwsFault("secretsmanager.GetSecretValue", code, "not for you"))

    with pytest.raises(SecretUnavailableError) as caught:
        source(aws).load()

    assert str(caught.value) == (
        f"Could not read secret {SECRET!r}: access denied ({code}: not for you)"
    )


def test_any_other_failure_is_named_by_its_code(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("secretsmanager.GetSecretValue", "ThrottlingException", "slow"))

    with pytest.raises(SecretUnavailableError) as caught:
        source(aws).load()

    assert str(caught.value) == f"Could not read secret {SECRET!r}: ThrottlingException: slow"


def test_an_error_without_a_message_is_named_by_its_code_alone(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("secretsmanager.GetSecretValue", "InternalServiceError", ""))

    with pytest.raises(SecretUnavailableError) as caught:
        source(aws).load()

    assert str(caught.value) == f"Could not read secret {SECRET!r}: InternalServiceError"


def test_a_binary_secret_is_refused_with_the_keys_it_needs(aws: Aws) -> None:
    aws.client("secretsmanager", direct=True).create_secret(Name=SECRET, SecretBinary=b"\x00\x01")

    with pytest.raises(SecretMalformedError) as caught:
        source(aws).load()

    assert str(caught.value) == (
        f"Secret {SECRET!r} holds binary data; it must be a JSON object with keys "
        "client_id, client_secret, username, password"
    )


def test_a_value_answered_without_a_version_id_claims_no_version(
    aws: Aws, credentials: Credentials
) -> None:
    # No version: the login gate keeps the current version DescribeSecret named.
    put_secret(aws, credentials)
    stored = aws.client("secretsmanager", direct=True).get_secret_value(SecretId=SECRET)
    unversioned = {key: stored[key] for key in ("ARN", "Name", "SecretString")}
    aws.proxy.inject(AwsAnswer("secretsmanager.GetSecretValue", unversioned))

    loaded = source(aws).load()

    assert (loaded.version, loaded.version_created) == ("", None)
    assert loaded.secret_values() == credentials.secret_values()


# --- the fleet's directory of tagged secrets ---------------------------------------------


def tag(aws: Aws, name: str, **tags: str) -> str:
    """A secret with these tags (``parameter`` and ``environment`` name the fleet's tags)."""
    keys = {"parameter": "joor-token-parameter", "environment": "joor-environment"}
    created = aws.client("secretsmanager", direct=True).create_secret(
        Name=name,
        SecretString="{}",
        Tags=[{"Key": keys.get(k, k), "Value": v} for k, v in tags.items()],
    )
    return str(created["ARN"])


def bare(accounts: tuple[Account, ...]) -> tuple[Account, ...]:
    """The accounts without what the listing said of their credentials."""
    return tuple(replace(a, credentials=None) for a in accounts)


def directory(aws: Aws, configured: Account | None = None) -> TaggedSecretsDirectory:
    return TaggedSecretsDirectory(
        "/joor/fleet",
        lambda: aws.client("secretsmanager"),
        URLS,
        "sandbox",
        configured,
    )


def test_each_tagged_secret_is_an_account_with_the_auth_url_of_its_environment(
    aws: Aws,
) -> None:
    a = tag(aws, "brand-a", parameter="/joor/fleet/a/access-token")
    b = tag(aws, "brand-b", parameter="/joor/fleet/b/access-token", environment="production")

    found = directory(aws).discover()

    assert bare(found.accounts) == (
        Account("/joor/fleet/a/access-token", a, URLS["sandbox"]),
        Account("/joor/fleet/b/access-token", b, URLS["production"]),
    )
    assert found.refused == ()


def test_tag_values_are_read_without_surrounding_spaces(aws: Aws) -> None:
    arn = tag(aws, "brand-a", parameter=" /joor/fleet/a/access-token ", environment=" production ")

    assert bare(directory(aws).discover().accounts) == (
        Account("/joor/fleet/a/access-token", arn, URLS["production"]),
    )


def test_an_empty_environment_tag_means_the_stacks_environment(aws: Aws) -> None:
    arn = tag(aws, "brand-a", parameter="/joor/fleet/a/access-token", environment=" ")

    assert bare(directory(aws).discover().accounts) == (
        Account("/joor/fleet/a/access-token", arn, URLS["sandbox"]),
    )


def test_secrets_without_the_tag_are_not_accounts(aws: Aws) -> None:
    tag(aws, "unrelated", team="payments")
    tag(aws, "longer-key", **{"joor-token-parameter-old": "/joor/fleet/x/access-token"})

    assert directory(aws).discover() == Discovery(accounts=())


def listed(name: str, created: datetime | None, parameter: str) -> dict[str, object]:
    """One ListSecrets entry as AWS sends it (moto stamps creation to the second)."""
    entry: dict[str, object] = {
        "ARN": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name}-AbCdEf",
        "Name": name,
        "Tags": [{"Key": "joor-token-parameter", "Value": parameter}],
    }
    if created is not None:
        entry["CreatedDate"] = created.timestamp()
    return entry


def answer_listing(aws: Aws, *entries: dict[str, object]) -> None:
    aws.proxy.inject(AwsAnswer("secretsmanager.ListSecrets", {"SecretList": list(entries)}))


def test_the_older_of_two_secrets_claiming_one_parameter_keeps_it(aws: Aws) -> None:
    parameter = "/joor/fleet/a/access-token"
    answer_listing(
        aws,
        listed("a-newer", datetime(2026, 2, 1, tzinfo=UTC), parameter),
        listed("z-older", datetime(2026, 1, 1, tzinfo=UTC), parameter),
    )

    found = directory(aws).discover()

    older = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:z-older-AbCdEf"
    assert [a.secret_id for a in found.accounts] == [older]
    assert found.refused == (
        Refusal(
            "a-newer",
            f"its tag joor-token-parameter names {parameter!r}, which secret 'z-older' "
            "already claims; give it a parameter of its own",
            parameter=parameter,
        ),
    )


def test_a_secret_without_a_creation_date_counts_as_the_oldest(aws: Aws) -> None:
    parameter = "/joor/fleet/a/access-token"
    answer_listing(
        aws,
        listed("dated", datetime(1970, 1, 2, tzinfo=UTC), parameter),
        listed("undated", None, parameter),
    )

    found = directory(aws).discover()

    assert [a.secret_id.split(":")[-1] for a in found.accounts] == ["undated-AbCdEf"]


def test_secrets_created_together_are_taken_in_the_order_of_their_arns(aws: Aws) -> None:
    parameter = "/joor/fleet/a/access-token"
    same = datetime(2026, 1, 1, tzinfo=UTC)
    answer_listing(aws, listed("b", same, parameter), listed("a", same, parameter))

    found = directory(aws).discover()

    assert [a.secret_id.split(":")[-1] for a in found.accounts] == ["a-AbCdEf"]
    assert [r.secret for r in found.refused] == ["b"]


def test_a_secret_listed_without_a_name_is_named_by_its_arn(aws: Aws) -> None:
    entry = listed("x", None, "/joor/other/access-token")
    del entry["Name"]
    answer_listing(aws, entry)

    refused = directory(aws).discover().refused

    assert [r.secret for r in refused] == [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf"
    ]


def test_the_configured_account_claims_its_parameter_first(aws: Aws) -> None:
    configured = Account("/joor/fleet/a/access-token", "configured-secret", URLS["sandbox"])
    tag(aws, "brand-a", parameter="/joor/fleet/a/access-token")

    found = directory(aws, configured).discover()

    assert found.accounts == (configured,)
    assert [r.secret for r in found.refused] == ["brand-a"]
    assert "'configured-secret' already claims" in found.refused[0].problem


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        (
            {"parameter": "/joor/other/access-token"},
            "its tag joor-token-parameter names '/joor/other/access-token', outside this "
            "stack's parameter path /joor/fleet/ (another stack's? if not, tag it with a name "
            "under the path)",
        ),
        (
            {"parameter": "/joor/fleetx/access-token"},
            "its tag joor-token-parameter names '/joor/fleetx/access-token', outside this "
            "stack's parameter path /joor/fleet/ (another stack's? if not, tag it with a name "
            "under the path)",
        ),
        (
            {"parameter": "/joor/fleet/a b"},
            "its tag joor-token-parameter must be an SSM parameter name such as "
            "/joor/sandbox/access-token (letters, digits, _ . - and / between path parts), "
            "got '/joor/fleet/a b'",
        ),
        (
            {"parameter": "/joor/fleet/a/access-token", "environment": "staging"},
            "its tag joor-environment must be 'sandbox' or 'production', got 'staging'",
        ),
    ],
    ids=["outside-the-path", "beside-the-path", "not-a-name", "unknown-environment"],
)
def test_a_secret_with_an_unusable_tag_is_refused_and_says_why(
    aws: Aws, tags: dict[str, str], problem: str
) -> None:
    tag(aws, "brand-x", **tags)

    # A name outside the path is most likely another stack's: noted as elsewhere.
    elsewhere = "outside this stack's parameter path" in problem
    [refused] = directory(aws).discover().refused
    assert (refused.secret, refused.problem, refused.elsewhere) == ("brand-x", problem, elsewhere)


def test_a_failed_listing_names_the_tag(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("secretsmanager.ListSecrets", "AccessDeniedException", "no"))

    with pytest.raises(AccountDiscoveryError) as caught:
        directory(aws).discover()

    assert str(caught.value) == (
        "Could not list the secrets tagged joor-token-parameter: AccessDeniedException: no"
    )


def test_an_unreachable_secrets_manager_is_named_by_the_sdks_error(aws: Aws) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    loader = SecretsManagerCredentials(
        SECRET, lambda: aws.session.client("secretsmanager", endpoint_url=dead, config=config)
    )

    with pytest.raises(SecretUnavailableError) as caught:
        loader.load()

    assert str(caught.value) == (
        f"Could not read secret {SECRET!r}: EndpointConnectionError: "
        f'Could not connect to the endpoint URL: "{dead}/"'
    )


def test_a_parameter_tag_left_empty_is_refused_as_no_name(aws: Aws) -> None:
    answer_listing(aws, listed("blank", None, ""))

    assert directory(aws).discover().refused == (
        Refusal(
            "blank",
            "its tag joor-token-parameter must be an SSM parameter name such as "
            "/joor/sandbox/access-token (letters, digits, _ . - and / between path parts), got ''",
        ),
    )


def test_the_listing_asks_for_the_tag_and_the_largest_page_aws_allows(aws: Aws) -> None:
    aws.proxy.inject(
        AwsFault(
            "secretsmanager.ListSecrets",
            "ValidationException",
            "{request.Filters} {request.MaxResults}",
        )
    )

    with pytest.raises(AccountDiscoveryError) as caught:
        directory(aws).discover()

    assert str(caught.value).endswith(
        "ValidationException: [{'Key': 'tag-key', 'Values': ['joor-token-parameter']}] 100"
    )


def test_an_answer_without_a_secret_list_has_no_accounts(aws: Aws) -> None:
    aws.proxy.inject(AwsAnswer("secretsmanager.ListSecrets", {}))

    assert directory(aws).discover() == Discovery(accounts=())


def test_a_secret_without_the_tag_or_refused_does_not_stop_the_ones_after_it(aws: Aws) -> None:
    untagged = listed("untagged", datetime(2026, 1, 1, tzinfo=UTC), "/joor/fleet/x/access-token")
    untagged["Tags"] = []
    no_tags = listed("no-tags", datetime(2026, 1, 2, tzinfo=UTC), "/joor/fleet/x/access-token")
    del no_tags["Tags"]
    outside = listed("outside", datetime(2026, 1, 3, tzinfo=UTC), "/joor/other/access-token")
    good = listed("good", datetime(2026, 1, 4, tzinfo=UTC), "/joor/fleet/g/access-token")
    answer_listing(aws, untagged, no_tags, outside, good)

    found = directory(aws).discover()

    assert [a.parameter for a in found.accounts] == ["/joor/fleet/g/access-token"]
    assert [r.secret for r in found.refused] == ["outside"]
