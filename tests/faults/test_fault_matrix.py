"""Every fault at every step, over real HTTP; the same four checks each time:

1. the invocation's outcome (refreshed, or the right error and metric reason);
2. the stored token: byte for byte unchanged, unless a good token replaced it;
3. one clear log message, naming the cause;
4. no secret, token or credential (nor a 12-character piece of one) in any output.
"""

from __future__ import annotations

import difflib
import time

import boto3
import pytest

from infra.docs_section import read_section, write_section
from refresher.config import Settings
from refresher.domain.retry import RetryPolicy
from tests.faults.cases import CASES, FAST, Case, FaultContext
from tests.faults.peers import CountingServer
from tests.faults.table import DOC, SECTION, Row, normalize, render
from tests.integration.conftest import Harness, Snapshot
from tests.leakwatch import WATCH, LeakWatch

pytestmark = pytest.mark.integration

# What each case observed, in CASES order, for the generated table.
OBSERVED: dict[str, Row] = {}


_SESSION: list[boto3.Session] = []


def _install(policy: RetryPolicy | None = None) -> None:
    """Build the handler's refresher as composition does, with ``policy`` and one shared boto3
    session (a new session re-reads the service models: 0.15 s a client, 90 cases)."""
    import app
    from refresher.composition import build_refresher

    if not _SESSION:
        _SESSION.append(boto3.Session())
    app._refresher = build_refresher(Settings.from_env(), session=_SESSION[0], retry=policy)


def _stale_token(harness: Harness) -> Snapshot:
    """A valid token from JOOR, stored earlier, with 2 h left: inside the default 3 h window."""
    _install()
    return harness.store_earlier_token(7200)


def _secrets(ctx: FaultContext, before: Snapshot) -> list[str]:
    account = ctx.harness.stack.account
    # The client id and user name are not what JOOR checks, but they stay out of output too.
    WATCH.add_secrets(account.client_id, account.username)
    values = [account.client_id, account.username, *ctx.harness.stack.fixture_secrets()]
    values += ctx.made
    if before.value is not None:
        values.append(before.value.decode())
    return values


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(case: Case, harness: Harness, redirect_target: CountingServer) -> None:
    # GIVEN a valid stored token the next run will try to replace, and the fault
    stale = _stale_token(harness)
    harness.start_counting()
    hits_before = redirect_target.hits
    ctx = FaultContext(harness, redirect_target)
    try:
        case.inject(ctx)
        if case.fast_retries:
            _install(FAST)
        before = harness.snapshot()
        assert before == stale

        # WHEN the scheduled run happens
        started = time.monotonic()
        ctx.harness_timeout = case.timeout_seconds
        run = harness.invoke({}, timeout_seconds=case.timeout_seconds)
        ctx.elapsed = time.monotonic() - started
    finally:
        ctx.close()
    redirect_target.hits -= hits_before
    after = harness.snapshot()

    # THEN 1. the outcome
    if case.skip is not None:
        assert run.error is None, f"expected a skip, got {run.error!r}"
        assert run.result is not None
        assert (run.result["result"], run.result["reason"]) == ("skipped", case.skip)
        outcome = f"skipped: {case.skip}"
    elif case.error is None:
        assert run.error is None, f"expected a refresh, got {run.error!r}"
        assert run.result is not None
        assert run.result["result"] == "refreshed"
        outcome = "refreshed"
    else:
        assert isinstance(run.error, case.error), (
            f"expected {case.error.__name__}, got {run.error!r}"
        )
        assert type(run.error) is case.error
        assert run.failure_reasons() == [case.error.reason]
        outcome = f"failed: {case.error.reason}"

    # 2. the stored token
    if case.recovers:
        assert after.version == (before.version or 0) + 1
        assert after.value is not None
        assert after.value != before.value
        assert harness.stack.joor.state.is_valid(after.value.decode()), "JOOR must accept it"
        kept = f"replaced (v{before.version} → v{after.version})"
    else:
        assert after == before, "a failed run must leave the stored token exactly as it was"
        kept = f"kept (v{before.version})"

    # 3. one clear log message (and the one warning the row expects, if any)
    warnings = [w for w in run.log_lines if w["level"] == "WARNING"]
    (line,) = [entry for entry in run.log_lines if entry["level"] != "WARNING"]
    assert [case.warning in str(w["message"]) for w in warnings] == ([True] if case.warning else [])
    message = str(line["message"])
    if case.error is None:
        assert line["level"] == "INFO"
        assert message == ("Token refreshed" if case.skip is None else message)
    else:
        assert line["level"] == "ERROR"
        assert message == str(run.error)
        assert line["reason"] == case.error.reason
    assert case.phrase in message, f"{case.phrase!r} not in {message!r}"

    # 4. no secret in any output
    watch = LeakWatch()
    watch.add_secrets(*_secrets(ctx, before))
    watch.record("output", run.output)
    watch.record("result", repr(run.result))
    watch.record("error", repr(run.error))
    assert watch.leaks() == []

    if case.joor_calls is not None:
        assert harness.joor_calls == case.joor_calls
    # Each AWS fault answered exactly the attempts it was sized for (the SDK makes three at a
    # throttled or 5xx call, one at any other error), and one more attempt succeeded if the
    # run recovered.
    assert harness.stack.proxy is not None
    for fault in ctx.aws_faults:
        # A fault the run tolerates with a warning is not retried away.
        expected = fault.times + (1 if case.recovers and case.warning is None else 0)
        assert harness.stack.proxy.seen[fault.operation] == expected, fault
    if case.check is not None:
        case.check(ctx, run)

    OBSERVED[case.id] = Row(
        fault=case.fault,
        step=case.step,
        outcome=outcome,
        token=kept,
        joor_requests="-" if case.joor_calls is None else str(harness.joor_calls),
        message=normalize(message),
    )


def test_the_committed_fault_table_is_the_one_the_cases_produce(
    request: pytest.FixtureRequest,
) -> None:
    """docs/fault-matrix.md's table cannot drift from the code: it must equal this run's table."""
    missing = [c.id for c in CASES if c.id not in OBSERVED]
    if missing:
        pytest.skip(f"{len(missing)} case(s) did not run or failed, e.g. {missing[0]}")
    generated = render([OBSERVED[c.id] for c in CASES])
    if request.config.getoption("write_fault_table"):
        write_section(DOC, SECTION, generated)
        return
    committed = read_section(DOC, SECTION)
    if committed != generated:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                "docs/fault-matrix.md (committed)",
                "generated by this run",
            )
        )
        pytest.fail(f"docs/fault-matrix.md's table is out of date; run `make fault-table`.\n{diff}")
