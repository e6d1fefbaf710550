"""The whole local stand-in: moto server, the AWS fault proxy in front of it, the
JOOR-compatible auth server and the Lambda Invoke stand-in that runs the refresher, plus the
environments the refresher (``env``) and a consumer process (``consumer_env``) need."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from infra.local.aws_fault_proxy import AwsFaultProxy
from infra.local.http_stand_in import StartStop
from infra.local.joor_auth_server import Account, JoorAuthServer
from infra.local.lambda_function import DEFAULT_ACCOUNT_ID, DEFAULT_FUNCTION_NAME
from infra.local.lambda_runtime import Handler
from infra.local.lambda_server import LambdaServer
from infra.local.moto_server import MotoServer

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

REGION = "eu-west-1"
SECRET_ID = "joor/sandbox/api-credentials"
PARAMETER_NAME = "/joor/sandbox/access-token"
# As the template names it: ${AWS::StackName}-token-refresher.
FUNCTION_NAME = DEFAULT_FUNCTION_NAME
ACCOUNT_ID = DEFAULT_ACCOUNT_ID


def random_account() -> Account:
    """Fresh made-up credentials per run: nothing that looks real is ever committed."""
    return Account(
        client_id=f"client-{secrets.token_hex(8)}",
        client_secret=secrets.token_urlsafe(48),
        username=f"user-{secrets.token_hex(4)}@example.com",
        password=secrets.token_urlsafe(18),
    )


class LocalStack(StartStop):
    """moto (behind the fault proxy), JOOR, and the refresher behind a Lambda Invoke API.

    The Lambda stand-in is an idle HTTP server until something invokes it; it runs the real
    handler in this process with ``env()`` as the function's environment.
    ``lambda_concurrency`` is its reserved concurrency (1 like the template; None: none).
    ``secret_events``: whether a change of a secret's value invokes the function, as the
    stack's EventBridge rule does (``lambda_.rule_enabled`` switches it later).
    """

    def __init__(
        self,
        expires_in: int = 36000,
        *,
        login_latency: float = 0.0,
        lambda_concurrency: int | None = 1,
        lambda_handler: Handler | None = None,
        secret_events: bool = True,
    ) -> None:
        self.account = random_account()
        self.proxy: AwsFaultProxy | None = None
        self.joor = JoorAuthServer(
            [self.account], expires_in=expires_in, login_latency=login_latency
        )
        self.lambda_ = LambdaServer(
            lambda_handler,
            function_name=FUNCTION_NAME,
            region=REGION,
            account_id=ACCOUNT_ID,
            reserved_concurrency=lambda_concurrency,
        )
        # Secrets Manager's "Secret Label Updated" events reach the function as the stack's
        # EventBridge rule sends them: an asynchronous invoke.
        self.moto = MotoServer(event_targets=(self.lambda_.rule_url,))
        self.lambda_.rule_enabled = secret_events
        self._session: boto3.Session | None = None

    def start(self) -> LocalStack:
        self.moto.start()
        self.proxy = AwsFaultProxy(self.moto.url).start()
        self.joor.start()
        self.lambda_.environment.update(self.env())
        self.lambda_.start()
        return self

    def stop(self) -> None:
        self.lambda_.stop()
        self.joor.stop()
        if self.proxy:
            self.proxy.stop()
        self.moto.stop()

    @property
    def aws_url(self) -> str:
        assert self.proxy is not None, "start() the stack first"
        return self.proxy.url

    def aws_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    @property
    def lambda_url(self) -> str:
        """The Lambda stand-in: what ``AWS_ENDPOINT_URL_LAMBDA`` takes."""
        return self.lambda_.url

    def secret_arn(self, secret_id: str = SECRET_ID) -> str:
        with self.moto.unrecorded():
            return str(self.client("secretsmanager").describe_secret(SecretId=secret_id)["ARN"])

    def consumer_env(self) -> dict[str, str]:
        """What a process that reads the token (and asks for a new one) needs.

        ``AWS_ENDPOINT_URL`` points at moto through the fault proxy (SSM faults can be
        injected for consumers too); Lambda calls go to the stand-in.
        """
        return {
            **self.aws_env(),
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
            "JOOR_TOKEN_PARAMETER": PARAMETER_NAME,
            "JOOR_TOKEN_REFRESHER_FUNCTION": FUNCTION_NAME,
            "JOOR_API_URL": self.joor.api_url,
        }

    def env(self, **overrides: str) -> dict[str, str]:
        """Everything the refresher reads, pointed at the local servers."""
        env = {
            **self.aws_env(),
            "JOOR_ENVIRONMENT": "sandbox",
            "JOOR_AUTH_URL": self.joor.url,
            "CREDENTIALS_SECRET_ID": SECRET_ID,
            "TOKEN_PARAMETER_NAME": PARAMETER_NAME,
            "REFRESH_WINDOW_SECONDS": "10800",
            "POWERTOOLS_SERVICE_NAME": "joor-token-refresher-local",
            "POWERTOOLS_METRICS_NAMESPACE": "JoorTokenRefresher",
        }
        env.update(overrides)
        return env

    def client(self, service: str, config: Config | None = None) -> Any:
        """A boto3 client of the local stack; ``lambda`` reaches the Invoke stand-in."""
        import boto3

        # One session: a new one re-reads the service models (about 0.15 s each time).
        if self._session is None:
            self._session = boto3.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token="testing",
                region_name=REGION,
            )
        # Lambda is the stand-in (moto's own Lambda would need Docker to run anything).
        endpoint = self.lambda_url if service == "lambda" else self.moto.url
        return self._session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]

    def credentials_json(self) -> str:
        a = self.account
        return json.dumps(
            {
                "client_id": a.client_id,
                "client_secret": a.client_secret,
                "username": a.username,
                "password": a.password,
                "grant_type": "password",
            }
        )

    def put_secret(self, secret_string: str | None = None, secret_id: str = SECRET_ID) -> None:
        """Create or replace the credentials secret (the account's, unless told otherwise)."""
        client = self.client("secretsmanager")
        value = self.credentials_json() if secret_string is None else secret_string
        try:
            client.create_secret(Name=secret_id, SecretString=value)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=secret_id, SecretString=value)

    def fixture_secrets(self) -> list[str]:
        """Every secret value this stack knows of, for leak scans: credentials and tokens."""
        a = self.account
        values = [a.client_secret, a.password]
        for record in self.joor.state.issued:
            values += [record.access_token, record.refresh_token]
        return values

    def settle(self, *variables: str) -> None:
        """Back to how it started, for whoever uses it next: nothing running, the named
        function variables removed, no added latency in the Lambda or JOOR stand-in."""
        self.lambda_.wait_idle()
        self.lambda_.configure(**dict.fromkeys(variables))
        self.lambda_.extra_latency = 0.0
        self.joor.login_latency = 0.0
