"""An example workload: calls a JOOR V4 endpoint with the token the refresher keeps.

The layer gives it ``joor_token``; the stack's two consumer policies let it read the token and
ask for a new one. A 401 from JOOR costs one renewal and one resend, never a loop.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from joor_token import JoorBearerAuth, TokenReader

# Built once per execution environment: warm invocations reuse the cached token.
reader = TokenReader()
session = requests.Session()


def lambda_handler(_event: dict[str, Any] | None, _context: Any) -> dict[str, Any]:
    url = os.environ["JOOR_API_URL"]
    response = session.get(url, auth=JoorBearerAuth(reader), timeout=30)
    # What happened, never the token: the status, and whether a renewal was needed.
    return {
        "status": response.status_code,
        "renewed": bool(response.history),
        "bytes": len(response.content),
    }
