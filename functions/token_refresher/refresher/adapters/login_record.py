"""What JOOR said to the last login, kept as a tag on the credentials secret.

A tag is where the login gate's memory costs least: it lives with the credentials it judges,
survives cold starts and concurrent runs, needs no resource of its own, is removed with the
secret, and a fleet's listing of its tagged secrets (ListSecrets) returns it with no extra
call. Secrets Manager sends no event for a tag change, so writing it never triggers a run.

The value is ``<result> <when> <secret version> [<version created>]``, e.g.
``rejected 2026-12-04T10:00:00Z 6f1c2a4e-... 2026-12-04T09:58:12Z``: only characters a tag
value may hold (letters, digits, spaces and ``_ . : / = + - @``), at most 256 of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from refresher.domain.models import LOGIN_RESULTS, CredentialState, LoginRecord

TAG = "joor-token-last-login"
CURRENT = "AWSCURRENT"
_TIME = "%Y-%m-%dT%H:%M:%SZ"
# Version ids are UUIDs unless a caller chose its own (ClientRequestToken, 32 to 64
# characters); one that a tag value cannot hold is kept as a digest.
_TAG_SAFE = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,64}$")


def version_key(version: str) -> str:
    """How a secret version id is compared and kept: itself, or a digest of it."""
    if not version or _TAG_SAFE.match(version):
        return version
    return "sha256:" + hashlib.sha256(version.encode()).hexdigest()[:40]


def encode(record: LoginRecord) -> str:
    parts = [record.result, _format(record.at), version_key(record.version)]
    if record.version_created is not None:
        parts.append(_format(record.version_created))
    return " ".join(parts)


def decode(value: str | None) -> LoginRecord | None:
    """The record a tag holds; None for anything else (a tag edited by hand never locks)."""
    parts = (value or "").split()
    if len(parts) not in (3, 4) or parts[0] not in LOGIN_RESULTS:
        return None
    try:
        at = _parse(parts[1])
        created = _parse(parts[3]) if len(parts) == 4 else None
    except ValueError:
        return None
    return LoginRecord(parts[0], at, parts[2], created)


def credential_state(
    secret: str,
    tags: Iterable[Mapping[str, str]] | None,
    versions_to_stages: Mapping[str, Iterable[str]] | None,
) -> CredentialState:
    """From what DescribeSecret or ListSecrets says of a secret: never its value."""
    current = next(
        (v for v, stages in (versions_to_stages or {}).items() if CURRENT in stages), None
    )
    value = next((t.get("Value") for t in tags or () if t.get("Key") == TAG), None)
    return CredentialState(
        secret=secret,
        current_version=version_key(current) if current else None,
        last_login=decode(value),
    )


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, _TIME).replace(tzinfo=UTC)
