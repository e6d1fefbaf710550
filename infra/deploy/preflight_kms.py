"""The preflight's checks of customer managed KMS keys: enabled, in the stack's region, and a key
policy that lets the stack's IAM policies grant their use.

KMS: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access
to a KMS key" (Key policies in AWS KMS,
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html). The default
key policy's first statement allows the account principal ``kms:*``; a statement that allows
every principal of the account (``"AWS": "*"`` with ``kms:CallerAccount``) grants the use
directly. A statement's conditions count when the function's use satisfies them (the
context keys below); a condition on a key this check cannot know is a warning, not a failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.checks import Check, arn_partition, arn_region, warn
from infra.deploy.config import explain

# What each customer managed key must let IAM policies grant, by template parameter, and the
# service the stack's policies let use it (their kms:ViaService condition).
KEY_USES = {
    "TokenKmsKeyArn": (("kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"), "ssm"),
    "SecretKmsKeyArn": (("kms:Decrypt",), "secretsmanager"),
}
# arn:aws:iam::123456789012:root, arn:aws-cn:..., arn:aws-us-gov:... (every partition), or
# the bare account id, which IAM stores as the root ARN.
_ROOT = re.compile(r"^(?:arn:aws(?:-cn|-us-gov|-iso[a-z-]*)?:iam::)?(\d{12})(?::root)?$")


def kms_checks(
    client: Callable[[str], Any], parameters: dict[str, str], region: str
) -> list[Check]:
    return [
        _key(client, parameter, parameters[parameter], uses, service=service, region=region)
        for parameter, (uses, service) in KEY_USES.items()
        if parameters.get(parameter)
    ]


def _key(
    client: Callable[[str], Any],
    parameter: str,
    arn: str,
    uses: Sequence[str],
    *,
    service: str,
    region: str,
) -> Check:
    if arn_region(arn) != region:
        return Check(
            parameter,
            False,
            f"{arn} is in {arn_region(arn) or '(unknown)'}, not {region}: use a key in the "
            "region of the stack and the secret",
        )
    kms = client("kms")
    try:
        metadata = kms.describe_key(KeyId=arn)["KeyMetadata"]
    except (ClientError, BotoCoreError) as err:
        if (
            isinstance(err, ClientError)
            and err.response["Error"].get("Code") == "NotFoundException"
        ):
            return Check(parameter, False, f"no KMS key {arn}: check the key id and region")
        return Check(parameter, False, f"cannot describe {arn} ({explain(err)})")
    state = metadata.get("KeyState")
    if state != "Enabled":
        return Check(parameter, False, f"{arn} is {state}: enable it (or cancel its deletion)")
    account = arn.split(":")[4]
    root = f"arn:{arn_partition(arn)}:iam::{account}:root"
    try:
        policy = json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
    except (ClientError, BotoCoreError) as err:
        # Reading a key policy needs kms:GetKeyPolicy, which a deployer often lacks: the key
        # may well be right, so this is for the operator to confirm, not a failure.
        return warn(
            parameter,
            f"{arn} is enabled, but its key policy could not be read ({explain(err)}; reading "
            "it needs kms:GetKeyPolicy): check yourself that it allows the account root "
            f"({root}) kms:* (docs/operations.md, Keys, tiers, names)",
        )
    context = {
        "kms:callerAccount": account,
        "aws:principalAccount": account,
        "kms:viaService": f"{service}.{region}.amazonaws.com",
    }
    verdicts = [_allows(policy, account, use, context) for use in uses]
    if all(verdict is True for verdict in verdicts):
        return Check(parameter, True, f"{arn} is enabled and its policy lets IAM grant its use")
    missing = [use for use, verdict in zip(uses, verdicts, strict=True) if verdict is False]
    if missing:
        return Check(
            parameter,
            False,
            f"the key policy of {arn} does not let IAM policies grant {', '.join(missing)}, "
            "so the stack's grants would do nothing: add the statement that allows the "
            f"account root ({root}) kms:* (docs/operations.md, Keys, tiers, names)",
        )
    unknown = sorted({key for use in uses for key in _unknown_conditions(policy, account, use)})
    return warn(
        parameter,
        f"the key policy of {arn} lets IAM grant its use only under conditions this check "
        f"cannot evaluate ({', '.join(unknown)}): check that calls through "
        f"{service}.{region}.amazonaws.com by this account's roles satisfy them",
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names_account(statement: dict[str, Any], account: str) -> bool:
    principal = statement.get("Principal", {})
    if principal == "*":
        return True
    principals = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
    for name in map(str, principals):
        match = _ROOT.match(name)
        if name == "*" or (match and match.group(1) == account):
            return True
    return False


def _covers(statement: dict[str, Any], action: str) -> bool:
    actions = _as_list(statement.get("Action", []))
    return any(fnmatchcase(action.lower(), str(a).lower()) for a in actions)


def _allows(
    policy: dict[str, Any], account: str, action: str, context: dict[str, str]
) -> bool | None:
    """True: a statement lets the account's IAM policies allow ``action``; False: none can, or a
    statement denies it outright; None: only under conditions this check cannot evaluate."""
    allowed: bool | None = False
    for statement in _as_list(policy.get("Statement", [])):
        if not _names_account(statement, account) or not _covers(statement, action):
            continue
        verdict = _conditions(statement.get("Condition", {}), context)
        if statement.get("Effect") == "Deny":
            if verdict is True:
                return False
            continue
        if verdict is True:
            allowed = True
        elif verdict is None and allowed is False:
            allowed = None
    return allowed


def _unknown_conditions(policy: dict[str, Any], account: str, action: str) -> list[str]:
    """The conditions of the statements that could allow ``action`` that cannot be evaluated."""
    found = []
    for statement in _as_list(policy.get("Statement", [])):
        if statement.get("Effect") == "Allow" and _names_account(statement, account):
            if not _covers(statement, action):
                continue
            for operator, conditions in (statement.get("Condition") or {}).items():
                for key, expected in conditions.items():
                    known = _context_key(key)
                    values = [str(v) for v in _as_list(expected)]
                    if known is None or _compare(operator, "", values) is None:
                        found.append(f"{operator} {key}")
    return found


_KNOWN = ("kms:callerAccount", "aws:principalAccount", "kms:viaService")


def _context_key(key: str) -> str | None:
    return next((k for k in _KNOWN if k.lower() == key.lower()), None)


def _conditions(block: dict[str, Any], context: dict[str, str]) -> bool | None:
    """Whether the function's use satisfies every condition: True, False, or None (unknown)."""
    result: bool | None = True
    for operator, conditions in (block or {}).items():
        for key, expected in conditions.items():
            known = _context_key(key)
            if known is None:
                result = None if result is not False else False
                continue
            verdict = _compare(operator, context[known], [str(v) for v in _as_list(expected)])
            if verdict is False:
                return False
            if verdict is None and result is True:
                result = None
    return result


