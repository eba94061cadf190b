"""A ``custseg serve`` subprocess in tests: a free loopback port, and waiting for /health.

Used by ``tests/cli/test_serve.py`` and the browser tests (``tests/e2e``).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _output(proc: subprocess.Popen, log: Path | None) -> str:
    if log is not None:
        return log.read_text(errors="replace")
    out, err = proc.communicate()
    return f"{out}\n{err}"


def wait_healthy(
    url: str, proc: subprocess.Popen, *, log: Path | None = None, limit_s: float = 300
) -> None:
    """Poll ``url/health`` until it answers 200 (the limit only stops a hung test).

    Fails the test with the server's output (from ``log`` when it writes there, else its
    pipes) when the server exits or never answers.
    """
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"custseg serve exited with {proc.returncode}:\n{_output(proc, log)}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"custseg serve did not become healthy:\n{_output(proc, log)}")
