"""The two AWS calls the reader makes, and what their failures mean to a consumer.

Everything botocore-specific lives here: the client settings, and the translation of
``ClientError`` and ``BotoCoreError`` into this package's errors, with the original chained.
botocore is imported on first use, so that ``import joor_token`` stays cheap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from joor_token._errors import ConfigurationError, RefreshFailedError, TokenUnavailableError

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ssm import SSMClient

PARAMETER_ENV = "JOOR_TOKEN_PARAMETER"
REFRESHER_ENV = "JOOR_TOKEN_REFRESHER_FUNCTION"
# Where the reader's own clients take their region from: AWS_DEFAULT_REGION, else AWS_REGION,
# else the AWS config profile's `region` (with a session passed in: the session's region, else
# AWS_REGION). boto3 reads only AWS_DEFAULT_REGION and the profile
# (botocore/configprovider.py: 'region': ('region', 'AWS_DEFAULT_REGION', ...)); Lambda and
# ECS set AWS_REGION, and the AWS SDK for JavaScript v3 reads only that one, so the reader reads
# it too when AWS_DEFAULT_REGION is unset.
REGION_HINT = (
    "AWS_REGION, or AWS_DEFAULT_REGION, which wins when both are set, or the region of the "
    "AWS config profile"
)

# The refresher runs for at most 100 s (template.yaml Timeout), plus up to 10 s of init on a
# cold start: wait longer than that for its answer, or a slow refresh would look like a failure.
LAMBDA_READ_TIMEOUT = 120
# botocore's standard (and legacy) retry mode retries TooManyRequestsException as a throttle
# and retries read timeouts; a retried invoke of a refresh in progress would log in to JOOR a
# second time. One attempt: the reader itself decides when to invoke again.
LAMBDA_RETRIES = {"mode": "standard", "total_max_attempts": 1}
SSM_READ_TIMEOUT = 10
SSM_RETRIES = {"mode": "standard", "total_max_attempts": 3}
CONNECT_TIMEOUT = 5
_MESSAGE_LIMIT = 400


@dataclass(frozen=True)
class TokenRead:
    """One read of the token parameter: the token, its version, and when the read began."""

    value: str = field(repr=False)
    version: int
    read_at: float  # the reader's clock, taken before the request was sent


def new_ssm_client(session: boto3.session.Session | None = None) -> SSMClient:
    client: SSMClient = _new_client(session, "ssm", SSM_RETRIES, SSM_READ_TIMEOUT)
    return client


def new_lambda_client(session: boto3.session.Session | None = None) -> LambdaClient:
    client: LambdaClient = _new_client(session, "lambda", LAMBDA_RETRIES, LAMBDA_READ_TIMEOUT)
    return client


def _new_client(
    session: boto3.session.Session | None,
    service: str,
    retries: dict[str, Any],
    read_timeout: float,
) -> Any:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        retries=retries,  # type: ignore[arg-type]
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=read_timeout,
    )
    region = None
    if session is None:
        # A session of our own: boto3's default session is not safe to share between threads.
        session = boto3.session.Session()
        if not os.environ.get("AWS_DEFAULT_REGION", "").strip():
            region = os.environ.get("AWS_REGION", "").strip() or None
    elif not session.region_name:
        region = os.environ.get("AWS_REGION", "").strip() or None
    try:
        return session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
    except NoRegionError as err:
        raise ConfigurationError(
            "No AWS region to read the token in: set AWS_REGION to the region the stack is "
            "deployed in (e.g. AWS_REGION=eu-west-1; AWS_DEFAULT_REGION or the AWS config "
            "profile's region work too), or pass ssm_client= and lambda_client="
        ) from err


def _where(client: Any) -> str:
    """Where a client looked, for messages: its region when it says (a boto3 client does)."""
    region = getattr(getattr(client, "meta", None), "region_name", None)
    if not isinstance(region, str) or not region:
        return "in this account and region"
    return f"in region {region} of this account"


def safe_text(text: object, secrets: tuple[str, ...] = ()) -> str:
    """Outside text made fit for a message: no known token, no control characters, short."""
    result = str(text)
    for secret in secrets:
        if secret:
            result = result.replace(secret, "[redacted]")
    result = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in result)
    if len(result) > _MESSAGE_LIMIT:
        result = result[:_MESSAGE_LIMIT] + "..."
    return result


def _error_code(err: Any) -> tuple[str, str]:
    error = err.response.get("Error", {}) if hasattr(err, "response") else {}
    return str(error.get("Code", "")), str(error.get("Message", ""))


def read_parameter(
    client: SSMClient, name: str, selector: str, clock: Callable[[], float]
) -> TokenRead:
    """GetParameter WithDecryption of ``selector`` (the name, or ``name:version``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    read_at = clock()
    try:
        parameter = client.get_parameter(Name=selector, WithDecryption=True)["Parameter"]
    except ClientError as err:
        raise TokenUnavailableError(_describe_read_error(client, name, selector, err)) from err
    except BotoCoreError as err:
        raise TokenUnavailableError(
            f"Could not read parameter {name!r}: {type(err).__name__}: {safe_text(err)} "
            f"(check the network, the region ({REGION_HINT}) and this workload's AWS "
            "credentials)"
        ) from err
    value = parameter.get("Value")
    version = parameter.get("Version")
    if not isinstance(value, str) or not value.strip():
        raise TokenUnavailableError(
            f"Parameter {name!r} is empty; the token refresher writes a token there on its "
            'first run: invoke it with {"force": true}'
        )
    if not isinstance(version, int) or isinstance(version, bool):
        raise TokenUnavailableError(f"Parameter {name!r} came back without a version number")
    return TokenRead(value, version, read_at)


def _describe_read_error(client: Any, name: str, selector: str, err: Any) -> str:
    code, message = _error_code(err)
    if code == "ParameterNotFound":
        return (
            f"Parameter {name!r} does not exist {_where(client)}. Check {PARAMETER_ENV} (the "
            f"stack's TokenParameterName output) and the region ({REGION_HINT}); the token "
            "refresher creates the parameter on its first run."
        )
    if code == "ParameterVersionNotFound":
        return f"Parameter {selector!r} does not exist: the refresher named a version that is gone"
    if code == "AccessDeniedException":
        return (
            f"Not allowed to read parameter {name!r}: attach the stack's TokenReaderPolicy "
            f"(output TokenReaderPolicyArn) to this workload's role ({code}: "
            f"{safe_text(message)})"
        )
    if code.startswith("KMS") or code == "InvalidKeyId":
        return (
            f"Could not decrypt parameter {name!r}: the role needs kms:Decrypt on the token's "
            f"key through SSM, which TokenReaderPolicy grants ({code}: {safe_text(message)})"
        )
    return f"Could not read parameter {name!r}: {code}: {safe_text(message)}"


@dataclass(frozen=True)
class Busy:
    """The refresher is running already (HTTP 429 to a synchronous invoke)."""

    reason: str


def invoke_refresher(
    client: LambdaClient, function: str, event: dict[str, object], secrets: tuple[str, ...]
) -> dict[str, Any] | Busy:
    """One synchronous invocation; its summary, or Busy when Lambda throttles it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except ClientError as err:
        code, message = _error_code(err)
        if code == "TooManyRequestsException":
            reason = str(getattr(err, "response", {}).get("Reason", "")) or safe_text(message)
            return Busy(reason)
        raise RefreshFailedError(_describe_invoke_error(client, function, code, message)) from err
    except BotoCoreError as err:
        raise RefreshFailedError(
            f"Could not invoke the token refresher {function!r}: {type(err).__name__}: "
            f"{safe_text(err)}"
        ) from err
    raw = response["Payload"].read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    if response.get("FunctionError"):
        error = payload if isinstance(payload, dict) else {}
        kind = safe_text(error.get("errorType") or "unknown error")
        text = safe_text(error.get("errorMessage") or "no message", secrets)
        raise RefreshFailedError(f"The token refresher {function!r} failed: {kind}: {text}")
    if not isinstance(payload, dict):
        raise RefreshFailedError(
            f"The token refresher {function!r} answered something other than a summary "
            f"({len(raw)} bytes); check that {REFRESHER_ENV} names the JOOR token refresher"
        )
    return payload


def _describe_invoke_error(client: Any, function: str, code: str, message: str) -> str:
    if code == "ResourceNotFoundException":
        return (
            f"The token refresher {function!r} does not exist {_where(client)}: check "
            f"{REFRESHER_ENV} (the stack's TokenRefresherFunctionName output) and the region "
            f"({REGION_HINT})"
        )
    if code == "AccessDeniedException":
        return (
            f"Not allowed to invoke the token refresher {function!r}: the workload's role needs "
            f"lambda:InvokeFunction on it ({code}: {safe_text(message)})"
        )
    return f"Could not invoke the token refresher {function!r}: {code}: {safe_text(message)}"
