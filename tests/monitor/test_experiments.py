"""Campaign measurement: hand-computed tiny campaigns, pandas/scipy recomputation, planted truth.

The persona test measures the demo store's planted spring campaign by the planted
persona and checks the lift estimates against the generator's true lifts
(``data/truth/campaign.json``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps

from custseg.exceptions import DataError, SchemaError, UsageError
from custseg.monitor import (
    campaign_frame,
    campaign_section,
    forest_plot,
    measure_campaign,
    measure_tables,
    outcomes_from_orders,
)
from custseg.monitor.experiments import UNSEGMENTED
from custseg.monitor.stats import newcombe_interval
from custseg.workspace import open_workspace

CAMPAIGN = "CMP-2025-SPRING"

# --------------------------------------------------------------------------- tiny campaign

EXPOSURES = {
    "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"],
    "arm": ["treatment", "Treatment", "treatment", "treatment", "control", "control", "treatment",
            " control"],
}  # fmt: skip
OUTCOMES = {  # c6 has no outcome row; c7 converted with unknown revenue; c8 unknown conversion
    "customer_id": ["c1", "c2", "c3", "c4", "c5", "c7", "c8"],
    "converted": [True, True, False, True, True, True, None],
    "revenue": [10.0, 30.0, 0.0, 50.0, 20.0, None, None],
}
SEGMENTS = {  # c3 in A and B, c7 in none
    "customer_id": ["c1", "c2", "c3", "c5", "c6", "c3", "c4", "c8"],
    "segment": ["A", "A", "A", "A", "A", "B", "B", "B"],
}
CLV = {"customer_id": ["c1", "c2", "c3", "c4", "c5", "c7", "c8"],
       "clv": [100.0, None, 50.0, 200.0, 80.0, 10.0, 40.0]}  # fmt: skip


def _tiny(**kw):
    return measure_tables(
        ibis.memtable(EXPOSURES),
        ibis.memtable(OUTCOMES, schema={"customer_id": "string", "converted": "boolean",
                                        "revenue": "float64"}),
        segments=ibis.memtable(SEGMENTS),
        clv=ibis.memtable(CLV, schema={"customer_id": "string", "clv": "float64"}),
        n_boot=500,
        **kw,
    )  # fmt: skip


def test_tiny_campaign_by_hand() -> None:
    overall, rows = _tiny()
    by = {r.segment: r for r in rows}
    assert list(by) == ["A", "B", UNSEGMENTED]
    a, b, u = by["A"], by["B"], by[UNSEGMENTED]
    # A: treatment c1 c2 c3 (2 conv, revenue 10+30, clv 100+0+50); control c5 c6 (1 conv, 20; 80+0)
    assert (a.n_treatment, a.conversions_treatment, a.n_control, a.conversions_control) == (
        3, 2, 2, 1,
    )  # fmt: skip
    assert a.lift == pytest.approx(2 / 3 - 1 / 2)
    assert a.revenue_treatment == pytest.approx(40 / 3)
    assert a.revenue_control == pytest.approx(10.0)
    assert a.incremental_revenue == pytest.approx((40 / 3 - 10) * 3)
    assert a.clv_treatment == pytest.approx(50.0)
    assert a.clv_control == pytest.approx(40.0)
    assert a.incremental_clv == pytest.approx((50 - 40) * 3)
    assert a.relative_lift == pytest.approx((2 / 3) / (1 / 2) - 1)
    # B: treatment c3 c4 (1 conv, 50; clv 50+200); control c8 (0 conv, 0; clv 40)
    assert (b.n_treatment, b.conversions_treatment, b.n_control, b.conversions_control) == (
        2, 1, 1, 0,
    )  # fmt: skip
    assert b.lift == pytest.approx(0.5)
    assert b.incremental_revenue == pytest.approx(25 * 2)
    assert b.incremental_clv == pytest.approx((125 - 40) * 2)
    assert b.relative_lift is None  # control rate 0
    # unsegmented: c7 only, no control: nothing to compare
    assert (u.n_treatment, u.conversions_treatment, u.n_control) == (1, 1, 0)
    assert u.rate_treatment == 1.0
    assert u.lift is None and u.lift_ci is None and u.p_value is None and u.q_value is None
    # overall counts each customer once: T c1 c2 c3 c4 c7, C c5 c6 c8
    assert (overall.n_treatment, overall.conversions_treatment) == (5, 4)
    assert (overall.n_control, overall.conversions_control) == (3, 1)
    assert overall.revenue_treatment == pytest.approx(90 / 5)
    assert overall.incremental_revenue == pytest.approx((18 - 20 / 3) * 5)
    assert overall.incremental_clv == pytest.approx((72 - 40) * 5)
    # intervals and q-values are wired to the right counts
    assert a.lift_ci == pytest.approx(newcombe_interval(2, 3, 1, 2))
    assert b.lift_ci == pytest.approx(newcombe_interval(1, 2, 0, 1))
    assert [a.q_value, b.q_value] == pytest.approx(
        sps.false_discovery_control([a.p_value, b.p_value])
    )
    assert a.revenue_diff_ci[0] <= a.revenue_diff <= a.revenue_diff_ci[1]


def test_campaign_frame_rows() -> None:
    frame = campaign_frame(
        ibis.memtable(EXPOSURES),
        ibis.memtable(OUTCOMES, schema={"customer_id": "string", "converted": "boolean",
                                        "revenue": "float64"}),
        segments=ibis.memtable(SEGMENTS),
    ).to_pandas()  # fmt: skip
    assert len(frame) == 9  # 8 exposures, c3 twice
    c7 = frame[frame.customer_id == "c7"].iloc[0]
    assert (c7.segment, c7.arm, c7.converted, c7.revenue) == (UNSEGMENTED, "treatment", 1, 0.0)
    assert set(frame.arm) == {"treatment", "control"}
    assert frame.clv.eq(0.0).all()


def _random_campaign(seed: int, n: int = 6000) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"k{i:05d}" for i in range(n)]
    arm = np.where(rng.random(n) < 0.15, "control", "treatment")
    seg = rng.choice(["s1", "s2", "s3", "s4"], n, p=[0.4, 0.3, 0.2, 0.1])
    base = {"s1": 0.05, "s2": 0.10, "s3": 0.02, "s4": 0.20}
    lift = {"s1": 0.03, "s2": 0.0, "s3": 0.04, "s4": 0.05}
    p = np.array(
        [base[s] + (lift[s] if a == "treatment" else 0) for s, a in zip(seg, arm, strict=True)]
    )
    conv = rng.random(n) < p
    rev = np.where(conv, np.round(rng.lognormal(4, 0.5, n), 2), 0.0)
    extra = rng.random(n) < 0.1  # 10% also in s2
    segments = pd.DataFrame(
        {
            "customer_id": ids + list(np.array(ids)[extra]),
            "segment": list(seg) + ["s2"] * extra.sum(),
        }
    ).drop_duplicates()
    return {
        "exposures": pd.DataFrame({"customer_id": ids, "arm": arm}),
        "outcomes": pd.DataFrame({"customer_id": ids, "converted": conv, "revenue": rev}),
        "segments": segments,
        "clv": pd.DataFrame({"customer_id": ids, "clv": rng.gamma(2.0, 100.0, n)}),
    }


def test_random_campaign_against_pandas_and_scipy() -> None:
    d = _random_campaign(11)
    overall, rows = measure_tables(
        ibis.memtable(d["exposures"]),
        ibis.memtable(d["outcomes"]),
        segments=ibis.memtable(d["segments"]),
        clv=ibis.memtable(d["clv"]),
        n_boot=300,
    )
    full = d["exposures"].merge(d["outcomes"], on="customer_id").merge(d["clv"], on="customer_id")
    per = full.merge(d["segments"], on="customer_id")
    assert [r.segment for r in rows] == ["s1", "s2", "s3", "s4"]
    for r in rows:
        g = per[per.segment == r.segment]
        t, c = g[g.arm == "treatment"], g[g.arm == "control"]
        assert (r.n_treatment, r.n_control) == (len(t), len(c))
        assert (r.conversions_treatment, r.conversions_control) == (
            t.converted.sum(),
            c.converted.sum(),
        )
        assert r.revenue_treatment == pytest.approx(t.revenue.mean(), rel=1e-9)
        assert r.revenue_control == pytest.approx(c.revenue.mean(), rel=1e-9)
        assert r.incremental_clv == pytest.approx((t.clv.mean() - c.clv.mean()) * len(t), rel=1e-9)
        chi = sps.chi2_contingency(
            [[t.converted.sum(), (~t.converted).sum()], [c.converted.sum(), (~c.converted).sum()]],
            correction=False,
        )
        assert r.p_method == "z"
        assert r.p_value == pytest.approx(chi.pvalue, rel=1e-9)
        welch = sps.ttest_ind(t.revenue, c.revenue, equal_var=False).pvalue
        assert r.p_revenue == pytest.approx(welch, rel=1e-6)
    assert [r.q_value for r in rows] == pytest.approx(
        sps.false_discovery_control([r.p_value for r in rows])
    )
    assert [r.q_revenue for r in rows] == pytest.approx(
        sps.false_discovery_control([r.p_revenue for r in rows])
    )
    assert overall.n_treatment + overall.n_control == len(full)
    assert overall.revenue_treatment == pytest.approx(
        full[full.arm == "treatment"].revenue.mean(), rel=1e-9
    )


def test_bootstrap_interval_per_segment_is_stable() -> None:
    """A segment's revenue interval depends on the seed and its own data only."""
    d = _random_campaign(12)
    kw = dict(
        exposures=ibis.memtable(d["exposures"]), outcomes=ibis.memtable(d["outcomes"]), n_boot=300
    )
    _, rows = measure_tables(segments=ibis.memtable(d["segments"]), seed=5, **kw)
    only = d["segments"][d["segments"].segment.isin(["s1", "s3"])]
    _, fewer = measure_tables(segments=ibis.memtable(only), seed=5, **kw)
    by = {r.segment: r for r in rows}
    for r in fewer:
        if r.segment != UNSEGMENTED:
            assert r.revenue_diff_ci == by[r.segment].revenue_diff_ci
    _, reseeded = measure_tables(segments=ibis.memtable(d["segments"]), seed=6, **kw)
    assert reseeded[0].revenue_diff_ci != rows[0].revenue_diff_ci
    assert reseeded[0].lift_ci == rows[0].lift_ci


