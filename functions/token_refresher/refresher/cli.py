"""Run the refresher from a workstation against real AWS and JOOR, or show its tokens.

Uses the normal AWS credential chain (AWS_PROFILE, SSO, environment), the region from
AWS_REGION or AWS_DEFAULT_REGION (adapters/aws_session.py), and the same environment
variables as the Lambda function::

    CREDENTIALS_SECRET_ID=joor/sandbox/api-credentials \\
    TOKEN_PARAMETER_NAME=/joor/sandbox/access-token \\
    PYTHONPATH=functions/token_refresher .venv/bin/python -m refresher --force

``python -m refresher status [--json]`` lists every token the function keeps (status.py),
reading metadata only, and exits 1 when one has less life left than the guarantee.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys

from botocore.exceptions import BotoCoreError

from refresher.adapters.aws_errors import describe
from refresher.config import VARIABLES, Settings
from refresher.domain.errors import RefreshError
from refresher.domain.models import RefreshRequest
from refresher.timing import JOOR_WORST_SECONDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m refresher",
        description="Refresh the JOOR token in SSM Parameter Store if it is close to expiry, "
        "or show every token the refresher keeps (status).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="environment variables (the same as the Lambda function's):\n"
        + "\n".join(f"  {name:<31} {meaning}" for name, meaning in VARIABLES),
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("refresh", "status"),
        default="refresh",
        help="refresh (default): refresh if due; status: every token kept, its life and state "
        "(metadata only; exit 1 when one has less life left than the guarantee)",
    )
    parser.add_argument("--json", action="store_true", help="status: one JSON object")
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
    for name in ("botocore", "boto3", "urllib3"):  # at INFO they narrate the credential chain
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.command == "status":
        return status(as_json=args.json)
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
    except BotoCoreError as error:  # the session itself: a profile that does not exist
        print(f"error (aws): {describe(error)}", file=sys.stderr)  # noqa: T201
        return 1
    for warning in getattr(outcome, "warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)  # noqa: T201
    print(json.dumps(outcome.summary(), indent=2))  # noqa: T201
    return 0


def status(*, as_json: bool = False) -> int:
    """Every token the configuration names, from metadata only; 1 when one is below the
    guarantee or the status cannot be read."""
    from refresher.adapters.aws_session import aws_session
    from refresher.status import StatusReader, Target

    try:
        settings = Settings.from_env()
        report = StatusReader(aws_session()).read(Target.from_settings(settings))
    except RefreshError as error:
        print(f"error ({error.reason}): {error}", file=sys.stderr)  # noqa: T201
        return 1
    except BotoCoreError as error:
        print(f"error (aws): {describe(error)}", file=sys.stderr)  # noqa: T201
        return 1
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))  # noqa: T201
    else:
        print("\n".join(report.lines()))  # noqa: T201
    return 1 if report.below_guarantee else 0
