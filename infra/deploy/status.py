"""`make status`: every token the deployed stack keeps, as `python -m refresher status` shows it.

    PYTHONPATH=functions/token_refresher python -m infra.deploy.status --config-env default [--json]

The stack's outputs name the function; its configuration (GetFunctionConfiguration: its
environment variables, which hold names and numbers, never a secret) says which parameter or
path, which secret, and the refresh window and interval, exactly as the running function
sees them. Then refresher/status.py reads the tokens' and secrets' metadata. Exit status: 0
when every token has at least the guarantee left, 1 when one has less (or none), 2 when the
status could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import ConfigError, add_arguments, from_arguments, session_for
from infra.deploy.invoke_refresher import RefreshInvokeError, function_name
from refresher.config import Settings
from refresher.domain.errors import RefreshError
from refresher.status import StatusError, collect, show


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.status",
        description="Every token the deployed stack keeps: life left, written when, state.",
    )
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    args = parser.parse_args(argv)
    try:
        config = from_arguments(args)
        session = session_for(config, args)
        name = function_name(session, config.stack_name)
        variables = (
            session.client("lambda")
            .get_function_configuration(FunctionName=name)
            .get("Environment", {})
            .get("Variables", {})
        )
        report = collect(Settings.from_env(variables), session)
    except (ConfigError, RefreshInvokeError, StatusError, RefreshError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return show(report, args.json)


if __name__ == "__main__":
    sys.exit(main())
