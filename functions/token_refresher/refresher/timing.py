"""How an invocation's time is shared between JOOR and the AWS calls around it."""

from __future__ import annotations

from typing import Final

# Every AWS call: three attempts in all (botocore standard mode), each with these timeouts.
AWS_ATTEMPTS: Final = 3
AWS_CONNECT_TIMEOUT: Final = 3.0
AWS_READ_TIMEOUT: Final = 5.0
# Standard mode waits at most 2 s, then 4 s, between attempts.
AWS_CALL_WORST_SECONDS: Final = AWS_ATTEMPTS * (AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT) + 2 + 4

# Kept back from the JOOR exchange: the PutParameter that follows it, at its slowest, and the
# log line and metrics after that. With the template's 90 s timeout, JOOR gets 58 s: enough
# for the retry policy's four attempts and their waits (at most 47 s).
RESERVED_SECONDS: Final = AWS_CALL_WORST_SECONDS + 2.0
