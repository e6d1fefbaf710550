"""`make logs`: follow the function's logs through the project's SAM CLI (.venv-sam/bin/sam).

    make logs [SAM_CONFIG_ENV=production]
    PYTHONPATH=functions/token_refresher .venv/bin/python -m infra.deploy.logs --sam .venv-sam/bin/sam

Runs `sam logs --stack-name STACK --name TokenRefresherFunction --tail --region REGION`, with
the region resolved as every deploy tool resolves it (the SAM CLI itself reads only
AWS_DEFAULT_REGION). `sam logs` finds the stack's log group from the function's LoggingConfig
(SAM CLI LogGroupProvider.for_lambda_function) and polls FilterLogEvents. Other arguments go
to `sam logs` (e.g. --start-time '1 hour ago', --filter ERROR); Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from infra.deploy.config import ConfigError, add_arguments, from_arguments, session_for

FUNCTION_LOGICAL_ID = "TokenRefresherFunction"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.logs",
        description="Follow the refresher's logs (sam logs --tail).",
        epilog="Other arguments go to sam logs (e.g. --start-time '1 hour ago').",
    )
    add_arguments(parser)
    parser.add_argument("--sam", default="sam", help="the SAM CLI to run (make: .venv-sam/bin/sam)")
    args, sam_flags = parser.parse_known_args(argv)
    try:
        config = from_arguments(args)
        session = session_for(config, args)
    except ConfigError as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    command = [
        args.sam,
        "logs",
        "--stack-name",
        config.stack_name,
        "--name",
        FUNCTION_LOGICAL_ID,
        "--tail",
        "--region",
        str(session.region_name),
    ]
    if args.profile or config.profile:
        command += ["--profile", str(args.profile or config.profile)]
    command += sam_flags
    print("$ " + " ".join(command), flush=True)
    try:
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
        return subprocess.run(command, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
