"""The one place that wires settings, AWS clients and adapters into a refresher: one account's
(TokenRefresher) or, with a parameter path, a fleet's (FleetRefresher)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from refresher.adapters.joor_auth import JoorAuthEndpoint
from refresher.adapters.secrets_manager import SecretsManagerCredentials
from refresher.adapters.ssm_token_store import SsmTokenInventory, SsmTokenStore
from refresher.adapters.system_clock import SystemClock
from refresher.adapters.tagged_secrets import TaggedSecretsDirectory
from refresher.adapters.thread_pool import ThreadWorkerPool
from refresher.config import AUTH_URLS, Settings
from refresher.domain.errors import ConfigurationError
from refresher.domain.gate import GatePolicy
from refresher.domain.models import Account, AccountResult
from refresher.domain.retry import RetryPolicy
from refresher.service_layer.account import TokenRefresher
from refresher.service_layer.fleet import FleetRefresher
from refresher.timing import AWS_ATTEMPTS, AWS_CONNECT_TIMEOUT, AWS_READ_TIMEOUT

if TYPE_CHECKING:
    import boto3


def build_refresher(
    settings: Settings, session: boto3.Session | None = None, retry: RetryPolicy | None = None
) -> TokenRefresher | FleetRefresher:
    import boto3
    from botocore.config import Config

    # The AWS SDK logs request bodies at DEBUG, and a PutParameter body holds the token.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)

    session = session or boto3.Session()
    # Short timeouts: a stuck AWS call must not eat the time JOOR retries need (timing.py).
    # botocore's standard mode retries throttling and 5xx. (Its "max_attempts" counts
    # retries only, so it would make one more: say total_max_attempts.)
    aws_config = Config(
        retries={"mode": "standard", "total_max_attempts": AWS_ATTEMPTS},
        connect_timeout=AWS_CONNECT_TIMEOUT,
        read_timeout=AWS_READ_TIMEOUT,
    )
    retry = retry or RetryPolicy()
    clock = SystemClock()
    ssm = session.client("ssm", config=aws_config)
    # Created on first use (a run that finds every token fresh never reads a secret), once,
    # and shared: boto3 clients are thread-safe, their creation is not cheap.
    secrets = _once(lambda: session.client("secretsmanager", config=aws_config))
    endpoint_for = _per_key(lambda url: JoorAuthEndpoint(url, clock))
    policy = GatePolicy(
        window=settings.refresh_window, min_interval=settings.rejected_token_min_age
    )

    def refresher_for(account: Account) -> TokenRefresher:
        return TokenRefresher(
            store=SsmTokenStore(account.parameter, ssm, settings.kms_key_id),
            credentials=SecretsManagerCredentials(account.secret_id, secrets, account.credentials),
            endpoint=endpoint_for(account.auth_url),
            clock=clock,
            policy=policy,
            retry=retry,
        )

    def pool_for(size: int) -> ThreadWorkerPool[AccountResult]:
        return ThreadWorkerPool(size)

    configured = None
    if settings.credentials_secret_id and settings.token_parameter_name:
        configured = Account(
            settings.token_parameter_name, settings.credentials_secret_id, settings.auth_url
        )
    if settings.parameter_path is None:
        if configured is None:  # Settings requires the account without a path
            raise ConfigurationError("CREDENTIALS_SECRET_ID", "is not set")
        return refresher_for(configured)
    return FleetRefresher(
        path=settings.parameter_path,
        directory=TaggedSecretsDirectory(
            settings.parameter_path,
            secrets,
            {environment: settings.auth_url_for(environment) for environment in AUTH_URLS},
            settings.joor_environment,
            configured,
        ),
        inventory=SsmTokenInventory(settings.parameter_path, ssm),
        refresher_for=refresher_for,
        store_for=lambda name: SsmTokenStore(name, ssm, settings.kms_key_id),
        pool_for=pool_for,
        clock=clock,
        policy=policy,
        interval=settings.schedule_interval,
        logins_in_flight=settings.fleet_logins_in_flight,
        logins_per_second=settings.fleet_logins_per_second,
        min_start_time=retry.min_attempt_time,
    )


def _once[T](make: Callable[[], T]) -> Callable[[], T]:
    made: list[T] = []
    lock = threading.Lock()

    def get() -> T:
        with lock:
            if not made:
                made.append(make())
            return made[0]

    return get


def _per_key[T](make: Callable[[str], T]) -> Callable[[str], T]:
    made: dict[str, T] = {}
    lock = threading.Lock()

    def get(key: str) -> T:
        with lock:
            if key not in made:
                made[key] = make(key)
            return made[key]

    return get
