"""Every token the refresher keeps, one line each: its life left, when it was written, its state.

    python -m refresher status [--json]     # the function's variables from the environment
    make status [SAM_CONFIG_ENV=production] # the deployed stack's (infra/deploy/status.py)

Metadata only: the tokens' DescribeParameters (50 to a call), and the credentials' tags and
current version (DescribeSecret for the named account, ListSecrets in a fleet, 100 to a call).
No secret value is read and no token decrypted, so it needs no KMS permission and leaves no
trace of a value anywhere. Exit status 1 when a token the stack keeps has less life than the
guarantee (refresh window minus schedule interval), or none: a cron job or a CI step can
watch it.

States: ``fresh`` (at least the refresh window left), ``due`` (less: the next run refreshes
it), ``missing`` (no token yet), ``credentials rejected`` (JOOR rejected the secret's current
version: no run logs in with it until the secret changes, whatever life the token has left),
``unclaimed`` (a token under a fleet's path no secret claims any more: not refreshed, not
counted against the guarantee).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from refresher.adapters import login_record
from refresher.adapters.aws_errors import describe
from refresher.adapters.ssm_token_store import SsmTokenInventory, SsmTokenStore
from refresher.adapters.tagged_secrets import TaggedSecretsDirectory
from refresher.config import AUTH_URLS, Settings
from refresher.domain.errors import RefreshError
from refresher.domain.fleet import unclaimed
from refresher.domain.models import Account, CredentialState, StoredToken

if TYPE_CHECKING:
    import boto3

FRESH = "fresh"
DUE = "due"
MISSING = "missing"
UNCLAIMED = "unclaimed"
REJECTED = "credentials rejected"


@dataclass(frozen=True)
class TokenStatus:
    parameter: str
    secret: str | None  # None: unclaimed
    state: str
    version: int | None = None
    expires_at: datetime | None = None
    written_at: datetime | None = None
    seconds_left: int | None = None
    below_guarantee: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "secret": self.secret,
            "state": self.state,
            "version": self.version,
            "expires_at": _iso(self.expires_at),
            "written_at": _iso(self.written_at),
            "seconds_left": self.seconds_left,
            "below_guarantee": self.below_guarantee,
        }


@dataclass(frozen=True)
class Report:
    scope: str  # the parameter, or the fleet's path
    guarantee: timedelta
    window: timedelta
    tokens: tuple[TokenStatus, ...]
    refused: tuple[str, ...] = ()  # a fleet's tagged secrets that get no token
    calls: dict[str, int] = field(default_factory=dict)  # AWS calls made, by operation

    @property
    def below_guarantee(self) -> list[TokenStatus]:
        return [t for t in self.tokens if t.below_guarantee]

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "guarantee_seconds": int(self.guarantee.total_seconds()),
            "refresh_window_seconds": int(self.window.total_seconds()),
            "tokens": [t.as_json() for t in self.tokens],
            "below_guarantee": [t.parameter for t in self.below_guarantee],
            "refused_secrets": list(self.refused),
            "aws_calls": self.calls,
        }


def collect(settings: Settings, session: boto3.Session, now: datetime | None = None) -> Report:
    """The status of every token ``settings`` describes, from metadata only."""
    now = now or datetime.now(UTC)
    calls: dict[str, int] = {}
    ssm = _counted(session.client("ssm"), calls)
    secrets = _counted(session.client("secretsmanager"), calls)
    guarantee = settings.refresh_window - settings.schedule_interval

    def status(account: Account, stored: StoredToken, state: CredentialState | None) -> TokenStatus:
        return _status(
            account.parameter,
            account.secret_id,
            stored,
            credentials=state,
            settings=settings,
            now=now,
        )

    named = None
    if settings.credentials_secret_id and settings.token_parameter_name:
        named = Account(settings.token_parameter_name, settings.credentials_secret_id, "")
    tokens: list[TokenStatus] = []
    refused: tuple[str, ...] = ()
    if settings.parameter_path is None:
        if named is None:  # Settings requires the account without a path
            raise StatusError("CREDENTIALS_SECRET_ID and TOKEN_PARAMETER_NAME are not set")
        stored = SsmTokenStore(named.parameter, ssm).read()
        tokens.append(status(named, stored, _described(secrets, named.secret_id)))
        scope = named.parameter
    else:
        scope = f"{settings.parameter_path}/ (a fleet)"
        discovery = TaggedSecretsDirectory(
            settings.parameter_path,
            lambda: secrets,
            dict.fromkeys(AUTH_URLS, ""),
            settings.joor_environment,
            named,
        ).discover()
        stored_all = SsmTokenInventory(settings.parameter_path, ssm).read_all()
        for account in discovery.accounts:
            state = account.credentials
            if state is None:  # the named account: not listed by tag
                state = _described(secrets, account.secret_id)
            stored = stored_all.get(account.parameter, StoredToken(exists=False))
            tokens.append(status(account, stored, state))
        claimed = {a.parameter for a in discovery.accounts}
        for name in unclaimed(stored_all, claimed):
            tokens.append(
                _status(
                    name,
                    None,
                    stored_all[name],
                    credentials=None,
                    settings=settings,
                    now=now,
                    state=UNCLAIMED,
                )
            )
        refused = tuple(f"{r.secret}: {r.problem}" for r in discovery.refused if not r.elsewhere)
    return Report(
        scope,
        guarantee,
        settings.refresh_window,
        tuple(tokens),
        refused,
        dict(sorted(calls.items())),
    )


def _status(
    parameter: str,
    secret: str | None,
    stored: StoredToken,
    *,
    credentials: CredentialState | None,
    settings: Settings,
    now: datetime,
    state: str | None = None,
) -> TokenStatus:
    left = stored.seconds_left(now)
    if state is None:
        if credentials is not None and credentials.rejected:
            state = REJECTED
        elif not stored.exists:
            state = MISSING
        else:
            state = FRESH if stored.is_fresh(now, settings.refresh_window) else DUE
    guarantee = (settings.refresh_window - settings.schedule_interval).total_seconds()
    return TokenStatus(
        parameter=parameter,
        secret=secret,
        state=state,
        version=stored.version,
        expires_at=stored.expires_at,
        written_at=stored.last_modified,
        seconds_left=None if left is None else int(left),
        below_guarantee=state != UNCLAIMED and (left is None or left < guarantee),
    )


def _described(client: Any, secret: str) -> CredentialState:
    """The credentials' state from DescribeSecret: tags and version stages, never the value."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.describe_secret(SecretId=secret)
    except (ClientError, BotoCoreError) as err:
        raise StatusError(f"Could not describe the secret {secret!r}: {describe(err)}") from None
    return login_record.credential_state(
        secret, response.get("Tags"), response.get("VersionIdsToStages")
    )


