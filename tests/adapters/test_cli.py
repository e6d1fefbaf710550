"""``python -m refresher`` run in this process (refresher.cli.main) against moto's server and the
JOOR stand-in: its help, its arguments, what it prints and its exit status.

tests/integration/test_workstation_cli.py runs the same command as a subprocess; these call
main() so that each behaviour is pinned where the mutation run sees it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from infra.local.joor_auth_server import JoorAuthServer, keycloak_error
from refresher.cli import main
from refresher.config import VARIABLES
from refresher.domain.models import Credentials
from tests.adapters.conftest import Aws
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

SECRET = "joor/cli/api-credentials"
PARAMETER = "/joor/cli/access-token"


@pytest.fixture
def cli_env(
    aws_env: Aws,
    joor: JoorAuthServer,
    credentials: Credentials,
    monkeypatch: pytest.MonkeyPatch,
) -> Aws:
    """An operator's shell set up for one account whose secret holds the JOOR credentials."""
    monkeypatch.setenv("CREDENTIALS_SECRET_ID", SECRET)
    monkeypatch.setenv("TOKEN_PARAMETER_NAME", PARAMETER)
    monkeypatch.setenv("JOOR_AUTH_URL", joor.url)
    aws_env.client("secretsmanager", direct=True).create_secret(
        Name=SECRET,
        SecretString=json.dumps(
            {
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "username": credentials.username,
                "password": credentials.password,
            }
        ),
    )
    return aws_env


@contextmanager
def fresh_root_logger() -> Iterator[None]:
    """The root logger as a fresh process has it (no handler, WARNING), restored afterwards:
    the handlers pytest adds for each test would make logging.basicConfig do nothing."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers = handlers
        root.setLevel(level)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    WATCH.record("cli stdout", out)
    WATCH.record("cli stderr", err)
    return status, out, err


def stored(aws: Aws) -> tuple[str, int]:
    parameter = aws.client("ssm", direct=True).get_parameter(Name=PARAMETER, WithDecryption=True)
    return parameter["Parameter"]["Value"], parameter["Parameter"]["Version"]


# --- help and arguments -------------------------------------------------------------------


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    out, err = capsys.readouterr()
    assert (stopped.value.code, err) == (0, "")
    return out


def test_the_help_says_what_the_command_does_and_what_each_option_means(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_text(capsys, "--help")

    assert text.startswith(
        "usage: python -m refresher [-h] [--force] [--retry-rejected]\n"
        "                           [--time-limit TIME_LIMIT]\n\n"
        "Refresh the JOOR token in SSM Parameter Store if it is close to expiry. "
        "`python -m refresher status` shows every token's life instead (metadata only).\n"
    )
    # Each option with its help; argparse wraps the help at the terminal's width.
    flat = " ".join(text.split())
    assert "--force refresh now, however long the token has left" in flat
    assert (
        "--retry-rejected log in once more with credentials JOOR rejected (after JOOR itself "
        "erred)" in flat
    )
    assert (
        "--time-limit TIME_LIMIT seconds allowed for the JOOR exchange, retries included "
        "(default: as long as it can take, 60)" in flat
    )


def test_the_help_ends_with_the_variables_one_to_a_line_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_text(capsys, "--help")

    epilog = "environment variables (the same as the Lambda function's):\n" + "".join(
        f"  {name:<31} {meaning}\n" for name, meaning in VARIABLES
    )
    assert text.endswith("\n\n" + epilog)


def test_without_arguments_given_it_reads_the_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m refresher", "--help"])

    with pytest.raises(SystemExit) as stopped:
        main()

    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m refresher [-h]")


def test_status_as_the_first_argument_runs_the_status_command_with_the_rest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m refresher"])

    text = help_text(capsys, "status", "--help")

    assert text.startswith("usage: python -m refresher status [-h] [--json]")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--time-limit", "soon"], "argument --time-limit: invalid float value: 'soon'"),
        (["--force=yes"], "argument --force: ignored explicit argument 'yes'"),
        (["--retry-rejected=yes"], "argument --retry-rejected: ignored explicit argument 'yes'"),
        (["--forced"], "unrecognized arguments: --forced"),
    ],
)
def test_a_bad_argument_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    out, err = capsys.readouterr()
    assert (stopped.value.code, out) == (2, "")
    assert err.splitlines()[-1] == f"python -m refresher: error: {complaint}"


# --- a run ---------------------------------------------------------------------------------


def test_a_run_prints_its_summary_as_indented_json_and_exits_0(
    cli_env: Aws, joor: JoorAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys)

    token, version = stored(cli_env)
    summary = json.loads(out)
    assert (status, err) == (0, "")
    assert out == json.dumps(summary, indent=2) + "\n"
    assert {k: summary[k] for k in ("result", "reason", "forced", "parameter", "version")} == {
        "result": "refreshed",
        "reason": "missing",
        "forced": False,
        "parameter": PARAMETER,
        "version": version,
    }
    assert joor.state.is_valid(token)
    assert token not in out


def test_a_second_run_finds_the_token_fresh_and_skips(
    cli_env: Aws, joor: JoorAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys)

    status, out, _ = run(capsys)

    assert (status, json.loads(out)["result"], json.loads(out)["reason"]) == (0, "skipped", "fresh")
    assert joor.logins == 1


def test_force_replaces_a_token_just_written_since_an_operator_runs_it(
    cli_env: Aws, joor: JoorAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-operator's force within the login budget would be refused as rate limited."""
    run(capsys)

    status, out, _ = run(capsys, "--force")

    summary = json.loads(out)
    assert (status, summary["result"], summary["reason"], summary["forced"]) == (
        0,
        "refreshed",
        "forced",
        True,
    )
    assert summary["version"] == stored(cli_env)[1] == 2
    assert joor.logins == 2


