"""`make status`: every token the deployed stack keeps, one line each, from metadata only.

    make status [SAM_CONFIG_ENV=production] [JSON=1]
    PYTHONPATH=functions/token_refresher .venv/bin/python -m infra.deploy.status --config-env default [--json]

What to look at comes from the stack itself (DescribeStacks): its parameters name the account
and the fleet's path, and its output TokenGuaranteeSeconds the guarantee. The tokens are read
by the function's own adapters (refresher/status.py): DescribeParameters, the fleet's listing
and DescribeSecret, never a secret value nor a decryption. Exits 1 when any token the stack
keeps has less life left than the guarantee (a missing one included), so a cron job or a CI
step can watch it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta

from botocore.exceptions import BotoCoreError

from infra.deploy.config import ConfigError, add_arguments, explain, from_arguments, session_for
from infra.deploy.stack import DeployedStack, StackError, read_stack
from refresher.domain.errors import RefreshError
from refresher.domain.models import Account
from refresher.status import Guarantee, StatusReader, Target

GUARANTEE_OUTPUT = "TokenGuaranteeSeconds"


def target_of(stack: DeployedStack) -> Target:
    """What the stack keeps, and its guarantee, from its parameters and outputs."""
    window = int(stack.parameters.get("RefreshWindowSeconds") or 10800)
    if GUARANTEE_OUTPUT in stack.outputs:
        guarantee = Guarantee(
            int(stack.outputs[GUARANTEE_OUTPUT]), f"the stack output {GUARANTEE_OUTPUT}"
        )
    else:  # a stack deployed before the output existed
        interval = int(stack.parameters.get("ScheduleIntervalMinutes") or 15) * 60
        guarantee = Guarantee(
            window - interval,
            f"RefreshWindowSeconds - ScheduleIntervalMinutes x 60 = {window} - {interval}",
        )
    if not stack.named_parameter and not stack.path:
        raise StackError(
            f"the stack {stack.name} names no account (CredentialsSecretArn) and no fleet path "
            "(TokenParameterPath): is it this project's stack? Check stack_name in samconfig.toml"
        )
    named = None
    if stack.named_parameter:
        named = Account(stack.named_parameter, stack.parameters["CredentialsSecretArn"], "")
    return Target(
        named=named,
        path=stack.path,
        window=timedelta(seconds=window),
        guarantee=guarantee,
        joor_environment=stack.parameters.get("JoorEnvironment") or "sandbox",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.status",
        description="Every token the deployed stack keeps: life left, state, the guarantee.",
    )
    add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    args = parser.parse_args(argv)
    try:
        config = from_arguments(args)
        session = session_for(config, args)
        stack = read_stack(session, config)
        status = StatusReader(session).read(target_of(stack))
    except (ConfigError, StackError, RefreshError) as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    except BotoCoreError as err:
        print(f"FAILED: {explain(err)}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {"stack": stack.name, "region": session.region_name, **status.as_dict()}, indent=2
            )
        )
    else:
        print(f"stack {stack.name} ({config.environment}) in {session.region_name}, {stack.status}")
        print("\n".join(status.lines()))
    return 1 if status.below_guarantee else 0


if __name__ == "__main__":
    sys.exit(main())
