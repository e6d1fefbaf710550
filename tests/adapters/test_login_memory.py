"""The login gate's memory in Secrets Manager, against moto's server: the secret's current
version and what JOOR said last time, read without the value, written as one tag, and found
in a fleet's listing; the lookups a secret change and a report need."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infra.local.aws_fault_proxy import AwsFault
from refresher.adapters.login_record import TAG, LoginMemory, encode
from refresher.adapters.secrets_manager import SecretsManagerCredentials
from refresher.adapters.tagged_secrets import TaggedSecretsDirectory
from refresher.domain.errors import LoginRecordError, SecretUnavailableError, UnknownAccountError
from refresher.domain.models import Account, LoginRecord, SecretChange
from tests.adapters.conftest import Aws

pytestmark = pytest.mark.integration

SECRET = "joor/test/api-credentials"
VALUE = json.dumps({"client_id": "c", "client_secret": "s", "username": "u", "password": "p"})
URLS = {"sandbox": "https://sandbox.example/auth/", "production": "https://prod.example/auth/"}
WHEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def create(aws: Aws, name: str = SECRET, **tags: str) -> dict[str, str]:
    created = aws.client("secretsmanager", direct=True).create_secret(
        Name=name, SecretString=VALUE, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )
    return {"arn": created["ARN"], "version": created["VersionId"]}


def source(aws: Aws, secret: str = SECRET) -> SecretsManagerCredentials:
    return SecretsManagerCredentials(secret, lambda: aws.client("secretsmanager"))


def test_a_new_secret_has_a_current_version_and_no_login_yet(aws: Aws) -> None:
    created = create(aws)
    aws.proxy.reset()

    state = source(aws).describe()

    assert (state.secret, state.current_version, state.last_login) == (
        SECRET,
        created["version"],
        None,
    )
    assert dict(aws.proxy.seen) == {"secretsmanager.DescribeSecret": 1}  # no value read


def test_a_record_is_one_tag_that_the_next_description_reads_back(aws: Aws) -> None:
    created = create(aws)
    record = LoginRecord("rejected", WHEN, created["version"], WHEN)
    aws.proxy.reset()

    source(aws).record(record)
    state = source(aws).describe()

    assert state.last_login == record
    assert state.rejected
    assert aws.proxy.seen["secretsmanager.TagResource"] == 1
    tags = aws.client("secretsmanager", direct=True).describe_secret(SecretId=SECRET)["Tags"]
    assert tags == [{"Key": TAG, "Value": encode(record)}]


def test_a_new_value_makes_a_new_current_version_that_is_not_rejected(aws: Aws) -> None:
    created = create(aws)
    source(aws).record(LoginRecord("rejected", WHEN, created["version"]))

    aws.client("secretsmanager", direct=True).put_secret_value(SecretId=SECRET, SecretString=VALUE)
    state = source(aws).describe()

    assert state.current_version != created["version"]
    assert not state.rejected


def test_the_value_comes_with_its_version_and_when_it_was_saved(aws: Aws) -> None:
    created = create(aws)

    credentials = source(aws).load()

    assert credentials.version == created["version"]
    assert credentials.version_created is not None


def test_a_record_that_cannot_be_written_names_the_secret_and_the_tag(aws: Aws) -> None:
    create(aws)
    aws.proxy.inject(AwsFault("secretsmanager.TagResource", "AccessDeniedException", "denied"))

    with pytest.raises(LoginRecordError) as caught:
        source(aws).record(LoginRecord("ok", WHEN, "v"))

    assert str(caught.value) == (
        f"Could not tag secret {SECRET!r} with {TAG}: AccessDeniedException: denied"
    )


def test_a_secret_that_cannot_be_described_says_why(aws: Aws) -> None:
    with pytest.raises(SecretUnavailableError, match=r"Could not describe secret .*does not exist"):
        source(aws, "joor/missing").describe()


def test_a_known_state_is_not_read_again(aws: Aws) -> None:
    created = create(aws)
    listed = source(aws).describe()
    aws.proxy.reset()

    again = SecretsManagerCredentials(SECRET, lambda: aws.client("secretsmanager"), listed)

    assert again.describe() == listed
    assert created["version"] == listed.current_version
    assert sum(aws.proxy.seen.values()) == 0


# --- a fleet's directory ----------------------------------------------------------------


def directory(aws: Aws, configured: Account | None = None) -> TaggedSecretsDirectory:
    return TaggedSecretsDirectory(
        "/joor/fleet", lambda: aws.client("secretsmanager"), URLS, "sandbox", configured
    )


def test_the_listing_tells_each_accounts_credential_state(aws: Aws) -> None:
    created = create(aws, "brand-a", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    source(aws, "brand-a").record(LoginRecord("rejected", WHEN, created["version"]))
    aws.proxy.reset()

    [account] = directory(aws).discover().accounts

    assert account.credentials is not None
    assert account.credentials.rejected
    assert dict(aws.proxy.seen) == {"secretsmanager.ListSecrets": 1}


def test_the_account_of_a_parameter_takes_one_filtered_listing(aws: Aws) -> None:
    a = create(aws, "brand-a", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    create(aws, "brand-ab", **{"joor-token-parameter": "/joor/fleet/a/access-token-2"})
    aws.proxy.reset()

    account = directory(aws).account_for("/joor/fleet/a/access-token")

    assert (account.parameter, account.secret_id) == ("/joor/fleet/a/access-token", a["arn"])
    assert dict(aws.proxy.seen) == {"secretsmanager.ListSecrets": 1}


def test_the_account_of_a_parameter_claimed_twice_is_the_one_a_whole_listing_keeps(
    aws: Aws,
) -> None:
    # moto stamps creation to the second: two made in one second are taken by ARN.
    first = create(aws, "a-first", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    create(aws, "z-second", **{"joor-token-parameter": "/joor/fleet/a/access-token"})

    assert directory(aws).account_for("/joor/fleet/a/access-token").secret_id == first["arn"]
    assert [a.secret_id for a in directory(aws).discover().accounts] == [first["arn"]]


@pytest.mark.parametrize(
    ("parameter", "environment", "problem"),
    [
        (
            "/joor/fleet/x/access-token",
            "staging",
            "its tag joor-environment must be 'sandbox' or 'production', got 'staging'",
        ),
        (
            "/joor/other/access-token",
            "",
            "its tag joor-token-parameter names '/joor/other/access-token', outside this "
            "stack's parameter path /joor/fleet/ (another stack's? if not, tag it with a name "
            "under the path)",
        ),
    ],
    ids=["unknown-environment", "outside-the-path"],
)
def test_a_parameter_only_a_refused_secret_claims_is_unknown_and_says_why(
    aws: Aws, parameter: str, environment: str, problem: str
) -> None:
    create(aws, "brand-x", **{"joor-token-parameter": parameter, "joor-environment": environment})

    with pytest.raises(UnknownAccountError) as caught:
        directory(aws).account_for(parameter)

    assert str(caught.value) == (
        f"No secret tagged for parameter {parameter!r} in this fleet; refused: "
        f"secret 'brand-x': {problem}"
    )


def test_the_configured_account_answers_for_its_parameter_only(aws: Aws) -> None:
    configured = Account("/joor/fleet/c/access-token", "joor/configured", URLS["sandbox"])
    tagged = create(aws, "brand-a", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    aws.proxy.reset()

    assert directory(aws, configured).account_for("/joor/fleet/c/access-token") == configured
    assert sum(aws.proxy.seen.values()) == 0
    other = directory(aws, configured).account_for("/joor/fleet/a/access-token")
    assert other.secret_id == tagged["arn"]


def test_a_change_of_an_untagged_secret_is_no_account_after_one_call(aws: Aws) -> None:
    other = create(aws, "payments/db")
    aws.proxy.reset()

    change = SecretChange(other["arn"], "payments/db", other["version"])

    assert directory(aws).account_of(change) is None
    assert dict(aws.proxy.seen) == {"secretsmanager.ListSecrets": 1}


def test_a_change_of_an_accounts_secret_is_that_account(aws: Aws) -> None:
    brand = create(aws, "brand-a", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    create(aws, "brand-a-old", **{"joor-token-parameter": "/joor/fleet/old/access-token"})

    account = directory(aws).account_of(SecretChange(brand["arn"], "brand-a", brand["version"]))

    assert account is not None
    assert (account.parameter, account.secret_id) == ("/joor/fleet/a/access-token", brand["arn"])


@pytest.mark.parametrize(
    "tag",
    ["/joor/other/access-token", "not a name"],
    ids=["outside-the-path", "unusable"],
)
def test_a_change_of_a_secret_tagged_for_no_account_of_this_fleet_is_none(
    aws: Aws, tag: str
) -> None:
    secret = create(aws, "brand-x", **{"joor-token-parameter": tag})
    aws.proxy.reset()

    assert directory(aws).account_of(SecretChange(secret["arn"], "brand-x", "v")) is None
    assert dict(aws.proxy.seen) == {"secretsmanager.ListSecrets": 1}


def test_a_change_of_a_secret_whose_tag_only_starts_like_the_parameter_tag_is_none(
    aws: Aws,
) -> None:
    # ListSecrets matches a tag-key filter as a prefix (API reference, Filter), so the listing
    # holds this secret.
    secret = create(aws, "brand-x", **{"joor-token-parameter-note": "/joor/fleet/x/access-token"})

    assert directory(aws).account_of(SecretChange(secret["arn"], "brand-x", "v")) is None


def test_a_change_of_the_secret_that_lost_a_claim_is_none(aws: Aws) -> None:
    create(aws, "a-first", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    second = create(aws, "z-second", **{"joor-token-parameter": "/joor/fleet/a/access-token"})

    assert directory(aws).account_of(SecretChange(second["arn"], "z-second", "v")) is None


def test_a_change_of_the_configured_accounts_secret_takes_no_call(aws: Aws) -> None:
    configured = Account("/joor/fleet/c/access-token", "joor/configured", URLS["sandbox"])
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:joor/configured-AbCdEf"
    aws.proxy.reset()

    found = directory(aws, configured).account_of(SecretChange(arn, "joor/configured", "v"))

    assert found == configured
    assert sum(aws.proxy.seen.values()) == 0


def test_a_change_of_the_accounts_secret_configured_by_its_arn_takes_no_call(aws: Aws) -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:joor/configured-AbCdEf"
    configured = Account("/joor/fleet/c/access-token", arn, URLS["sandbox"])
    aws.proxy.reset()

    found = directory(aws, configured).account_of(SecretChange(arn, "joor/configured", "v"))

    assert found == configured
    assert sum(aws.proxy.seen.values()) == 0


# --- what a warm execution environment remembers ----------------------------------------


def test_a_record_whose_tag_write_was_refused_is_still_known_to_the_next_warm_run(
    aws: Aws,
) -> None:
    created = create(aws)
    memory = LoginMemory()
    first = SecretsManagerCredentials(SECRET, lambda: aws.client("secretsmanager"), memory=memory)
    aws.proxy.inject(AwsFault("secretsmanager.TagResource", "ThrottlingException", "Rate exceeded"))
    record = LoginRecord("rejected", WHEN, created["version"])

    with pytest.raises(LoginRecordError):
        first.record(record)
    later = SecretsManagerCredentials(SECRET, lambda: aws.client("secretsmanager"), memory=memory)

    assert later.describe().rejected
    assert not source(aws).describe().rejected  # a cold start: only the tag counts


def test_a_newer_tag_wins_over_what_this_environment_remembers(aws: Aws) -> None:
    created = create(aws)
    memory = LoginMemory()
    memory.remember(SECRET, LoginRecord("failed", WHEN, created["version"]))
    newer = LoginRecord("ok", WHEN.replace(hour=11), created["version"])
    source(aws).record(newer)  # another environment's run, later

    described = SecretsManagerCredentials(
        SECRET, lambda: aws.client("secretsmanager"), memory=memory
    ).describe()

    assert described.last_login == newer


def test_a_fleets_listing_takes_what_this_environment_remembers(aws: Aws) -> None:
    created = create(aws, "brand-a", **{"joor-token-parameter": "/joor/fleet/a/access-token"})
    memory = LoginMemory()
    memory.remember(created["arn"], LoginRecord("rejected", WHEN, created["version"]))

    [account] = (
        TaggedSecretsDirectory(
            "/joor/fleet", lambda: aws.client("secretsmanager"), URLS, "sandbox", memory=memory
        )
        .discover()
        .accounts
    )

    assert account.credentials is not None
    assert account.credentials.rejected
