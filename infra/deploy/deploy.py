"""`make deploy`: the checks that would make CloudFormation fail, `sam deploy`, then one refresh.

    .venv/bin/python -m infra.deploy.deploy --config-env default \\
        --sam .venv-sam/bin/sam [--sam-flags "--guided"]

1. **Before** `sam deploy`: the checks whose failure would make CloudFormation fail and roll a
   new stack back into ROLLBACK_COMPLETE (which then has to be deleted by hand): the stack
   name and every name built from it, the stack's state, and the Lambda concurrency the
   reservation needs (infra/deploy/preflight.py). One fails: nothing is deployed, and the line
   says what to change.
2. `sam deploy --config-env ENV`, with the terminal as its input: with `confirm_changeset =
   true` (samconfig.toml) it shows the change set and asks.
3. **After**: invoke the function once through its operator alias (infra/deploy/
   invoke_refresher.py), only when the change set ran or there was nothing to change, never
   when it was declined.

How the outcome is known. `sam deploy` exits 0 in all three cases: a declined change set
returns from its deploy without a word (samcli/commands/deploy/deploy_context.py: ``if not
click.confirm(...): return``), an empty one is reported as "No changes to deploy" when
fail_on_empty_changeset is false, and its JSON output, which says which, cannot be combined
with --confirm-changeset. So the outcome is read from CloudFormation instead, comparing the
stack and its change sets before and after:
- executed: the stack's status or last update changed to a complete state, or a new change
  set has ExecutionStatus EXECUTE_COMPLETE (CloudFormation removes a stack's change sets once
  one is executed; moto keeps them so marked);
- declined: a new change set still waits, ExecutionStatus AVAILABLE (SAM leaves it);
- nothing to change: a new change set FAILED with "didn't contain changes" or "No updates are
  to be performed" (the reasons samcli/lib/deploy/deployer.py reads as ChangeEmptyError).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.checks import refused, report
from infra.deploy.config import (
    DEFAULT_CONFIG_FILE,
    ConfigError,
    DeployConfig,
    config_file,
    failed,
    invocation,
    run_sam,
    tool_parser,
)
from infra.deploy.invoke_refresher import refresh
from infra.deploy.preflight import Preflight

EXECUTED = "executed"
DECLINED = "declined"
NOTHING_TO_CHANGE = "nothing to change"
UNKNOWN = "unknown"
_EMPTY_REASONS = ("didn't contain changes", "No updates are to be performed")
_COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


@dataclass(frozen=True)
class StackSnapshot:
    status: str | None  # None: no such stack
    last_change: str | None  # LastUpdatedTime, else CreationTime
    change_sets: dict[str, dict[str, Any]]  # by id: Status, ExecutionStatus, StatusReason


def snapshot(session: boto3.Session, stack_name: str) -> StackSnapshot:
    cloudformation = session.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            return StackSnapshot(None, None, {})
        raise
    change_sets: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {"StackName": stack_name}
    while True:
        page = cloudformation.list_change_sets(**request)
        for summary in page.get("Summaries", []):
            change_sets[str(summary["ChangeSetId"])] = summary
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    last = stack.get("LastUpdatedTime") or stack.get("CreationTime")
    return StackSnapshot(str(stack.get("StackStatus")), str(last) if last else None, change_sets)


def outcome(before: StackSnapshot, after: StackSnapshot) -> str:
    """What `sam deploy` did, from the stack before and after it (it exited 0)."""
    new = [c for i, c in after.change_sets.items() if i not in before.change_sets]
    if any(c.get("ExecutionStatus") == "EXECUTE_COMPLETE" for c in new):
        return EXECUTED
    moved = (after.status, after.last_change) != (before.status, before.last_change)
    if after.status in _COMPLETE and moved and not _waiting(new):
        return EXECUTED
    if _waiting(new):
        return DECLINED
    if any(
        c.get("Status") == "FAILED"
        and any(reason in str(c.get("StatusReason", "")) for reason in _EMPTY_REASONS)
        for c in new
    ):
        return NOTHING_TO_CHANGE
    return UNKNOWN


def _waiting(change_sets: list[dict[str, Any]]) -> bool:
    return any(
        c.get("ExecutionStatus") == "AVAILABLE" and c.get("Status") == "CREATE_COMPLETE"
        for c in change_sets
    )


def sam_command(
    sam: str, config: DeployConfig, samconfig: Path, region: str, flags: Sequence[str]
) -> list[str]:
    command = [sam, "deploy", "--config-env", config.environment]
    if samconfig != DEFAULT_CONFIG_FILE:
        command += ["--config-file", str(samconfig.resolve())]
    if "--region" not in flags:
        # The Region the checks ran in, wherever it came from: the SAM CLI itself reads
        # samconfig.toml and AWS_DEFAULT_REGION but not AWS_REGION.
        command += ["--region", region]
    return command + list(flags)


def main(argv: Sequence[str] | None = None) -> int:
    parser = tool_parser(
        "deploy",
        "Check what would make the deploy fail, run sam deploy, then refresh once.",
        sam=True,
    )
    parser.add_argument(
        "--sam-flags",
        default="",
        help="more sam deploy options, e.g. '--guided' or '--no-confirm-changeset'",
    )
    args = parser.parse_args(argv)
    try:
        tool = invocation(args)
    except ConfigError as err:
        return refused(err)
    config = tool.config

    print(f"before deploying {config.stack_name} ({config.environment}) to {tool.region}:")
    if report(Preflight(config, tool.session).before_deploy()):
        print("deploy stopped before sam deploy: fix what failed above, then run it again")
        return 1

    try:
        before = snapshot(tool.session, config.stack_name)
    except (ClientError, BotoCoreError) as err:
        print(f"FAIL  cannot describe the stack {config.stack_name}: {err}")
        return 1
    flags = shlex.split(args.sam_flags)
    code = run_sam(tool, sam_command(args.sam, config, config_file(args), tool.region, flags))
    if code != 0:
        print(f"sam deploy failed (exit {code}); no refresh", file=sys.stderr)
        return code

    # A guided deploy may have saved another stack name or Region: read them again.
    try:
        tool = invocation(args)
        config = tool.config
        after = snapshot(tool.session, config.stack_name)
    except (ConfigError, ClientError, BotoCoreError) as err:
        return failed(f"cannot tell what sam deploy did ({err}); no refresh")
    done = outcome(before, after)
    if done == DECLINED:
        print("the change set was declined: nothing deployed, no refresh")
        return 0
    if done == UNKNOWN:
        return failed(
            "sam deploy exited 0 but neither ran a change set nor found nothing to "
            f"change on {config.stack_name}; no refresh. Once the stack is deployed: "
            f".venv/bin/python -m "
            f"infra.deploy.invoke_refresher --config-env {config.environment}"
        )
    print(f"change set: {done}; the first refresh follows")
    return refresh(config, tool.session)


if __name__ == "__main__":
    sys.exit(main())
