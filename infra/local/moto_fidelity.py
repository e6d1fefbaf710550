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
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
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


def install() -> None:
    SimpleSystemManagerResponse.describe_parameters = describe_parameters  # type: ignore[method-assign]
    SimpleSystemManagerBackend.put_parameter = put_parameter  # type: ignore[method-assign]


if __name__ == "__main__":
    from moto.server import main

    install()
    main()