def test_bad_exposures() -> None:
    out = ibis.memtable({"customer_id": ["a"], "converted": [True], "revenue": [1.0]})
    with pytest.raises(DataError, match="unknown arm value.*'holdout'"):
        measure_tables(
            ibis.memtable({"customer_id": ["a", "b"], "arm": ["treatment", "holdout"]}), out
        )
    with pytest.raises(DataError, match="2 rows but 1 distinct"):
        measure_tables(
            ibis.memtable({"customer_id": ["a", "a"], "arm": ["treatment", "control"]}), out
        )
    with pytest.raises(SchemaError, match="arm"):
        measure_tables(ibis.memtable({"customer_id": ["a"], "group": ["treatment"]}), out)
    with pytest.raises(UsageError, match="bootstrap"):
        measure_tables(
            ibis.memtable({"customer_id": ["a"], "arm": ["control"]}), out, bootstrap="bad"
        )


def test_outcomes_from_orders_window() -> None:
    start = datetime(2025, 4, 8, 9, 0, tzinfo=UTC)
    ts = pd.to_datetime
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
            "customer_id": ["a", "a", "b", "b", "c", "d", "x"],
            "ordered_at": ts(["2025-04-08T09:00:00Z",   # a: at the start, counts
                              "2025-04-22T08:59:59Z",   # a: last second of the window
                              "2025-04-08T08:59:59Z",   # b: before the start
                              "2025-04-22T09:00:00Z",   # b: end is exclusive
                              "2025-04-10T00:00:00Z",   # c: cancelled
                              "2025-04-12T00:00:00Z",   # d: partly refunded
                              "2025-04-12T00:00:00Z"]), # x: not exposed
            "status": ["placed", "placed", "placed", "placed", "Cancelled", "refunded", "placed"],
            "total": [10.0, 5.0, 7.0, 9.0, 50.0, 40.0, 1.0],
            "refunded": [None, 0.0, None, None, None, 15.0, None],
        }
    )  # fmt: skip
    exposures = ibis.memtable({"customer_id": ["a", "b", "c", "d", "e"]})
    got = (
        outcomes_from_orders(exposures, ibis.memtable(orders), started_at=start, window_days=14)
        .to_pandas()
        .set_index("customer_id")
        .sort_index()
    )
    assert list(got.index) == ["a", "d"]
    assert got.loc["a", "revenue"] == pytest.approx(15.0)
    assert got.loc["d", "revenue"] == pytest.approx(25.0)
    assert got.converted.all()


