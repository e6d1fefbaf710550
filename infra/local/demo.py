"""``make demo``: the refresher doing its real job against local stand-ins for AWS and JOOR.

Starts moto in server mode and the JOOR-compatible auth server on loopback, stores a demo
secret, then invokes ``app.lambda_handler`` the way Lambda would: a scheduled run that finds
no token, a second that finds it fresh, a forced run, and a run with a wrong password. Last,
a workload whose token JOOR revoked asks for a new one through the Lambda Invoke API (the
local stand-in, reached with the real boto3 client), then consumers that use the joor_token
package (clients/python): one, and twenty at once in four processes. Then a fleet
(``demo_fleet.py``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
sys.path.insert(0, str(ROOT / "functions" / "token_refresher"))

from infra.local.lambda_context import LocalLambdaContext  # noqa: E402
from infra.local.stack import FUNCTION_NAME, PARAMETER_NAME, LocalStack  # noqa: E402


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


def api_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def workload_after_revocation(stack: LocalStack) -> None:
    from botocore.config import Config

    print("\n== 5. JOOR revokes the token; the workload asks for a new one through Lambda Invoke")
    stack.put_secret()  # the right password again
    with stack.moto.unrecorded():
        token = stack.client("ssm").get_parameter(Name=PARAMETER_NAME, WithDecryption=True)
    stack.joor.revoke_all()
    api = stack.joor.api_url
    print(f"   JOOR API with the stored token: HTTP {api_status(api, token['Parameter']['Value'])}")
    # Retries off: a retried Invoke could run the refresher a second time.
    client = stack.client("lambda", Config(retries={"total_max_attempts": 1}, read_timeout=120))
    response = client.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"force": true}', LogType="Tail")
    print(f"   lambda:Invoke {FUNCTION_NAME}: HTTP {response['StatusCode']}")
    for line in operator_view(base64.b64decode(response["LogResult"]).decode()):
        print(f"   {line}")
    print(f"   returned: {json.loads(response['Payload'].read())}")
    with stack.moto.unrecorded():
        token = stack.client("ssm").get_parameter(Name=PARAMETER_NAME, WithDecryption=True)
    print(f"   JOOR API with the new token: HTTP {api_status(api, token['Parameter']['Value'])}")


def consumer_after_revocation(stack: LocalStack) -> None:
    import time

    import requests

    from joor_token import JoorBearerAuth, TokenReader

    print(
        "\n== 6. A consumer using joor_token: JOOR revokes every token, the consumer still succeeds"
    )
    # Deployed, a rejected token is replaced only if it is at least 300 s old; the demo's tokens
    # are seconds old, so the demo's refresher takes 1 s.
    stack.lambda_.configure(REJECTED_TOKEN_MIN_AGE_SECONDS="1")
    print("   (refresher's REJECTED_TOKEN_MIN_AGE_SECONDS set to 1 s for the demo; default 300 s)")
    os.environ.update(stack.consumer_env())
    time.sleep(1.1)
    reader = TokenReader()
    api = stack.joor.api_url
    with requests.Session() as session:
        session.auth = JoorBearerAuth(reader)
        print(f"   GET {api}: HTTP {session.get(api, timeout=30).status_code}")
        print(f"   JOOR revokes every token ({stack.joor.revoke_all()} live)")
        stack.lambda_.reset()
        logins = stack.joor.logins
        response = session.get(api, timeout=30)
    answers = [r.status_code for r in response.history] + [response.status_code]
    print(f"   GET {api}: answers {' then '.join(f'HTTP {a}' for a in answers)}")
    print(f"   the reader invoked the refresher with: {stack.lambda_.events}")
    print(
        f"   JOOR logins: {stack.joor.logins - logins}; the reader's token: {masked(reader.token())}"
    )


def stampede_after_revocation(stack: LocalStack) -> None:
    import time

    from infra.local.stampede import Stampede

    print("\n== 7. Twenty consumers at once (5 threads in each of 4 processes) hit the revocation")
    stack.joor.login_latency = 0.3  # a real login takes about that long
    time.sleep(1.1)  # the stored token is older than the demo's minimum age
    stampede = Stampede(stack, stack.joor.api_url, processes=4, threads=5)
    stampede.start()
    stack.lambda_.reset()
    logins = stack.joor.logins
    print(
        f"   every consumer holds the current token; JOOR revokes it ({stack.joor.revoke_all()} live)"
    )
    result = stampede.go()
    counts = stack.lambda_.counts
    statuses = sorted(set(result.statuses))
    renewed = sum(c.renewed for c in result.consumers)
    print(
        f"   final answers: {len(result.statuses)} x HTTP {statuses}; {renewed} saw the 401 and renewed"
    )
    print(
        f"   refresher invocations: {counts.completed} ran, {counts.throttled} throttled (429, "
        "the reader then waits for the new version)"
    )
    print(
        f"   JOOR logins: {stack.joor.logins - logins} (one login takes {stack.joor.login_latency:g} s here)"
    )
    print(f"   time until all twenty had a working token: {result.seconds_to_all_working:.2f} s")


def main() -> None:
    print("Starting moto server, the local JOOR server and the Lambda stand-in (loopback only)...")
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

        workload_after_revocation(stack)
        show_parameter(stack)

        consumer_after_revocation(stack)
        stampede_after_revocation(stack)

        from infra.local.demo_fleet import fleet_scenes

        fleet_scenes(stack)
    print("\nDone: moto server, the JOOR server and the Lambda stand-in are stopped.")


if __name__ == "__main__":
    main()
