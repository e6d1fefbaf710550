"""``make demo``: the refresher doing its real job against local stand-ins for AWS and JOOR.

Starts moto in server mode, the JOOR-compatible auth server and the Lambda stand-in on
loopback, stores a demo secret, then invokes ``app.lambda_handler`` the way Lambda would: a
scheduled run that finds no token, a second that finds it fresh, an operator's forced run and
a consumer's, held to the login budget. Then the login gate: a wrong password saved in the
secret is tried once (Secrets Manager's change event runs the function at once), every later
run is refused without calling JOOR, and the fixed password gives a live token seconds after
it is saved. Last, a workload whose token JOOR revoked asks for a new one through the Lambda
Invoke API (the local stand-in, reached with the real boto3 client), then consumers that use
the joor_token package (clients/python): one, and twenty at once in four processes. Then a
fleet (``demo_fleet.py``).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
sys.path.insert(0, str(ROOT / "functions" / "token_refresher"))

from infra.local.demo_fleet import fleet_scenes  # noqa: E402
from infra.local.demo_tools import (  # noqa: E402
    configure_process,
    masked,
    operator_view,
    run_handler,
)
from infra.local.stack import FUNCTION_NAME, PARAMETER_NAME, LocalStack  # noqa: E402


def invoke(title: str, event: Any, *, operator: bool = False) -> None:
    print(f"\n== {title}")
    via = " (through the alias operator)" if operator else ""
    print(f"   event: {json.dumps(event)[:80]}{via}")
    result, error, output = run_handler(event, operator=operator)
    if error is not None:
        result = f"invocation failed: {type(error).__name__}"
    for line in operator_view(output):
        print(f"   {line}")
    print(f"   returned: {result}")


def save_secret(stack: LocalStack, title: str, value: str) -> None:
    """put-secret-value, and the run Secrets Manager's change event makes, as it happened."""
    print(f"\n== {title}")
    stack.lambda_.reset()
    logins, refused = stack.joor.logins, stack.joor.state.requests - stack.joor.logins
    events = len(stack.lambda_.rule_events)
    stack.put_secret(value)
    print("   aws secretsmanager put-secret-value: AWSCURRENT moves to a new version")
    stack.lambda_.wait_for_rule_events(events + 1)
    for record in stack.lambda_.records:
        detail = record.event.get("detail", {}) if isinstance(record.event, dict) else {}
        print(
            f"   event {record.event.get('detail-type')!r}: {detail.get('labelUpdated')} "
            f"-> version {str(detail.get('versionId'))[:8]}; the function runs at once"
        )
        for line in operator_view(_handler_lines(record.log)):
            print(f"   {line}")
    failed = stack.joor.state.requests - stack.joor.logins - refused
    print(f"   JOOR: {stack.joor.logins - logins} login(s) that issued a token, {failed} refused")


def _handler_lines(log: str) -> str:
    """An invocation's log without the runtime's START/END/REPORT and [ERROR] lines."""
    return "\n".join(line for line in log.splitlines() if line.startswith("{"))


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

    print("\n== 10. JOOR revokes the token; the workload reports it through Lambda Invoke")
    time.sleep(1.1)  # the stored token is older than the demo's budget
    with stack.moto.unrecorded():
        token = stack.client("ssm").get_parameter(Name=PARAMETER_NAME, WithDecryption=True)
    stack.joor.revoke_all()
    api = stack.joor.api_url
    print(f"   JOOR API with the stored token: HTTP {api_status(api, token['Parameter']['Value'])}")
    report = {
        "force": True,
        "seen_version": token["Parameter"]["Version"],
        "parameter": PARAMETER_NAME,
    }
    # Retries off: a retried Invoke could run the refresher a second time.
    client = stack.client("lambda", Config(retries={"total_max_attempts": 1}, read_timeout=120))
    response = client.invoke(
        FunctionName=FUNCTION_NAME, Payload=json.dumps(report).encode(), LogType="Tail"
    )
    print(f"   lambda:Invoke {FUNCTION_NAME} {json.dumps(report)}: HTTP {response['StatusCode']}")
    for line in operator_view(base64.b64decode(response["LogResult"]).decode()):
        print(f"   {line}")
    print(f"   returned: {json.loads(response['Payload'].read())}")
    with stack.moto.unrecorded():
        token = stack.client("ssm").get_parameter(Name=PARAMETER_NAME, WithDecryption=True)
    print(f"   JOOR API with the new token: HTTP {api_status(api, token['Parameter']['Value'])}")


