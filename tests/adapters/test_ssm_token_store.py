"""SsmTokenStore and SsmTokenInventory against moto's server: what is stored, what is read
back, and what an AWS failure becomes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from botocore.config import Config

from infra.local.aws_fault_proxy import AwsAnswer, AwsFault
from infra.local.http_stand_in import free_port
from refresher.adapters.ssm_token_store import SsmTokenInventory, SsmTokenStore
from refresher.domain.errors import TokenStoreReadError, TokenStoreWriteError
from refresher.domain.models import IssuedToken, StoredToken
from tests.adapters.conftest import Aws
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

NAME = "/joor/test/access-token"
EXPIRES = datetime(2026, 11, 28, 22, 0, 0, tzinfo=UTC)


def issued(expires_at: datetime = EXPIRES) -> IssuedToken:
    token = secrets.token_urlsafe(64)
    WATCH.add_secrets(token)
    return IssuedToken(access_token=token, expires_at=expires_at, lifetime=timedelta(hours=10))


def describe(aws: Aws, name: str = NAME) -> dict[str, object]:
    found = aws.client("ssm", direct=True).describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
    )["Parameters"]
    assert len(found) == 1
    return dict(found[0])


def test_a_missing_parameter_reads_as_no_token(aws: Aws) -> None:
    assert SsmTokenStore(NAME, aws.client("ssm")).read() == StoredToken(exists=False)


def test_a_write_stores_the_bare_token_as_a_secure_string_and_returns_its_version(
    aws: Aws,
) -> None:
    token = issued()

    version = SsmTokenStore(NAME, aws.client("ssm")).write(token)

    stored = aws.client("ssm", direct=True).get_parameter(Name=NAME, WithDecryption=True)
    assert stored["Parameter"]["Value"] == token.access_token
    assert stored["Parameter"]["Type"] == "SecureString"
    assert stored["Parameter"]["Version"] == version == 1


def test_the_description_carries_the_expiry_to_the_second(aws: Aws) -> None:
    SsmTokenStore(NAME, aws.client("ssm")).write(issued())

    assert describe(aws)["Description"] == (
        "JOOR access token (Bearer). expires_at=2026-11-28T22:00:00Z. "
        "Written by joor-token-refresher."
    )


def test_a_token_is_written_in_the_tier_ssm_picks_by_its_size(aws: Aws) -> None:
    SsmTokenStore(NAME, aws.client("ssm")).write(issued())

    assert aws.proxy.seen["AmazonSSM.PutParameter"] == 1
    # moto keeps the tier asked for: Intelligent-Tiering lets SSM go to Advanced for 8 KB.
    assert describe(aws)["Tier"] == "Intelligent-Tiering"


def test_a_second_write_replaces_the_value_as_a_new_version(aws: Aws) -> None:
    store = SsmTokenStore(NAME, aws.client("ssm"))
    store.write(issued())
    newer = issued(EXPIRES + timedelta(hours=1))

    version = store.write(newer)

    assert version == 2
    assert store.read().expires_at == EXPIRES + timedelta(hours=1)


def test_a_read_gives_the_expiry_version_and_time_of_writing_without_decrypting(
    aws: Aws,
) -> None:
    store = SsmTokenStore(NAME, aws.client("ssm"))
    store.write(issued())

    stored = store.read()

    assert stored.exists
    assert stored.expires_at == EXPIRES
    assert stored.version == 1
    assert stored.last_modified == describe(aws)["LastModifiedDate"]
    assert aws.proxy.seen["AmazonSSM.DescribeParameters"] == 1
    assert aws.proxy.seen["AmazonSSM.GetParameter"] == 0


def test_without_a_key_the_aws_managed_key_encrypts_the_token(aws: Aws) -> None:
    SsmTokenStore(NAME, aws.client("ssm")).write(issued())

    assert describe(aws)["KeyId"] == "alias/aws/ssm"


def test_a_configured_key_encrypts_the_token(aws: Aws) -> None:
    key = aws.client("kms", direct=True).create_key()["KeyMetadata"]["KeyId"]

    SsmTokenStore(NAME, aws.client("ssm"), kms_key_id=key).write(issued())

    assert describe(aws)["KeyId"] == key


def test_the_expiry_of_a_plain_string_parameter_is_not_trusted(aws: Aws) -> None:
    aws.client("ssm", direct=True).put_parameter(
        Name=NAME,
        Value="not-a-token",
        Type="String",
        Description="JOOR access token (Bearer). expires_at=2026-11-28T22:00:00Z.",
    )

    stored = SsmTokenStore(NAME, aws.client("ssm")).read()

    assert stored.exists
    assert stored.expires_at is None
    assert stored.version == 1


def test_a_parameter_whose_name_only_starts_like_ours_is_not_ours(aws: Aws) -> None:
    SsmTokenStore(f"{NAME}-old", aws.client("ssm")).write(issued())

    assert SsmTokenStore(NAME, aws.client("ssm")).read() == StoredToken(exists=False)


def test_a_failed_read_names_the_parameter_and_the_aws_error(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("AmazonSSM.DescribeParameters", "AccessDeniedException", "no"))

    with pytest.raises(TokenStoreReadError) as caught:
        SsmTokenStore(NAME, aws.client("ssm")).read()

    assert str(caught.value) == (f"Could not read parameter {NAME!r}: AccessDeniedException: no")


def test_a_failed_write_says_the_token_is_unchanged_and_never_quotes_the_new_one(
    aws: Aws,
) -> None:
    token = issued()
    aws.proxy.inject(
        AwsFault(
            "AmazonSSM.PutParameter",
            "ValidationException",
            "Value '{request.Value}' failed to satisfy constraint",
        )
    )

    with pytest.raises(TokenStoreWriteError) as caught:
        SsmTokenStore(NAME, aws.client("ssm")).write(token)

    assert str(caught.value) == (
        f"Could not write parameter {NAME!r}; the stored token is unchanged: "
        "ValidationException: Value '[redacted]' failed to satisfy constraint"
    )


def test_the_inventory_lists_every_token_under_its_path_and_nothing_else(aws: Aws) -> None:
    client = aws.client("ssm")
    names = [f"/joor/fleet/brand-{i:02d}/access-token" for i in range(53)]
    for name in names:
        SsmTokenStore(name, client).write(issued())
    SsmTokenStore("/joor/fleetx/access-token", client).write(issued())
    SsmTokenStore("/joor/other/access-token", client).write(issued())

    found = SsmTokenInventory("/joor/fleet", client).read_all()

    assert sorted(found) == names
    assert {s.expires_at for s in found.values()} == {EXPIRES}
    assert {s.version for s in found.values()} == {1}


def test_the_inventory_asks_for_the_largest_page_ssm_allows(aws: Aws) -> None:
    SsmTokenStore("/joor/fleet/a/access-token", aws.client("ssm")).write(issued())
    aws.proxy.inject(
        AwsFault("AmazonSSM.DescribeParameters", "ValidationException", "{request.MaxResults}")
    )

    with pytest.raises(TokenStoreReadError) as caught:
        SsmTokenInventory("/joor/fleet", aws.client("ssm")).read_all()

    assert str(caught.value).endswith("ValidationException: 50")


def test_an_empty_path_lists_nothing(aws: Aws) -> None:
    assert SsmTokenInventory("/joor/fleet", aws.client("ssm")).read_all() == {}


def test_a_failed_listing_names_the_path(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("AmazonSSM.DescribeParameters", "ThrottlingException", "slow down"))

    with pytest.raises(TokenStoreReadError) as caught:
        SsmTokenInventory("/joor/fleet", aws.client("ssm")).read_all()

    assert str(caught.value) == (
        "Could not list the parameters under '/joor/fleet': ThrottlingException: slow down"
    )


def test_an_unreachable_ssm_is_named_by_the_sdks_error(aws: Aws) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = aws.session.client(
        "ssm",
        endpoint_url=dead,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )

    with pytest.raises(TokenStoreReadError) as caught:
        SsmTokenStore(NAME, client).read()

    assert str(caught.value) == (
        f"Could not read parameter {NAME!r}: EndpointConnectionError: "
        f'Could not connect to the endpoint URL: "{dead}/"'
    )


def test_a_listing_page_without_parameters_adds_none(aws: Aws) -> None:
    aws.proxy.inject(AwsAnswer("AmazonSSM.DescribeParameters", {}))

    assert SsmTokenInventory("/joor/fleet", aws.client("ssm")).read_all() == {}


def test_an_answer_without_parameters_reads_as_no_token(aws: Aws) -> None:
    aws.proxy.inject(AwsAnswer("AmazonSSM.DescribeParameters", {}))

    assert SsmTokenStore(NAME, aws.client("ssm")).read() == StoredToken(exists=False)
