"""A stand-in for the SAM CLI's `sam deploy` (and `sam delete`), run as `sam` from PATH.

It does to CloudFormation (moto server, through AWS_ENDPOINT_URL) what the real one does, and
exits as the real one exits (samcli/commands/deploy/deploy_context.py, deploy()):

- it reads the stack name from `--config-file` (or ./samconfig.toml) `[ENV.deploy.parameters]`
  or `[ENV.global.parameters]`, and takes `--region`;
- it creates a change set (CREATE for a new stack or one in REVIEW_IN_PROGRESS, else UPDATE);
  FAKE_SAM_CHANGES=none makes it the stack's current template, which CloudFormation fails
  with "didn't contain changes": sam prints that and exits 0 (fail_on_empty_changeset false);
- with `--no-execute-changeset` it stops there, exit 0;
- it asks "Deploy this changeset? [y/N]" unless `--no-confirm-changeset`; the answer is
  FAKE_SAM_ANSWER (default "n"): "n" returns, exit 0, nothing executed;
- "y" (or no prompt) executes the change set and exits 0, or with FAKE_SAM_FAIL=1 exits 1
  as a failed stack operation does.

`sam delete --stack-name NAME --region R --no-prompts` deletes the stack (FAKE_SAM_FAIL=1:
exits 1 as a failed delete does); `sam logs` prints a line and exits 0.
Every invocation's arguments are appended, one JSON line each, to FAKE_SAM_LOG.
"""

# ruff: noqa: T201 - it prints what sam prints
from __future__ import annotations

import json
import os
import sys
import tomllib
import uuid
from pathlib import Path

import boto3


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def template(changes: bool, function_name: str) -> str:
    resources = {"Queue": {"Type": "AWS::SQS::Queue"}}
    if changes:  # a resource of its own each time: the change set has something to do
        resources[f"Deploy{uuid.uuid4().hex[:8]}"] = {"Type": "AWS::SQS::Queue"}
    return json.dumps(
        {
            "Resources": resources,
            "Outputs": {"TokenRefresherFunctionName": {"Value": function_name}},
        }
    )


def deploy(args: list[str]) -> int:
    environment = option(args, "--config-env", "default")
    config = tomllib.loads(Path(option(args, "--config-file", "samconfig.toml")).read_text())
    section = config[environment]
    stack_name = (
        section.get("deploy", {}).get("parameters", {}).get("stack_name")
        or section["global"]["parameters"]["stack_name"]
    )
    cloudformation = boto3.client("cloudformation", region_name=option(args, "--region"))
    try:
        status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    except cloudformation.exceptions.ClientError:
        status = None
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    function_name = os.environ.get("FAKE_SAM_FUNCTION", "token-refresher")
    if os.environ.get("FAKE_SAM_CHANGES") == "none" and kind == "UPDATE":
        body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
        body = body if isinstance(body, str) else json.dumps(body)
    else:
        body = template(True, function_name)
    name = f"samcli-deploy{uuid.uuid4().hex[:10]}"
    created = cloudformation.create_change_set(
        StackName=stack_name, ChangeSetName=name, TemplateBody=body, ChangeSetType=kind
    )
    change_set = cloudformation.describe_change_set(ChangeSetName=created["Id"])
    if change_set["Status"] == "FAILED":
        print(f"\nError: No changes to deploy. Stack {stack_name} is up to date")
        return 0
    print(f"\nChangeset created successfully. {created['Id']}\n")
    if "--no-execute-changeset" in args:
        return 0
    if "--no-confirm-changeset" not in args:
        answer = os.environ.get("FAKE_SAM_ANSWER", "n")
        print(
            f"Previewing CloudFormation changeset before deployment\nDeploy this changeset? [y/N]: {answer}"
        )
        if answer.lower() not in ("y", "yes"):
            return 0
    if os.environ.get("FAKE_SAM_FAIL"):
        print(
            f"\nError: Failed to create/update the stack: {stack_name}, Waiter StackUpdateComplete failed"
        )
        return 1
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    # moto gives a stack made or changed by a change set no outputs (CloudFormation sets them
    # as the change set runs): the same template again through UpdateStack fills them in.
    cloudformation.update_stack(StackName=stack_name, TemplateBody=body)
    print(f"\nSuccessfully created/updated stack - {stack_name} in {option(args, '--region')}\n")
    return 0


def delete(args: list[str]) -> int:
    stack_name = option(args, "--stack-name")
    if os.environ.get("FAKE_SAM_FAIL"):
        print(f"Error: Failed to delete the stack {stack_name}")
        return 1
    boto3.client("cloudformation", region_name=option(args, "--region")).delete_stack(
        StackName=stack_name
    )
    print("\nDeleted successfully")
    return 0


def main() -> int:
    args = sys.argv[1:]
    log = os.environ.get("FAKE_SAM_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(args) + "\n")
    if args[:1] == ["deploy"]:
        return deploy(args)
    if args[:1] == ["delete"]:
        return delete(args)
    if args[:1] == ["logs"]:
        print(f"(the logs of {option(args, '--name')} in {option(args, '--stack-name')})")
        return 0
    print(f"fake sam: {args[:1]} is not implemented", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
