"""`make status`: every token the deployed stack keeps, as `python -m refresher status` shows it.

    .venv/bin/python -m infra.deploy.status --config-env default [--json]

The stack's outputs name the function; its configuration (GetFunctionConfiguration: its
environment variables, which hold names and numbers, never a secret) says which parameter or
path, which secret, and the refresh window and interval, exactly as the running function
sees them. Then refresher/status.py reads the tokens' and secrets' metadata. Exit status: 0
when every token has at least the guarantee left, 1 when one has less (or none), 2 when the
status could not be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import ConfigError, invocation, tool_parser
from infra.deploy.invoke_refresher import RefreshInvokeError, deployed_settings
from refresher.domain.errors import RefreshError
from refresher.status import StatusError, collect, show


def main(argv: Sequence[str] | None = None) -> int:
    parser = tool_parser(
        "status", "Every token the deployed stack keeps: life left, written when, state."
    )
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    args = parser.parse_args(argv)
    try:
        tool = invocation(args)
        report = collect(deployed_settings(tool.session, tool.config.stack_name), tool.session)
    except (
        ConfigError,
        RefreshInvokeError,
        StatusError,
        RefreshError,
        ClientError,
        BotoCoreError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return show(report, args.json)


if __name__ == "__main__":
    sys.exit(main())
