"""moto in server mode, in its own process, on a free loopback port.

boto3 reaches it through ``AWS_ENDPOINT_URL``. Its request recorder counts the AWS calls a
run makes: ``recorded_calls()`` returns the ``X-Amz-Target`` of each request since ``reset``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from infra.local.http_stand_in import LOOPBACK, StartStop, free_port

ROOT = Path(__file__).resolve().parents[2]


class MotoServer(StartStop):
    """``event_targets``: Lambda Invoke URLs that get Secrets Manager's ``Secret Label Updated``
    events (moto_fidelity.py), as an EventBridge rule targeting the function would."""

    def __init__(self, port: int | None = None, event_targets: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.event_targets = event_targets
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="moto-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> MotoServer:
        env = dict(os.environ)
        env.update(
            MOTO_ENABLE_RECORDING="true",
            # The recording holds request bodies, the token included: keep it out of the tree.
            MOTO_RECORDER_FILEPATH=str(Path(self._dir.name) / "recording.jsonl"),
            LOCAL_EVENT_TARGETS=",".join(self.event_targets),
        )
        # moto's own server, with the AWS behaviours it lacks added (moto_fidelity.py).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local.moto_fidelity",
                "-H",
                LOOPBACK,
                "-p",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.url} within {timeout} s")

    def _post(self, path: str) -> bytes:
        request = urllib.request.Request(f"{self.url}{path}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return bytes(response.read())

    def reset(self) -> None:
        """Forget every resource and every recorded call."""
        self._post("/moto-api/reset")
        self._post("/moto-api/recorder/reset-recording")

    @contextlib.contextmanager
    def unrecorded(self) -> Iterator[None]:
        """Calls made inside (a test looking at the stored token) are not counted."""
        self._post("/moto-api/recorder/stop-recording")
        try:
            yield
        finally:
            self._post("/moto-api/recorder/start-recording")

    def reset_recording(self) -> None:
        self._post("/moto-api/recorder/reset-recording")

    def recorded_calls(self) -> list[str]:
        """The operation of each recorded request, e.g. ``AmazonSSM.DescribeParameters``."""
        with urllib.request.urlopen(
            f"{self.url}/moto-api/recorder/download-recording", timeout=10
        ) as response:
            text = response.read().decode()
        calls = []
        for line in text.splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
            target = headers.get("x-amz-target")
            if target is None:  # query protocol: the action is in the body
                body = entry.get("body") or ""
                if entry.get("body_encoded"):
                    body = base64.b64decode(body).decode(errors="replace")
                target = next(
                    (p.split("=", 1)[1] for p in body.split("&") if p.startswith("Action=")),
                    entry.get("url", "?"),
                )
            calls.append(target)
        return calls

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._dir.cleanup()
