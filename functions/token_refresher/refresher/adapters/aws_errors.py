"""Turn botocore's exceptions into one short, safe sentence."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from refresher.domain.errors import redact


def describe(err: ClientError | BotoCoreError, secrets: tuple[str, ...] = ()) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = error.get("Code", "UnknownError")
        message = redact(str(error.get("Message", "")), secrets, limit=200)
        return f"{code}: {message}" if message else code
    # Connection and timeout errors name the endpoint, never a value we sent.
    return redact(f"{type(err).__name__}: {err}", secrets, limit=200)


def error_code(err: ClientError | BotoCoreError) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return type(err).__name__
