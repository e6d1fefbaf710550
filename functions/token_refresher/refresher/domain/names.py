"""What makes a usable token parameter name, what lies under a fleet's path, and which
secret a name or ARN designates."""

from __future__ import annotations

import re

_PARAMETER_NAME = re.compile(r"^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
MAX_NAME_LENGTH = 1011  # SSM's limit on a fully qualified name, ARN prefix excluded


def parameter_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a token parameter, or None when it can."""
    if len(name) > MAX_NAME_LENGTH or not _PARAMETER_NAME.match(name):
        return (
            "must be an SSM parameter name such as /joor/sandbox/access-token "
            f"(letters, digits, _ . - and / between path parts), got {name!r}"
        )
    if name.lstrip("/").lower().startswith(("aws", "ssm")):
        return f"must not start with 'aws' or 'ssm', got {name!r}"
    return None


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a fleet's parameter path (``/joor``, ``/joor/fleet``)."""
    if not path.startswith("/") or path == "/":
        return f"must be a parameter path such as /joor/fleet, starting with '/', got {path!r}"
    return parameter_name_problem(path)


def is_under(path: str, name: str) -> bool:
    """True for ``/joor/a/token`` under ``/joor``; ``/joorx/token`` is not under ``/joor``."""
    return name.startswith(path + "/")


def same_secret(configured: str, arn: str, name: str) -> bool:
    """Whether a secret change (its ARN and name) is of the secret configured as ``configured``:
    its full ARN, its name, or its ARN without the six-character suffix Secrets Manager adds."""
    if configured in (arn, name):
        return True
    suffix = arn.removeprefix(configured)
    return configured.startswith("arn:") and len(suffix) == 7 and suffix.startswith("-")