def consumer_after_revocation(stack: LocalStack) -> None:
    import requests

    from joor_token import JoorBearerAuth, TokenReader

    print(
        "\n== 11. A consumer using joor_token: JOOR revokes every token, the consumer still succeeds"
    )
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
    from infra.local.stampede import Stampede

    print("\n== 12. Twenty consumers at once (5 threads in each of 4 processes) hit the revocation")
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


def account_scenes(stack: LocalStack, configure: Callable[..., None] | None = None) -> None:
    """Scenes 1 to 9: one account's refreshes, the login budget and the login gate.

    The refresher's environment is ``stack.env()`` with a 1 s login budget, in this process
    (through ``configure``, default: ``os.environ``) and in the Lambda stand-in, which runs the
    function for secret changes.
    """
    # Deployed, the login budget is one consumer-caused login per 300 s; the demo's tokens
    # are seconds old, so here it is 1 s.
    short = {"REJECTED_TOKEN_MIN_AGE_SECONDS": "1"}
    (configure or configure_process)(**stack.env(**short))
    stack.lambda_.configure(**short)
    print(f"   AWS (moto): {stack.moto.url}   JOOR /auth/: {stack.joor.url}")
    print(f"   secret: {os.environ['CREDENTIALS_SECRET_ID']} (made-up credentials)")
    print("   REJECTED_TOKEN_MIN_AGE_SECONDS=1 for the demo (deployed: 300)")
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
    invoke("3. An operator forces a refresh: refreshes", forced, operator=True)
    print(f"   AWS calls: {stack.moto.recorded_calls()}; JOOR calls so far: {stack.joor.calls}")
    show_parameter(stack)

    invoke("4. A consumer forces a refresh at once: held to the login budget", forced)

    good = stack.credentials_json()
    wrong = json.dumps({**json.loads(good), "password": "not-the-password"})
    save_secret(stack, "5. A wrong password is saved in the secret: tried once", wrong)
    time.sleep(1.1)  # past the demo's budget: only the rejection holds the logins back
    version = _stored_version(stack)
    report = {"force": True, "seen_version": version, "parameter": PARAMETER_NAME}
    invoke("6. A consumer reports a rejected token: refused, JOOR not called", report)
    invoke("7. An operator forces a refresh: refused too", forced, operator=True)
    invoke("8. The schedule: the stored token is still good, kept", scheduled)
    refused = stack.joor.state.requests - stack.joor.logins
    print(f"   JOOR refused {refused} login(s) in all")
    save_secret(stack, "9. The password is fixed: used at once", good)
    show_parameter(stack)


def _stored_version(stack: LocalStack) -> int:
    with stack.moto.unrecorded():
        parameter = stack.client("ssm").get_parameter(Name=PARAMETER_NAME)["Parameter"]
    return int(parameter["Version"])


def main() -> None:
    print("Starting moto server, the local JOOR server and the Lambda stand-in (loopback only)...")
    with LocalStack() as stack:
        stack.put_secret()
        account_scenes(stack)

        workload_after_revocation(stack)
        show_parameter(stack)

        consumer_after_revocation(stack)
        stampede_after_revocation(stack)

        fleet_scenes(stack)
    print("\nDone: moto server, the JOOR server and the Lambda stand-in are stopped.")


if __name__ == "__main__":
    main()