def test_retry_rejected_logs_in_once_more_with_credentials_joor_rejected(
    cli_env: Aws, joor: JoorAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    joor.queue(keycloak_error(401, "invalid_grant", "Invalid user credentials"))
    assert run(capsys)[0] == 1
    refused, _, said = run(capsys)
    assert refused == 1
    assert "error (credentials_rejected_earlier)" in said

    status, out, _ = run(capsys, "--retry-rejected")

    assert (status, json.loads(out)["reason"]) == (0, "retried")
    assert joor.state.is_valid(stored(cli_env)[0])


def test_the_time_limit_bounds_the_joor_exchange(
    cli_env: Aws, joor: JoorAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "--time-limit", "0.5")

    assert (status, out) == (1, "")
    assert err.startswith(
        "error (joor_unavailable): JOOR /auth/ unavailable: stopped after 0 attempt(s) with "
    )
    assert err.endswith(" s left in the invocation (last problem: no attempt made)\n")
    assert joor.calls == 0


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"CREDENTIALS_SECRET_ID": "joor/cli/missing"},
            "error (secret_unavailable): Could not describe secret 'joor/cli/missing': it does "
            "not exist (check CREDENTIALS_SECRET_ID and the region)",
        ),
        (
            {"REFRESH_WINDOW_SECONDS": "soon"},
            "error (configuration): Invalid configuration: REFRESH_WINDOW_SECONDS must be a "
            "whole number of seconds, got 'soon'",
        ),
        (
            {"AWS_REGION": None},
            "error (no_region): no AWS Region: export AWS_REGION (or AWS_DEFAULT_REGION), or "
            "set region in your AWS profile",
        ),
    ],
    ids=["failure", "configuration", "no-region"],
)
def test_a_run_that_fails_exits_1_with_its_reason_and_message_on_stderr_alone(
    cli_env: Aws,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str | None],
    said: str,
) -> None:
    for name, value in change.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)

    status, out, err = run(capsys, "--force")

    assert (status, out, err) == (1, "", said + "\n")


def test_the_runs_warnings_go_to_stderr_before_the_summary(
    cli_env: Aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFRESH_WINDOW_SECONDS", "86400")

    status, out, err = run(capsys)

    assert (status, json.loads(out)["result"]) == (0, "refreshed")
    assert err.startswith("warning: JOOR issued a token living ")
    assert err.endswith(
        "no longer than the refresh window (86400 s): every run will refresh. Lower "
        "REFRESH_WINDOW_SECONDS.\n"
    )


def test_log_lines_go_to_stderr_from_info_up_as_level_and_message(
    cli_env: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    with fresh_root_logger():
        run(capsys)

        logging.getLogger("refresher.anything").info("a line an operator reads")

        out, err = capsys.readouterr()
    assert (out, err) == ("", "INFO a line an operator reads\n")