def _compare(operator: str, actual: str, expected: list[str]) -> bool | None:
    base = (
        operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:").removesuffix("IfExists")
    )
    if base in ("StringEquals", "ArnEquals"):
        return actual in expected
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in [e.lower() for e in expected]
    if base in ("StringLike", "ArnLike"):
        return any(fnmatchcase(actual, e) for e in expected)
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in expected
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(fnmatchcase(actual, e) for e in expected)
    return None  # an operator that does not apply to these keys: cannot say


# --- the key each secret is encrypted with ---------------------------------------------------

AWS_MANAGED_SECRET_KEY = "alias/aws/secretsmanager"
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def ungranted_keys(
    client: Callable[[str], Any], keys: dict[str, str | None], granted: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The secrets (name -> the KmsKeyId Secrets Manager reports) whose customer managed key is
    not ``granted`` (SecretKmsKeyArn, maybe empty), and those whose key could not be resolved:
    (secret, key) pairs.

    The stack lets the function decrypt with the AWS managed key and with SecretKmsKeyArn only:
    a secret under any other key is readable by you and refused to the function at run time.
    Secrets Manager reports the key as it was given (a key ARN, id, alias or alias ARN), so
    anything but a key ARN is resolved with DescribeKey.
    """
    resolved: dict[str, tuple[str, str] | None] = {}
    wrong: list[tuple[str, str]] = []
    unknown: list[tuple[str, str]] = []
    for name, key in sorted(keys.items()):
        if not key or key == AWS_MANAGED_SECRET_KEY:
            continue
        if key not in resolved:
            resolved[key] = _resolve(client, key)
        found = resolved[key]
        if found is None:
            unknown.append((name, key))
            continue
        arn, manager = found
        if manager != "AWS" and arn != granted:
            wrong.append((name, arn))
    return wrong, unknown


def _resolve(client: Callable[[str], Any], key: str) -> tuple[str, str] | None:
    """(key ARN, "AWS" or "CUSTOMER"); None when DescribeKey cannot tell."""
    try:
        metadata = client("kms").describe_key(KeyId=key)["KeyMetadata"]
    except (ClientError, BotoCoreError):
        return (key, "CUSTOMER") if _KEY_ARN.match(key) else None
    return str(metadata["Arn"]), str(metadata.get("KeyManager", "CUSTOMER"))