def _counted(client: Any, calls: dict[str, int]) -> Any:
    """The client, counting each operation it calls in ``calls``. botocore emits before-call
    once per API call and retries inside it (BaseClient._make_api_call): a call that took
    three attempts counts once."""

    def count(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    client.meta.events.register("before-call.*.*", count)
    return client


class StatusError(Exception):
    """The status could not be read; the message names what and why."""


# --- rendering ---------------------------------------------------------------------------


def render(report: Report) -> str:
    """One line per token, under a header with the guarantee; a closing count."""
    rows = [("PARAMETER", "VERSION", "LIFE LEFT", "WRITTEN (UTC)", "STATE", "SECRET")]
    for token in report.tokens:
        rows.append(
            (
                token.parameter,
                "-" if token.version is None else str(token.version),
                _duration(token.seconds_left),
                "-" if token.written_at is None else f"{token.written_at:%Y-%m-%d %H:%M}",
                token.state + (" (below the guarantee)" if token.below_guarantee else ""),
                _secret_name(token.secret) if token.secret else "(no secret claims it)",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"JOOR tokens of {report.scope}: guarantee {_duration(report.guarantee.total_seconds())} "
        f"(refresh window {_duration(report.window.total_seconds())} minus the schedule interval)"
    ]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += [f"refused: {refusal}" for refusal in report.refused]
    kept = [t for t in report.tokens if t.state != UNCLAIMED]
    below = report.below_guarantee
    calls = sum(report.calls.values())
    lines.append(
        f"{len(kept)} token(s) kept, {len(below)} below the guarantee; {calls} AWS call(s) "
        f"({', '.join(f'{n} {op}' for op, n in report.calls.items())}): metadata only, no "
        "value read, nothing decrypted"
    )
    return "\n".join(lines)


def _secret_name(secret: str) -> str:
    """A secret's name from its ARN (without the six-character suffix); a name as it is."""
    if ":secret:" not in secret:
        return secret
    return secret.split(":secret:", 1)[1].rsplit("-", 1)[0]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    minutes = int(abs(seconds)) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours} h {minutes:02d} min" if hours else f"{sign}{minutes} min"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def show(report: Report, as_json: bool) -> int:
    """Print the report; 1 when a token kept has less life than the guarantee."""
    print(json.dumps(report.as_json(), indent=2) if as_json else render(report))  # noqa: T201
    return 1 if report.below_guarantee else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m refresher status",
        description="Every token the refresher keeps: life left, written when, state. "
        "Metadata only (one DescribeParameters call per 50 tokens, plus DescribeSecret, or in "
        "a fleet ListSecrets per 100 secrets). Exit status 1 when a token has less life than "
        "the guarantee.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    args = parser.parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, NoRegionError

    from refresher.aws_region import HOW_TO_SET, region_from_environment

    try:
        report = collect(Settings.from_env(), boto3.Session(region_name=region_from_environment()))
    except NoRegionError:
        print(f"error (no_region): no AWS Region: {HOW_TO_SET}", file=sys.stderr)  # noqa: T201
        return 2
    except (RefreshError, StatusError) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    except BotoCoreError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    return show(report, args.json)
