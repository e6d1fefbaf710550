"""``make demo``: the refresher doing its real job against local stand-ins for AWS and JOOR.

Starts moto in server mode and the JOOR-compatible auth server on loopback, stores a demo
secret, then invokes ``app.lambda_handler`` the way Lambda would: a scheduled run that finds
no token, a second that finds it fresh, a forced run, and a run with a wrong password.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
sys.path.insert(0, str(ROOT / "functions" / "token_refresher"))

from infra.local.lambda_context import LocalLambdaContext  # noqa: E402
from infra.local.stack import PARAMETER_NAME, LocalStack  # noqa: E402


def masked(token: str) -> str:
    """Enough to tell two tokens apart, nothing to use one."""
    return f"<{len(token)} chars, sha256 {hashlib.sha256(token.encode()).hexdigest()[:10]}>"


def operator_view(output: str) -> list[str]:
    """Powertools' JSON lines, condensed: level and message, and the EMF metrics."""
    lines = []
    for raw in output.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            lines.append(raw)
            continue
        if "_aws" in entry:
            names = [m["Name"] for d in entry["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
            extra = f" Reason={entry['Reason']}" if "Reason" in entry else ""
            values = ", ".join(f"{n}={entry[n][0]:g}" for n in names)
            lines.append(f"metric  {values}{extra}")
        else:
            lines.append(f"log     {entry.get('level')}: {entry.get('message')}")
    return lines


def invoke(title: str, event: Any) -> None:
    import app

    print(f"\n== {title}")
    print(f"   event: {json.dumps(event)[:80]}")
    buffer = io.StringIO()
    result: Any
    # Powertools' logger holds the stdout it found at import: point it at the buffer too.
    app.logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    with contextlib.redirect_stdout(buffer):
        try:
            result = app.lambda_handler(event, LocalLambdaContext())
        except Exception as error:  # noqa: BLE001 - the demo shows what Lambda would record
            result = f"invocation failed: {type(error).__name__}"
    for line in operator_view(buffer.getvalue()):
        print(f"   {line}")
    print(f"   returned: {result}")


def show_parameter(stack: LocalStack) -> None:
    with stack.moto.unrecorded():
        _show_parameter(stack)


def _show_parameter(stack: LocalStack) -> None:
    ssm = stack.client("ssm")
    value = ssm.get_parameter(Name=PARAMETER_NAME, WithDecryption=True)["Parameter"]
    meta = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [PARAMETER_NAME]}]
    )["Parameters"][0]
    token = value["Value"]
    print(f"   parameter {PARAMETER_NAME}: {meta['Type']}, version {value['Version']}")
    print(f"   description: {meta.get('Description')}")
    print(f"   token: {masked(token)}; JOOR accepts it: {stack.joor.state.is_valid(token)}")


def main() -> None:
    print("Starting moto server and the local JOOR auth server (loopback only)...")
    with LocalStack() as stack:
        stack.put_secret()
        os.environ.update(stack.env())
        print(f"   AWS (moto): {stack.moto.url}   JOOR /auth/: {stack.joor.url}")
        print(f"   secret: {os.environ['CREDENTIALS_SECRET_ID']} (made-up credentials)")
        scheduled = json.loads((EVENTS / "scheduler.json").read_text())
        forced = json.loads((EVENTS / "force.json").read_text())

        stack.moto.reset_recording()
        invoke("1. Scheduled run, no token stored yet: refreshes", scheduled)
        print(f"   AWS calls: {stack.moto.recorded_calls()}; JOOR calls: {stack.joor.calls}")
        show_parameter(stack)

        stack.moto.reset_recording()
        invoke("2. Scheduled run, token fresh: skips", scheduled)
        print(f"   AWS calls: {stack.moto.recorded_calls()}; JOOR calls so far: {stack.joor.calls}")

        stack.moto.reset_recording()
        invoke("3. Forced run by an operator: refreshes", forced)
        print(f"   AWS calls: {stack.moto.recorded_calls()}; JOOR calls so far: {stack.joor.calls}")
        show_parameter(stack)

        good = json.loads(stack.credentials_json())
        stack.put_secret(json.dumps({**good, "password": "not-the-password"}))
        invoke("4. Forced run with a wrong password in the secret: fails, token kept", forced)
        show_parameter(stack)
    print("\nDone: moto server and the auth server are stopped.")


if __name__ == "__main__":
    main()
