"""Page data across two runs (changes, migration, trends), and the small helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import plotly.graph_objects as go
import pytest

from custseg.dashboard import queries
from custseg.dashboard.cache import RunCache
from custseg.dashboard.figures import figure_json, sparkline_svg
from custseg.workspace import Workspace, open_workspace
from tests.api._store import copy_store


def _sql(ws: Workspace, query: str, params: list | None = None) -> list[tuple]:
    return ws.connect().con.execute(query, params or []).fetchall()


@pytest.fixture(scope="module")
def two_runs(piped: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A copy of the piped store, then a second run 90 days earlier (the dashboard has not
    seen the first: its CLV total must come from the run's prediction snapshot).

    Yields the workspace, the first run's id and its predicted-CLV total (by SQL).
    """
    from custseg import pipeline

    root = copy_store(piped, tmp_path_factory.mktemp("two_runs") / "ws")
    ws = open_workspace(root)
    first = _sql(ws, "SELECT max(run_id) FROM memberships")[0][0]
    clv_first = _sql(ws, "SELECT sum(clv_365d) FROM customer_features")[0][0]
    as_of = _sql(ws, "SELECT max(as_of) FROM customer_features")[0][0]
    pipeline.run(ws, as_of=as_of - timedelta(days=90))  # other dates: customers move
    yield ws, first, clv_first
    ws.close()


def test_kpis_compare_with_the_previous_run(two_runs) -> None:
    ws, first, clv_first = two_runs
    got = {k.key: k for k in queries.kpis(ws)}
    n_prev, v_prev = _sql(
        ws,
        "SELECT sum(size), sum(value) FROM segment_history WHERE run_id = ? AND family = 'rfm'",
        [first],
    )[0]
    assert got["customers"].previous == n_prev
    assert got["revenue"].previous == pytest.approx(v_prev)
    high = _sql(
        ws, "SELECT size FROM segment_history WHERE run_id = ? AND segment = 'churn_high'", [first]
    )[0][0]
    assert got["churn"].previous == pytest.approx(high / n_prev)
    assert got["clv"].previous == pytest.approx(clv_first)
    n_now = _sql(ws, "SELECT count(*) FROM customer_features")[0][0]
    assert got["customers"].change == n_now - n_prev
    spent = _sql(ws, "SELECT sum(amount_spent) FROM customer_features")[0][0]
    assert got["revenue"].change == pytest.approx(spent - v_prev)
    assert spent < v_prev  # 90 days earlier, less had been spent


def test_migration_counts_match_the_snapshots(two_runs) -> None:
    ws, first, _ = two_runs
    second = _sql(ws, "SELECT max(run_id) FROM memberships")[0][0]
    m = queries.segment_migration(ws, "rfm_champions", "rfm")
    assert (m["run_a"], m["run_b"]) == (first, second)

    def ids(run: str) -> set[str]:
        return {
            i
            for (i,) in _sql(
                ws,
                "SELECT customer_id FROM membership_snapshots WHERE run_id = ? "
                "AND segment = 'rfm_champions'",
                [run],
            )
        }

    a, b = ids(first), ids(second)
    assert m["stayed"] == len(a & b)
    assert m["entered"] == len(b - a)
    assert m["exited"] == len(a - b)
    assert m["entered"] + m["exited"] > 0
    assert sum(r["customers"] for r in m["sources"]) <= len(b - a)


def test_size_trends_have_one_point_per_run(two_runs) -> None:
    ws, first, _ = two_runs
    trends = queries.size_trends(ws)
    runs = _sql(ws, "SELECT count(DISTINCT run_id) FROM segment_history")[0][0]
    assert runs == 2
    sizes = [
        s
        for (s,) in _sql(
            ws,
            "SELECT size FROM segment_history WHERE segment = 'rfm_lost' ORDER BY run_id",
        )
    ]
    assert trends["rfm_lost"] == sizes


def test_run_cache_drops_entries_when_the_run_changes() -> None:
    cache = RunCache(max_entries=2)
    calls: list[str] = []

    def make(v: str):
        def compute() -> str:
            calls.append(v)
            return v

        return compute

    assert cache.get("r1", "a", make("a1")) == "a1"
    assert cache.get("r1", "a", make("a2")) == "a1"
    assert cache.get("r2", "a", make("a3")) == "a3"
    cache.get("r2", "b", make("b"))
    cache.get("r2", "c", make("c"))
    assert cache.get("r2", "a", make("a4")) == "a4"  # evicted: only 2 kept
    assert calls == ["a1", "a3", "b", "c", "a4"]


def test_sparkline_scales_values_into_the_box() -> None:
    svg = str(sparkline_svg([10, 20, 30], width=90, height=22))
    points = svg.split('points="')[1].split('"')[0].split()
    xs = [float(p.split(",")[0]) for p in points]
    ys = [float(p.split(",")[1]) for p in points]
    assert xs == [2.0, 45.0, 88.0]
    assert ys == [20.0, 11.0, 2.0]  # the largest value at the top
    assert "<circle" in str(sparkline_svg([5]))
    assert "<svg" not in str(sparkline_svg([]))


def test_figure_json_cannot_close_its_script_element() -> None:
    fig = go.Figure(go.Bar(x=["</script><b>&"], y=[1]))
    text = str(figure_json(fig))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["data"][0]["x"] == ["</script><b>&"]
