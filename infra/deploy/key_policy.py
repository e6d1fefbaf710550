"""Whether a KMS key policy lets the stack's function use the key: yes, no, or cannot tell.

KMS: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access
to a KMS key" (AWS KMS developer guide, "Key policies in AWS KMS"). The stack grants the
function its key uses through IAM, so the key policy must allow them for the account (the
default key policy's statement: Principal the account root, kms:*), or allow them to every
principal under conditions the function's requests meet (as the AWS managed keys' policies
do: kms:CallerAccount and kms:ViaService).

A statement counts when it allows the action to the account (its root ARN in the key's own
partition: aws, aws-cn, aws-us-gov, ...; or the bare account id) or to "*", and each of its
conditions holds for the function's requests, which are known: made by a role of the key's
account, through SSM (the token) or Secrets Manager (the credentials) in the stack's Region,
with the encryption context that service sends. A condition on anything else cannot be judged
from here: the answer is then "cannot tell", with the statement named, never a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

# Condition operators whose meaning is a plain match of one value (IAM "String condition
# operators"); "IfExists" and the set prefixes are read the same way for a single value.
_EQUALS = {"StringEquals", "ArnEquals"}
_IGNORE_CASE = {"StringEqualsIgnoreCase"}
_LIKE = {"StringLike", "ArnLike"}


@dataclass(frozen=True)
class Request:
    """What the function's request to KMS looks like, as far as a key policy can ask."""

    account: str
    region: str
    via_service: str  # "ssm" or "secretsmanager"
    # Encryption context keys and their values, where one value is known (a named account).
    context: dict[str, str]

    def value(self, key: str) -> str | None:
        lowered = key.lower()
        if lowered in ("kms:calleraccount", "aws:principalaccount", "aws:sourceaccount"):
            return self.account
        if lowered == "kms:viaservice":
            return f"{self.via_service}.{self.region}.amazonaws.com"
        if lowered.startswith("kms:encryptioncontext:"):
            wanted = key.split(":", 2)[2]
            return next((v for k, v in self.context.items() if k.lower() == wanted.lower()), None)
        return None


@dataclass(frozen=True)
class Verdict:
    allowed: bool | None  # None: cannot tell
    reason: str = ""


def allows(policy: dict[str, Any], key_arn: str, action: str, request: Request) -> Verdict:
    """Whether the key policy lets the function (through IAM) perform ``action``."""
    parts = key_arn.split(":")
    partition, account = (parts[1], parts[4]) if len(parts) > 4 else ("aws", request.account)
    principals = {account, f"arn:{partition}:iam::{account}:root", "*"}
    unsure = []
    for index, statement in enumerate(_as_list(policy.get("Statement", []))):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if not principals & _principals(statement.get("Principal")):
            continue
        actions = _as_list(statement.get("Action", []))
        if not any(fnmatchcase(action.lower(), str(a).lower()) for a in actions):
            continue
        verdict = _conditions_hold(statement.get("Condition") or {}, request)
        if verdict.allowed:
            return Verdict(True)
        if verdict.allowed is None:
            unsure.append(f"statement {statement.get('Sid') or index + 1}: {verdict.reason}")
    if unsure:
        return Verdict(None, "; ".join(unsure))
    return Verdict(False)


def _principals(principal: Any) -> set[str]:
    if principal == "*":
        return {"*"}
    if isinstance(principal, dict):
        return {str(p) for p in _as_list(principal.get("AWS", []))}
    return set()


def _conditions_hold(conditions: dict[str, Any], request: Request) -> Verdict:
    for operator, pairs in conditions.items():
        base = operator.split(":", 1)[-1].removesuffix("IfExists")
        for key, wanted in (pairs or {}).items():
            actual = request.value(key)
            if actual is None:
                if operator.endswith("IfExists") and not key.lower().startswith("kms:"):
                    continue
                return Verdict(None, f"cannot tell whether {operator} {key} holds")
            values = [str(v) for v in _as_list(wanted)]
            if base in _EQUALS:
                held = actual in values
            elif base in _IGNORE_CASE:
                held = actual.lower() in (v.lower() for v in values)
            elif base in _LIKE:
                held = any(fnmatchcase(actual, v) for v in values)
            else:
                return Verdict(None, f"cannot tell whether {operator} {key} holds")
            if not held:
                return Verdict(False)
    return Verdict(True)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