def test_expressions_compile_on_pyspark() -> None:
    pytest.importorskip("pyspark")
    assert ibis.pyspark.name == "pyspark"  # loading the backend registers its options
    e = ibis.table({"customer_id": "string", "arm": "string"}, name="campaign_exposures")
    o = ibis.table(
        {"customer_id": "string", "ordered_at": "timestamp('UTC')", "status": "string",
         "total": "decimal(18, 2)", "refunded": "decimal(18, 2)"}, name="orders",
    )  # fmt: skip
    s = ibis.table({"customer_id": "string", "segment": "string"}, name="memberships")
    c = ibis.table({"customer_id": "string", "clv": "float64"}, name="clv")
    out = outcomes_from_orders(e, o, started_at=datetime(2025, 1, 1, tzinfo=UTC))
    frame = campaign_frame(e, out, segments=s, clv=c)
    from custseg.monitor.experiments import _arm_aggregates

    sql = ibis.to_sql(_arm_aggregates(frame), dialect="pyspark").upper()
    assert "INTERVAL" in sql and "GROUP BY" in sql and "LEFT OUTER JOIN" in sql


# --------------------------------------------------------------------------- demo store


@pytest.fixture(scope="module")
def demo_ws(demo_store: Path):
    ws = open_workspace(demo_store)
    ws.connect(read_only=True)
    yield ws
    ws.close()


