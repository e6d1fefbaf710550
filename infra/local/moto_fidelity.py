"""moto's server, with the AWS behaviours it lacks that this project's figures depend on.

Run by ``MotoServer`` as ``python -m infra.local.moto_fidelity -H HOST -p PORT`` (the same
arguments as ``python -m moto.server``). Each change makes moto answer as the AWS API
reference says AWS answers; nothing here invents behaviour.

- SSM DescribeParameters returns up to ``MaxResults`` parameters a page (1 to 50, default
  10: SSM API reference, DescribeParameters, "MaxResults ... Valid Range: Minimum value of 1.
  Maximum value of 50"). moto 5 pages by 10 whatever is asked, which would make a fleet's
  freshness check look five times as expensive as it is on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ssm.exceptions import ValidationException
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


def install() -> None:
    SimpleSystemManagerResponse.describe_parameters = describe_parameters  # type: ignore[method-assign]


if __name__ == "__main__":
    from moto.server import main

    install()
    main()
