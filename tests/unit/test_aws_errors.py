"""botocore's errors in one short, safe sentence, whatever they hold."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from refresher.adapters.aws_errors import describe, error_code


def test_an_error_without_a_code_is_an_unknown_error() -> None:
    error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "PutParameter")

    assert describe(error) == "UnknownError"
    assert error_code(error) == ""


def test_an_error_with_a_code_and_no_message_is_named_by_its_code() -> None:
    error = ClientError({"Error": {"Code": "ThrottlingException"}}, "PutParameter")

    assert describe(error) == "ThrottlingException"
    assert error_code(error) == "ThrottlingException"


def test_a_message_quoting_a_secret_is_redacted_and_cut() -> None:
    message = "Value secret-value " + "x" * 300
    error = ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Op")

    described = describe(error, ("secret-value",))

    assert described.startswith("ValidationException: Value [redacted] xxx")
    assert described.endswith("... [117 more characters]")


def test_a_connection_error_is_named_by_its_type_and_endpoint() -> None:
    error = EndpointConnectionError(endpoint_url="https://ssm.eu-west-1.amazonaws.com/")

    assert describe(error) == (
        "EndpointConnectionError: Could not connect to the endpoint URL: "
        '"https://ssm.eu-west-1.amazonaws.com/"'
    )
    assert error_code(error) == "EndpointConnectionError"


def test_a_long_connection_error_is_cut_at_200_characters() -> None:
    url = "https://" + "h" * 300 + "/"
    whole = f"EndpointConnectionError: {EndpointConnectionError(endpoint_url=url)}"

    described = describe(EndpointConnectionError(endpoint_url=url))

    assert described == whole[:200] + f"... [{len(whole) - 200} more characters]"
