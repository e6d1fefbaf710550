"""What an invocation asks for: its payload, and whether it came through the operator alias.

docs/operations.md, "Events", is the one description of the payloads and what each does.
"""

from __future__ import annotations

from typing import Any

from refresher.domain.errors import OPERATOR_ALIAS, InvalidEventError, OperatorOnlyError
from refresher.domain.models import RefreshRequest, SecretChange

_EXAMPLE = '{"force": true, "seen_version": 7}'
LABEL_EVENT_SOURCE = "aws.secretsmanager"
LABEL_EVENT_TYPE = "Secret Label Updated"


def invoked_by_operator(invoked_function_arn: str) -> bool:
    """Whether the invocation addressed the operator alias (``...:function:NAME:operator``).

    Lambda sets the invoked ARN from the request IAM authorised: a payload cannot change it.
    """
    fields = invoked_function_arn.split(":")
    return len(fields) == 8 and fields[5] == "function" and fields[7] == OPERATOR_ALIAS


def parse_invocation(event: Any, *, operator: bool = False) -> RefreshRequest:
    if event is None:
        return RefreshRequest(operator=operator)
    if not isinstance(event, dict):
        raise InvalidEventError(
            f'The event must be a JSON object such as {{}} or {{"force": true}}, '
            f"got {type(event).__name__}"
        )
    if event.get("source") == LABEL_EVENT_SOURCE and event.get("detail-type") == LABEL_EVENT_TYPE:
        return RefreshRequest(secret_change=_secret_change(event), operator=operator)
    force = _flag(event, "force")
    retry_rejected = _flag(event, "retry_rejected")
    seen_version = _seen_version(event, force)
    if retry_rejected:
        if not operator:
            raise OperatorOnlyError("Retrying credentials JOOR rejected")
        if seen_version is not None:
            raise InvalidEventError(
                "The event's 'retry_rejected' and 'seen_version' do not go together: a retry "
                "of rejected credentials is not a report of a rejected token"
            )
    return RefreshRequest(
        force=force,
        seen_version=seen_version,
        parameter=_parameter(event),
        retry_rejected=retry_rejected,
        operator=operator,
    )


def _flag(event: dict[str, Any], name: str) -> bool:
    value = event.get(name, False)
    if not isinstance(value, bool):
        raise InvalidEventError(
            f"The event's {name!r} must be true or false, got {type(value).__name__}"
        )
    return value


def _secret_change(event: dict[str, Any]) -> SecretChange:
    """The fields of a Secret Label Updated event the refresher needs; the label must be
    AWSCURRENT (the stack's rule sends no other)."""
    detail = event.get("detail")
    resources = event.get("resources")
    if not isinstance(detail, dict):
        raise InvalidEventError("The Secret Label Updated event has no 'detail' object")
    label = detail.get("labelUpdated")
    if label != "AWSCURRENT":
        raise InvalidEventError(
            f"The Secret Label Updated event moved label {label!r}; only a move of AWSCURRENT "
            "changes the credentials a login uses"
        )
    arn = resources[0] if isinstance(resources, list) and resources else None
    name, version = detail.get("name"), detail.get("versionId")
    if not (isinstance(arn, str) and isinstance(name, str) and isinstance(version, str)):
        raise InvalidEventError(
            "The Secret Label Updated event needs the secret's ARN in 'resources' and "
            "'name' and 'versionId' in 'detail'"
        )
    return SecretChange(secret=arn, name=name, version=version)


def _seen_version(event: dict[str, Any], force: bool) -> int | None:
    if "seen_version" not in event:
        return None
    value = event["seen_version"]
    # bool is an int in Python: refuse it explicitly.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        shown = f"{type(value).__name__} {value!r}" if isinstance(value, int | bool) else None
        raise InvalidEventError(
            "The event's 'seen_version' must be a positive whole number (the parameter "
            f"version JOOR rejected), got {shown or type(value).__name__}"
        )
    if not force:
        raise InvalidEventError(f"The event's 'seen_version' needs 'force': true, e.g. {_EXAMPLE}")
    return value


def _parameter(event: dict[str, Any]) -> str | None:
    if "parameter" not in event:
        return None
    value = event["parameter"]
    if not isinstance(value, str) or not value.strip():
        raise InvalidEventError(
            "The event's 'parameter' must be the name of the token parameter, "
            f"got {type(value).__name__}"
        )
    return value
