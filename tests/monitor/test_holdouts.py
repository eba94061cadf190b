"""Holdouts: the split recomputed with hashlib, exact allocation per stratum, storage, export."""

from __future__ import annotations

import hashlib
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import ibis
import pandas as pd
import pytest

from custseg.exceptions import UsageError, WorkspaceError
from custseg.monitor import (
    HOLDOUTS_TABLE,
    assign_holdout,
    create_holdout,
    holdout_exposures,
    list_holdouts,
    load_holdout,
    measure_campaign,
)
from custseg.workspace import open_workspace


def _by_hashlib(members: pd.DataFrame, fraction: float, seed: int) -> set[str]:
    """The held-out customers, computed independently: per stratum, the k smallest hashes."""
    held: set[str] = set()
    for _, g in members.groupby("segment"):
        ids = sorted(
            g.customer_id, key=lambda c: (hashlib.sha256(f"{seed}:{c}".encode()).hexdigest(), c)
        )
        k = math.floor(fraction * len(ids) + 0.5)
        held.update(ids[:k])
    return held


def _members() -> pd.DataFrame:
    sizes = {"tiny": 1, "small": 7, "mid": 25, "big": 103, "half": 2}
    rows = [(f"{s}-{i:03d}", s) for s, n in sizes.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["customer_id", "segment"])


@pytest.mark.parametrize(("fraction", "seed"), [(0.1, 1), (0.33, 42), (0.5, 7)])
def test_split_matches_hashlib_and_allocation(fraction: float, seed: int) -> None:
    m = _members()
    got = assign_holdout(ibis.memtable(m), fraction=fraction, seed=seed).to_pandas()
    assert len(got) == len(m)
    assert set(got.loc[got.arm == "control", "customer_id"]) == _by_hashlib(m, fraction, seed)
    for seg, g in got.groupby("segment"):
        n = int((m.segment == seg).sum())
        assert abs((g.arm == "control").sum() - round(fraction * n)) <= 1
        assert (g.arm == "control").sum() == math.floor(fraction * n + 0.5)
    assert set(got.arm) <= {"control", "treatment"}


def test_same_seed_same_split_whatever_the_row_order() -> None:
    m = _members()
    a = assign_holdout(ibis.memtable(m), fraction=0.2, seed=3).to_pandas()
    shuffled = m.sample(frac=1.0, random_state=1)
    b = assign_holdout(ibis.memtable(shuffled), fraction=0.2, seed=3).to_pandas()
    c = assign_holdout(ibis.memtable(m), fraction=0.2, seed=4).to_pandas()
    held = {
        k: set(x.loc[x.arm == "control", "customer_id"])
        for k, x in zip("abc", (a, b, c), strict=True)
    }
    assert held["a"] == held["b"]
    assert held["a"] != held["c"]
    # per stratum the counts are fixed by the allocation, whatever the seed
    assert (a.arm == "control").sum() == (c.arm == "control").sum()


def test_split_compiles_on_pyspark() -> None:
    pytest.importorskip("pyspark")
    assert ibis.pyspark.name == "pyspark"  # loading the backend registers its options
    t = ibis.table({"customer_id": "string", "segment": "string"}, name="memberships")
    sql = ibis.to_sql(assign_holdout(t, fraction=0.1, seed=5), dialect="pyspark")
    assert "SHA2(CONCAT('5:'" in sql


@pytest.mark.parametrize(("fraction", "seed"), [(0.0, 1), (1.0, 1), (-0.1, 1), (0.1, -2)])
def test_bad_fraction_or_seed(fraction: float, seed: int) -> None:
    t = ibis.memtable({"customer_id": ["a"], "segment": ["s"]})
    with pytest.raises(UsageError, match="--fraction|--seed"):
        assign_holdout(t, fraction=fraction, seed=seed)


# --------------------------------------------------------------------------- workspace


@pytest.fixture(scope="module")
def evaluated(demo_store: Path, tmp_path_factory: pytest.TempPathFactory):
    from custseg.segments.registry import evaluate

    dest = tmp_path_factory.mktemp("holdouts") / "demo"
    shutil.copytree(demo_store, dest, ignore=shutil.ignore_patterns(".custseg-tmp"))
    ws = open_workspace(dest)
    evaluate(ws)
    yield ws
    ws.close()


def _memberships(ws) -> pd.DataFrame:
    return ws.connect().con.execute("SELECT customer_id, segment, family FROM memberships").df()


