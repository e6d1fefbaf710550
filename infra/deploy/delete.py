"""`make delete`: the stack, then what outlives it, after one confirmation that lists it all.

    make delete [SAM_CONFIG_ENV=production] [YES=1]
    PYTHONPATH=functions/token_refresher .venv/bin/python -m infra.deploy.delete --sam .venv-sam/bin/sam [--yes]

`sam delete` removes the stack's resources (the function, its schedule and rule, its role and
policies, the alarms, topic, dashboard, queue, and the log group with its logs) and the build
artifacts it uploaded. It leaves what the stack did not create or keeps on purpose:

- the token parameters: the function writes them (CloudFormation cannot create a
  SecureString), so no stack owns them. This deletes the one the configuration names, and in
  a fleet every parameter under the path that the function wrote (its description says so);
  anything else under the path is left and named.
- the layer versions of the consumer package: the template retains them (RetentionPolicy:
  Retain) so that a consumer pinned to one keeps working across updates. This deletes them:
  "Deleted versions can no longer be viewed or added to functions. To avoid breaking
  functions, a copy of the version remains in Lambda until no functions refer to it" (Lambda
  API reference, DeleteLayerVersion).

It never touches the credentials secrets (yours; the function's tag joor-token-last-login stays
on them) nor the SAM CLI's artifacts bucket (stack aws-sam-cli-managed-default, shared by
every SAM project of the account and region).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import (
    ConfigError,
    DeployConfig,
    add_arguments,
    explain,
    from_arguments,
    session_for,
)
from infra.deploy.preflight_fleet import WRITTEN_BY
from infra.deploy.stack import DeployedStack, StackError, read_stack

# DeleteParameters takes at most 10 names a call (SSM API reference, DeleteParameters).
DELETE_BATCH = 10


@dataclass(frozen=True)
class Plan:
    stack: str | None  # None: no stack left to delete
    parameters: tuple[str, ...]  # written by the function: deleted
    left: tuple[str, ...]  # under the path, not written by the function: kept
    layer: str
    layer_versions: tuple[int, ...]

    def lines(self) -> list[str]:
        lines = ["make delete will, in this order:"]
        if self.stack:
            lines.append(
                f"  1. delete the stack {self.stack} (sam delete): the function, its schedule, "
                "role and policies, alarms, topic, dashboard, dead-letter queue, and its log "
                "group with every log kept"
            )
        else:
            lines.append("  1. (no stack to delete)")
        if self.parameters:
            lines.append(
                f"  2. delete {len(self.parameters)} token parameter(s) the function wrote:"
            )
            lines += [f"       {name}" for name in self.parameters]
        else:
            lines.append("  2. (no token parameter to delete)")
        if self.layer_versions:
            versions = ", ".join(str(v) for v in self.layer_versions)
            lines.append(
                f"  3. delete the retained layer {self.layer}, versions {versions} (a function "
                "that uses one keeps it; none can be created or updated with it any more)"
            )
        else:
            lines.append(f"  3. (no version of the layer {self.layer} to delete)")
        lines.append(
            "It leaves the credentials secrets (and their tag joor-token-last-login) and the SAM "
            "CLI's artifacts bucket (stack aws-sam-cli-managed-default)."
        )
        if self.left:
            lines.append(
                f"It also leaves {len(self.left)} parameter(s) under the path that the function "
                f"did not write: {', '.join(self.left)}"
            )
        return lines


def plan(session: boto3.Session, config: DeployConfig, stack: DeployedStack | None) -> Plan:
    """What there is to delete: read only."""
    parameters = stack.parameters if stack else config.parameters
    ssm = session.client("ssm")
    path = parameters.get("TokenParameterPath", "").rstrip("/")
    named = (
        parameters.get("TokenParameterName", "") if parameters.get("CredentialsSecretArn") else ""
    )
    found: list[dict[str, Any]] = []
    filters: list[list[dict[str, Any]]] = []
    if path:
        filters.append([{"Key": "Path", "Option": "Recursive", "Values": [path]}])
    if named:
        filters.append([{"Key": "Name", "Option": "Equals", "Values": [named]}])
    for parameter_filters in filters:
        pages = ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=parameter_filters, PaginationConfig={"PageSize": 50}
        )
        found += [p for page in pages for p in page.get("Parameters", [])]
    ours = sorted({str(p["Name"]) for p in found if WRITTEN_BY in (p.get("Description") or "")})
    left = sorted({str(p["Name"]) for p in found} - set(ours))
    layer = stack.layer_name if stack else DeployedStack(config.stack_name, "").layer_name
    versions: list[int] = []
    pages = session.client("lambda").get_paginator("list_layer_versions").paginate(LayerName=layer)
    for page in pages:
        versions += [int(v["Version"]) for v in page.get("LayerVersions", [])]
    return Plan(
        stack.name if stack else None, tuple(ours), tuple(left), layer, tuple(sorted(versions))
    )


def confirmed(ask: Callable[[str], str]) -> bool:
    try:
        answer = ask("Delete all of this? [y/N]: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def main(argv: Sequence[str] | None = None, ask: Callable[[str], str] = input) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.delete",
        description="Delete the stack, its token parameters and its retained layer versions.",
    )
    add_arguments(parser)
    parser.add_argument("--sam", default="sam", help="the SAM CLI to run (make: .venv-sam/bin/sam)")
    parser.add_argument("--yes", action="store_true", help="do not ask (a script's cleanup)")
    args = parser.parse_args(argv)
    try:
        config = from_arguments(args)
        session = session_for(config, args)
        try:
            stack: DeployedStack | None = read_stack(session, config)
        except StackError as err:
            if "no stack" not in str(err):
                raise
            stack = None
        what = plan(session, config, stack)
    except (ConfigError, StackError) as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as err:
        print(f"FAILED: cannot list what to delete: {explain(err)}", file=sys.stderr)
        return 1
    print(f"{config.stack_name} ({config.environment}) in {session.region_name}")
    print("\n".join(what.lines()))
    if not (what.stack or what.parameters or what.layer_versions):
        print("Nothing to delete.")
        return 0
    if not args.yes and not confirmed(ask):
        print("Not confirmed: nothing was deleted (YES=1 deletes without asking).")
        return 1
    if what.stack:
        command = [
            args.sam,
            "delete",
            "--stack-name",
            what.stack,
            "--region",
            str(session.region_name),
            "--no-prompts",
        ]
        if args.profile or config.profile:
            command += ["--profile", str(args.profile or config.profile)]
        print("$ " + " ".join(command), flush=True)
        code = subprocess.run(
            command, env={**os.environ, "SAM_CLI_TELEMETRY": "0"}, check=False
        ).returncode
        if code != 0:
            print(
                f"sam delete failed (exit {code}): the parameters and layer versions are kept; "
                "run make delete again once the stack is gone",
                file=sys.stderr,
            )
            return code
    return _delete_leftovers(session, what)


def _delete_leftovers(session: boto3.Session, what: Plan) -> int:
    failed = 0
    ssm = session.client("ssm")
    names = list(what.parameters)
    for start in range(0, len(names), DELETE_BATCH):
        batch = names[start : start + DELETE_BATCH]
        try:
            response = ssm.delete_parameters(Names=batch)
        except (ClientError, BotoCoreError) as err:
            print(f"FAILED: could not delete {', '.join(batch)}: {explain(err)}", file=sys.stderr)
            failed += len(batch)
            continue
        for name in response.get("DeletedParameters", []):
            print(f"deleted parameter {name}")
    lambda_ = session.client("lambda")
    for version in what.layer_versions:
        try:
            lambda_.delete_layer_version(LayerName=what.layer, VersionNumber=version)
        except (ClientError, BotoCoreError) as err:
            print(
                f"FAILED: could not delete {what.layer}:{version}: {explain(err)}", file=sys.stderr
            )
            failed += 1
            continue
        print(f"deleted layer version {what.layer}:{version}")
    if failed:
        print(f"{failed} deletion(s) failed; run make delete again", file=sys.stderr)
        return 1
    print("Done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
