"""A stand-in for the context object Lambda passes to a handler."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class LocalLambdaContext:
    timeout_seconds: float = 100.0
    function_name: str = "TokenRefresherFunction"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:TokenRefresherFunction"
    )
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/TokenRefresherFunction"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))
