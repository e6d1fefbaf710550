"""`python -m refresher status` (refresher/status.py) against moto's server: each token's state,
life and version as the report gives them, the guarantee and its exit status, a fleet's
claimed, missing, unclaimed and refused tokens, the AWS calls it makes (metadata only, paged),
and what an AWS error or a missing setting becomes. tests/deploy/test_status.py runs the same
command end to end against a moto server process."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from infra.local.aws_fault_proxy import AwsFault
from infra.local.http_stand_in import free_port
from refresher import status
from refresher.adapters import login_record
from refresher.adapters.ssm_token_store import DESCRIPTION_FORMAT, format_expiry
from refresher.adapters.tagged_secrets import ENVIRONMENT_TAG, PARAMETER_TAG
from refresher.aws_region import HOW_TO_SET
from refresher.config import Settings
from refresher.domain.errors import AccountDiscoveryError, TokenStoreReadError
from refresher.domain.models import LoginRecord
from tests.adapters.conftest import REGION, Aws
from tests.leakwatch import WATCH

pytestmark = pytest.mark.integration

PARAMETER = "/joor/sandbox/access-token"
SECRET = "joor/sandbox/api-credentials"
FLEET = "/joor/fleet"
# A moment far from the wall clock: a report that read the clock instead would differ.
NOW = datetime(2031, 3, 14, 9, 0, 0, tzinfo=UTC)
# The defaults: a 3 h window and a 15 min interval promise 2 h 45 min.
WINDOW = timedelta(hours=3)
GUARANTEE = timedelta(hours=2, minutes=45)
METADATA_ONLY = {
    "AmazonSSM.DescribeParameters",
    "secretsmanager.DescribeSecret",
    "secretsmanager.ListSecrets",
}
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass
class MotoSession:
    """What status.collect takes of a boto3 session: fresh clients bound to the fixture's moto
    (through the fault proxy), or for a service in ``endpoints``, to that URL."""

    aws: Aws
    endpoints: dict[str, str] = field(default_factory=dict)
    config: Config = ONE_ATTEMPT

    def client(self, service: str) -> Any:
        url = self.endpoints.get(service, self.aws.proxy.url)
        return self.aws.session.client(  # type: ignore[call-overload]
            service, endpoint_url=url, config=self.config
        )


def named_settings(**env: str) -> Settings:
    return Settings.from_env(
        {"CREDENTIALS_SECRET_ID": SECRET, "TOKEN_PARAMETER_NAME": PARAMETER, **env}
    )


def fleet_settings(**env: str) -> Settings:
    return Settings.from_env({"TOKEN_PARAMETER_PATH": FLEET, **env})


def collect(
    aws: Aws, settings: Settings, now: datetime | None = NOW, session: MotoSession | None = None
) -> status.Report:
    return status.collect(settings, session or MotoSession(aws), now)  # type: ignore[arg-type]


def put_token(
    aws: Aws,
    name: str,
    left: timedelta,
    *,
    description: str | None = None,
    since: datetime = NOW,
) -> None:
    """A token with ``left`` to live from ``since`` (the tests' fixed moment, or the clock's)."""
    token = secrets.token_urlsafe(32)
    WATCH.add_secrets(token)
    aws.client("ssm", direct=True).put_parameter(
        Name=name,
        Value=token,
        Type="SecureString",
        Overwrite=True,
        Description=description
        or DESCRIPTION_FORMAT.format(expires_at=format_expiry(since + left)),
    )


def create_secret(aws: Aws, name: str, **tags: str) -> str:
    value = secrets.token_urlsafe(24)
    WATCH.add_secrets(value)
    client = aws.client("secretsmanager", direct=True)
    arn: str = client.create_secret(
        Name=name,
        SecretString=json.dumps({"client_secret": value}),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )["ARN"]
    return arn


def claim(aws: Aws, name: str, parameter: str, **tags: str) -> str:
    return create_secret(aws, name, **{PARAMETER_TAG: parameter}, **tags)


def reject_current_version(aws: Aws, secret: str) -> None:
    client = aws.client("secretsmanager", direct=True)
    stages = client.describe_secret(SecretId=secret)["VersionIdsToStages"]
    current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
    value = login_record.encode(LoginRecord("rejected", NOW, current))
    client.tag_resource(SecretId=secret, Tags=[{"Key": login_record.TAG, "Value": value}])


def written_at(aws: Aws, name: str) -> str:
    """When moto says the parameter was written, as the report's JSON gives a time."""
    (found,) = aws.client("ssm", direct=True).describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
    )["Parameters"]
    moment: datetime = found["LastModifiedDate"]
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def states(report: status.Report) -> dict[str, tuple[str, bool]]:
    return {t.parameter: (t.state, t.below_guarantee) for t in report.tokens}


