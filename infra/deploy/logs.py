"""`make logs`: follow the function's logs with the project's SAM CLI.

    PYTHONPATH=functions/token_refresher python -m infra.deploy.logs --config-env default \\
        --sam .venv-sam/bin/sam [--sam-flags "--start-time '10min ago'"]

Runs `sam logs --stack-name STACK --name TokenRefresherFunction --tail` in the Region the other
tools use: the SAM CLI reads AWS_DEFAULT_REGION and profiles but not AWS_REGION, so the Region
is passed to it. `sam logs` finds the function's log group in its LoggingConfig.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence

from infra.deploy.config import (
    ConfigError,
    DeployConfig,
    add_arguments,
    from_arguments,
    session_for,
)

FUNCTION_LOGICAL_ID = "TokenRefresherFunction"


def command(sam: str, config: DeployConfig, region: str, flags: Sequence[str]) -> list[str]:
    base = [sam, "logs", "--stack-name", config.stack_name, "--name", FUNCTION_LOGICAL_ID]
    return [*base, "--region", region, *(flags or ["--tail"])]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.logs", description="Follow the refresher's logs."
    )
    add_arguments(parser)
    parser.add_argument("--sam", default=".venv-sam/bin/sam", help="the SAM CLI to run")
    parser.add_argument(
        "--sam-flags", default="", help="sam logs options instead of --tail, e.g. \"-s '1h ago'\""
    )
    args = parser.parse_args(argv)
    try:
        config = from_arguments(args)
        session = session_for(config, args)
    except ConfigError as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    argv_ = command(args.sam, config, str(session.region_name), shlex.split(args.sam_flags))
    if args.profile:
        argv_ += ["--profile", args.profile]
    print("$ " + shlex.join(argv_), flush=True)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    try:
        return subprocess.run(argv_, env=env, check=False).returncode
    except KeyboardInterrupt:  # how a --tail ends
        return 0


if __name__ == "__main__":
    sys.exit(main())
