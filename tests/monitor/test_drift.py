"""Drift: PSI by hand, size alerts on hand-made snapshots, and end to end on the demo store."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from custseg.exceptions import UsageError
from custseg.monitor.drift import drift_alerts, feature_psi, psi, severity_at_least
from custseg.monitor.migration import transition_matrix
from custseg.monitor.snapshots import snapshot_features
from custseg.workspace import Workspace, open_workspace

# --------------------------------------------------------------------------- psi


def test_psi_hand_worked() -> None:
    # e = .25/.25/.5, a = .3/.3/.4:
    #   2 x (0.30 - 0.25) ln(0.30 / 0.25) = 2 x 0.05 x 0.1823216 = 0.0182322
    #   (0.40 - 0.50) ln(0.40 / 0.50)     = -0.1 x -0.2231436   = 0.0223144
    #   total                                                   = 0.0405465
    assert psi([25, 25, 50], [30, 30, 40]) == pytest.approx(0.0405465, abs=1e-7)
    assert psi([0.25, 0.25, 0.5], [0.3, 0.3, 0.4]) == pytest.approx(0.0405465, abs=1e-7)


def test_psi_empty_bin_uses_epsilon() -> None:
    # e = .5/.5/0 -> .5/.5/1e-4 ; a = .5/.25/.25
    #   (0.25 - 0.5) ln(0.25 / 0.5)     = 0.1732868
    #   (0.25 - 1e-4) ln(0.25 / 1e-4)   = 0.2499 x 7.8240460 = 1.9552291
    assert psi([50, 50, 0], [50, 25, 25]) == pytest.approx(0.1732868 + 1.9552291, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psi_properties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e, a = rng.integers(1, 100, 10), rng.integers(1, 100, 10)
    assert psi(e, e) == 0.0
    assert psi(e, 3 * e) == pytest.approx(0.0, abs=1e-12)  # proportions, not counts
    assert psi(e, a) == pytest.approx(psi(a, e), rel=1e-12)
    assert psi(e, a) > 0


def test_psi_bad_input() -> None:
    with pytest.raises(UsageError, match="same length"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(UsageError, match="empty"):
        psi([0, 0], [1, 2])
    with pytest.raises(UsageError, match="non-negative"):
        psi([1, -1], [1, 2])


def test_severity_order() -> None:
    assert severity_at_least("alert", "warn") and severity_at_least("warn", "warn")
    assert not severity_at_least("warn", "alert")
    assert not severity_at_least("alert", "never")


# --------------------------------------------------------------------------- size alerts


SIZES = {  # segment: (size in run A, size in run B)
    "up30": (100, 130),  # +30% -> alert (>= 0.25)
    "up15": (100, 115),  # +15% -> warn (>= 0.10)
    "down10": (100, 90),  # -10% -> warn (at the threshold)
    "up5": (100, 105),  # +5% -> nothing
    "tiny": (10, 25),  # +150% but both below min_segment_size 30 -> nothing
    "born": (0, 40),  # appeared with 40 >= 30 -> alert
    "died": (50, 0),  # disappeared -> alert (-100%)
}


@pytest.fixture
def sized(ws: Workspace) -> Workspace:
    rows = []
    for seg, (na, nb) in SIZES.items():
        for run, n in (("A", na), ("B", nb)):
            rows += [
                {"customer_id": f"{seg}{i}", "segment": seg, "family": "rule", "run_id": run}
                for i in range(n)
            ]
    ws.connect().create_table("membership_snapshots", ibis.memtable(pd.DataFrame(rows)))
    return ws


def test_size_alerts_by_hand(sized: Workspace) -> None:
    got = {x.subject: (x.severity, round(x.value, 9)) for x in drift_alerts(sized, "A", "B")}
    assert got == {
        "up30": ("alert", 0.30),
        "born": ("alert", math.inf),
        "died": ("alert", -1.0),
        "up15": ("warn", 0.15),
        "down10": ("warn", -0.10),
    }
    alerts = drift_alerts(sized, "A", "B")
    assert [x.severity for x in alerts] == ["alert"] * 3 + ["warn"] * 2
    assert alerts[0].to_dict()["run_b"] == "B"


def test_missing_runs(sized: Workspace, ws: Workspace) -> None:
    with pytest.raises(UsageError, match="two succeeded runs"):
        drift_alerts(sized)
    with pytest.raises(UsageError, match="'Z'"):
        drift_alerts(sized, "A", "Z")


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def two_runs(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, str, str, pd.DataFrame, pd.DataFrame]]:
    """The demo store run twice (2025-03-31, then the latest date), each snapshotted."""
    from custseg.pipeline import run

    dest = tmp_path_factory.mktemp("drift") / "demo"
    shutil.copytree(demo_store, dest, ignore=shutil.ignore_patterns(".custseg-tmp"))
    ws = open_workspace(dest)
    ra = run(ws, as_of=date(2025, 3, 31))
    snapshot_features(ws, ra.run_id)
    fa = ws.connect().table("customer_features").to_pandas()
    rb = run(ws)
    snapshot_features(ws, rb.run_id)
    fb = ws.connect().table("customer_features").to_pandas()
    yield ws, ra.run_id, rb.run_id, fa, fb
    ws.close()


def _snap(ws: Workspace, run: str, family: str | None = None) -> pd.DataFrame:
    s = ws.connect().table("membership_snapshots").to_pandas()
    s = s[s.run_id == run]
    return s if family is None else s[s.family == family]


def test_rfm_transition_equals_pandas_crosstab(two_runs) -> None:  # type: ignore[no-untyped-def]
    ws, a, b, _, _ = two_runs
    sa = _snap(ws, a, "rfm").set_index("customer_id").segment.rename("from")
    sb = _snap(ws, b, "rfm").set_index("customer_id").segment.rename("to")
    both = pd.concat([sa, sb], axis=1).fillna("(none)")
    want = pd.crosstab(both["from"], both["to"])
    tr = transition_matrix(ws, a, b, "rfm")
    got = tr.counts.loc[want.index, want.columns]
    assert (got.to_numpy() == want.to_numpy()).all()
    assert tr.counts.to_numpy().sum() == len(both)
    np.testing.assert_allclose(tr.rates.sum(axis=1), 1.0)


def test_size_alerts_match_pandas(two_runs) -> None:  # type: ignore[no-untyped-def]
    ws, a, b, _, _ = two_runs
    cfg = ws.config.monitor
    na = _snap(ws, a).segment.value_counts()
    nb = _snap(ws, b).segment.value_counts()
    want = {}
    for seg in set(na.index) | set(nb.index):
        x, y = int(na.get(seg, 0)), int(nb.get(seg, 0))
        if max(x, y) < cfg.min_segment_size or x == y:
            continue
        rel = (y - x) / x if x else math.inf
        if abs(rel) >= cfg.size_change_alert:
            want[seg] = "alert"
        elif abs(rel) >= cfg.size_change_warn:
            want[seg] = "warn"
    got = {x.subject: x.severity for x in drift_alerts(ws, a, b) if x.kind == "size"}
    assert want, "the two dates should move some segment"
    assert got == want


def _numpy_psi(fa: pd.Series, fb: pd.Series) -> float:
    """PSI of a numeric feature recomputed with numpy: run A deciles, (lo, hi] bins, nulls."""
    qa = np.unique(np.nanquantile(fa.astype(float), np.arange(1, 10) / 10))

    def counts(v: pd.Series) -> np.ndarray:
        x = v.dropna().to_numpy(dtype=float)
        idx = np.searchsorted(qa, x, side="left")
        return np.append(np.bincount(idx, minlength=len(qa) + 1), v.isna().sum())

    e, f = counts(fa).astype(float), counts(fb).astype(float)
    pe, pf = np.maximum(e / e.sum(), 1e-4), np.maximum(f / f.sum(), 1e-4)
    return float(np.sum((pf - pe) * np.log(pf / pe)))


@pytest.mark.parametrize(
    "feature", ["amount_spent", "days_since_last_order", "number_of_orders", "p_alive"]
)
def test_psi_matches_numpy(two_runs, feature: str) -> None:  # type: ignore[no-untyped-def]
    ws, a, b, fa, fb = two_runs
    got = feature_psi(ws, a, b)
    assert got[feature] == pytest.approx(_numpy_psi(fa[feature], fb[feature]), rel=1e-9)


def test_psi_alerts_follow_thresholds(two_runs) -> None:  # type: ignore[no-untyped-def]
    ws, a, b, fa, fb = two_runs
    cfg = ws.config.monitor
    alerts = {x.subject: x for x in drift_alerts(ws, a, b) if x.kind == "psi"}
    for feature in ("amount_spent", "days_since_last_order", "number_of_orders"):
        value = _numpy_psi(fa[feature], fb[feature])
        if value >= cfg.psi_alert:
            assert alerts[feature].severity == "alert"
        elif value >= cfg.psi_warn:
            assert alerts[feature].severity == "warn"
        else:
            assert feature not in alerts


def test_cluster_distance_growth(two_runs) -> None:  # type: ignore[no-untyped-def]
    from custseg.segments.registry import load_cluster_model

    ws, a, b, fa, fb = two_runs
    model = load_cluster_model(ws)
    assert model is not None
    # Mean distance of run B recomputed through the model on run B's features.
    mb = model.assign(ibis.memtable(fb)).distance.mean().to_pyarrow().as_py()
    ma = model.assign(ibis.memtable(fa)).distance.mean().to_pyarrow().as_py()
    growth = (mb - ma) / ma
    cfg = ws.config.monitor
    found = [x for x in drift_alerts(ws, a, b) if x.kind == "cluster_distance"]
    if growth >= cfg.distance_growth_warn:
        assert len(found) == 1 and found[0].value == pytest.approx(growth, rel=1e-6)
        assert "custseg segments cluster" in found[0].recommendation
    else:
        assert found == []


def _cli() -> typer.Typer:
    from custseg.cli.monitor import register, register_diff

    app = typer.Typer()
    register(app)
    runs_app = typer.Typer()
    register_diff(runs_app)
    app.add_typer(runs_app, name="runs")
    return app


def test_monitor_exit_codes(two_runs) -> None:  # type: ignore[no-untyped-def]
    ws, a, b, _, _ = two_runs
    toml = ws.root / "custseg.toml"
    original = toml.read_text(encoding="utf-8")
    ws.close()
    try:
        res = CliRunner().invoke(_cli(), ["monitor", "-w", str(ws.root)])
        assert res.exit_code == 3, res.output  # the size alerts above are at fail_on = alert
        toml.write_text(original + '\n[monitor]\nfail_on = "never"\n', encoding="utf-8")
        res = CliRunner().invoke(_cli(), ["monitor", "-w", str(ws.root)])
        assert res.exit_code == 0, res.output
        assert "alert" in res.output
    finally:
        toml.write_text(original, encoding="utf-8")
