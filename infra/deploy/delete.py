"""`make delete`: the stack, and what `sam delete` leaves behind, after one confirmation.

    .venv/bin/python -m infra.deploy.delete --config-env default \\
        --sam .venv-sam/bin/sam [--yes]

`sam delete` removes the stack's resources (the function, its log group, roles, policies,
alarms, dashboard, schedule, queue, topic) and the build artifacts it uploaded. It leaves:
- the token parameters: the function creates them (CloudFormation cannot create a
  SecureString), so the stack does not own them: the named account's, and in a fleet every
  parameter under its path that the function wrote (their description says so);
- the layer's versions: the template retains them (RetentionPolicy: Retain) so that a
  consumer pinned to one keeps working;
- what was never the stack's: the credentials secrets, the customer managed keys, and the
  bucket `sam deploy --resolve-s3` shares between stacks (aws-sam-cli-managed-default).

This command lists the first two (read from the deployed function's settings and the
layer's versions before anything is deleted), asks once, then runs `sam delete --no-prompts`
and deletes them. A parameter under the path that the function did not write is named and
kept.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.deploy.config import (
    ConfigError,
    DeployConfig,
    failed,
    invocation,
    run_sam,
    tool_parser,
)
from infra.deploy.invoke_refresher import RefreshInvokeError, deployed_settings
from refresher.adapters.ssm_token_store import WRITTEN_BY
from refresher.domain.errors import RefreshError

LAYER_SUFFIX = "-joor-token"  # template.yaml: LayerName ${AWS::StackName}-joor-token


@dataclass(frozen=True)
class Leftovers:
    """What `sam delete` leaves and this command removes."""

    parameters: tuple[str, ...]
    layer_versions: tuple[str, ...]  # LayerVersionArn
    kept: tuple[str, ...] = ()  # parameters under the path the function did not write

    def listing(self, stack_name: str) -> str:
        lines = [f"make delete removes the stack {stack_name} (sam delete --no-prompts), then:"]
        lines.append(f"  {len(self.parameters)} token parameter(s) the function created:")
        lines += [f"    {name}" for name in self.parameters] or ["    (none)"]
        lines.append(f"  {len(self.layer_versions)} retained layer version(s):")
        lines += [f"    {arn}" for arn in self.layer_versions] or ["    (none)"]
        if self.kept:
            lines.append("  and keeps these parameters under the path, which it did not write:")
            lines += [f"    {name}" for name in self.kept]
        lines.append(
            "It keeps the credentials secrets, KMS keys and the SAM CLI's artifact bucket "
            "(aws-sam-cli-managed-default), which were never the stack's."
        )
        return "\n".join(lines)


def leftovers(session: boto3.Session, stack_name: str) -> Leftovers:
    """Read before deleting: the function's settings are gone with the stack."""
    settings = deployed_settings(session, stack_name)
    ssm = session.client("ssm")
    parameters: list[str] = []
    kept: list[str] = []
    if settings.token_parameter_name:
        found = ssm.describe_parameters(
            ParameterFilters=[
                {"Key": "Name", "Option": "Equals", "Values": [settings.token_parameter_name]}
            ]
        )["Parameters"]
        parameters += [str(p["Name"]) for p in found]
    if settings.parameter_path:
        pages = ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[
                {"Key": "Path", "Option": "Recursive", "Values": [settings.parameter_path]}
            ],
            PaginationConfig={"PageSize": 50},
        )
        for page in pages:
            for parameter in page.get("Parameters", []):
                name = str(parameter["Name"])
                if name in parameters:
                    continue
                ours = WRITTEN_BY in (parameter.get("Description") or "")
                (parameters if ours else kept).append(name)
    versions: list[str] = []
    pages = session.client("lambda").get_paginator("list_layer_versions")
    for page in pages.paginate(LayerName=stack_name + LAYER_SUFFIX):
        versions += [str(v["LayerVersionArn"]) for v in page.get("LayerVersions", [])]
    return Leftovers(tuple(sorted(parameters)), tuple(sorted(versions)), tuple(sorted(kept)))


def remove(session: boto3.Session, found: Leftovers) -> None:
    ssm = session.client("ssm")
    names = list(found.parameters)
    for start in range(0, len(names), 10):  # DeleteParameters takes 10 names a call
        answer = ssm.delete_parameters(Names=names[start : start + 10])
        for name in answer.get("InvalidParameters", []):
            print(f"  {name}: already gone")
    lambda_client = session.client("lambda")
    for arn in found.layer_versions:
        layer, version = arn.rsplit(":", 1)
        lambda_client.delete_layer_version(LayerName=layer, VersionNumber=int(version))


def sam_delete_command(sam: str, config: DeployConfig, region: str) -> list[str]:
    return [sam, "delete", "--stack-name", config.stack_name, "--region", region, "--no-prompts"]


def main(argv: Sequence[str] | None = None, ask: Callable[[str], str] = input) -> int:
    parser = tool_parser(
        "delete",
        "Delete the stack, its token parameters and its retained layer versions.",
        sam=True,
    )
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    args = parser.parse_args(argv)
    try:
        tool = invocation(args)
        found = leftovers(tool.session, tool.config.stack_name)
    except (ConfigError, RefreshInvokeError, RefreshError, ClientError, BotoCoreError) as err:
        return failed(err)
    stack_name = tool.config.stack_name
    print(found.listing(stack_name))
    if not args.yes:
        try:
            answer = ask(f"Delete all of this? Type the stack name ({stack_name}): ")
        except EOFError:
            answer = ""
        if answer.strip() != stack_name:
            print("nothing deleted")
            return 1
    if run_sam(tool, sam_delete_command(args.sam, tool.config, tool.region)) != 0:
        print("sam delete failed; the parameters and layer versions are kept", file=sys.stderr)
        return 1
    try:
        remove(tool.session, found)
    except (ClientError, BotoCoreError) as err:
        return failed(f"the stack is deleted, but: {err}")
    print(
        f"deleted the stack, {len(found.parameters)} parameter(s) and "
        f"{len(found.layer_versions)} layer version(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
