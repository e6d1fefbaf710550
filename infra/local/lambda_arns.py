"""What addresses a function in the Lambda API, and the API's error answers.

A function is addressed by its name, ``name:qualifier``, a full ARN or a partial ARN
(``123456789012:function:name``), with or without ``?Qualifier=``; the qualifiers are
``$LATEST`` and the function's aliases, each pointing at ``$LATEST``. Anything else is
``ResourceNotFoundException``, as Lambda answers it.
"""

from __future__ import annotations

import re

from infra.local.lambda_runtime import LATEST

_PARTIAL_ARN = re.compile(r"^(?P<account>\d{12}):function:(?P<rest>.+)$")
_FULL_ARN_FIELDS = 7  # arn:aws:lambda:region:account:function:name


class ApiError(Exception):
    """An answer of the Lambda API other than success: its status, error code and body."""

    def __init__(self, status: int, code: str, body: dict[str, str]) -> None:
        super().__init__(code)
        self.status, self.code, self.body = status, code, body


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _not_found(arn: str) -> ApiError:
    return ApiError(
        404, "ResourceNotFoundException", {"Type": "User", "Message": f"Function not found: {arn}"}
    )


def resolve(name: str, qualifier: str | None, arn: str, aliases: tuple[str, ...]) -> str:
    """The ARN that ``name`` (and ``qualifier``) address, if they address the function whose
    unqualified ARN is ``arn``; ``ApiError`` otherwise."""
    _, _, _, region, account, _, function_name = arn.split(":")
    if name.startswith("arn:"):
        fields = name.split(":")
        if len(fields) < _FULL_ARN_FIELDS or fields[2] != "lambda" or fields[5] != "function":
            raise _not_found(name)
        region_asked, account_asked, rest = fields[3], fields[4], ":".join(fields[6:])
    elif match := _PARTIAL_ARN.match(name):
        region_asked, account_asked, rest = region, match["account"], match["rest"]
    else:
        region_asked, account_asked, rest = region, account, name
    function, _, derived = rest.partition(":")
    if qualifier and derived and qualifier != derived:
        raise ApiError(
            400,
            "InvalidParameterValueException",
            {
                "Type": "User",
                "message": "The derived qualifier from the function name does not match "
                "the specified qualifier.",
            },
        )
    qualifier = qualifier or derived or None
    addressed = function_arn(region_asked, account_asked, function, qualifier)
    if (region_asked, account_asked, function) != (region, account, function_name):
        raise _not_found(addressed)
    if qualifier not in (None, LATEST, *aliases):
        raise _not_found(addressed)
    return addressed