# --- one named account ---------------------------------------------------------------------


def test_a_named_account_s_report_gives_every_field_of_its_token(aws: Aws) -> None:
    create_secret(aws, SECRET)
    put_token(aws, PARAMETER, timedelta(hours=9, minutes=30))
    put_token(aws, PARAMETER, timedelta(hours=9, minutes=29, seconds=59))  # version 2

    # Half a second after NOW: the life left is shown in whole seconds.
    report = collect(aws, named_settings(), now=NOW + timedelta(milliseconds=500))

    assert report.as_json() == {
        "scope": PARAMETER,
        "guarantee_seconds": int(GUARANTEE.total_seconds()),
        "refresh_window_seconds": int(WINDOW.total_seconds()),
        "tokens": [
            {
                "parameter": PARAMETER,
                "secret": SECRET,
                "state": "fresh",
                "version": 2,
                "expires_at": "2031-03-14T18:29:59Z",
                "written_at": written_at(aws, PARAMETER),
                "seconds_left": 9 * 3600 + 29 * 60 + 58,
                "below_guarantee": False,
            }
        ],
        "below_guarantee": [],
        "refused_secrets": [],
        "aws_calls": {"DescribeParameters": 1, "DescribeSecret": 1},
    }


@pytest.mark.parametrize(
    ("left", "state", "below"),
    [
        (WINDOW, "fresh", False),
        (WINDOW - timedelta(seconds=1), "due", False),
        (GUARANTEE, "due", False),
        (GUARANTEE - timedelta(seconds=1), "due", True),
        (timedelta(minutes=-5), "due", True),
    ],
    ids=["the-window-left", "just-under-the-window", "the-guarantee-left", "just-under", "expired"],
)
def test_a_token_is_fresh_with_the_window_left_and_below_the_guarantee_with_less_than_it(
    aws: Aws, left: timedelta, state: str, below: bool
) -> None:
    create_secret(aws, SECRET)
    put_token(aws, PARAMETER, left)

    report = collect(aws, named_settings())

    (token,) = report.tokens
    assert (token.state, token.below_guarantee) == (state, below)
    assert token.seconds_left == int(left.total_seconds())
    assert report.below_guarantee == ([token] if below else [])


def test_the_guarantee_is_the_window_minus_the_schedule_interval(aws: Aws) -> None:
    create_secret(aws, SECRET)
    put_token(aws, PARAMETER, timedelta(minutes=90))

    report = collect(
        aws, named_settings(REFRESH_WINDOW_SECONDS="7200", SCHEDULE_INTERVAL_SECONDS="3600")
    )

    assert (report.guarantee, report.window) == (timedelta(hours=1), timedelta(hours=2))
    assert states(report) == {PARAMETER: ("due", False)}  # 1 h 30 min: more than 1 h


def test_a_missing_token_has_no_version_no_life_and_is_below_the_guarantee(aws: Aws) -> None:
    create_secret(aws, SECRET)

    (token,) = collect(aws, named_settings()).tokens

    assert token == status.TokenStatus(PARAMETER, SECRET, "missing", below_guarantee=True)


@pytest.mark.parametrize(
    ("left", "below"),
    [(timedelta(hours=9), False), (None, True)],
    ids=["with-a-fresh-token", "without-a-token"],
)
def test_credentials_joor_rejected_are_named_whatever_the_token(
    aws: Aws, left: timedelta | None, below: bool
) -> None:
    arn = create_secret(aws, SECRET)
    reject_current_version(aws, arn)
    if left is not None:
        put_token(aws, PARAMETER, left)

    report = collect(aws, named_settings(CREDENTIALS_SECRET_ID=arn))

    assert states(report) == {PARAMETER: ("credentials rejected", below)}
    assert report.tokens[0].secret == arn