def test_create_family_holdout_stored_and_exported(evaluated) -> None:
    h = create_holdout(evaluated, "rfm", 0.1, 11)
    assert h.holdout_id == "rfm-f0.1-s11"
    rfm = _memberships(evaluated).query("family == 'rfm'")
    stored = load_holdout(evaluated, h.holdout_id).to_pandas()
    assert len(stored) == len(rfm) == h.customers
    assert set(stored.customer_id) == set(rfm.customer_id)
    assert set(stored.loc[stored.arm == "control", "customer_id"]) == _by_hashlib(rfm, 0.1, 11)
    sizes = rfm.segment.value_counts()
    assert h.strata == {
        s: (int(n), math.floor(0.1 * n + 0.5)) for s, n in sizes.sort_index().items()
    }
    assert (stored.fraction == 0.1).all() and (stored.seed == 11).all()
    # exported next to the exports, same rows as stored
    folder = evaluated.root / evaluated.config.exports.folder / "holdouts"
    assert set(h.paths) == {folder / "rfm-f0.1-s11.csv", folder / "rfm-f0.1-s11.parquet"}
    for p in h.paths:
        f = pd.read_csv(p, dtype={"customer_id": str}) if p.suffix == ".csv" else pd.read_parquet(p)
        assert list(f.columns) == [
            "holdout_id",
            "segment",
            "customer_id",
            "arm",
            "fraction",
            "seed",
            "created_at",
        ]
        key = ["customer_id", "segment", "arm"]
        pd.testing.assert_frame_equal(
            f[key].sort_values(key).reset_index(drop=True),
            stored[key].sort_values(key).reset_index(drop=True),
            check_dtype=False,
        )
    # again with the same seed: same split, rows replaced (not appended)
    again = create_holdout(evaluated, "rfm", 0.1, 11)
    stored2 = load_holdout(evaluated, again.holdout_id).to_pandas()
    assert len(stored2) == len(stored)
    assert set(stored2.loc[stored2.arm == "control", "customer_id"]) == set(
        stored.loc[stored.arm == "control", "customer_id"]
    )
    # another seed: another holdout, kept beside the first
    other = create_holdout(evaluated, "rfm", 0.1, 12, formats=("csv",))
    held_other = set(
        load_holdout(evaluated, other.holdout_id).to_pandas().query("arm == 'control'").customer_id
    )
    assert held_other != set(stored.loc[stored.arm == "control", "customer_id"])
    ids = {x.holdout_id for x in list_holdouts(evaluated)}
    assert {"rfm-f0.1-s11", "rfm-f0.1-s12"} <= ids
    total = evaluated.connect().table(HOLDOUTS_TABLE).count().to_pyarrow().as_py()
    assert total == sum(x.customers for x in list_holdouts(evaluated))


def test_segment_holdout_and_overlapping_rule_segments(evaluated, tmp_path: Path) -> None:
    from custseg.segments.registry import load_definitions

    h = create_holdout(evaluated, "Champions", 0.25, 3, out=tmp_path / "champions.parquet")
    champions = _memberships(evaluated).query("segment == 'rfm_champions'")
    assert list(h.strata) == ["rfm_champions"]
    assert h.strata["rfm_champions"] == (len(champions), math.floor(0.25 * len(champions) + 0.5))
    assert h.paths == (tmp_path / "champions.parquet",)
    assert len(pd.read_parquet(h.paths[0])) == len(champions)
    # the rule family: a customer in several rule segments joins the lowest-priority one
    rule = _memberships(evaluated).query("family == 'rule'")
    prio = {d.name: d.priority for d in load_definitions(evaluated) if d.family == "rule"}
    assert rule.customer_id.duplicated().any(), "the demo should have overlapping rule segments"
    rule = rule.assign(p=rule.segment.map(prio)).sort_values(["customer_id", "p", "segment"])
    strata = rule.drop_duplicates("customer_id")[["customer_id", "segment"]]
    hr = create_holdout(evaluated, "rule", 0.2, 5, formats=())
    stored = load_holdout(evaluated, hr.holdout_id).to_pandas()
    merged = stored.merge(strata, on="customer_id", suffixes=("", "_expected"))
    assert len(merged) == len(stored) == rule.customer_id.nunique()
    assert (merged.segment == merged.segment_expected).all()


def test_measure_against_a_holdout(evaluated) -> None:
    h = create_holdout(evaluated, "rfm", 0.1, 21, formats=())
    ex = holdout_exposures(evaluated, h.holdout_id, campaign_id="NEXT-1").to_pandas()
    assert set(ex.columns) == {"campaign_id", "customer_id", "arm", "sent_at"}
    assert (ex.campaign_id == "NEXT-1").all()
    m = measure_campaign(
        evaluated,
        "NEXT-1",
        holdout=h.holdout_id,
        started_at=datetime(2025, 5, 1, tzinfo=UTC),
        source="orders",
        by="rfm",
        n_boot=200,
    )
    assert m.source == "orders"
    assert (m.overall.n_treatment, m.overall.n_control) == (h.customers - h.control, h.control)
    assert {r.segment: (r.n_treatment + r.n_control, r.n_control) for r in m.segments} == h.strata


def test_holdout_errors(evaluated, demo_store: Path) -> None:
    with pytest.raises(UsageError, match="no segment named 'nope'"):
        create_holdout(evaluated, "nope", 0.1, 1)
    with pytest.raises(UsageError, match="no holdout 'missing'"):
        load_holdout(evaluated, "missing")
    ws = open_workspace(demo_store)
    ws.connect(read_only=True)
    try:
        with pytest.raises(WorkspaceError, match="segments evaluate"):
            create_holdout(ws, "rfm", 0.1, 1)
    finally:
        ws.close()
