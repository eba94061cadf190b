"""`custseg backfill` and `custseg runs validate|list` through the real command line app."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.workspace import open_workspace
from tests.api._store import copy_store, piped_store
from tests.monitor.test_validation import build_tiny

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_validate_on_a_hand_made_run(ws) -> None:
    build_tiny(ws)
    root = str(ws.root)
    ws.close()
    r = _invoke("runs", "validate", "--latest-checkable", "--json", "-w", root)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["run_id"] == "run-1" and body["end"] == "2024-04-30"
    assert (body["overall"]["predicted"], body["overall"]["actual"]) == (3.75, 5)
    assert {s["segment"]: s["actual"] for s in body["by_segment"]} == {
        "(none)": 1,
        "s1": 2,
        "s2": 2,
    }
    r = _invoke("runs", "validate", "run-1", "-w", root)
    assert r.exit_code == 0, r.output
    assert "actual 5 " in r.output and "Calibration" in r.output
    r = _invoke("runs", "validate", "run-1", "--horizon-days", "60", "-w", root)
    assert r.exit_code == 2 and "checkable once orders through 2024-05-30" in r.output
    r = _invoke("runs", "validate", "-w", root)
    assert r.exit_code == 2 and "--latest-checkable" in r.output
    r = _invoke("runs", "validate", "--latest", "--horizon-days", "41", "-w", root)
    assert r.exit_code == 2 and "no run can be checked over 41 days" in r.output


@pytest.fixture
def piped_copy(demo_store: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    src = piped_store(demo_store, tmp_path_factory.getbasetemp())
    return copy_store(src, tmp_path / "ws")


def test_backfill_errors_and_one_run(piped_copy: Path) -> None:
    with open_workspace(piped_copy) as ws:
        con = ws.connect().con
        first, last = con.execute(
            "SELECT min(ordered_at)::DATE, max(ordered_at)::DATE FROM orders"
        ).fetchone()
    w = str(piped_copy)
    r = _invoke("backfill", "--from", str(last + timedelta(days=1)), "-w", w)
    assert r.exit_code == 2 and f"after the data's last order ({last})" in r.output
    r = _invoke("backfill", "--from", str(first - timedelta(days=1)), "-w", w)
    assert r.exit_code == 2 and f"before the first order ({first})" in r.output
    r = _invoke("backfill", "--from", str(first), "--every", "fortnight", "-w", w)
    assert r.exit_code == 2 and "week, month, quarter" in r.output
    r = _invoke("backfill", "--from", "last spring", "-w", w)
    assert r.exit_code == 2 and "--from 'last spring' is not a date" in r.output

    day = last - timedelta(days=30)
    r = _invoke("backfill", "--from", str(day), "--to", str(day), "-w", w)
    assert r.exit_code == 0, r.output
    assert f"[1/1] {day}" in r.output
    with open_workspace(piped_copy) as ws:
        from custseg.pipeline import current_run

        now = current_run(ws)
        assert now is not None and now.as_of == day
    r = _invoke("runs", "list", "-w", w)
    assert f"{now.run_id} *" in r.output
