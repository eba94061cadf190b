"""Screenshots of every dashboard page, for the README and ``docs/screenshots/``.

Serves a workspace (default: ``demo``, after ``make demo``) with ``custseg serve`` on
loopback, logs in with a new write token, and saves one PNG per page with headless
Chromium (Debian's ``chromium`` and ``chromium-driver``: ``make browser``).

Usage::

    .venv/bin/python tools/screenshots.py [--workspace demo] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default="demo")
    ap.add_argument("--out", default="docs/screenshots")
    args = ap.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from custseg.api.tokens import create_token
    from custseg.workspace import open_workspace

    with open_workspace(args.workspace) as ws:
        token = create_token(ws.connect(), scope="write", name="screenshots")[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = str(Path(sys.executable).with_name("custseg"))
    cmd = [exe, "serve", "-w", args.workspace, "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        auth = {"Authorization": f"Bearer {token}"}
        segs = httpx.get(f"{url}/segments", headers=auth, timeout=60).json()["data"]
        rfm = [s for s in segs if s.get("family") == "rfm" and (s.get("size") or 0) > 0]
        champions = [s for s in rfm if s["name"] == "rfm_champions"]
        seg = champions[0] if champions else max(rfm, key=lambda s: s["size"])
        member = httpx.get(
            f"{url}/segments/{seg['name']}/members", params={"limit": 1}, headers=auth, timeout=60
        ).json()["data"][0]["customer_id"]

        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1100",
            f"--user-data-dir={tempfile.mkdtemp()}",
        ):  # fmt: skip
            opts.add_argument(a)
        drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        try:
            drv.get(f"{url}/ui/login")
            drv.find_element(By.ID, "token").send_keys(token)
            drv.find_element(By.ID, "login-button").click()
            time.sleep(1)
            pages = {
                "overview": "/ui/",
                "segments": "/ui/segments",
                "builder": "/ui/builder?rule=" + "amount_spent > 500 AND number_of_orders >= 3",
                "segment": f"/ui/segments/{seg['name']}",
                "customer": f"/ui/customers/{member}",
                "clusters": "/ui/clusters",
                "campaigns": "/ui/campaigns",
            }
            for name, path in pages.items():
                drv.get(url + path)
                time.sleep(2.5)  # charts and the live count
                height = drv.execute_script("return document.body.scrollHeight")
                drv.set_window_size(1400, min(max(int(height) + 40, 900), 3000))
                drv.save_screenshot(str(out / f"{name}.png"))
                print(f"{out / name}.png")
        finally:
            drv.quit()
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
