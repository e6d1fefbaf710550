"""Invoke the deployed refresher once and fail loudly if it failed: the step after `make deploy`.

    .venv/bin/python -m infra.deploy.invoke_refresher --config-env default

Why not `sam remote invoke`: it exits 0 when the function raised (the SAM CLI's Lambda
executor prints the payload and never looks at FunctionError: samcli/lib/remote_invoke/
lambda_invoke_executors.py), and it calls Invoke with botocore's defaults (samcli/lib/utils/
boto_utils.py passes only a user agent): a 60 s read timeout (botocore/endpoint.py
DEFAULT_TIMEOUT) and retries (legacy mode: 5 attempts, ReadTimeoutError and HTTP 429 among
the retried; standard mode: 3). A refresh slower than 60 s is then invoked a second time,
logging in to JOOR twice, or throttled by the reservation of 1.

Here: the function is found in the stack's outputs, the read timeout is the function's own
Timeout (from its configuration) plus a margin, there is exactly one attempt, and the exit
status is 1 with the function's errorType and errorMessage when it failed, or with a clear
message when Lambda throttled the call or no answer came in time.

It invokes the function's operator alias (an operator's tool: forced refreshes outside the
login budget; `--event '{"retry_rejected": true}'` retries credentials JOOR rejected), which
needs `lambda:InvokeFunction` on the alias (the stack's TokenOperatorPolicy); `--consumer`
invokes the function itself, as a consumer would.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from infra.deploy.config import ConfigError, DeployConfig, failed, invocation, tool_parser
from refresher.config import Settings

FUNCTION_OUTPUT = "TokenRefresherFunctionName"
FORCE_EVENT = '{"force": true}'
OPERATOR_ALIAS = "operator"  # refresher.domain.errors.OPERATOR_ALIAS, as the stack names it
# Beyond the function's Timeout: a cold start's initialisation and the network.
READ_TIMEOUT_MARGIN_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10


class RefreshInvokeError(Exception):
    """The refresh did not succeed; the message says what happened and what to do."""


def function_name(session: boto3.Session, stack_name: str) -> str:
    cloudformation = session.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as err:
        raise RefreshInvokeError(
            f"stack {stack_name} not found in {session.region_name}: deploy it first "
            f"({err.response.get('Error', {}).get('Message', '')})"
        ) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if FUNCTION_OUTPUT not in outputs:
        raise RefreshInvokeError(f"stack {stack_name} has no output {FUNCTION_OUTPUT}")
    return outputs[FUNCTION_OUTPUT]


def deployed_settings(session: boto3.Session, stack_name: str) -> Settings:
    """The settings the stack's function runs with: its environment variables (names and
    numbers, never a secret), read as the function reads them."""
    variables = (
        session.client("lambda")
        .get_function_configuration(FunctionName=function_name(session, stack_name))
        .get("Environment", {})
        .get("Variables", {})
    )
    return Settings.from_env(variables)


def invoke_once(
    session: boto3.Session, name: str, event: str, qualifier: str | None = OPERATOR_ALIAS
) -> dict[str, Any]:
    """One synchronous Invoke that waits as long as the function may run, and never retries."""
    timeout = int(session.client("lambda").get_function_configuration(FunctionName=name)["Timeout"])
    client = session.client(
        "lambda",
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=timeout + READ_TIMEOUT_MARGIN_SECONDS,
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )
    target = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
    try:
        response = client.invoke(**target, InvocationType="RequestResponse", Payload=event.encode())
    except ReadTimeoutError:
        raise RefreshInvokeError(
            f"no answer from {name} within {timeout + READ_TIMEOUT_MARGIN_SECONDS} s (its "
            f"timeout is {timeout} s); it may still be running: read its logs before invoking "
            "it again"
        ) from None
    except ClientError as err:
        error = err.response.get("Error", {})
        if error.get("Code") == "TooManyRequestsException":
            reason = err.response.get("Reason") or error.get("Message", "")
            raise RefreshInvokeError(
                f"Lambda throttled the invocation of {name} ({reason}): another run is probably "
                "refreshing right now (one at a time); read its logs, or invoke again in a "
                "minute"
            ) from None
        hint = ""
        if error.get("Code") in ("AccessDeniedException", "AccessDenied") and qualifier:
            hint = (
                f"; invoking the alias {qualifier} needs lambda:InvokeFunction on "
                f"{name}:{qualifier} (attach the stack's TokenOperatorPolicy)"
            )
        raise RefreshInvokeError(
            f"could not invoke {name}: {error.get('Code', 'error')}: "
            f"{error.get('Message', '')}{hint}"
        ) from None
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        details = payload if isinstance(payload, dict) else {}
        raise RefreshInvokeError(
            f"the refresh failed: {details.get('errorType', response['FunctionError'])}: "
            f"{details.get('errorMessage', '(no message)')}"
        )
    return payload if isinstance(payload, dict) else {"result": payload}


def refresh(
    config: DeployConfig,
    session: boto3.Session,
    event: str = FORCE_EVENT,
    *,
    consumer: bool = False,
) -> int:
    """Invoke the stack's function once and print its summary; 1, with why, when it failed."""
    try:
        name = function_name(session, config.stack_name)
        qualifier = None if consumer else OPERATOR_ALIAS
        shown = name if qualifier is None else f"{name}:{qualifier}"
        print(f"invoking {shown} with {event} (one attempt; this can take a minute)")
        summary = invoke_once(session, name, event, qualifier)
    except (RefreshInvokeError, ClientError, BotoCoreError) as err:
        return failed(err)
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = tool_parser(
        "invoke_refresher", "Invoke the deployed refresher once (a forced refresh by default)."
    )
    parser.add_argument("--event", default=FORCE_EVENT, help=f"default: {FORCE_EVENT}")
    parser.add_argument(
        "--consumer",
        action="store_true",
        help=f"invoke the function itself, as a consumer, not its alias {OPERATOR_ALIAS}",
    )
    args = parser.parse_args(argv)
    try:
        tool = invocation(args)
    except ConfigError as err:
        return failed(err)
    return refresh(tool.config, tool.session, args.event, consumer=args.consumer)


if __name__ == "__main__":
    sys.exit(main())
