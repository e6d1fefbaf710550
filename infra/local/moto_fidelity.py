"""moto's server, with the AWS behaviours it lacks that this project's figures depend on.

Run by ``MotoServer`` as ``python -m infra.local.moto_fidelity -H HOST -p PORT`` (the same
arguments as ``python -m moto.server``). Each change makes moto answer as the AWS API
reference says AWS answers; nothing here invents behaviour.

- SSM DescribeParameters returns up to ``MaxResults`` parameters a page (1 to 50, default
  10: SSM API reference, DescribeParameters, "MaxResults ... Valid Range: Minimum value of 1.
  Maximum value of 50"). moto 5 pages by 10 whatever is asked, which would make a fleet's
  freshness check look five times as expensive as it is on AWS.
- SSM PutParameter keeps to the tiers' value sizes and stores the tier SSM picks: Standard
  holds 4 KB and Advanced 8 KB; ``Intelligent-Tiering`` picks Standard when the value fits
  (and no policy needs Advanced) and Advanced otherwise; an Advanced parameter never goes
  back to Standard (Systems Manager user guide, "Managing parameter tiers"). moto stores the
  requested tier as given and accepts any size.
- Secrets Manager sends EventBridge a ``Secret Label Updated`` event when a staging label
  moves to a new version of a secret (all labels but AWSPENDING and AWSPREVIOUS: Secrets
  Manager user guide, "Secret Label Updated event"); moto sends none. Here, whenever a
  secret's AWSCURRENT moves (PutSecretValue, UpdateSecret with a value,
  UpdateSecretVersionStage, RotateSecret), the event, shaped as that page shows it, is
  posted to each URL in ``LOCAL_EVENT_TARGETS`` (comma-separated): the Lambda stand-in's
  stand-in for the stack's EventBridge rule, which invokes the function asynchronously as
  EventBridge does (infra/local/lambda_server.py). CreateSecret sends none here: a new secret's
  first version gets AWSCURRENT without it moving.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.secretsmanager.models import SecretsManagerBackend
from moto.ssm.exceptions import ValidationException
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse

DESCRIBE_PARAMETERS_MAX_RESULTS = 50
DESCRIBE_PARAMETERS_DEFAULT_RESULTS = 10


def describe_parameters(self: SimpleSystemManagerResponse) -> ActionResult:
    page_size = int(self._get_param("MaxResults", DESCRIBE_PARAMETERS_DEFAULT_RESULTS))
    if not 1 <= page_size <= DESCRIBE_PARAMETERS_MAX_RESULTS:
        raise ValidationException(
            f"1 validation error detected: Value '{page_size}' at 'maxResults' failed to "
            f"satisfy constraint: Member must have value less than or equal to "
            f"{DESCRIBE_PARAMETERS_MAX_RESULTS}"
        )
    token = str(self._get_param("NextToken") or "0").strip() or "0"
    start = int(token)
    found = self.ssm_backend.describe_parameters(
        self._get_param("Filters"), self._get_param("ParameterFilters")
    )
    page = found[start : start + page_size]
    response: dict[str, Any] = {"Parameters": [p.describe_response_object(False) for p in page]}
    if start + page_size < len(found):
        response["NextToken"] = str(start + page_size)
    return ActionResult(response)


TIER_LIMITS = {"Standard": 4096, "Advanced": 8192}
_moto_put_parameter = SimpleSystemManagerBackend.put_parameter


def put_parameter(self: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Any:
    fields = dict(zip(_PUT_PARAMETER_FIELDS, args, strict=False)) | kwargs
    name, value = fields["name"], fields["value"]
    # Not .get(): moto's ParameterDict does its lookups in __contains__ and __getitem__.
    versions = self._parameters[name] if name in self._parameters else []  # noqa: SIM401
    previous = versions[-1].tier if versions else None
    requested = fields.get("tier") or previous or "Standard"
    size = len((value or "").encode())
    if requested == "Intelligent-Tiering":
        needs_advanced = size > TIER_LIMITS["Standard"] or bool(fields.get("policies"))
        tier = "Advanced" if needs_advanced or previous == "Advanced" else "Standard"
    elif requested == "Standard" and previous == "Advanced":
        raise ValidationException(
            "This parameter uses the advanced-parameter tier. You can't downgrade a parameter "
            "from the advanced-parameter tier to the standard-parameter tier."
        )
    else:
        tier = requested
    if size > TIER_LIMITS.get(tier, TIER_LIMITS["Advanced"]):
        raise ValidationException(
            f"Parameter value exceeds the {TIER_LIMITS.get(tier)} bytes the {tier} tier holds "
            "(Systems Manager user guide, Managing parameter tiers)."
        )
    fields["tier"] = tier
    return _moto_put_parameter(self, **fields)


_PUT_PARAMETER_FIELDS = (
    "name",
    "description",
    "value",
    "parameter_type",
    "allowed_pattern",
    "keyid",
    "overwrite",
    "tags",
    "data_type",
    "tier",
    "policies",
)


EVENT_TARGETS_VARIABLE = "LOCAL_EVENT_TARGETS"


def label_updated_event(secret: Any, region: str, account: str) -> dict[str, Any]:
    """The event as Secrets Manager sends it to EventBridge's default bus."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Secret Label Updated",
        "source": "aws.secretsmanager",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [secret.arn],
        "detail": {
            "name": secret.name,
            "labelUpdated": "AWSCURRENT",
            "versionId": secret.default_version_id,
        },
    }


def _deliver(event: dict[str, Any]) -> None:
    for url in filter(None, os.environ.get(EVENT_TARGETS_VARIABLE, "").split(",")):
        request = urllib.request.Request(
            url,
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        # EventBridge drops what it cannot deliver (this stand-in has no dead-letter queue).
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=10).close()


def _sending_label_events(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        before = self.secrets[secret_id].default_version_id if secret_id in self.secrets else None
        result = method(self, secret_id, *args, **kwargs)
        secret = self.secrets[secret_id]
        if before is not None and secret.default_version_id != before:
            event = label_updated_event(secret, self.region_name, self.account_id)
            threading.Thread(target=_deliver, args=(event,), daemon=True).start()
        return result

    return wrapper


def install() -> None:
    SimpleSystemManagerResponse.describe_parameters = describe_parameters  # type: ignore[method-assign]
    SimpleSystemManagerBackend.put_parameter = put_parameter  # type: ignore[method-assign]
    for name in (
        "put_secret_value",
        "update_secret",
        "update_secret_version_stage",
        "rotate_secret",
    ):
        setattr(
            SecretsManagerBackend, name, _sending_label_events(getattr(SecretsManagerBackend, name))
        )


if __name__ == "__main__":
    from moto.server import main

    install()
    main()
