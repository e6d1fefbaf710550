"""The failures a run reports: what each says, and what redaction leaves of outside text."""

from __future__ import annotations

import time
import traceback
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from refresher.adapters.joor_auth import parse_token_response
from refresher.domain.errors import (
    CredentialsRejectedEarlierError,
    CredentialsRejectedError,
    OperatorOnlyError,
    UnexpectedError,
    redact,
)
from refresher.domain.models import LoginRecord
from tests.unit.fakes import START


def test_a_rejection_keeps_joors_status_error_and_description_and_names_the_secret() -> None:
    error = CredentialsRejectedError(401, "invalid_grant", "Invalid user credentials", "joor/s")

    assert (error.status, error.error, error.description, error.secret_id) == (
        401,
        "invalid_grant",
        "Invalid user credentials",
        "joor/s",
    )
    assert str(error) == (
        "JOOR rejected the credentials in secret 'joor/s' (HTTP 401, invalid_grant: Invalid "
        "user credentials). Not tried again, since repeated failed logins can lock the JOOR "
        "account: save corrected credentials in the secret (the new version is tried at once)."
    )


def test_a_rejection_without_detail_or_secret_says_so() -> None:
    error = CredentialsRejectedError(403, "", "")

    assert error.secret_id == ""
    assert str(error).startswith("JOOR rejected the credentials (HTTP 403, no error code). ")


def test_an_unexpected_error_names_the_innermost_line_of_the_refreshers_own_code() -> None:
    with pytest.raises(TypeError) as caught:
        parse_token_response(42, START)  # type: ignore[arg-type]
    ours = [
        f
        for f in traceback.extract_tb(caught.value.__traceback__)
        if f.filename.endswith("joor_auth.py")
    ]

    wrapped = UnexpectedError.wrap(caught.value)

    # json.loads raised it, one frame further in: the message names our line, not json's.
    assert str(wrapped) == (
        f"Unexpected TypeError at joor_auth.py:{ours[-1].lineno}; the stored token is unchanged"
    )


def test_an_unexpected_error_from_outside_the_refresher_names_its_own_innermost_line() -> None:
    def fails() -> None:
        raise KeyError("a value")

    with pytest.raises(KeyError) as caught:
        fails()
    line = traceback.extract_tb(caught.value.__traceback__)[-1].lineno

    assert str(UnexpectedError.wrap(caught.value)) == (
        f"Unexpected KeyError at test_errors.py:{line}; the stored token is unchanged"
    )


def test_code_beside_the_function_folder_is_not_the_refreshers_own() -> None:
    # In Lambda the function's folder is /var/task; beside it, under /var, lie the runtime's
    # own packages (/var/lang, /var/runtime). An error raised in one of those, called from
    # our code, must name our line: only the function's folder is ours.
    from refresher.domain import errors

    function_folder = Path(errors.__file__).resolve().parents[2]
    beside = function_folder.parent / "lang" / "site-packages" / "library.py"
    scope: dict[str, object] = {}
    exec(compile("def call():\n    raise KeyError('x')\n", str(beside), "exec"), scope)  # noqa: S102

    from refresher.composition import _once

    with pytest.raises(KeyError) as caught:
        _once(scope["call"])()  # type: ignore[arg-type]  # our code calls the library
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert (Path(frames[-2].filename).name, frames[-1].filename) == ("composition.py", str(beside))

    assert str(UnexpectedError.wrap(caught.value)) == (
        f"Unexpected KeyError at composition.py:{frames[-2].lineno}; the stored token is unchanged"
    )


def test_an_unexpected_error_never_raised_names_no_place() -> None:
    assert str(UnexpectedError.wrap(ValueError("secret"))) == (
        "Unexpected ValueError; the stored token is unchanged"
    )


def test_a_secret_inside_a_longer_one_does_not_leave_the_rest_of_the_longer_one() -> None:
    assert redact("key=abcdef", ["abc", "abcdef"]) == "key=[redacted]"


def test_redaction_keeps_printable_text_beyond_ascii_and_escapes_control_characters() -> None:
    assert redact("café\nforged line\x1b", ()) == "café\\nforged line\\x1b"