def test_a_rejection_of_an_older_version_does_not_count(aws: Aws) -> None:
    arn = create_secret(aws, SECRET)
    reject_current_version(aws, arn)
    aws.client("secretsmanager", direct=True).put_secret_value(SecretId=arn, SecretString="{}")
    put_token(aws, PARAMETER, timedelta(hours=9))

    assert states(collect(aws, named_settings())) == {PARAMETER: ("fresh", False)}


def test_without_a_moment_given_it_reads_the_clock(aws: Aws) -> None:
    create_secret(aws, SECRET)
    put_token(aws, PARAMETER, timedelta(hours=1), since=datetime.now(UTC))

    (token,) = collect(aws, named_settings(), now=None).tokens

    assert token.state == "due"
    assert token.seconds_left is not None
    assert 3500 < token.seconds_left <= 3600


# --- a fleet -------------------------------------------------------------------------------


def test_a_fleet_lists_each_claimed_missing_rejected_and_unclaimed_token_and_each_refusal(
    aws: Aws,
) -> None:
    # The named account first (its secret is not tagged: DescribeSecret tells its state), then
    # the tagged ones oldest first, then tokens no secret claims, by name.
    named = create_secret(aws, "joor/fleet/named")
    reject_current_version(aws, named)
    fresh = claim(aws, "joor/fleet/brand-a", f"{FLEET}/brand-a/token")
    missing = claim(
        aws, "joor/fleet/brand-b", f"{FLEET}/brand-b/token", **{ENVIRONMENT_TAG: "production"}
    )
    rejected = claim(aws, "joor/fleet/brand-c", f"{FLEET}/brand-c/token")
    reject_current_version(aws, rejected)
    claim(aws, "joor/fleet/broken", "not a parameter name")
    claim(aws, "joor/other/brand-d", "/joor/other/brand-d/token")  # another stack's: not listed
    claim(aws, "joor/fleet/nowhere", f"{FLEET}/nowhere/token", **{ENVIRONMENT_TAG: "staging"})
    put_token(aws, f"{FLEET}/brand-a/token", timedelta(hours=8))
    put_token(aws, f"{FLEET}/brand-c/token", timedelta(hours=8))
    put_token(aws, f"{FLEET}/named/token", timedelta(hours=8))
    put_token(aws, f"{FLEET}/gone/token", timedelta(hours=1))
    put_token(aws, f"{FLEET}/also-gone/token", timedelta(hours=9))
    put_token(aws, f"{FLEET}/not-ours", timedelta(hours=1), description="set by hand")

    report = collect(
        aws,
        fleet_settings(CREDENTIALS_SECRET_ID=named, TOKEN_PARAMETER_NAME=f"{FLEET}/named/token"),
    )

    assert report.scope == "/joor/fleet/ (a fleet)"
    assert [(t.parameter, t.secret, t.state, t.below_guarantee) for t in report.tokens] == [
        (f"{FLEET}/named/token", named, "credentials rejected", False),
        (f"{FLEET}/brand-a/token", fresh, "fresh", False),
        (f"{FLEET}/brand-b/token", missing, "missing", True),
        (f"{FLEET}/brand-c/token", rejected, "credentials rejected", False),
        (f"{FLEET}/also-gone/token", None, "unclaimed", False),
        (f"{FLEET}/gone/token", None, "unclaimed", False),  # 1 h left, but no one's to keep
    ]
    gone = report.tokens[-1]
    assert (gone.version, gone.seconds_left) == (1, 3600)
    # "<secret>: <why>", the why as the directory says it (tests/adapters/test_secrets.py).
    broken, nowhere = report.refused
    assert broken.startswith(f"joor/fleet/broken: its tag {PARAMETER_TAG} must be ")
    assert broken.endswith(", got 'not a parameter name'")
    assert nowhere == (
        f"joor/fleet/nowhere: its tag {ENVIRONMENT_TAG} must be 'sandbox' or 'production', got "
        "'staging'"
    )
    # Sorted by operation; DescribeSecret for the named account only.
    assert list(report.calls.items()) == [
        ("DescribeParameters", 1),
        ("DescribeSecret", 1),
        ("ListSecrets", 1),
    ]


