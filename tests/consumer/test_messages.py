"""What a consumer is told when the token cannot be had: each AWS failure's message, word for
word, and what outside text in it is made safe."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from joor_token import (
    ConfigurationError,
    RefreshFailedError,
    RefreshRateLimitedError,
    TokenReader,
    TokenUnavailableError,
)
from tests.consumer.fakes import FUNCTION, PARAMETER, FakeLambda, FakeSsm, client_error

Make = Callable[..., TokenReader]

# Where the reader's own clients take their region from, as every message that sends the
# reader to check the region puts it.
REGION = (
    "the region (AWS_REGION, or AWS_DEFAULT_REGION, which wins when both are set, or the "
    "region of the AWS config profile)"
)


def read_error(make_reader: Make, ssm: FakeSsm, error: Exception) -> str:
    ssm.errors.append(error)  # type: ignore[arg-type]
    with pytest.raises(TokenUnavailableError) as caught:
        make_reader().token()
    return str(caught.value)


def test_a_missing_parameter_says_which_setting_to_check(make_reader: Make, ssm: FakeSsm) -> None:
    assert read_error(make_reader, ssm, client_error("GetParameter", "ParameterNotFound", "")) == (
        f"Parameter {PARAMETER!r} does not exist in this account and region. Check "
        f"JOOR_TOKEN_PARAMETER (the stack's TokenParameterName output) and {REGION}; the token "
        "refresher creates the parameter on its first run."
    )


def test_a_denied_read_names_the_policy_to_attach(make_reader: Make, ssm: FakeSsm) -> None:
    error = client_error("GetParameter", "AccessDeniedException", "User: x is not\nauthorized")

    assert read_error(make_reader, ssm, error) == (
        f"Not allowed to read parameter {PARAMETER!r}: attach the stack's TokenReaderPolicy "
        "(output TokenReaderPolicyArn) to this workload's role (AccessDeniedException: User: x "
        "is not\\nauthorized)"
    )


@pytest.mark.parametrize("code", ["KMSAccessDeniedException", "InvalidKeyId"])
def test_a_failed_decryption_names_the_key_permission(
    make_reader: Make, ssm: FakeSsm, code: str
) -> None:
    error = client_error("GetParameter", code, "key says no")

    assert read_error(make_reader, ssm, error) == (
        f"Could not decrypt parameter {PARAMETER!r}: the role needs kms:Decrypt on the token's "
        f"key through SSM, which TokenReaderPolicy grants ({code}: key says no)"
    )


def test_any_other_failure_is_named_by_its_code_and_message(
    make_reader: Make, ssm: FakeSsm
) -> None:
    error = client_error("GetParameter", "InvalidKeyIdentifier", "odd")

    assert read_error(make_reader, ssm, error) == (
        f"Could not read parameter {PARAMETER!r}: InvalidKeyIdentifier: odd"
    )


def test_an_error_without_code_or_message_is_still_a_sentence(
    make_reader: Make, ssm: FakeSsm
) -> None:
    error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "GetParameter")

    assert read_error(make_reader, ssm, error) == f"Could not read parameter {PARAMETER!r}: : "


def test_an_unreachable_ssm_says_what_to_check(make_reader: Make, ssm: FakeSsm) -> None:
    error = EndpointConnectionError(endpoint_url="https://ssm.eu-west-1.amazonaws.com/")

    assert read_error(make_reader, ssm, error) == (
        f"Could not read parameter {PARAMETER!r}: EndpointConnectionError: Could not connect to "
        f'the endpoint URL: "https://ssm.eu-west-1.amazonaws.com/" (check the network, {REGION} '
        "and this workload's AWS credentials)"
    )


def test_a_long_message_is_cut_to_four_hundred_characters(make_reader: Make, ssm: FakeSsm) -> None:
    error = client_error("GetParameter", "ValidationException", "x" * 401)

    message = read_error(make_reader, ssm, error)

    assert message.endswith(": ValidationException: " + "x" * 400 + "...")


def test_a_message_of_exactly_four_hundred_characters_is_kept_whole(
    make_reader: Make, ssm: FakeSsm
) -> None:
    error = client_error("GetParameter", "ValidationException", "x" * 400)

    assert read_error(make_reader, ssm, error).endswith(": ValidationException: " + "x" * 400)


class Answers:
    """An SSM client whose GetParameter answers what it is given."""

    def __init__(self, parameter: dict[str, Any]) -> None:
        self.parameter = parameter

    def get_parameter(self, **_: Any) -> dict[str, Any]:
        return {"Parameter": self.parameter}


@pytest.mark.parametrize("value", ["", "  ", None])
def test_an_empty_parameter_says_how_to_fill_it(value: str | None) -> None:
    reader = TokenReader(PARAMETER, ssm_client=Answers({"Value": value, "Version": 1}))  # type: ignore[arg-type]

    with pytest.raises(TokenUnavailableError) as caught:
        reader.token()

    assert str(caught.value) == (
        f"Parameter {PARAMETER!r} is empty; the token refresher writes a token there on its "
        'first run: invoke it with {"force": true}'
    )


@pytest.mark.parametrize("version", [None, "3", True])
def test_a_parameter_without_a_version_number_is_refused(version: object) -> None:
    reader = TokenReader(PARAMETER, ssm_client=Answers({"Value": "tok", "Version": version}))  # type: ignore[arg-type]

    with pytest.raises(TokenUnavailableError) as caught:
        reader.token()

    assert str(caught.value) == f"Parameter {PARAMETER!r} came back without a version number"


# --- asking the refresher ------------------------------------------------------------------


def renew_error(reader: TokenReader, lambda_: FakeLambda, *steps: Any) -> str:
    lambda_.script.extend(steps)
    with pytest.raises(RefreshFailedError) as caught:
        reader.refresh_after_rejection()
    return str(caught.value)


def test_a_refresher_that_does_not_exist_says_which_setting_to_check(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    error = client_error("Invoke", "ResourceNotFoundException", "Function not found", 404)

    assert renew_error(reader_with_token, lambda_, error) == (
        f"The token refresher {FUNCTION!r} does not exist in this account and region: check "
        f"JOOR_TOKEN_REFRESHER_FUNCTION (the stack's TokenRefresherFunctionName output) and "
        f"{REGION}"
    )


def test_a_denied_invoke_names_the_permission(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    error = client_error("Invoke", "AccessDeniedException", "not allowed", 403)

    assert renew_error(reader_with_token, lambda_, error) == (
        f"Not allowed to invoke the token refresher {FUNCTION!r}: the workload's role needs "
        "lambda:InvokeFunction on it (AccessDeniedException: not allowed)"
    )


def test_any_other_invoke_failure_is_named_by_its_code_and_message(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    error = client_error("Invoke", "ServiceException", "broken", 500)

    assert renew_error(reader_with_token, lambda_, error) == (
        f"Could not invoke the token refresher {FUNCTION!r}: ServiceException: broken"
    )


def test_an_unreachable_lambda_is_named_by_the_sdks_error(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    error = EndpointConnectionError(endpoint_url="https://lambda.example/")

    assert renew_error(reader_with_token, lambda_, error) == (
        f"Could not invoke the token refresher {FUNCTION!r}: EndpointConnectionError: Could not "
        'connect to the endpoint URL: "https://lambda.example/"'
    )


def test_a_failed_refresh_passes_on_its_type_and_message_without_the_token(
    reader_with_token: TokenReader, lambda_: FakeLambda, ssm: FakeSsm
) -> None:
    token = ssm.versions[-1].value
    step = ("function_error", "CredentialsRejectedError", f"JOOR said no to {token}")

    assert renew_error(reader_with_token, lambda_, step) == (
        f"The token refresher {FUNCTION!r} failed: CredentialsRejectedError: JOOR said no to "
        "[redacted]"
    )


class Raw:
    """A Lambda client whose Invoke answers these bytes, as a function error or not."""

    def __init__(self, payload: bytes, function_error: bool) -> None:
        self.payload = payload
        self.function_error = function_error

    def invoke(self, **_: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(self.payload)}
        if self.function_error:
            answer["FunctionError"] = "Unhandled"
        return answer


def raw_error(ssm: FakeSsm, payload: bytes, *, function_error: bool) -> str:
    reader = TokenReader(
        PARAMETER,
        refresher_function=FUNCTION,
        ssm_client=ssm,  # type: ignore[arg-type]
        lambda_client=Raw(payload, function_error),  # type: ignore[arg-type]
    )
    reader.token()
    with pytest.raises(RefreshFailedError) as caught:
        reader.refresh_after_rejection()
    return str(caught.value)


@pytest.mark.parametrize("payload", [b"", b"not json", b'"a string"', b"{}"])
def test_a_function_error_without_a_readable_body_says_so(ssm: FakeSsm, payload: bytes) -> None:
    assert raw_error(ssm, payload, function_error=True) == (
        f"The token refresher {FUNCTION!r} failed: unknown error: no message"
    )


@pytest.mark.parametrize("payload", [b"", b"not json", b"[1]", b"null"])
def test_an_answer_that_is_not_a_summary_says_what_to_check(ssm: FakeSsm, payload: bytes) -> None:
    assert raw_error(ssm, payload, function_error=False) == (
        f"The token refresher {FUNCTION!r} answered something other than a summary "
        f"({len(payload)} bytes); check that JOOR_TOKEN_REFRESHER_FUNCTION names the JOOR "
        "token refresher"
    )


@pytest.mark.parametrize(
    ("answer", "called"),
    [
        (
            client_error("Invoke", "TooManyRequestsException", "Rate Exceeded.", 429),
            "Rate Exceeded.",
        ),
        ("busy", "ReservedFunctionConcurrentInvocationLimitExceeded"),
        (client_error("Invoke", "TooManyRequestsException", "", 429), "HTTP 429"),
    ],
    ids=["message-only", "reason", "neither"],
)
def test_a_throttle_is_called_by_its_reason_else_its_message_else_http_429(
    make_reader: Make,
    lambda_: FakeLambda,
    caplog: pytest.LogCaptureFixture,
    answer: object,
    called: str,
) -> None:
    lambda_.script.append(answer)
    reader = make_reader(busy_wait_seconds=0)
    reader.token()

    with caplog.at_level("WARNING", logger="joor_token"), pytest.raises(RefreshFailedError):
        reader.refresh_after_rejection()

    assert f"Token refresher {FUNCTION} is busy ({called});" in caplog.text


# --- settings --------------------------------------------------------------------------------


def test_without_a_parameter_the_reader_says_where_to_find_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOOR_TOKEN_PARAMETER", raising=False)

    with pytest.raises(ConfigurationError) as caught:
        TokenReader()

    assert str(caught.value) == (
        "No token parameter: pass TokenReader(parameter_name) or set JOOR_TOKEN_PARAMETER "
        "(the stack's TokenParameterName output, e.g. /joor/sandbox/access-token)"
    )


@pytest.mark.parametrize("seconds", [0.5, 3600])
def test_any_cache_age_above_zero_up_to_an_hour_is_accepted(seconds: float) -> None:
    assert "max_age_seconds" in repr(TokenReader(PARAMETER, max_age_seconds=seconds))


def test_a_busy_wait_of_zero_is_accepted_and_a_negative_one_named() -> None:
    TokenReader(PARAMETER, busy_wait_seconds=0)

    with pytest.raises(ConfigurationError) as caught:
        TokenReader(PARAMETER, busy_wait_seconds=-1)

    assert str(caught.value) == "busy_wait_seconds must be at least 0 seconds, got -1"


# --- what the refresher answers --------------------------------------------------------------


def summary(**fields: Any) -> dict[str, Any]:
    return {"result": "skipped", "reason": "fresh", "parameter": PARAMETER, **fields}


@pytest.mark.parametrize("retry_after", [None, True, "soon"])
def test_a_rate_limit_without_a_usable_delay_waits_a_minute(
    make_reader: Make, lambda_: FakeLambda, ssm: FakeSsm, retry_after: object
) -> None:
    lambda_.script.append(
        summary(reason="rate_limited", version=1, retry_after_seconds=retry_after)
    )
    reader = make_reader()
    reader.token()

    with pytest.raises(RefreshRateLimitedError) as caught:
        reader.refresh_after_rejection()

    assert caught.value.retry_after_seconds == 60.0
    assert str(caught.value).startswith(f"JOOR rejected version 1 of {PARAMETER!r}, and ")
    assert str(caught.value).endswith("The refresher accepts this version again in 60 s.")


def test_a_rate_limit_is_logged_as_the_message_raised(
    make_reader: Make, lambda_: FakeLambda, caplog: pytest.LogCaptureFixture
) -> None:
    lambda_.script.append(summary(reason="rate_limited", version=1, retry_after_seconds=90))
    reader = make_reader()
    reader.token()

    with (
        caplog.at_level("WARNING", logger="joor_token"),
        pytest.raises(RefreshRateLimitedError) as caught,
    ):
        reader.refresh_after_rejection()

    assert [r.getMessage() for r in caplog.records] == [str(caught.value)]


def test_a_refresher_keeping_another_parameter_says_to_point_both_at_one_stack(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    answer = summary(result="refreshed", reason="rejected", parameter="/joor/other\n", version=9)

    assert renew_error(reader_with_token, lambda_, answer) == (
        f"The token refresher {FUNCTION!r} keeps parameter '/joor/other\\\\n', not "
        f"{PARAMETER!r}: point JOOR_TOKEN_PARAMETER and JOOR_TOKEN_REFRESHER_FUNCTION at the "
        "same stack"
    )


def test_an_answer_without_a_newer_version_quotes_what_came_back(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    answer = summary(result="skipped", reason="fresh", version=1)

    assert renew_error(reader_with_token, lambda_, answer) == (
        f"The token refresher {FUNCTION!r} answered result='skipped', reason='fresh', "
        "version='1': no version newer than the rejected 1. Check that it is the JOOR token "
        "refresher, at a version that takes seen_version."
    )


def test_a_renewed_version_is_logged_with_what_the_refresher_did(
    make_reader: Make, caplog: pytest.LogCaptureFixture
) -> None:
    reader = make_reader()
    reader.token()

    with caplog.at_level("INFO", logger="joor_token"):
        reader.refresh_after_rejection()

    assert caplog.records[-1].getMessage() == (
        f"Token version 2 of {PARAMETER} ready (refresher: refreshed, rejected)"
    )


def test_a_version_the_refresher_named_but_gone_says_so(
    make_reader: Make, lambda_: FakeLambda, ssm: FakeSsm
) -> None:
    lambda_.script.append(summary(result="refreshed", reason="rejected", version=7))
    reader = make_reader()
    reader.token()

    with pytest.raises(TokenUnavailableError) as caught:
        reader.refresh_after_rejection()

    assert str(caught.value) == (
        f"Parameter '{PARAMETER}:7' does not exist: the refresher named a version that is gone"
    )


def test_a_version_still_declined_is_refused_here_until_its_last_second_with_the_same_message(
    make_reader: Make, lambda_: FakeLambda, clock: Any
) -> None:
    lambda_.script.append(summary(reason="rate_limited", version=1, retry_after_seconds=90))
    reader = make_reader()
    reader.token()
    with pytest.raises(RefreshRateLimitedError) as first:
        reader.refresh_after_rejection()
    clock.advance(89.5)

    with pytest.raises(RefreshRateLimitedError) as again:
        reader.refresh_after_rejection()

    assert len(lambda_.events) == 1  # refused here, without asking the refresher again
    assert str(again.value) == str(first.value)
    assert again.value.retry_after_seconds == 0.5


def test_text_from_aws_keeps_its_non_ascii_letters(make_reader: Make, ssm: FakeSsm) -> None:
    error = client_error("GetParameter", "ValidationException", "paramètre refusé")

    assert read_error(make_reader, ssm, error).endswith(": ValidationException: paramètre refusé")


def test_a_refresher_that_stays_busy_is_given_up_on_with_where_to_look(
    make_reader: Make, lambda_: FakeLambda
) -> None:
    lambda_.script.append("busy")
    reader = make_reader(busy_wait_seconds=0)
    reader.token()
    with pytest.raises(RefreshFailedError) as caught:
        reader.refresh_after_rejection()

    assert str(caught.value) == (
        f"The token refresher {FUNCTION!r} stayed busy (HTTP 429, 1 invocations) for 0 s and no "
        f"version of {PARAMETER!r} newer than 1 appeared. Check its logs for a run that hangs; "
        "busy_wait_seconds sets this limit."
    )


def test_a_client_that_knows_its_region_names_it_where_a_parameter_is_missing(
    make_reader: Make, ssm: FakeSsm
) -> None:
    ssm.meta = SimpleNamespace(region_name="eu-west-3")  # type: ignore[attr-defined]  # as boto3's

    message = read_error(make_reader, ssm, client_error("GetParameter", "ParameterNotFound", ""))

    assert message.startswith(
        f"Parameter {PARAMETER!r} does not exist in region eu-west-3 of this account. Check "
    )


def test_a_client_that_knows_its_region_names_it_where_the_refresher_is_missing(
    reader_with_token: TokenReader, lambda_: FakeLambda
) -> None:
    lambda_.meta = SimpleNamespace(region_name="eu-west-3")  # type: ignore[attr-defined]
    error = client_error("Invoke", "ResourceNotFoundException", "Function not found", 404)

    assert renew_error(reader_with_token, lambda_, error).startswith(
        f"The token refresher {FUNCTION!r} does not exist in region eu-west-3 of this account: "
    )


def test_a_client_with_an_empty_region_is_not_named_as_one(make_reader: Make, ssm: FakeSsm) -> None:
    ssm.meta = SimpleNamespace(region_name="")  # type: ignore[attr-defined]

    message = read_error(make_reader, ssm, client_error("GetParameter", "ParameterNotFound", ""))

    assert message.startswith(f"Parameter {PARAMETER!r} does not exist in this account and region.")