def test_text_up_to_the_limit_is_kept_whole_and_longer_text_is_cut() -> None:
    assert redact("x" * 300, ()) == "x" * 300
    assert redact("x" * 301, ()) == "x" * 300 + "... [1 more characters]"


def test_the_longest_secret_is_redacted_first_whatever_its_letters() -> None:
    # Alphabetically "zz" comes last; by length "azzz" goes first, leaving nothing of it.
    assert redact("key=azzz", ["zz", "azzz"]) == "key=[redacted]"


def test_the_credential_reasons_are_those_of_the_errors_an_operator_fixes_in_the_secret() -> None:
    from refresher.domain.errors import (
        CredentialsRejectedEarlierError,
        CredentialsRejectedError,
        SecretMalformedError,
    )
    from refresher.domain.models import CREDENTIAL_REASONS

    assert {
        CredentialsRejectedError.reason,
        CredentialsRejectedEarlierError.reason,
        SecretMalformedError.reason,
    } == CREDENTIAL_REASONS


def test_an_operators_action_asked_of_the_function_says_which_alias_to_invoke() -> None:
    assert str(OperatorOnlyError("Retrying credentials JOOR rejected")) == (
        "Retrying credentials JOOR rejected is an operator's action: invoke the function's "
        "alias 'operator' (the stack's TokenOperatorPolicy allows it). Consumers' policies "
        "allow only the function itself, where forced refreshes share a budget."
    )


# A secret version id as Secrets Manager makes them: the message shows its first 8 characters.
VERSION = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def rejected_earlier(at_ago: timedelta, saved_ago: timedelta | None = None) -> str:
    saved = None if saved_ago is None else START - saved_ago
    last = LoginRecord("rejected", START - at_ago, VERSION, saved)
    return str(CredentialsRejectedEarlierError("joor/s", last, START))


def test_a_rejection_earlier_names_the_secret_version_and_when_and_says_what_to_do() -> None:
    last = LoginRecord("rejected", START - timedelta(hours=5), VERSION, START - timedelta(days=3))

    error = CredentialsRejectedEarlierError("joor/s", last, START)

    assert error.secret_id == "joor/s"
    assert str(error) == (
        "JOOR rejected the credentials in secret 'joor/s' (version a1b2c3d4, saved 3 days ago) "
        "at 2026-11-28T07:00:00Z, 5 h ago; not logging in with them again, since repeated "
        "failed logins can lock the JOOR account. Save corrected credentials in the secret "
        "(the new version is tried at once), or, if JOOR rejected valid credentials, retry "
        "them once: invoke the alias 'operator' with {\"retry_rejected\": true}."
    )


def test_a_rejection_earlier_without_the_versions_date_names_the_version_alone() -> None:
    assert "(version a1b2c3d4) at 2026-11-28T11:00:00Z, 60 min ago;" in rejected_earlier(
        timedelta(hours=1)
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 s ago"),
        (119, "119 s ago"),
        (120, "2 min ago"),
        (720, "12 min ago"),
        (7199, "119 min ago"),
        (7200, "2 h ago"),
        (172799, "47 h ago"),
        (172800, "2 days ago"),
        (216000, "2 days ago"),
    ],
)
def test_how_long_ago_is_said_in_the_unit_that_matters(seconds: int, said: str) -> None:
    message = rejected_earlier(timedelta(seconds=seconds), saved_ago=timedelta(seconds=seconds))

    assert f"saved {said}) at " in message
    assert f"Z, {said}; not logging in" in message


def test_a_login_from_the_future_of_a_skewed_clock_was_0_s_ago() -> None:
    assert "Z, 0 s ago; not logging in" in rejected_earlier(timedelta(seconds=-30))


def test_the_time_of_a_rejection_is_said_in_utc_whatever_the_zone_of_the_machine_and_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "XYZ+05")  # a POSIX zone five hours behind UTC, no tzdata needed
    time.tzset()
    try:
        at = (START - timedelta(hours=1)).astimezone(timezone(timedelta(hours=1)))
        error = CredentialsRejectedEarlierError("joor/s", LoginRecord("rejected", at, "v"), START)

        assert "at 2026-11-28T11:00:00Z, 60 min ago;" in str(error)
    finally:
        monkeypatch.undo()
        time.tzset()