def test_a_fleet_without_a_named_account_describes_no_secret(aws: Aws) -> None:
    claim(aws, "joor/fleet/brand-a", f"{FLEET}/brand-a/token")
    put_token(aws, f"{FLEET}/brand-a/token", timedelta(hours=8))

    report = collect(aws, fleet_settings(JOOR_ENVIRONMENT="production"))

    assert states(report) == {f"{FLEET}/brand-a/token": ("fresh", False)}
    assert report.refused == ()
    assert report.calls == {"DescribeParameters": 1, "ListSecrets": 1}


def test_an_untagged_environment_is_the_settings_one(aws: Aws) -> None:
    claim(aws, "joor/fleet/brand-a", f"{FLEET}/brand-a/token")

    report = collect(aws, fleet_settings(JOOR_ENVIRONMENT="production"))

    assert states(report) == {f"{FLEET}/brand-a/token": ("missing", True)}
    assert report.refused == ()


def test_it_follows_every_page_and_counts_each_call(aws: Aws) -> None:
    for n in range(101):
        claim(aws, f"joor/fleet/brand-{n:03d}", f"{FLEET}/brand-{n:03d}/token")
    for n in range(51):
        put_token(aws, f"{FLEET}/brand-{n:03d}/token", timedelta(hours=8))
    aws.proxy.reset()

    report = collect(aws, fleet_settings())

    assert [t.state for t in report.tokens] == ["fresh"] * 51 + ["missing"] * 50
    # ListSecrets asks 100 to a page. DescribeParameters asks 50 (the request is pinned in
    # test_ssm_token_store.py), but moto answers 10 to a page whatever it asks
    # (moto/ssm/responses.py, describe_parameters: page_size = 10).
    assert report.calls == {"DescribeParameters": 6, "ListSecrets": 2}
    assert dict(aws.proxy.seen) == {
        "AmazonSSM.DescribeParameters": 6,
        "secretsmanager.ListSecrets": 2,
    }
    assert (
        "101 token(s) kept, 50 below the guarantee; 8 AWS call(s) (6 DescribeParameters, 2 "
        "ListSecrets)"
    ) in status.render(report)


def test_it_reads_metadata_only_and_counts_each_call_it_sends(aws: Aws) -> None:
    arn = create_secret(aws, SECRET)
    put_token(aws, PARAMETER, timedelta(hours=9))
    aws.proxy.reset()

    report = collect(aws, named_settings(CREDENTIALS_SECRET_ID=arn))

    assert set(aws.proxy.seen) <= METADATA_ONLY
    assert {op.split(".")[1]: n for op, n in aws.proxy.seen.items()} == report.calls


def test_a_call_retried_counts_once(aws: Aws) -> None:
    create_secret(aws, SECRET)
    aws.proxy.inject(AwsFault("AmazonSSM.DescribeParameters", "ThrottlingException", "slow"))
    retrying = Config(retries={"mode": "standard", "total_max_attempts": 3})

    report = collect(aws, named_settings(), session=MotoSession(aws, config=retrying))

    assert aws.proxy.seen["AmazonSSM.DescribeParameters"] == 2
    assert report.calls == {"DescribeParameters": 1, "DescribeSecret": 1}


# --- what goes wrong -----------------------------------------------------------------------


def test_a_secret_it_cannot_describe_is_named_with_aws_s_reason(aws: Aws) -> None:
    create_secret(aws, SECRET)
    aws.proxy.inject(AwsFault("secretsmanager.DescribeSecret", "AccessDeniedException", "no"))

    with pytest.raises(status.StatusError) as caught:
        collect(aws, named_settings())

    assert (
        str(caught.value) == f"Could not describe the secret {SECRET!r}: AccessDeniedException: no"
    )


def test_a_secret_it_cannot_reach_is_named_with_the_reason(aws: Aws) -> None:
    dead = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(status.StatusError) as caught:
        collect(aws, named_settings(), session=MotoSession(aws, {"secretsmanager": dead}))

    assert str(caught.value).startswith(f"Could not describe the secret {SECRET!r}: ")
    assert dead in str(caught.value)


