"""What the preflight's checks share: one line per check, and the read-only AWS clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# The most items one line names; the rest are counted.
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


def warn(name: str, message: str) -> Check:
    return Check(name, True, message, warning=True)


class Clients:
    """One client per service, made on first use; read-only calls, retried briefly."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.region = session.region_name or ""
        self._config = Config(retries={"mode": "standard", "max_attempts": 3})
        self._made: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self.session.client(service, config=self._config)  # type: ignore[call-overload]
        return self._made[service]


def listed(items: Sequence[str]) -> str:
    shown = "; ".join(items[:LISTED])
    return shown + (f"; and {len(items) - LISTED} more" if len(items) > LISTED else "")


def arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def arn_partition(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def secret_name(arn: str) -> str:
    """``joor/fleet/brand-a`` from its ARN (which ends in a six-character suffix)."""
    return arn.split(":secret:", 1)[-1].rsplit("-", 1)[0]
