"""Run ``spaces/app.py`` in a subprocess on a free loopback port (shared by the Space tests)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "spaces" / "app.py"
EXAMPLES = sorted((ROOT / "spaces" / "examples").glob("*.png"))
# Seconds to wait for the app to start, and for each step in the browser. Importing torch and
# gradio takes seconds on an idle machine; raise it on one that is busy with something else.
TIMEOUT_S = float(os.environ.get("HUBSR_SPACE_TEST_TIMEOUT", "240"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(workdir: Path, **env: str) -> Iterator[str]:
    """Serve the Space from a subprocess; yields its URL. ``env`` adds environment variables.

    Gradio's files and the app's outputs go under ``workdir``; the app's log is
    ``workdir/app.log`` and its tail is shown if the app does not come up.
    """
    port = free_port()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    environ = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(workdir / "gradio"),
        "TMPDIR": str(workdir / "tmp"),
        **env,
    }
    log_path = workdir / "app.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(APP)], cwd=ROOT, env=environ, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the app did not answer within {TIMEOUT_S:.0f} s:\n{_tail(log_path)}"
                )
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
