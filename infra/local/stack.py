"""The whole local stand-in: moto server, the AWS fault proxy in front of it, and the
JOOR-compatible auth server, plus the environment the refresher needs to use them."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from infra.local.aws_fault_proxy import AwsFaultProxy
from infra.local.joor_auth_server import Account, JoorAuthServer
from infra.local.moto_server import MotoServer

if TYPE_CHECKING:
    import boto3

REGION = "eu-west-1"
SECRET_ID = "joor/sandbox/api-credentials"
PARAMETER_NAME = "/joor/sandbox/access-token"


def random_account() -> Account:
    """Fresh made-up credentials per run: nothing that looks real is ever committed."""
    return Account(
        client_id=f"client-{secrets.token_hex(8)}",
        client_secret=secrets.token_urlsafe(48),
        username=f"user-{secrets.token_hex(4)}@example.com",
        password=secrets.token_urlsafe(18),
    )


class LocalStack:
    def __init__(self, expires_in: int = 36000) -> None:
        self.account = random_account()
        self.moto = MotoServer()
        self.proxy: AwsFaultProxy | None = None
        self.joor = JoorAuthServer([self.account], expires_in=expires_in)
        self._session: boto3.Session | None = None

    def start(self) -> LocalStack:
        self.moto.start()
        self.proxy = AwsFaultProxy(self.moto.url).start()
        self.joor.start()
        return self

    def stop(self) -> None:
        self.joor.stop()
        if self.proxy:
            self.proxy.stop()
        self.moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    def client(self, service: str) -> Any:
        import boto3

        # One session: a new one re-reads the service models (about 0.15 s each time).
        if self._session is None:
            self._session = boto3.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token="testing",
                region_name=REGION,
            )
        return self._session.client(service, endpoint_url=self.moto.url)  # type: ignore[call-overload]

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
