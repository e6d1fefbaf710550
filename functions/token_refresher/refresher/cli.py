"""Run the refresher from a workstation against real AWS and JOOR.

Uses the normal AWS credential chain (AWS_PROFILE, SSO, environment) and the same
environment variables as the Lambda function::

    CREDENTIALS_SECRET_ID=joor/sandbox/api-credentials \\
    TOKEN_PARAMETER_NAME=/joor/sandbox/access-token \\
    .venv/bin/python -m refresher --force   # the venv make builds has the import roots
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys

from botocore.exceptions import NoRegionError

from refresher.aws_region import HOW_TO_SET
from refresher.config import VARIABLES, Settings
from refresher.domain.errors import RefreshError
from refresher.domain.models import RefreshRequest
from refresher.timing import JOOR_WORST_SECONDS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["status"]:
        from refresher.status import main as status

        return status(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m refresher",
        description="Refresh the JOOR token in SSM Parameter Store if it is close to expiry. "
        "`python -m refresher status` shows every token's life instead (metadata only).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="environment variables (the same as the Lambda function's):\n"
        + "\n".join(f"  {name:<31} {meaning}" for name, meaning in VARIABLES),
    )
    parser.add_argument(
        "--force", action="store_true", help="refresh now, however long the token has left"
    )
    parser.add_argument(
        "--retry-rejected",
        action="store_true",
        help="log in once more with credentials JOOR rejected (after JOOR itself erred)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=float(math.ceil(JOOR_WORST_SECONDS)),
        help="seconds allowed for the JOOR exchange, retries included (default: as long as "
        "it can take, %(default).0f)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        from refresher.composition import build_refresher

        # Whoever runs this holds the credentials themselves: an operator.
        request = RefreshRequest(
            force=args.force, retry_rejected=args.retry_rejected, operator=True
        )
        outcome = build_refresher(Settings.from_env()).run(request, time_limit=args.time_limit)
    except RefreshError as error:
        print(f"error ({error.reason}): {error}", file=sys.stderr)  # noqa: T201
        return 1
    except NoRegionError:
        print(f"error (no_region): no AWS Region: {HOW_TO_SET}", file=sys.stderr)  # noqa: T201
        return 1
    for warning in getattr(outcome, "warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)  # noqa: T201
    print(json.dumps(outcome.summary(), indent=2))  # noqa: T201
    return 0
