"""A real ``custseg serve`` on a demo workspace, and headless Chromium driving it.

Chromium and ChromeDriver are Debian's packages (``make browser`` installs them; ``make
test`` runs it first); selenium, pinned in ``requirements.lock``, drives them. Nothing
leaves the machine: the server listens on loopback and Chromium's background networking
is off.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from custseg.api.tokens import create_token
from custseg.workspace import open_workspace
from tests._serve import free_port, wait_healthy
from tests.api._store import copy_store, piped_store
from tests.cli.conftest import CUSTSEG

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.browser


@dataclass
class Server:
    """A running ``custseg serve``: its base URL, workspace and one token per scope."""

    url: str
    root: Path
    tokens: dict[str, str]
    log: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def api(self, method: str, path: str, scope: str = "read", **kw: Any) -> httpx.Response:
        """A REST call with the bearer token of ``scope``."""
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"}
        return self.client.request(method, path, headers=headers, **kw)


@pytest.fixture(scope="session")
def server(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``custseg serve`` on a private copy of the demo store after one pipeline run."""
    base = tmp_path_factory.getbasetemp()
    root = copy_store(piped_store(demo_store, base), base / "e2e_store")
    with open_workspace(root) as ws:
        tokens = {
            s: create_token(ws.connect(), scope=s, name=f"e2e {s}")[1] for s in ("read", "write")
        }
    port = free_port()
    log = base / "e2e_server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(CUSTSEG), "serve", "-w", str(root),
                "--port", str(port), "--log-level", "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, log=log)
    srv = Server(url=url, root=root, tokens=tokens, log=log)
    yield srv
    srv.client.close()
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where Chromium saves downloads."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    """Headless Chromium through ChromeDriver, console logs captured."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            "the browser tests need Debian's chromium and chromium-driver: run `make browser` "
            "(`make test` does) or `apt-get install chromium chromium-driver`."
        )
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    drv.set_page_load_timeout(120)
    yield drv
    drv.quit()
