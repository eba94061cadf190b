"""`custseg tokens` and `custseg serve`: the real commands, the server as a subprocess."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests._serve import free_port, wait_healthy
from tests.api._store import copy_store, piped_store
from tests.cli.conftest import CUSTSEG, cli_env, ok, query, run_cli


@pytest.fixture
def served_ws(demo_store: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A private copy of the demo store with the pipeline run."""
    return copy_store(piped_store(demo_store, tmp_path_factory.getbasetemp()), tmp_path / "ws")


@pytest.mark.slow
def test_serve_answers_a_read_token_with_the_customer(served_ws: Path) -> None:
    db = served_ws / "custseg.duckdb"
    cid = query(
        db, "SELECT customer_id FROM memberships GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )[0][0]
    segments = sorted(
        r[0] for r in query(db, "SELECT segment FROM memberships WHERE customer_id = ?", [cid])
    )
    skus = [
        r[0]
        for r in query(
            db,
            "SELECT sku FROM recommendations WHERE customer_id = ? AND rank <= 5 ORDER BY rank",
            [cid],
        )
    ]
    action = query(db, "SELECT segment, offer FROM customer_actions WHERE customer_id = ?", [cid])
    tier = query(db, "SELECT tier FROM shipping_tiers WHERE customer_id = ?", [cid])
    token = ok(
        run_cli("tokens", "create", "--scope", "read", "--name", "curl", "-w", served_ws)
    ).stdout.strip()
    assert token.startswith("cs_")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(CUSTSEG),
            "serve",
            "-w",
            str(served_ws),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        wait_healthy(url, proc)
        r = httpx.get(
            f"{url}/customers/{cid}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert r.status_code == 200
        body = r.json()
        assert sorted(s["key"] for s in body["segments"]) == segments
        assert [x["sku"] for x in body["recommendations"]] == skus
        assert [(body["action"]["segment"], body["action"]["offer"])] == action
        assert [(body["shipping"]["tier"],)] == tier
        assert httpx.get(f"{url}/customers/{cid}", timeout=30).status_code == 401
        write = httpx.put(
            f"{url}/segments/x",
            json={"rule": "amount_spent > 1"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert write.status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_tokens_list_and_revoke(baseline_ws: Path, tmp_path: Path) -> None:
    from tests.cli.conftest import copy_ws

    ws = copy_ws(baseline_ws, tmp_path / "ws")
    token = ok(
        run_cli("tokens", "create", "--scope", "write", "--name", "crm", "-w", ws)
    ).stdout.strip()
    token_id = token.split("_")[1]
    listed = ok(run_cli("tokens", "list", "--json", "-w", ws)).stdout
    assert token_id in listed and token not in listed
    rows = query(ws / "custseg.duckdb", "SELECT id, name, scope, revoked FROM _api_tokens")
    assert rows == [(token_id, "crm", "write", False)]
    ok(run_cli("tokens", "revoke", token_id, "-w", ws))
    assert query(ws / "custseg.duckdb", "SELECT revoked FROM _api_tokens")[0] == (True,)
    bad = run_cli("tokens", "revoke", "nope", "-w", ws)
    assert bad.returncode == 2 and "no token with id 'nope'" in bad.stderr
    scope = run_cli("tokens", "create", "--scope", "root", "-w", ws)
    assert scope.returncode == 2 and "read, write, admin" in scope.stderr
