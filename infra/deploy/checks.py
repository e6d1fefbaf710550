"""What the preflight's checks share (preflight.py, preflight_fleet.py): one line per check,
the count that ends them, and how an AWS error or a secret that cannot be read is said."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import ConfigError
from refresher.adapters.aws_errors import describe, error_code

# The most secrets one line names; the rest are counted.
LISTED = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    warning: bool = False  # passes, but says something worth a look

    def line(self) -> str:
        mark = "FAIL" if not self.ok else "warn" if self.warning else "ok  "
        return f"{mark}  {self.name}: {self.message}"


def report(checks: Sequence[Check]) -> int:
    """Print one line per check and the count; how many failed."""
    for check in checks:
        print(check.line())
    failed = sum(not check.ok for check in checks)
    warned = sum(check.ok and check.warning for check in checks)
    print(
        f"{len(checks) - failed} ok, {failed} failed" + (f", {warned} to look at" if warned else "")
    )
    return failed


def refused(err: ConfigError) -> int:
    """A configuration, Region or profile that cannot be used, as a failed check; exit status 1."""
    print(Check(err.check, False, str(err)).line())
    return 1


def arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def secret_name(arn: str) -> str:
    """``joor/fleet/brand-a`` from its ARN (which ends in a six-character suffix)."""
    return arn.split(":secret:", 1)[-1].rsplit("-", 1)[0]


def listed(items: Sequence[str]) -> str:
    shown = "; ".join(items[:LISTED])
    return shown + (f"; and {len(items) - LISTED} more" if len(items) > LISTED else "")


def unreadable(secret: str, err: ClientError | BotoCoreError) -> str:
    """Why a secret cannot be read, and what to do; its name or ARN, never a value."""
    error = error_code(err)
    if error == "ResourceNotFoundException":
        return (
            f"no secret at {secret} (check the ARN's six-character suffix, the account and "
            "the region); create it as the README shows"
        )
    if error in ("AccessDeniedException", "AccessDenied"):
        return f"your credentials cannot read {secret} ({describe(err)})"
    if error == "DecryptionFailure":
        return (
            f"Secrets Manager cannot decrypt {secret} with its KMS key ({describe(err)}); check "
            "the key's policy and state"
        )
    return f"cannot read {secret} ({describe(err)})"
