"""A load is all or nothing: a failure part way, or a SIGKILL at a random point, leaves the
workspace exactly as it was before the load."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

import custseg.ingest.store as store
from custseg.exceptions import LoadError
from custseg.workspace import Workspace, init_workspace, open_workspace

from .conftest import CANONICAL, FORMATS, load, one, snapshot, write

FX = "[ingest.fx_rates]\nEUR = 1.08\n"


# --------------------------------------------------------------------------- failure part way


@pytest.mark.parametrize("fail_at", [1, 2], ids=["first_table", "second_table"])
def test_failed_load_leaves_every_table_as_before(make_ws, monkeypatch, fail_at):
    ws = make_ws(FX)
    load(ws, FORMATS / "shopify_customers_v4.csv", mapping="shopify_customers")
    load(ws, FORMATS / "shopify_orders_79.csv", mapping="shopify_orders")
    before = snapshot(ws)
    assert len(before["orders"]) == 5 and len(before["_loads"]) == 2

    real = store._upsert
    calls: list[str] = []

    def failing(con, table, rel):
        calls.append(table)
        if len(calls) == fail_at:
            raise RuntimeError("disk on fire")
        return real(con, table, rel)

    monkeypatch.setattr(store, "_upsert", failing)
    # the 75-column file brings 4 new orders, 8 lines and 1 stub customer
    with pytest.raises(LoadError) as e:
        load(ws, FORMATS / "shopify_orders_75.csv", mapping="shopify_orders")
    assert "disk on fire" in str(e.value) and "previous state" in str(e.value)
    assert calls == ["orders", "order_lines"][:fail_at]  # the first table was really written
    assert snapshot(ws) == before

    # the connection is usable afterwards and the same load now succeeds
    monkeypatch.setattr(store, "_upsert", real)
    rep = load(ws, FORMATS / "shopify_orders_75.csv", mapping="shopify_orders")
    assert rep.rows_loaded == 8
    assert one(ws, "SELECT count(*) FROM orders") == 9


def test_failed_customers_load_keeps_old_rows_and_quarantine(make_ws, monkeypatch, tmp_path):
    ws = make_ws()
    f = write(tmp_path / "c.csv", "customer_id,email\nc1,a@x.com\n,b@x.com\n")
    load(ws, f, table="customers")
    before = snapshot(ws)
    write(f, "customer_id,email\nc1,new@x.com\nc2,c@x.com\n")

    def boom(*a, **k):
        raise RuntimeError("no space left")

    monkeypatch.setattr(store, "_upsert", boom)
    with pytest.raises(LoadError):
        load(ws, f, table="customers")
    assert snapshot(ws) == before


# --------------------------------------------------------------------------- SIGKILL

#: rows of the big file; enough for a load of a few seconds on a small machine
BIG_ROWS = 60_000
FIRST_ROWS = 3_000
KILLS = 3
SEED = 20240601

CHILD = """
import sys
from custseg.workspace import open_workspace
from custseg.ingest import ingest_file
ws = open_workspace(sys.argv[1])
ws.connect().con.execute("SET enable_progress_bar = false")
ingest_file(ws, sys.argv[2], table="orders", force=True)
ws.close()
"""


def _orders_csv(path: Path, n: int, *, total: str, bad_every: int) -> Path:
    """Orders o0..o{n-1} of customers c0..c{n/10}; every ``bad_every``-th date is invalid."""
    i = np.arange(n)
    ids = np.char.add("o", i.astype(str))
    cust = np.char.add("c", (i // 10).astype(str))
    dates = np.where(i % bad_every == 0, "2024-13-45 10:00:00", "2024-01-01 10:00:00")
    table = pa.table(
        {
            "order_id": pa.array(ids.tolist()),
            "customer_id": pa.array(cust.tolist()),
            "ordered_at": pa.array(dates.tolist()),
            "total": pa.array([total] * n),
            "currency": pa.array(["USD"] * n),
        }
    )
    pcsv.write_csv(table, path)
    return path


def _digest(ws: Workspace) -> dict:
    """Order-independent digest of the canonical tables and of the quarantine content."""
    con = ws.connect().con
    out = {
        t: con.execute(f'SELECT count(*), sum(hash(t)) FROM "{t}" t').fetchone() for t in CANONICAL
    }
    out["_quarantine"] = con.execute(
        "SELECT count(*), sum(hash(position, rule, reason, raw)) FROM _quarantine"
    ).fetchone()
    out["_loads"] = con.execute("SELECT count(*) FROM _loads").fetchone()
    return out


def _run_child(root: Path, big: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_kill_at_random_points_leaves_the_previous_state(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root)
    ws = open_workspace(root)
    load(
        ws,
        write(
            tmp_path / "c.csv",
            "customer_id,email\n" + "".join(f"c{k},u{k}@x.com\n" for k in range(100)),
        ),
        table="customers",
    )
    load(
        ws,
        _orders_csv(tmp_path / "first.csv", FIRST_ROWS, total="1.00", bad_every=500),
        table="orders",
    )
    pre = snapshot(ws)
    pre_digest = _digest(ws)
    assert len(pre["orders"]) == FIRST_ROWS - FIRST_ROWS // 500
    ws.close()
    backup = tmp_path / "ws_backup"
    shutil.copytree(root, backup)

    # the big load updates the first 3000 orders, adds the rest, creates stubs, quarantines
    big = _orders_csv(tmp_path / "big.csv", BIG_ROWS, total="2.50", bad_every=1000)

    # calibration: an uninterrupted run on a copy gives the typical duration and the end state
    calib = tmp_path / "ws_calib"
    shutil.copytree(backup, calib)
    t0 = time.monotonic()
    proc = _run_child(calib, big)
    _, err = proc.communicate(timeout=600)
    duration = time.monotonic() - t0
    assert proc.returncode == 0, err.decode()
    with open_workspace(calib) as done:
        post_digest = _digest(done)
        assert one(done, "SELECT count(*) FROM orders") == BIG_ROWS - BIG_ROWS // 1000
    assert post_digest != pre_digest

    rng = random.Random(SEED)
    span = (duration - 0.2) / KILLS
    outcomes = []
    for k in range(KILLS):
        delay = rng.uniform(0.2 + k * span, 0.2 + (k + 1) * span)
        proc = _run_child(root, big)
        time.sleep(delay)
        proc.kill()  # SIGKILL, this process only
        proc.wait(timeout=60)
        with open_workspace(root) as after:
            if _digest(after) == post_digest:
                # the kill came after COMMIT: the whole load is there; start again from before
                outcomes.append("committed")
            else:
                assert snapshot(after) == pre, f"kill {k} after {delay:.2f}s of {duration:.2f}s"
                outcomes.append("rolled back")
        if outcomes[-1] == "committed":
            shutil.rmtree(root)
            shutil.copytree(backup, root)
    assert "rolled back" in outcomes, outcomes

    # a normal load still works on the killed workspace
    with open_workspace(root) as ws:
        rep = load(
            ws, write(tmp_path / "small.csv", "customer_id,email\nz1,z@x.com\n"), table="customers"
        )
        assert rep.rows_loaded == 1
        assert one(ws, "SELECT count(*) FROM customers WHERE NOT is_stub") == 101
        assert one(ws, "SELECT count(*) FROM orders") == len(pre["orders"])
