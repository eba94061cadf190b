"""CLV validation per run: predicted orders against the orders customers then placed."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pandas as pd
import pytest

from custseg import pipeline
from custseg.exceptions import UsageError
from custseg.monitor.validation import (
    _SCHEMA,
    PREDICTION_SNAPSHOTS_TABLE,
    latest_checkable_run,
    validate_run,
)
from custseg.workspace import open_workspace
from tests.api._store import copy_store, piped_store

AS_OF = date(2024, 3, 31)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def tiny(ws):
    return build_tiny(ws)


def build_tiny(ws):
    """Four predicted customers with hand-placed orders around a run as of 2024-03-31.

    Run ``run-1``, horizon 30 days: actual purchase days A 2, B 0, C 2, D 1 against
    predictions 2, 1, 0.5, 0.25; rfm segments s1 (A, B), s2 (C), none (D).
    """
    con = ws.connect()
    orders = [
        # A: the as-of day does not count; two orders on Apr 1 are one purchase day;
        # the horizon's last day (Apr 30) counts -> 2
        ("o1", "A", "2024-03-31T23:00:00", "paid"),
        ("o2", "A", "2024-04-01T10:00:00", "paid"),
        ("o3", "A", "2024-04-01T15:00:00", "paid"),
        ("o4", "A", "2024-04-30T23:59:00", "paid"),
        # B: cancelled (any case and spacing), then after the horizon -> 0
        ("o5", "B", "2024-04-10T12:00:00", " Cancelled "),
        ("o6", "B", "2024-05-01T00:00:00", "paid"),
        # C: two days -> 2
        ("o7", "C", "2024-04-15T08:00:00", "paid"),
        ("o8", "C", "2024-04-20T08:00:00", None),
        # D: one day -> 1
        ("o9", "D", "2024-04-02T08:00:00", "refunded"),
        # a guest order and a customer without a prediction count nowhere
        ("o10", None, "2024-04-05T08:00:00", "paid"),
        ("o11", "Z", "2024-04-03T08:00:00", "paid"),
        ("o12", "Z", "2024-05-10T08:00:00", "paid"),  # the latest order
    ]
    con.create_table(
        "orders",
        ibis.memtable(
            {
                "order_id": [o[0] for o in orders],
                "customer_id": [o[1] for o in orders],
                "ordered_at": [_ts(o[2]) for o in orders],
                "status": [o[3] for o in orders],
                "total": [10.0] * len(orders),
                "refunded": [None] * len(orders),
            },
            schema={
                "order_id": "string",
                "customer_id": "string",
                "ordered_at": "timestamp('UTC')",
                "status": "string",
                "total": "float64",
                "refunded": "float64",
            },
        ),
    )
    preds = {"A": 2.0, "B": 1.0, "C": 0.5, "D": 0.25}
    rows = [
        {
            "run_id": "run-1",
            "as_of": AS_OF,
            "customer_id": c,
            "horizon_days": 30,
            "expected_orders": p,
            "p_alive": 0.5,
            "clv": 100.0,
            "clv_frequency": 1.0,
            "clv_recency": 1.0,
            "clv_T": 2.0,
            "clv_monetary": 10.0,
        }
        for c, p in preds.items()
    ]
    con.create_table(PREDICTION_SNAPSHOTS_TABLE, ibis.memtable(rows, schema=_SCHEMA))
    con.create_table(
        "membership_snapshots",
        ibis.memtable(
            {
                "run_id": ["run-1"] * 4,
                "customer_id": ["A", "B", "C", "A"],
                "family": ["rfm", "rfm", "rfm", "clv_tier"],
                "segment": ["s1", "s1", "s2", "clv_top"],
            }
        ),
    )
    started = datetime(2024, 4, 1, tzinfo=UTC)
    pipeline._record(
        ws, pipeline.RunResult("run-1", AS_OF, "succeeded", started, started, stages={})
    )
    return ws


def test_actual_orders_by_hand(tiny) -> None:
    v = validate_run(tiny, "run-1")
    assert (v.horizon_days, v.end) == (30, date(2024, 4, 30))
    o = v.overall.iloc[0]
    assert (int(o.n_customers), o.predicted, int(o.actual)) == (4, 3.75, 5)
    assert o.relative_error == pytest.approx(3.75 / 5 - 1)
    # |2-2| + |1-0| + |0.5-2| + |0.25-1| over 4
    assert o.mae == pytest.approx((0 + 1 + 1.5 + 0.75) / 4)
    assert o.rmse == pytest.approx(math.sqrt((0 + 1 + 1.5**2 + 0.75**2) / 4))
    seg = v.by_segment.set_index("segment")
    assert seg.n_customers.to_dict() == {"(none)": 1, "s1": 2, "s2": 1}
    assert seg.predicted.to_dict() == {"(none)": 0.25, "s1": 3.0, "s2": 0.5}
    assert seg.actual.to_dict() == {"(none)": 1, "s1": 2, "s2": 2}
    # fewer customers than groups: one each, lowest prediction first (D, C, B, A)
    cal = v.calibration
    assert list(cal.decile) == [1, 2, 3, 4]
    assert list(cal.mean_predicted) == [0.25, 0.5, 1.0, 2.0]
    assert list(cal.mean_actual) == [1.0, 2.0, 0.0, 2.0]


def test_other_family_and_errors(tiny) -> None:
    v = validate_run(tiny, "run-1", by="clv_tier")
    seg = v.by_segment.set_index("segment")
    assert seg.n_customers.to_dict() == {"(none)": 3, "clv_top": 1}
    assert seg.actual.to_dict() == {"(none)": 3, "clv_top": 2}
    with pytest.raises(UsageError, match="2024-05-30.*at most 40 days"):
        validate_run(tiny, "run-1", horizon_days=60)
    with pytest.raises(UsageError, match="families are: clv_tier, rfm"):
        validate_run(tiny, "run-1", by="cluster")
    with pytest.raises(UsageError, match="no run 'run-x'"):
        validate_run(tiny, "run-x")
    assert latest_checkable_run(tiny) == "run-1"
    assert latest_checkable_run(tiny, horizon_days=41) is None


def test_history_section_shows_the_check(tiny) -> None:
    from custseg.monitor.history import _validation_html
    from custseg.profiles.report import html_table

    html = _validation_html(tiny, html_table)
    # 3.75 predicted against 5 actual: -25.0%; four deciles of one customer
    assert "run-1" in html and "to 2024-04-30" in html and "(-25.0%)" in html
    assert html.count("<tr>") == 1 + 4


# --------------------------------------------------------------------------- demo store


@pytest.fixture(scope="module")
def year_back(demo_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """The piped demo store plus a run as of a year before the last order."""
    src = piped_store(demo_store, tmp_path_factory.getbasetemp())
    root = copy_store(src, tmp_path_factory.mktemp("validation") / "ws")
    ws = open_workspace(root)
    con = ws.connect().con
    last = con.execute("SELECT max(ordered_at)::DATE FROM orders").fetchone()[0]
    h = ws.config.clv.horizon_days
    r = pipeline.run(ws, as_of=last - timedelta(days=h), recommendations=False, deliveries=False)
    yield ws, r
    ws.close()


def _actual_with_pandas(ws, as_of: date, end: date, customers: set[str]) -> int:
    o = ws.connect().con.execute("SELECT customer_id, ordered_at, status FROM orders").df()
    o = o[o.customer_id.notna()]
    o = o[o.status.isna() | (o.status.str.strip().str.lower() != "cancelled")]
    day = pd.to_datetime(o.ordered_at, utc=True).dt.date
    o = o.assign(day=day)
    o = o[(o.day > as_of) & (o.day <= end) & o.customer_id.isin(customers)]
    return len(o[["customer_id", "day"]].drop_duplicates())


def test_demo_run_predicted_against_actual(year_back) -> None:
    ws, r = year_back
    v = validate_run(ws, r.run_id)
    assert v.horizon_days == ws.config.clv.horizon_days and v.as_of == r.as_of
    con = ws.connect().con
    customers = {
        c
        for (c,) in con.execute(
            "SELECT customer_id FROM prediction_snapshots WHERE run_id = ?", [r.run_id]
        ).fetchall()
    }
    o = v.overall.iloc[0]
    assert int(o.n_customers) == len(customers)
    assert int(o.actual) == _actual_with_pandas(ws, v.as_of, v.end, customers)
    stored = con.execute(
        "SELECT sum(expected_orders) FROM prediction_snapshots WHERE run_id = ?", [r.run_id]
    ).fetchone()[0]
    assert o.predicted == pytest.approx(stored)
    # rfm is exclusive: the segments add up to the whole
    seg = v.by_segment
    assert seg.n_customers.sum() == o.n_customers
    assert seg.actual.sum() == o.actual
    assert seg.predicted.sum() == pytest.approx(o.predicted)
    assert v.calibration.n_customers.sum() == o.n_customers
    # per segment too, from the run's memberships and plain pandas
    m = con.execute(
        "SELECT customer_id, segment FROM membership_snapshots WHERE run_id = ? AND family = 'rfm'",
        [r.run_id],
    ).fetchall()
    by_seg: dict[str, set[str]] = {}
    for c, sname in m:
        if c in customers:
            by_seg.setdefault(sname, set()).add(c)
    for row in seg.itertuples():
        if row.segment in by_seg:
            want = _actual_with_pandas(ws, v.as_of, v.end, by_seg[row.segment])
            assert int(row.actual) == want, row.segment
            assert row.relative_error == pytest.approx(
                row.predicted / want - 1 if want else math.nan, nan_ok=True
            )
    # the highest decile buys more than the lowest
    assert v.calibration.mean_actual.iloc[-1] > v.calibration.mean_actual.iloc[0]


def test_demo_run_over_a_shorter_horizon_refits_the_same_model(year_back) -> None:
    ws, r = year_back
    full = validate_run(ws, r.run_id)
    short = validate_run(ws, r.run_id, horizon_days=90)
    assert short.notes == []  # the refit reproduced the stored predictions
    assert short.end == r.as_of + timedelta(days=90)
    # expected orders grow with the horizon, so do the actual ones
    assert short.overall.predicted.iloc[0] < full.overall.predicted.iloc[0]
    assert short.overall.actual.iloc[0] <= full.overall.actual.iloc[0]
    assert int(short.overall.n_customers.iloc[0]) == int(full.overall.n_customers.iloc[0])
