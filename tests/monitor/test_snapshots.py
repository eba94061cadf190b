"""Feature snapshots: edges and counts recomputed with numpy/pandas on tiny tables."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import UsageError, WorkspaceError
from custseg.monitor.drift import feature_psi, psi
from custseg.monitor.snapshots import (
    NULL_BIN,
    OTHER_BIN,
    categorical_levels,
    numeric_edges,
    snapshot_features,
    snapshot_runs,
)
from custseg.workspace import Workspace


def _frame(seed: int, shift: float = 0.0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, n) + shift
    spend[:7] = np.nan
    # 25 distinct colours with decreasing frequencies (c00 the most common).
    weights = np.arange(25, 0, -1, dtype=float) ** (2 if shift else 1)
    colour = rng.choice([f"c{i:02d}" for i in range(25)], n, p=weights / weights.sum())
    return pd.DataFrame(
        {
            "customer_id": [f"k{i}" for i in range(n)],
            "amount_spent": spend,
            "orders": rng.poisson(3, n).astype("int64"),
            "colour": colour,
            "vip": rng.random(n) < 0.2,
        }
    )


def _bins_numpy(values: pd.Series, edges: list[float]) -> dict[str, int]:
    """Counts per bin (e[i-1], e[i]] with numpy, independently of the engine."""
    v = values.dropna().to_numpy(dtype=float)
    idx = np.searchsorted(np.asarray(edges), v, side="left")  # first edge >= v
    out = {str(i): int((idx == i).sum()) for i in range(len(edges) + 1)}
    out[NULL_BIN] = int(values.isna().sum())
    return out


def _own(ws: Workspace, run: str, feature: str) -> pd.DataFrame:
    s = ws.connect().table("feature_snapshots").to_pandas()
    return s[(s.run_id == run) & s.ref_run_id.isna() & (s.feature == feature)]


def test_edges_are_numpy_deciles() -> None:
    df = _frame(1)
    got = numeric_edges(ibis.memtable(df), ["amount_spent", "orders"])
    want = np.nanquantile(df.amount_spent, np.arange(1, 10) / 10)
    np.testing.assert_allclose(got["amount_spent"], want)
    # Poisson counts tie a lot: the distinct deciles only.
    assert got["orders"] == sorted(set(np.quantile(df.orders, np.arange(1, 10) / 10)))


def test_own_bins_match_numpy(ws: Workspace) -> None:
    df = _frame(1)
    out = snapshot_features(ws, "r1", features=ibis.memtable(df))
    assert (out.numeric, out.categorical, out.reference) == (2, 2, None)
    rows = _own(ws, "r1", "amount_spent").set_index("bin")
    edges = list(np.nanquantile(df.amount_spent, np.arange(1, 10) / 10))
    want = _bins_numpy(df.amount_spent, edges)
    assert {b: int(rows.loc[b, "count"]) for b in rows.index} == want
    assert (rows["total"] == len(df)).all()
    assert rows.loc["0", "lower"] != rows.loc["0", "lower"]  # NaN: unbounded below
    np.testing.assert_allclose(rows.loc["1", ["lower", "upper"]], edges[0:2])
    assert np.isnan(rows.loc["9", "upper"])


def test_categorical_top_20_and_other(ws: Workspace) -> None:
    df = _frame(2)
    snapshot_features(ws, "r1", features=ibis.memtable(df))
    rows = _own(ws, "r1", "colour").set_index("bin")
    vc = df.colour.value_counts()
    ranked = sorted(vc.items(), key=lambda kv: (-kv[1], kv[0]))
    top = dict(ranked[:20])
    assert set(rows.index) == {*top, OTHER_BIN}
    for level, n in top.items():
        assert rows.loc[level, "count"] == n
    assert rows.loc[OTHER_BIN, "count"] == sum(n for _, n in ranked[20:])
    vip = _own(ws, "r1", "vip").set_index("bin")
    assert vip.loc["true", "count"] == int(df.vip.sum())
    levels = categorical_levels(ibis.memtable(df), ["colour"], top=3)
    assert levels["colour"] == [k for k, _ in ranked[:3]]


def test_later_run_counted_on_reference_bins_and_psi(ws: Workspace) -> None:
    a, b = _frame(1), _frame(3, shift=25.0)
    snapshot_features(ws, "r1", features=ibis.memtable(a))
    out = snapshot_features(ws, "r2", features=ibis.memtable(b))
    assert out.reference == "r1"
    s = ws.connect().table("feature_snapshots").to_pandas()
    ref = s[(s.run_id == "r2") & (s.ref_run_id == "r1") & (s.feature == "amount_spent")]
    edges_a = list(np.nanquantile(a.amount_spent, np.arange(1, 10) / 10))
    want_b = _bins_numpy(b.amount_spent, edges_a)
    assert dict(zip(ref["bin"], ref["count"].astype(int), strict=True)) == want_b
    # PSI recomputed by numpy from both runs' raw values on run A's bins.
    want_a = _bins_numpy(a.amount_spent, edges_a)
    keys = sorted(want_a)
    e = np.array([want_a[k] for k in keys], dtype=float)
    f = np.array([want_b[k] for k in keys], dtype=float)
    pe, pf = np.maximum(e / e.sum(), 1e-4), np.maximum(f / f.sum(), 1e-4)
    by_numpy = float(np.sum((pf - pe) * np.log(pf / pe)))
    got = feature_psi(ws, "r1", "r2")
    assert got["amount_spent"] == pytest.approx(by_numpy, rel=1e-12)
    assert got["amount_spent"] > 0.1  # shifted by half a standard deviation
    # A colour run B favours more: PSI on run A's top 20 + other.
    top_a = [k for k, _ in sorted(a.colour.value_counts().items(), key=lambda kv: (-kv[1], kv[0]))][
        :20
    ]
    ca = a.colour.where(a.colour.isin(top_a), OTHER_BIN).value_counts()
    cb = b.colour.where(b.colour.isin(top_a), OTHER_BIN).value_counts()
    levels = sorted(set(ca.index) | set(cb.index))
    assert got["colour"] == pytest.approx(
        psi([ca.get(k, 0) for k in levels], [cb.get(k, 0) for k in levels]), rel=1e-12
    )


def test_repeat_snapshot_replaces_rows(ws: Workspace) -> None:
    df = _frame(1)
    snapshot_features(ws, "r1", features=ibis.memtable(df))
    n = ws.connect().table("feature_snapshots").count().to_pyarrow().as_py()
    snapshot_features(ws, "r1", features=ibis.memtable(df))
    assert ws.connect().table("feature_snapshots").count().to_pyarrow().as_py() == n
    snapshot_features(ws, "r0", features=ibis.memtable(df), reference="r1")
    assert snapshot_runs(ws) == ["r0", "r1"]  # no runs table: by id


def test_errors(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="custseg features"):
        snapshot_features(ws, "r1")
    with pytest.raises(UsageError, match="no feature snapshot"):
        snapshot_features(ws, "r1", features=ibis.memtable(_frame(1)), reference="r0")
