"""What DescribeParameters' metadata says of the stored token (no decryption involved)."""

from __future__ import annotations

from datetime import UTC, datetime

from refresher.adapters.ssm_token_store import stored_token

WRITTEN = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
DESCRIPTION = (
    "JOOR access token (Bearer). expires_at=2026-11-28T18:00:00Z. Written by joor-token-refresher."
)


def test_a_secure_string_written_by_the_refresher_carries_its_expiry_version_and_write_time() -> (
    None
):
    stored = stored_token(
        {
            "Name": "/joor/a/token",
            "Type": "SecureString",
            "Description": DESCRIPTION,
            "Version": 7,
            "LastModifiedDate": WRITTEN,
        }
    )

    assert stored.exists
    assert stored.expires_at == datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    assert stored.version == 7
    assert stored.last_modified == WRITTEN


def test_a_plain_string_with_the_same_description_is_not_trusted_with_an_expiry() -> None:
    # Anyone allowed to write a String could copy the description; only a SecureString counts.
    stored = stored_token(
        {"Name": "/joor/a/token", "Type": "String", "Description": DESCRIPTION, "Version": 2}
    )

    assert stored.exists
    assert stored.expires_at is None