def test_persona_lifts_recover_the_planted_truth(demo_ws, demo_store: Path) -> None:
    truth = json.loads((demo_store / "data" / "truth" / "campaign.json").read_text())["personas"]
    personas = pq.read_table(demo_store / "data" / "truth" / "personas.parquet")
    by = ibis.memtable(personas).select("customer_id", segment="persona")
    m = measure_campaign(demo_ws, CAMPAIGN, by=by, n_boot=500)
    assert m.source == "outcomes" and m.by == "table"
    exposed = {
        k: v for k, v in truth.items() if v["treatment"]["exposed"] and v["control"]["exposed"]
    }
    assert len(exposed) >= 5
    rows = {r.segment: r for r in m.segments}
    # personas the campaign never reached (new customers registered after it) have no row
    assert set(rows) == {k for k, v in truth.items() if v["treatment"]["exposed"]}
    for name, t in exposed.items():
        r = rows[name]
        # the generator's own counts of who was exposed and converted
        assert (r.n_treatment, r.n_control) == (t["treatment"]["exposed"], t["control"]["exposed"])
        assert r.conversions_treatment == t["treatment"]["converted"]
        assert r.conversions_control == t["control"]["converted"]
        assert r.revenue_treatment * r.n_treatment == pytest.approx(
            t["treatment"]["revenue"], abs=0.01
        )
    # Each 95% interval misses its true lift with probability ~0.05, independently across
    # personas (disjoint customers); with 6-7 personas P(2 or more misses) is about 3-4%,
    # so one miss is allowed (with seed 7 the champions' 16-customer control group happens
    # to convert at 6/16 against a true 20%).
    misses = [
        k
        for k, t in exposed.items()
        if not rows[k].lift_ci[0] <= t["true_lift"] <= rows[k].lift_ci[1]
    ]
    assert len(misses) <= 1, misses
    largest = max(exposed, key=lambda k: exposed[k]["true_lift"])
    smallest = min(exposed, key=lambda k: exposed[k]["true_lift"])
    assert rows[largest].lift > rows[smallest].lift
    # the overall row equals the sum over the (disjoint) personas
    assert m.overall.n_treatment == sum(r.n_treatment for r in m.segments)
    assert m.overall.conversions_control == sum(r.conversions_control for r in m.segments)


