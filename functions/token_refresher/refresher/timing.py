"""How an invocation's time is shared, worked out in one place from what bounds it.

In order, a run makes the reads (DescribeParameters, GetSecretValue), the JOOR exchange
(retries included), the write (PutParameter), then logs. The handler gives the JOOR exchange
whatever the invocation has left minus ``RESERVED_SECONDS``, so the write always has the time
it needs; ``FUNCTION_TIMEOUT_SECONDS`` is the least timeout under which a JOOR exchange at its
slowest still fits. template.yaml's Timeout must cover it (tests/template checks).
"""

from __future__ import annotations

import math
from typing import Final

from refresher.adapters.joor_auth import CONNECT_TIMEOUT as JOOR_CONNECT_TIMEOUT
from refresher.domain.retry import RetryPolicy

# Every AWS call: three attempts in all (botocore standard mode), each with these timeouts.
AWS_ATTEMPTS: Final = 3
AWS_CONNECT_TIMEOUT: Final = 3.0
AWS_READ_TIMEOUT: Final = 5.0
# Standard mode waits at most min(2 ** i, 20) s before retry i (botocore/retries/standard.py).
AWS_CALL_WORST_SECONDS: Final = AWS_ATTEMPTS * (AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT) + sum(
    min(2**i, 20) for i in range(1, AWS_ATTEMPTS)
)

# Kept back from the JOOR exchange: the PutParameter that follows it, at its slowest, and the
# log line and metrics after that.
RESERVED_SECONDS: Final = AWS_CALL_WORST_SECONDS + 2.0

# The JOOR exchange at its slowest under the default retry policy.
JOOR_WORST_SECONDS: Final = RetryPolicy().worst_case_seconds(JOOR_CONNECT_TIMEOUT)

# The two reads before JOOR answer in well under a second; one AWS attempt at its slowest.
READS_SECONDS: Final = AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT

FUNCTION_TIMEOUT_SECONDS: Final = math.ceil(READS_SECONDS + JOOR_WORST_SECONDS + RESERVED_SECONDS)
