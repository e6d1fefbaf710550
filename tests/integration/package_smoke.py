"""A consumer in a virtual environment of its own, with joor-token installed as a workload
installs it: reads the token, calls the JOOR stand-in's API, and (told to) waits for a
revocation and calls again. Prints one JSON line.

    python package_smoke.py   (with the local stack's consumer environment; stdin: "go")
"""

import json
import os
import platform
import sys

import requests

import joor_token
from joor_token import JoorBearerAuth, TokenReader

session = requests.Session()
session.auth = JoorBearerAuth(TokenReader())
first = session.get(os.environ["JOOR_API_URL"], timeout=30)
print("ready", flush=True)  # noqa: T201
sys.stdin.readline()  # the test revokes every token meanwhile
second = session.get(os.environ["JOOR_API_URL"], timeout=30)
print(  # noqa: T201
    json.dumps(
        {
            "python": platform.python_version(),
            "package": joor_token.__file__,
            "first": [r.status_code for r in first.history] + [first.status_code],
            "second": [r.status_code for r in second.history] + [second.status_code],
        }
    )
)