def test_orders_source_against_pandas(demo_ws) -> None:
    m = measure_campaign(demo_ws, CAMPAIGN, source="orders", window_days=14, n_boot=200)
    assert m.source == "orders" and m.window_days == 14
    raw = demo_ws.connect().con
    ex = raw.execute(
        f"SELECT customer_id, arm FROM campaign_exposures WHERE campaign_id = '{CAMPAIGN}'"
    ).df()
    orders = raw.execute(
        "SELECT customer_id, ordered_at, status, CAST(total AS DOUBLE) AS total, "
        "CAST(refunded AS DOUBLE) AS refunded FROM orders"
    ).df()
    start = pd.Timestamp(m.started_at)
    assert start == pd.Timestamp("2025-04-08T09:00:00Z")
    w = orders[
        (orders.ordered_at >= start)
        & (orders.ordered_at < start + pd.Timedelta(days=14))
        & (orders.status.str.lower() != "cancelled")
    ]
    rev = (w.total.fillna(0) - w.refunded.fillna(0)).groupby(w.customer_id).sum()
    ex["revenue"] = ex.customer_id.map(rev).fillna(0.0)
    ex["converted"] = ex.customer_id.isin(rev.index)
    t, c = ex[ex.arm == "treatment"], ex[ex.arm == "control"]
    o = m.overall
    assert (o.n_treatment, o.n_control) == (len(t), len(c))
    assert (o.conversions_treatment, o.conversions_control) == (
        t.converted.sum(),
        c.converted.sum(),
    )
    assert o.revenue_treatment == pytest.approx(t.revenue.mean(), rel=1e-9)
    assert o.revenue_control == pytest.approx(c.revenue.mean(), rel=1e-9)


def test_unknown_campaign_and_family(demo_ws) -> None:
    with pytest.raises(UsageError, match=f"no exposures for campaign 'NOPE'.*{CAMPAIGN}"):
        measure_campaign(demo_ws, "NOPE")


@pytest.fixture(scope="module")
def evaluated(demo_store: Path, tmp_path_factory: pytest.TempPathFactory):
    import shutil

    from custseg.segments.registry import evaluate

    dest = tmp_path_factory.mktemp("measure") / "demo"
    shutil.copytree(demo_store, dest, ignore=shutil.ignore_patterns(".custseg-tmp"))
    ws = open_workspace(dest)
    evaluate(ws)
    yield ws
    ws.close()


def test_measure_by_rfm_end_to_end(evaluated) -> None:
    m = measure_campaign(evaluated, CAMPAIGN, by="rfm", n_boot=300)
    raw = evaluated.connect().con
    expected = raw.execute(
        f"""
        SELECT coalesce(m.segment, '{UNSEGMENTED}') AS segment, e.arm, count(*) AS n,
               sum(CASE WHEN o.converted THEN 1 ELSE 0 END) AS conv
        FROM campaign_exposures e
        LEFT JOIN campaign_outcomes o USING (campaign_id, customer_id)
        LEFT JOIN (SELECT * FROM memberships WHERE family = 'rfm') m USING (customer_id)
        WHERE e.campaign_id = '{CAMPAIGN}'
        GROUP BY ALL
        """
    ).df()
    got = {(r.segment, "treatment"): (r.n_treatment, r.conversions_treatment) for r in m.segments}
    got |= {(r.segment, "control"): (r.n_control, r.conversions_control) for r in m.segments}
    for row in expected.itertuples():
        assert got[(row.segment, row.arm)] == (row.n, row.conv)
    # rfm groups are disjoint: the rows add up to the overall row
    assert sum(r.n_treatment + r.n_control for r in m.segments) == (
        m.overall.n_treatment + m.overall.n_control
    )
    assert m.segment("Champions").segment == "rfm_champions"
    assert any("segments were evaluated as of" in n for n in m.notes)
    with pytest.raises(UsageError, match="no evaluated segments of family 'nope'.*rfm"):
        measure_campaign(evaluated, CAMPAIGN, by="nope")
    # JSON round trip and the report section
    d = json.loads(json.dumps(m.to_dict()))
    assert d["segments"][0]["segment"] == m.segments[0].segment
    section = campaign_section(m)
    assert "Champions" in section.html and len(section.figures) == 2
    fig = forest_plot(m)
    plotted = [r for r in [*m.segments, m.overall] if r.lift is not None]
    assert list(fig.data[0].x) == pytest.approx([100 * r.lift for r in plotted])
    assert list(fig.data[0].error_x.arrayminus) == pytest.approx(
        [100 * (r.lift - r.lift_ci[0]) for r in plotted]
    )
