"""Atomic runs (a failed or killed run leaves the last good one current) and backfills."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custseg import pipeline
from custseg.exceptions import UsageError
from custseg.workspace import open_workspace
from tests.api._store import copy_store, piped_store

# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("start", "end", "every", "expected"),
    [
        # leap year: Jan 31 -> Feb 29, back to the 31st in March, clamped to Apr 30
        (
            date(2024, 1, 31),
            date(2024, 5, 15),
            "month",
            [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
            + [date(2024, 5, 15)],
        ),
        (
            date(2023, 1, 31),
            date(2023, 3, 1),
            "month",
            [date(2023, 1, 31), date(2023, 2, 28)] + [date(2023, 3, 1)],
        ),
        # the end falls on a step: not repeated
        (
            date(2024, 1, 31),
            date(2024, 3, 31),
            "month",
            [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)],
        ),
        (
            date(2024, 1, 1),
            date(2024, 1, 20),
            "week",
            [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15), date(2024, 1, 20)],
        ),
        (
            date(2023, 11, 30),
            date(2024, 6, 30),
            "quarter",
            [date(2023, 11, 30), date(2024, 2, 29), date(2024, 5, 31), date(2024, 6, 30)],
        ),
        # not a month end: the day is kept, clamped where the month is shorter
        (
            date(2024, 1, 30),
            date(2024, 5, 1),
            "month",
            [date(2024, 1, 30), date(2024, 2, 29), date(2024, 3, 30), date(2024, 4, 30)]
            + [date(2024, 5, 1)],
        ),
        (
            date(2023, 11, 29),
            date(2024, 6, 30),
            "quarter",
            [date(2023, 11, 29), date(2024, 2, 29), date(2024, 5, 29), date(2024, 6, 30)],
        ),
        # December -> January crosses the year
        (date(2024, 12, 31), date(2025, 1, 31), "month", [date(2024, 12, 31), date(2025, 1, 31)]),
        (date(2024, 6, 30), date(2024, 6, 30), "month", [date(2024, 6, 30)]),
    ],
)
def test_backfill_dates(start, end, every, expected) -> None:
    assert pipeline.backfill_dates(start, end, every) == expected


def test_backfill_dates_reject_bad_input() -> None:
    with pytest.raises(UsageError, match="week, month, quarter"):
        pipeline.backfill_dates(date(2024, 1, 1), date(2024, 2, 1), "day")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="after it ends"):
        pipeline.backfill_dates(date(2024, 2, 1), date(2024, 1, 1), "month")


# --------------------------------------------------------------------------- atomic runs


@pytest.fixture(scope="module")
def piped(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store after one successful run (shared with tests/api; read-only)."""
    return piped_store(demo_store, tmp_path_factory.getbasetemp())


def _state(ws) -> dict:
    """Everything a run writes, read back with plain SQL."""
    con = ws.connect().con
    tables = set(ws.tables())

    def q(sql: str) -> list[tuple]:
        return con.execute(sql).fetchall()

    return {
        "memberships": q(
            "SELECT customer_id, family, segment, run_id FROM memberships ORDER BY ALL"
        ),
        "features_as_of": q("SELECT DISTINCT as_of FROM customer_features"),
        "features_n": q("SELECT count(*), sum(amount_spent) FROM customer_features"),
        "history": q("SELECT DISTINCT run_id FROM membership_snapshots ORDER BY 1"),
        "feature_snapshots": q("SELECT DISTINCT run_id FROM feature_snapshots ORDER BY 1"),
        "predictions": q("SELECT DISTINCT run_id FROM prediction_snapshots ORDER BY 1")
        if "prediction_snapshots" in tables
        else None,
        "actions": q("SELECT * FROM customer_actions ORDER BY ALL")
        if "customer_actions" in tables
        else None,
    }


def _first_run(ws) -> pipeline.RunResult:
    runs = [r for r in pipeline.list_runs(ws) if r.status == "succeeded"]
    assert len(runs) == 1
    return runs[0]


def test_a_failing_stage_rolls_everything_back(piped: Path, tmp_path: Path) -> None:
    root = copy_store(piped, tmp_path / "ws")
    with open_workspace(root) as ws:
        first = _first_run(ws)
        before = _state(ws)
        assert before["memberships"] and before["features_as_of"] == [(first.as_of,)]

        def boom(stage: str, state: str) -> None:
            if (stage, state) == ("actions", "start"):  # features, segments, snapshots done
                raise RuntimeError("disk on fire")

        other = first.as_of - timedelta(days=90)
        with pytest.raises(RuntimeError, match="disk on fire"):
            pipeline.run(ws, as_of=other, on_stage=boom)
        assert _state(ws) == before
        failed = [r for r in pipeline.list_runs(ws) if r.status == "failed"]
        assert len(failed) == 1
        assert failed[0].as_of == other and "disk on fire" in (failed[0].error or "")
        assert pipeline.current_run(ws).run_id == first.run_id


_KILLER = """
import os, signal, sys
from datetime import date
from custseg import pipeline
from custseg.workspace import open_workspace

ws = open_workspace(sys.argv[1])
def kill(stage, state):
    if (stage, state) == ("actions", "start"):
        os.kill(os.getpid(), signal.SIGKILL)
pipeline.run(ws, as_of=date.fromisoformat(sys.argv[2]), on_stage=kill)
"""


