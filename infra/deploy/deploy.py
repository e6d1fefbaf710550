"""`make deploy`: the checks that would make CloudFormation fail, `sam deploy`, then the first
refresh, but only when the change set ran or there was nothing to change.

    PYTHONPATH=functions/token_refresher .venv/bin/python -m infra.deploy.deploy \\
        --config-env default --sam .venv-sam/bin/sam [sam deploy flags, e.g. --guided]

1. The preflight's blocking checks (the stack's state, the names built from the stack name,
   the reserved concurrency against the account's quota): a failure stops here, before
   CloudFormation creates a stack that would roll back and have to be deleted by hand.
2. `sam deploy --config-env ENV --region REGION [flags]`, with the terminal as its own, so its
   confirmation prompt (samconfig.toml: confirm_changeset = true) works as usual.
3. What happened, read from CloudFormation, not from sam's exit status: `sam deploy` exits 0
   when the change set was declined at the prompt, or not executed (--no-execute-changeset),
   as when it ran (samcli/commands/deploy/deploy_context.py: `if not click.confirm(...):
   return`), and 0 on an empty change set with fail_on_empty_changeset = false (it prints the
   ChangeEmptyError and returns). The change sets of the stack before and after tell them
   apart: a new one still AVAILABLE was not executed; a new one FAILED for "didn't contain
   changes" (samcli/lib/deploy/deployer.py, wait_for_changeset) means nothing changed; one
   EXECUTE_COMPLETE, or none left and the stack created or updated (CloudFormation removes a
   stack's change sets when one is executed), means it ran.
4. The forced refresh through the operator alias (invoke_refresher.py) when it ran or nothing
   changed; never after a declined change set, which would log in to JOOR for nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import (
    DEFAULT_TEMPLATE_FILE,
    ConfigError,
    add_arguments,
    explain,
    from_arguments,
    session_for,
)
from infra.deploy.invoke_refresher import refresh
from infra.deploy.preflight import Preflight, report

EXECUTED = "executed"
NO_CHANGES = "no changes"
NOT_EXECUTED = "not executed"
UNKNOWN = "unknown"
_EMPTY = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class ChangeSet:
    status: str
    execution_status: str
    reason: str = ""


@dataclass(frozen=True)
class StackState:
    """What CloudFormation says of the stack: its status, when it last changed, its change sets."""

    status: str | None  # None: no such stack
    changed_at: datetime | None = None
    change_sets: dict[str, ChangeSet] = field(default_factory=dict)


def read_state(cloudformation: Any, stack_name: str) -> StackState:
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            return StackState(None)
        raise
    change_sets: dict[str, ChangeSet] = {}
    for page in cloudformation.get_paginator("list_change_sets").paginate(StackName=stack_name):
        for summary in page.get("Summaries", []):
            change_sets[str(summary["ChangeSetId"])] = ChangeSet(
                str(summary.get("Status", "")),
                str(summary.get("ExecutionStatus", "")),
                str(summary.get("StatusReason", "")),
            )
    return StackState(
        str(stack["StackStatus"]),
        stack.get("LastUpdatedTime") or stack.get("CreationTime"),
        change_sets,
    )


def what_happened(before: StackState, after: StackState) -> str:
    """Whether the deploy's change set ran, had nothing to change, or was not executed."""
    new = [c for i, c in after.change_sets.items() if i not in before.change_sets]
    if any(c.execution_status == "AVAILABLE" for c in new) or after.status == "REVIEW_IN_PROGRESS":
        return NOT_EXECUTED
    if any(c.execution_status == "EXECUTE_COMPLETE" for c in new):
        return EXECUTED
    if any(c.status == "FAILED" and any(e in c.reason for e in _EMPTY) for c in new):
        return NO_CHANGES
    done = after.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    if done and (before.status is None or after.changed_at != before.changed_at):
        return EXECUTED
    return UNKNOWN


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.deploy",
        description="The blocking checks, sam deploy, and the first refresh when it deployed.",
        epilog="Other arguments go to sam deploy (e.g. --guided, --no-confirm-changeset).",
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
    template = Path(args.template_file) if args.template_file else DEFAULT_TEMPLATE_FILE
    print(
        f"checks before deploying {config.stack_name} ({config.environment}) to {session.region_name}"
    )
    if report(Preflight(config, session, template).blocking()):
        print(
            "Stopped before sam deploy: CloudFormation would fail on what FAILED says. Fix it "
            "and run make deploy again (make preflight checks the rest).",
            file=sys.stderr,
        )
        return 1

    cloudformation = session.client("cloudformation")
    try:
        before = read_state(cloudformation, config.stack_name)
    except (ClientError, BotoCoreError) as err:
        print(f"FAILED: cannot read the stack {config.stack_name}: {explain(err)}", file=sys.stderr)
        return 1
    command = [args.sam, "deploy", "--config-env", config.environment]
    command += ["--region", str(session.region_name)]
    if args.profile:
        command += ["--profile", args.profile]
    if args.config_file:
        command += ["--config-file", str(Path(args.config_file).resolve())]
    command += sam_flags
    print("$ " + " ".join(command), flush=True)
    code = subprocess.run(
        command, env={**os.environ, "SAM_CLI_TELEMETRY": "0"}, check=False
    ).returncode
    if code != 0:
        print(f"sam deploy failed (exit {code}): no refresh was made", file=sys.stderr)
        return code

    # A guided deploy may have saved other values (parameters, even the stack name).
    try:
        config = from_arguments(args)
        after = read_state(cloudformation, config.stack_name)
    except (ConfigError, ClientError, BotoCoreError) as err:
        print(f"FAILED: cannot read the stack after sam deploy: {err}", file=sys.stderr)
        return 1
    happened = what_happened(before, after)
    if happened == NOT_EXECUTED:
        print(
            "The change set was not executed (declined at the prompt, or --no-execute-changeset): "
            "nothing was deployed, so no refresh was made and JOOR was not called."
        )
        return 0
    if happened == UNKNOWN:
        print(
            f"Could not tell whether sam deploy changed {config.stack_name} (it is "
            f"{after.status}), so the first refresh was not made. Once the stack is deployed: "
            "PYTHONPATH=functions/token_refresher .venv/bin/python -m infra.deploy.invoke_refresher "
            f"--config-env {config.environment}",
            file=sys.stderr,
        )
        return 1
    print(f"sam deploy: {happened}; the first refresh, through the operator alias:")
    return refresh(config, session_for(config, args))


if __name__ == "__main__":
    sys.exit(main())
