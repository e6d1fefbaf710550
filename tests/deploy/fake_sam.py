"""A stand-in for `sam deploy` that leaves CloudFormation (moto) as the real one does.

The real SAM CLI (samcli/commands/deploy/deploy_context.py, samcli/lib/deploy/deployer.py)
creates a change set and waits for it; an empty one FAILs with "didn't contain changes" and is
reported as "No changes to deploy" (exit 0 with fail_on_empty_changeset = false); with
confirm_changeset it asks, and on "n" returns, exit 0, leaving the change set AVAILABLE;
otherwise it executes the change set. FAKE_SAM_MODE picks what happens: "execute", "decline"
(asks, reads the answer, returns) or "fail" (exit 1 after creating nothing). `sam delete`
deletes the stack (or fails alike). Every call is
appended to FAKE_SAM_LOG as one JSON line of its arguments.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import boto3

from infra.deploy.config import DEFAULT_TEMPLATE_FILE, load

FUNCTION_NAME = os.environ.get("FAKE_SAM_FUNCTION", "joor-token-refresher-fn")


def say(text: str, end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def _option(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def main(args: list[str]) -> int:
    with Path(os.environ["FAKE_SAM_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(args) + "\n")
    mode = os.environ.get("FAKE_SAM_MODE", "execute")
    if mode == "fail":
        sys.stderr.write("Error: Failed to create changeset for the stack\n")
        return 1
    config_file = Path(_option(args, "--config-file") or "samconfig.toml")
    config = load(
        _option(args, "--config-env", "default") or "default", config_file, DEFAULT_TEMPLATE_FILE
    )
    region = _option(args, "--region") or config.region
    cloudformation = boto3.client("cloudformation", region_name=region)
    template = json.dumps(
        {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"TokenRefresherFunctionName": {"Value": FUNCTION_NAME}},
        }
    )
    try:
        status = cloudformation.describe_stacks(StackName=config.stack_name)["Stacks"][0][
            "StackStatus"
        ]
    except cloudformation.exceptions.ClientError:
        status = None
    kind = "UPDATE" if status and status != "REVIEW_IN_PROGRESS" else "CREATE"
    name = f"samcli-deploy{uuid.uuid4().hex[:10]}"
    cloudformation.create_change_set(
        StackName=config.stack_name, TemplateBody=template, ChangeSetName=name, ChangeSetType=kind
    )
    for _ in range(50):
        change_set = cloudformation.describe_change_set(
            ChangeSetName=name, StackName=config.stack_name
        )
        if change_set["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        time.sleep(0.1)
    say(
        f"\nWaiting for changeset to be created..\n\nChangeset created successfully. {change_set['ChangeSetId']}"
    )
    if change_set["Status"] == "FAILED":
        say(f"No changes to deploy. Stack {config.stack_name} is up to date")
        return 0
    if mode == "decline":
        say("Previewing CloudFormation changeset before deployment")
        say("Deploy this changeset? [y/N]: ", end="")
        sys.stdin.readline()
        return 0
    # What executing it leaves: the stack with its outputs and no change set (CloudFormation
    # removes a stack's change sets once one runs). moto's execute_change_set keeps the change
    # set and sets no outputs, so the stack is written directly.
    cloudformation.delete_change_set(ChangeSetName=name, StackName=config.stack_name)
    if kind == "CREATE":
        cloudformation.delete_stack(StackName=config.stack_name)
        cloudformation.create_stack(StackName=config.stack_name, TemplateBody=template)
    else:
        cloudformation.update_stack(StackName=config.stack_name, TemplateBody=template)
    say(f"\nSuccessfully created/updated stack - {config.stack_name} in {region}\n")
    return 0


def delete(args: list[str]) -> int:
    """`sam delete --stack-name S --region R --no-prompts`: the stack goes (moto deletes it at
    once; CloudFormation's DELETE_COMPLETE, which the SAM CLI waits for)."""
    with Path(os.environ["FAKE_SAM_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(["delete", *args]) + "\n")
    if os.environ.get("FAKE_SAM_MODE") == "fail":
        return 1
    cloudformation = boto3.client("cloudformation", region_name=_option(args, "--region"))
    cloudformation.delete_stack(StackName=_option(args, "--stack-name") or "")
    return 0


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    sys.exit(delete(rest) if command == "delete" else main(rest))