def test_a_killed_run_leaves_the_previous_run_current_and_served(
    piped: Path, tmp_path: Path
) -> None:
    from custseg.api import create_app
    from custseg.api.tokens import create_token

    root = copy_store(piped, tmp_path / "ws")
    with open_workspace(root) as ws:
        first = _first_run(ws)
        before = _state(ws)
    other = first.as_of - timedelta(days=90)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLER), str(root), other.isoformat()],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    ws = open_workspace(root)
    try:
        assert _state(ws) == before
        assert pipeline.current_run(ws).run_id == first.run_id
        killed = [r for r in pipeline.list_runs(ws) if r.run_id != first.run_id]
        assert [(r.status, r.as_of) for r in killed] == [("running", other)]
        # one customer in several segments: the card must list the first run's ones
        cid = (
            ws.connect()
            .con.execute(
                "SELECT customer_id FROM memberships GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            )
            .fetchone()[0]
        )
        want = sorted((seg, fam) for c, fam, seg, _ in before["memberships"] if c == cid)
        token = create_token(ws.connect(), scope="read", name="kill test")[1]
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(ws)) as client:
            card = client.get(f"/customers/{cid}", headers=auth).json()
            assert card["run_id"] == first.run_id
            assert card["as_of"] == first.as_of.isoformat()
            assert sorted((s["key"], s["family"]) for s in card["segments"]) == want
            assert client.get("/runs/current", headers=auth).json()["run_id"] == first.run_id

            # the next run marks the killed one interrupted (this one fails early)
            def fail(stage: str, state: str) -> None:
                if stage == "features":
                    raise RuntimeError("stop here")

            with pytest.raises(RuntimeError):
                pipeline.run(ws, on_stage=fail)
            listed = {
                r["run_id"]: r["status"] for r in client.get("/runs", headers=auth).json()["data"]
            }
            assert listed[killed[0].run_id] == "interrupted"
            assert listed[first.run_id] == "succeeded"
            assert client.get("/runs/current", headers=auth).json()["run_id"] == first.run_id
    finally:
        ws.close()


# --------------------------------------------------------------------------- backfill


def test_backfill_three_monthly_runs(piped: Path, tmp_path: Path) -> None:
    root = copy_store(piped, tmp_path / "ws")
    with open_workspace(root) as ws:
        con = ws.connect().con
        last = con.execute("SELECT max(ordered_at)::DATE FROM orders").fetchone()[0]
        first_order = con.execute("SELECT min(ordered_at)::DATE FROM orders").fetchone()[0]
        start = date(last.year, last.month, 1) - timedelta(days=1)  # end of the month before
        start = date(start.year, start.month, 1) - timedelta(days=1)  # and the one before
        seen: list[tuple[int, int, date]] = []
        results = pipeline.backfill(
            ws, start, every="month", on_run=lambda i, n, r: seen.append((i, n, r.as_of))
        )
        # hand-computed: two month ends, then the last order's date
        mid = date(last.year, last.month, 1) - timedelta(days=1)
        want = [start, mid, last]
        assert [r.as_of for r in results] == want
        assert seen == [(1, 3, want[0]), (2, 3, want[1]), (3, 3, want[2])]
        assert all(r.status == "succeeded" for r in results)
        assert [r.details.get("skipped") for r in results] == [
            ["recommendations", "deliveries"],
            ["recommendations", "deliveries"],
            ["deliveries"],
        ]
        ids = [r.run_id for r in results]
        q = con.execute
        history = q(
            "SELECT run_id, as_of FROM segment_history WHERE run_id IN (?, ?, ?) "
            "GROUP BY ALL ORDER BY as_of",
            ids,
        ).fetchall()
        assert history == list(zip(ids, want, strict=True))
        snaps = q(
            "SELECT DISTINCT run_id, as_of FROM membership_snapshots WHERE run_id IN (?, ?, ?) "
            "ORDER BY as_of",
            ids,
        ).fetchall()
        assert snaps == list(zip(ids, want, strict=True))
        preds = q(
            "SELECT DISTINCT run_id, as_of FROM prediction_snapshots WHERE run_id IN (?, ?, ?) "
            "ORDER BY as_of",
            ids,
        ).fetchall()
        assert preds == list(zip(ids, want, strict=True))
        assert q("SELECT DISTINCT as_of FROM customer_features").fetchall() == [(last,)]
        assert pipeline.current_run(ws).run_id == ids[-1]

        # the same dates again, same config and data: nothing runs
        n_runs = len(pipeline.list_runs(ws))
        again = pipeline.backfill(ws, start, every="month", skip_existing=True)
        assert [r.run_id for r in again] == ids
        assert all(r.details.get("reused") for r in again)
        assert len(pipeline.list_runs(ws)) == n_runs

        with pytest.raises(UsageError, match="after the data's last order"):
            pipeline.backfill(ws, last + timedelta(days=1))
        with pytest.raises(UsageError, match="before the first order"):
            pipeline.backfill(ws, first_order - timedelta(days=1))
        with pytest.raises(UsageError, match="week, month, quarter"):
            pipeline.backfill(ws, start, every="fortnight")  # type: ignore[arg-type]
