"""What the demo's scenes share: the handler run in this process the way Lambda runs it, and
what a run printed shown the way an operator reads it (tokens only masked)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Iterator
from typing import Any

from infra.local.lambda_context import LocalLambdaContext


def masked(token: str) -> str:
    """Enough to tell two tokens apart, nothing to use one."""
    return f"<{len(token)} chars, sha256 {hashlib.sha256(token.encode()).hexdigest()[:10]}>"


def log_entries(output: str) -> Iterator[dict[str, Any] | str]:
    """What a run printed, line by line: Powertools' JSON lines parsed, anything else as is."""
    for raw in output.splitlines():
        try:
            yield json.loads(raw)
        except ValueError:
            yield raw


def run_handler(event: Any, *, operator: bool = False) -> tuple[Any, Exception | None, str]:
    """One invocation in this process: what the handler returned or raised, and what it printed.

    ``operator``: invoked through the stack's operator alias, as an operator's tools do."""
    import app

    buffer = io.StringIO()
    context = LocalLambdaContext()
    if operator:
        context.invoked_function_arn += ":operator"
    # Powertools' logger holds the stdout it found at import: point it at the buffer too.
    app.logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    with contextlib.redirect_stdout(buffer):
        try:
            return app.lambda_handler(event, context), None, buffer.getvalue()
        except Exception as error:  # noqa: BLE001 - the demo shows what Lambda would record
            return None, error, buffer.getvalue()


def operator_view(output: str) -> list[str]:
    """Powertools' JSON lines, condensed: level and message, and the EMF metrics."""
    lines = []
    for entry in log_entries(output):
        if isinstance(entry, str):
            lines.append(entry)
        elif "_aws" in entry:
            names = [m["Name"] for d in entry["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
            extra = f" Reason={entry['Reason']}" if "Reason" in entry else ""
            values = ", ".join(f"{n}={entry[n][0]:g}" for n in names)
            lines.append(f"metric  {values}{extra}")
        else:
            lines.append(f"log     {entry.get('level')}: {entry.get('message')}")
    return lines


def configure_process(**env: str) -> None:
    """This process's refresher: the variables set, then a new execution environment."""
    # Set before the first import of app: Powertools reads its settings when it is imported.
    os.environ.update(env)
    import app

    app._refresher = None
