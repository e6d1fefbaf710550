"""Which names a token parameter may have."""

from __future__ import annotations

import pytest

from refresher.domain.names import parameter_name_problem, same_secret

# SSM's limit on a fully qualified parameter name, ARN prefix excluded (SSM API reference).
MAX_NAME_LENGTH = 1011


def test_a_name_as_long_as_ssm_allows_is_accepted() -> None:
    name = "/" + "a" * (MAX_NAME_LENGTH - 1)

    assert parameter_name_problem(name) is None
    assert parameter_name_problem(name + "a") is not None


def test_an_unusable_name_is_refused_with_an_example_of_a_good_one() -> None:
    assert parameter_name_problem("/joor/a b") == (
        "must be an SSM parameter name such as /joor/sandbox/access-token (letters, digits, "
        "_ . - and / between path parts), got '/joor/a b'"
    )


@pytest.mark.parametrize("name", ["/ssm-token", "/SSM/token", "aws-token", "/AWS/x"])
def test_names_reserved_by_aws_are_refused(name: str) -> None:
    assert parameter_name_problem(name) == f"must not start with 'aws' or 'ssm', got {name!r}"


@pytest.mark.parametrize("name", ["/Xaws-token", "/joor/ssm-token", "/my-aws"])
def test_names_that_only_contain_a_reserved_word_are_accepted(name: str) -> None:
    assert parameter_name_problem(name) is None


PREFIX = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
ARN = f"{PREFIX}joor/test-AbCdEf"


@pytest.mark.parametrize(
    "configured",
    [ARN, "joor/test", f"{PREFIX}joor/test"],
    ids=["full ARN", "name", "ARN without the suffix"],
)
def test_a_secret_change_is_of_the_secret_configured_by_its_arn_name_or_partial_arn(
    configured: str,
) -> None:
    assert same_secret(configured, ARN, "joor/test")


@pytest.mark.parametrize(
    ("configured", "name"),
    [
        (f"{PREFIX}joor/other", "joor/test"),
        (f"{PREFIX}joor", "joor/test"),
        (f"{PREFIX}joor/test", "joor/test-extra"),
        ("joor", "joor/test"),
        ("", "joor/test"),
    ],
    ids=["another ARN", "a shorter name's ARN", "a longer name", "a shorter name", "nothing"],
)
def test_a_secret_change_of_another_secret_is_not_of_the_one_configured(
    configured: str, name: str
) -> None:
    # Only Secrets Manager's own suffix (a dash and six characters) may follow a partial ARN:
    # "joor/test-extra-AbCdEf" is the secret "joor/test-extra", not "joor/test".
    assert not same_secret(configured, f"{PREFIX}{name}-AbCdEf", name)
