"""The one place that wires settings, AWS clients and adapters into a TokenRefresher."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from refresher.adapters.joor_auth import JoorAuthEndpoint
from refresher.adapters.secrets_manager import SecretsManagerCredentials
from refresher.adapters.ssm_token_store import SsmTokenStore
from refresher.adapters.system_clock import SystemClock
from refresher.config import Settings
from refresher.domain.retry import RetryPolicy
from refresher.domain.service import TokenRefresher
from refresher.timing import AWS_ATTEMPTS, AWS_CONNECT_TIMEOUT, AWS_READ_TIMEOUT

if TYPE_CHECKING:
    import boto3


def build_refresher(
    settings: Settings, session: boto3.Session | None = None, retry: RetryPolicy | None = None
) -> TokenRefresher:
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
    clock = SystemClock()
    return TokenRefresher(
        store=SsmTokenStore(
            settings.token_parameter_name,
            session.client("ssm", config=aws_config),
            settings.kms_key_id,
        ),
        credentials=SecretsManagerCredentials(
            settings.credentials_secret_id,
            lambda: session.client("secretsmanager", config=aws_config),
        ),
        endpoint=JoorAuthEndpoint(settings.auth_url, clock),
        clock=clock,
        window=timedelta(seconds=settings.refresh_window.total_seconds()),
        rejected_token_min_age=settings.rejected_token_min_age,
        retry=retry,
    )
