"""``make demo``'s fleet scenes: one deployment keeps a token for every tagged JOOR account.

Three secrets tagged ``joor-token-parameter`` (one holding a wrong password) and one
scheduled run: two tokens written, the third account named in the failure, the other two
unaffected; the next run does not try the rejected password again. Its fixed secret is used
at once (Secrets Manager's change event). Then a fourth account joins by tagging its secret,
with no redeploy, and an account whose tag is removed is no longer refreshed: its parameter
stays, listed as unclaimed. Tokens are shown masked; nothing here prints a credential.

Run alone: ``python -m infra.local.demo_fleet``.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions" / "token_refresher"))

from infra.local.demo_tools import (  # noqa: E402
    configure_process,
    log_entries,
    masked,
    run_handler,
)
from infra.local.fleet_accounts import FleetAccount, add_account, correct_password  # noqa: E402
from infra.local.stack import LocalStack  # noqa: E402
from refresher.adapters.tagged_secrets import PARAMETER_TAG  # noqa: E402

PATH = "/joor/fleet"
FLEET_ENV = {"TOKEN_PARAMETER_PATH": PATH, "CREDENTIALS_SECRET_ID": "", "TOKEN_PARAMETER_NAME": ""}
# The summary's counts, in the order the run line shows them.
COUNTS = ("accounts", "refreshed", "skipped", "failed", "left_for_next_run")

Configure = Callable[..., None]


def parameter(brand: str) -> str:
    return f"{PATH}/{brand}/access-token"


def fleet_view(output: str) -> list[str]:
    """The run's JSON log lines condensed: one per account, the refusals and the run line."""
    lines = []
    for entry in log_entries(output):
        if isinstance(entry, str):
            lines.append(entry)
            continue
        if "_aws" in entry:
            continue  # the metrics: aggregate counts, shown by the run line below
        level, message = entry.get("level"), entry.get("message")
        name = entry.get("parameter")
        if message == "Fleet run":
            counts = ", ".join(f"{k} {entry.get(k)}" for k in COUNTS)
            lines.append(f"{level:<7} run: {counts}; unclaimed {entry.get('unclaimed')}")
        elif name and entry.get("result") == "failed":
            lines.append(f"{level:<7} {name}: failed ({entry.get('reason')}): {message}")
        elif name:
            version = entry.get("version")
            reason = entry.get("reason")
            lines.append(f"{level:<7} {name}: {message} ({reason}), version {version}")
        else:
            lines.append(f"{level:<7} {message}")
    return lines


def invoke(stack: LocalStack, title: str, event: dict[str, Any]) -> None:
    print(f"\n== {title}")
    print(f"   event: {json.dumps(event)}")
    stack.moto.reset_recording()
    joor_before = stack.joor.calls
    result, error, output = run_handler(event)
    if error is None:
        returned = ", ".join(f"{k} {result[k]}" for k in (*COUNTS, "unclaimed"))
    else:
        # A RefreshError's message is safe to show: it never holds a secret. Its detail is in
        # the log lines above.
        returned = f"invocation failed, {type(error).__name__}: {str(error)[:100]}..."
    for line in fleet_view(output):
        print(f"   log {line}")
    print(f"   returned: {returned}")
    calls = Counter(op.split(".")[-1] for op in stack.moto.recorded_calls())
    print(
        f"   AWS calls: {', '.join(f'{n} {op}' for op, n in sorted(calls.items()))}; "
        f"JOOR logins tried: {stack.joor.calls - joor_before}"
    )


def show_parameters(stack: LocalStack, brands: list[str]) -> None:
    ssm = stack.client("ssm")
    with stack.moto.unrecorded():
        for brand in brands:
            name = parameter(brand)
            try:
                found = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
            except ssm.exceptions.ParameterNotFound:
                print(f"   {name}: no parameter (never written)")
                continue
            token = found["Value"]
            print(
                f"   {name}: version {found['Version']}, token {masked(token)}, "
                f"JOOR accepts it: {stack.joor.state.is_valid(token)}"
            )


def fleet_scenes(stack: LocalStack, configure: Configure = configure_process) -> list[FleetAccount]:
    """Scenes 13 to 17 of ``make demo``; returns the accounts made (their secrets, for tests).

    ``configure`` sets this process's refresher environment; the Lambda stand-in, which runs
    the function for a secret change, gets the same."""
    configure(**FLEET_ENV)
    stack.lambda_.configure(**FLEET_ENV)
    print(f"\n-- A fleet: TOKEN_PARAMETER_PATH={PATH}, no CREDENTIALS_SECRET_ID")
    accounts = {
        brand: add_account(
            stack, f"joor/fleet/{brand}", parameter(brand), wrong_password=brand == "brand-c"
        )
        for brand in ("brand-a", "brand-b", "brand-c")
    }
    for brand, made in accounts.items():
        wrong = " (holds a wrong password)" if brand == "brand-c" else ""
        print(f"   secret {made.secret_name}: tag {PARAMETER_TAG}={made.parameter}{wrong}")

    invoke(stack, "13. One scheduled run over three accounts, one with a wrong password", {})
    show_parameters(stack, list(accounts))
    invoke(stack, "14. The next scheduled run: the rejected password is not tried again", {})

    print("\n== 15. brand-c's secret gets the right password (put-secret-value): used at once")
    stack.lambda_.reset()
    joor_before = stack.joor.calls
    events = len(stack.lambda_.rule_events)
    correct_password(stack, accounts["brand-c"])
    stack.lambda_.wait_for_rule_events(events + 1)
    for record in stack.lambda_.records:
        print(f"   event {record.event.get('detail-type')!r} for {record.event.get('resources')}")
        for line in fleet_view("\n".join(x for x in record.log.splitlines() if x[:1] == "{")):
            print(f"   log {line}")
    print(f"   JOOR logins tried: {stack.joor.calls - joor_before}")
    show_parameters(stack, ["brand-c"])

    accounts["brand-d"] = add_account(stack, "joor/fleet/brand-d", None)
    with stack.moto.unrecorded():
        stack.client("secretsmanager").tag_resource(
            SecretId=accounts["brand-d"].secret_arn,
            Tags=[{"Key": PARAMETER_TAG, "Value": parameter("brand-d")}],
        )
    print(f"\n-- The existing secret joor/fleet/brand-d is tagged {PARAMETER_TAG}=")
    print(f"   {parameter('brand-d')} (tag-resource)")
    invoke(stack, "16. The next scheduled run: no redeploy, the fourth account is served", {})
    show_parameters(stack, list(accounts))

    with stack.moto.unrecorded():
        stack.client("secretsmanager").untag_resource(
            SecretId=accounts["brand-a"].secret_arn, TagKeys=[PARAMETER_TAG]
        )
    print(f"\n-- The tag {PARAMETER_TAG} is removed from joor/fleet/brand-a (untag-resource)")
    invoke(stack, "17. The next scheduled run: brand-a is no longer refreshed", {})
    show_parameters(stack, ["brand-a"])
    print("   (the parameter stays until you delete it; each run lists it as unclaimed)")
    return list(accounts.values())


def main() -> None:
    print("Starting moto server and the local JOOR server (loopback only)...")
    with LocalStack() as stack:
        os.environ.update(stack.env())
        fleet_scenes(stack)
    print("\nDone: moto server and the JOOR server are stopped.")


if __name__ == "__main__":
    main()
