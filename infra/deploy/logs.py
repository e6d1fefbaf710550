"""`make logs`: follow the function's logs with the project's SAM CLI.

    .venv/bin/python -m infra.deploy.logs --config-env default \\
        --sam .venv-sam/bin/sam [--sam-flags "--start-time '10min ago'"]

Runs `sam logs --stack-name STACK --name TokenRefresherFunction --tail` in the Region the other
tools use: the SAM CLI reads AWS_DEFAULT_REGION and profiles but not AWS_REGION, so the Region
is passed to it. `sam logs` finds the function's log group in its LoggingConfig.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

from infra.deploy.config import ConfigError, DeployConfig, failed, invocation, run_sam, tool_parser

FUNCTION_LOGICAL_ID = "TokenRefresherFunction"


def command(sam: str, config: DeployConfig, region: str, flags: Sequence[str]) -> list[str]:
    base = [sam, "logs", "--stack-name", config.stack_name, "--name", FUNCTION_LOGICAL_ID]
    return [*base, "--region", region, *(flags or ["--tail"])]


def main(argv: Sequence[str] | None = None) -> int:
    parser = tool_parser("logs", "Follow the refresher's logs.", sam=True)
    parser.add_argument(
        "--sam-flags", default="", help="sam logs options instead of --tail, e.g. \"-s '1h ago'\""
    )
    args = parser.parse_args(argv)
    try:
        tool = invocation(args)
    except ConfigError as err:
        return failed(err)
    try:
        return run_sam(
            tool, command(args.sam, tool.config, tool.region, shlex.split(args.sam_flags))
        )
    except KeyboardInterrupt:  # how a --tail ends
        return 0


if __name__ == "__main__":
    sys.exit(main())
