"""The login record as a tag value: what it holds, what it refuses to read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from refresher.adapters.login_record import (
    TAG,
    LoginMemory,
    credential_state,
    decode,
    encode,
    version_key,
)
from refresher.domain.models import CredentialState, LoginRecord
from tests.unit.worlds import machine_zone

WHEN = datetime(2026, 12, 4, 10, 0, 5, 999, tzinfo=UTC)
UUID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"


def test_a_record_reads_back_to_the_second() -> None:
    record = LoginRecord("rejected", WHEN, UUID, WHEN)

    assert encode(record) == f"rejected 2026-12-04T10:00:05Z {UUID} 2026-12-04T10:00:05Z"
    assert decode(encode(record)) == LoginRecord(
        "rejected", WHEN.replace(microsecond=0), UUID, WHEN.replace(microsecond=0)
    )


def test_a_record_is_written_in_utc_whatever_the_zone_of_the_machine_and_the_value() -> None:
    at = datetime(2026, 12, 4, 11, 0, 5, tzinfo=timezone(timedelta(hours=1)))

    with machine_zone("XYZ+05"):  # a POSIX zone five hours behind UTC, no tzdata needed
        assert encode(LoginRecord("ok", at, UUID)) == f"ok 2026-12-04T10:00:05Z {UUID}"


def test_a_tag_value_holds_only_what_aws_allows_in_one() -> None:
    value = encode(LoginRecord("failed", WHEN, "x" * 64, WHEN))

    assert len(value) <= 256
    assert set(value) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.:/=+-@"
    )


def test_a_version_id_a_tag_cannot_hold_is_kept_as_its_digest() -> None:
    odd = "token!with#characters&that*tags$refuse"

    assert version_key(odd).startswith("sha256:")
    assert version_key(odd) == version_key(odd)
    assert version_key(UUID) == UUID
    assert version_key("") == ""


def test_a_digest_an_earlier_run_wrote_still_names_the_same_version() -> None:
    # A tag written before an update must still judge its version after it: the digest's
    # form is part of what the tags in AWS hold.
    odd = "token!with#characters&that*tags$refuse"

    assert version_key(odd) == "sha256:f9a199ddb2129de9898450722f0bcbaf1c8281c9"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "rejected",
        "locked 2026-12-04T10:00:05Z v",
        "rejected yesterday v",
        "rejected 2026-12-04T10:00:05Z v not-a-date",
        "rejected 2026-12-04T10:00:05Z v 2026-12-04T10:00:05Z extra",
    ],
)
def test_anything_but_a_record_reads_as_no_record(value: str | None) -> None:
    assert decode(value) is None


def test_the_state_takes_the_awscurrent_version_and_the_record_tag() -> None:
    state = credential_state(
        "arn:s",
        [{"Key": "team", "Value": "x"}, {"Key": TAG, "Value": f"ok 2026-12-04T10:00:05Z {UUID}"}],
        {"old": ["AWSPREVIOUS"], UUID: ["AWSCURRENT"], "next": ["AWSPENDING"]},
    )

    assert state.current_version == UUID
    assert state.last_login is not None
    assert state.last_login.result == "ok"


def test_a_secret_without_versions_or_tags_has_an_unknown_current_version() -> None:
    state = credential_state("arn:s", None, None)

    assert (state.current_version, state.last_login) == (None, None)


@pytest.mark.parametrize(
    ("tag_second", "kept"),
    [(5, "tag"), (4, "remembered")],
    ids=["tag-of-the-same-second", "tag-a-second-older"],
)
def test_what_this_environment_remembers_wins_only_over_an_older_tag(
    tag_second: int, kept: str
) -> None:
    # A tag holds whole seconds: the record remembered here (10:00:05.000999) is no newer than
    # a tag of 10:00:05, which may be another environment's login of that second.
    remembered = LoginRecord("failed", WHEN, UUID)
    tagged = LoginRecord("ok", WHEN.replace(second=tag_second, microsecond=0), UUID)
    memory = LoginMemory()
    memory.remember("arn:s", remembered)

    merged = memory.merged(CredentialState("arn:s", UUID, tagged))

    assert merged.last_login == {"tag": tagged, "remembered": remembered}[kept]