def test_a_token_store_it_cannot_read_is_the_store_s_error(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("AmazonSSM.DescribeParameters", "AccessDeniedException", "no"))

    with pytest.raises(TokenStoreReadError, match=f"{PARAMETER!r}: AccessDeniedException: no"):
        collect(aws, named_settings())


def test_a_listing_it_cannot_make_is_the_directory_s_error(aws: Aws) -> None:
    aws.proxy.inject(AwsFault("secretsmanager.ListSecrets", "AccessDeniedException", "no"))

    with pytest.raises(AccountDiscoveryError, match="AccessDeniedException: no"):
        collect(aws, fleet_settings())


def test_settings_with_neither_an_account_nor_a_path_say_what_to_set(aws: Aws) -> None:
    settings = replace(named_settings(), credentials_secret_id=None, token_parameter_name=None)

    with pytest.raises(status.StatusError) as caught:
        collect(aws, settings)

    assert str(caught.value) == "CREDENTIALS_SECRET_ID and TOKEN_PARAMETER_NAME are not set"


# --- python -m refresher status ------------------------------------------------------------


@pytest.fixture
def environment(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """The command's environment: moto through the proxy, the Region only as AWS_REGION (as a
    workstation may have it), no profile, a named account."""
    for name in ("AWS_DEFAULT_REGION", "AWS_PROFILE", "TOKEN_PARAMETER_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.proxy.url)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CREDENTIALS_SECRET_ID", SECRET)
    monkeypatch.setenv("TOKEN_PARAMETER_NAME", PARAMETER)
    return monkeypatch


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = status.main(list(args))
    out, err = capsys.readouterr()
    WATCH.record("status output", out + err)
    return code, out, err


def test_the_command_prints_the_table_and_exits_0_when_every_token_has_the_guarantee(
    aws: Aws, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_secret(aws, SECRET)
    put_token(aws, PARAMETER, timedelta(hours=9), since=datetime.now(UTC))

    code, out, err = run(capsys)

    assert (code, err) == (0, "")
    assert out.startswith(f"JOOR tokens of {PARAMETER}: guarantee 2 h 45 min")
    assert " fresh " in out
    assert out.endswith("no value read, nothing decrypted\n")


def test_the_command_prints_json_and_exits_1_below_the_guarantee(
    aws: Aws, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_secret(aws, SECRET)

    code, out, err = run(capsys, "--json")

    assert (code, err) == (1, "")
    assert out.startswith('{\n  "scope": ')  # indented by two, for a person reading it too
    report = json.loads(out)
    assert report["below_guarantee"] == [PARAMETER]
    assert report["tokens"][0]["state"] == "missing"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("AWS_REGION", None, f"error (no_region): no AWS Region: {HOW_TO_SET}\n"),
        (
            "TOKEN_PARAMETER_NAME",
            None,
            "error: Invalid configuration: TOKEN_PARAMETER_NAME is not set\n",
        ),
        ("AWS_PROFILE", "nowhere", "error: The config profile (nowhere) could not be found\n"),
    ],
)
def test_a_setting_it_cannot_use_exits_2_saying_which(
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str | None,
    says: str,
) -> None:
    if value is None:
        environment.delenv(variable)
    else:
        environment.setenv(variable, value)

    code, out, err = run(capsys)

    assert (code, out, err) == (2, "", says)


def test_a_secret_it_cannot_describe_exits_2_naming_it(
    aws: Aws, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys)  # no such secret

    assert (code, out) == (2, "")
    assert err.startswith(
        f"error: Could not describe the secret {SECRET!r}: ResourceNotFoundException"
    )


def test_the_help_says_what_it_reads_and_when_it_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        status.main(["--help"])

    text = " ".join(capsys.readouterr().out.split())
    assert stopped.value.code == 0
    assert text.startswith("usage: python -m refresher status [-h] [--json] ")
    assert (
        "Every token the refresher keeps: life left, written when, state. Metadata only (one "
        "DescribeParameters call per 50 tokens, plus DescribeSecret, or in a fleet ListSecrets "
        "per 100 secrets). Exit status 1 when a token has less life than the guarantee."
    ) in text
    assert "--json one JSON object, for scripts" in text
