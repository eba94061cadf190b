"""Per-run summaries of the feature distributions and of the segments, for drift monitoring.

:func:`snapshot_features` is called once per pipeline run, after the segments stage,
while ``customer_features`` and ``memberships`` still hold that run. It writes:

``feature_snapshots`` ``(run_id, ref_run_id, feature, kind, bin, lower, upper, count,
total, value)``

* ``kind = "numeric"``: every numeric feature binned by the **deciles of this run**
  (computed in the engine, ``quantile`` = linear interpolation, duplicates merged). Bin
  ``i`` is ``(lower, upper]``; the first bin has no ``lower`` and the last no ``upper``
  (null = unbounded); missing values are bin ``(null)``.
* ``kind = "categorical"``: text and boolean features by value, the 20 most frequent
  values of this run, then ``(other)``; missing values are the value ``(null)``.
* ``ref_run_id`` is null for the run's own bins. When an earlier run has a snapshot (the
  *reference*, by default the latest one), the run is **also** counted on the
  reference's bins (its edges, its values), with ``ref_run_id`` set to it: the
  population stability index of :func:`custseg.monitor.drift.feature_psi` then compares
  the two runs on identical bins, exactly. Dates and timestamps are not summarised (they
  move with the calendar by construction).
* ``kind = "cluster_distance"`` (when a clustering model is saved): the model's
  assignment distance over this run's features, ``bin`` ``mean`` and ``median`` with the
  statistic in ``value`` and the number of assigned customers in ``count``; ``bin =
  "stability"`` holds ``model.stability_`` and ``bin = "model"`` the model file's hash in
  ``feature`` (distances of two different models are not compared).

``segment_history`` ``(run_id, as_of, family, segment, size, value)``: each segment's
number of members and their summed ``amount_spent`` as of the run.

Both tables are small (about 2,500 rows per run on the demo store) and a repeated call
for the same run replaces that run's rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from custseg.exceptions import UsageError, WorkspaceError

__all__ = [
    "FEATURE_SNAPSHOTS_TABLE",
    "SEGMENT_HISTORY_TABLE",
    "NULL_BIN",
    "OTHER_BIN",
    "TOP_VALUES",
    "SnapshotSummary",
    "categorical_counts",
    "categorical_levels",
    "numeric_counts",
    "numeric_edges",
    "reference_bins",
    "snapshot_features",
    "snapshot_runs",
]

log = logging.getLogger(__name__)

FEATURE_SNAPSHOTS_TABLE = "feature_snapshots"
SEGMENT_HISTORY_TABLE = "segment_history"
#: The bin of missing values (numeric and categorical).
NULL_BIN = "(null)"
#: The bin of the categorical values outside the top :data:`TOP_VALUES`.
OTHER_BIN = "(other)"
#: How many values of a categorical feature get their own bin.
TOP_VALUES = 20
#: The deciles that make the numeric bins.
_QUANTILES = tuple(i / 10 for i in range(1, 10))
_SKIP = ("customer_id", "as_of")

_SNAPSHOT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("ref_run_id", pa.string()),
        ("feature", pa.string()),
        ("kind", pa.string()),
        ("bin", pa.string()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("count", pa.int64()),
        ("total", pa.int64()),
        ("value", pa.float64()),
    ]
)
_HISTORY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("as_of", pa.date32()),
        ("family", pa.string()),
        ("segment", pa.string()),
        ("size", pa.int64()),
        ("value", pa.float64()),
    ]
)


@dataclass(frozen=True)
class SnapshotSummary:
    """What :func:`snapshot_features` wrote for one run."""

    run_id: str
    reference: str | None
    numeric: int
    categorical: int
    segments: int
    cluster_distance: float | None


# --------------------------------------------------------------------------- engine pieces


def _feature_kinds(t: ir.Table) -> tuple[list[str], list[str]]:
    numeric, categorical = [], []
    for name, typ in t.schema().items():
        if name in _SKIP:
            continue
        if typ.is_boolean() or typ.is_string():
            categorical.append(name)
        elif typ.is_numeric():
            numeric.append(name)
    return numeric, categorical


def numeric_edges(t: ir.Table, columns: Sequence[str]) -> dict[str, list[float]]:
    """The distinct deciles of each numeric column, computed in the engine.

    Parameters
    ----------
    t : ibis Table
        The rows to summarise.
    columns : sequence of str
        Numeric columns of ``t``.

    Returns
    -------
    dict of str to list of float
        Per column, the sorted distinct values of the 10th to 90th percentiles (linear
        interpolation, as ``numpy.quantile``); empty when the column is all null.
    """
    if not columns:
        return {}
    aggs = {
        f"c{i}_{j}": t[c].cast("float64").quantile(q)
        for i, c in enumerate(columns)
        for j, q in enumerate(_QUANTILES)
    }
    row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    out: dict[str, list[float]] = {}
    for i, c in enumerate(columns):
        vals = [row[f"c{i}_{j}"] for j in range(len(_QUANTILES))]
        out[c] = sorted({float(v) for v in vals if v is not None})
    return out


def numeric_counts(t: ir.Table, edges: Mapping[str, Sequence[float]]) -> dict[str, dict[str, int]]:
    """Count each column's values in the bins made by ``edges``, in the engine.

    Bin ``"0"`` is ``(-inf, e0]``, bin ``"i"`` is ``(e[i-1], e[i]]``, bin ``str(len(e))``
    is ``(e[-1], inf)``; missing values are :data:`NULL_BIN`.

    Parameters
    ----------
    t : ibis Table
        The rows to count.
    edges : mapping of str to sequence of float
        Per column, sorted distinct edges.

    Returns
    -------
    dict of str to dict of str to int
        Per column, the count of each non-empty bin.
    """
    cols = [c for c in edges if c in t.columns]
    if not cols:
        return {}
    exprs = {}
    for c in cols:
        v = t[c].cast("float64")
        e = list(edges[c])
        branches = [(v.isnull(), ibis.literal(NULL_BIN))]
        branches += [
            (v <= ibis.literal(x, type="float64"), ibis.literal(str(i))) for i, x in enumerate(e)
        ]
        exprs[c] = ibis.cases(*branches, else_=ibis.literal(str(len(e))))
    return _long_counts(t.select(**exprs), cols)


def categorical_levels(
    t: ir.Table, columns: Sequence[str], *, top: int = TOP_VALUES
) -> dict[str, list[str]]:
    """The ``top`` most frequent values of each column (as text; null is :data:`NULL_BIN`).

    Ties are broken by the value, so the result does not depend on row order.
    """
    if not columns:
        return {}
    long = t.select(**{c: _as_text(t[c]) for c in columns}).pivot_longer(
        list(columns), names_to="feature", values_to="level"
    )
    counts = long.group_by(["feature", "level"]).aggregate(n=long.count())
    w = ibis.window(group_by=counts.feature, order_by=[ibis.desc(counts.n), counts.level])
    ranked = counts.mutate(r=ibis.row_number().over(w))
    rows = ranked.filter(ranked.r < top).select("feature", "level", "r").to_pyarrow().to_pylist()
    out: dict[str, list[str]] = {c: [] for c in columns}
    for r in sorted(rows, key=lambda x: (x["feature"], x["r"])):
        out[r["feature"]].append(r["level"])
    return out


def categorical_counts(
    t: ir.Table, levels: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, int]]:
    """Count each column's values among ``levels``; the rest goes to :data:`OTHER_BIN`."""
    cols = [c for c in levels if c in t.columns]
    if not cols:
        return {}
    exprs = {}
    for c in cols:
        text = _as_text(t[c])
        keep = [x for x in levels[c] if x != OTHER_BIN]
        exprs[c] = (
            text.isin(keep).ifelse(text, ibis.literal(OTHER_BIN))
            if keep
            else ibis.literal(OTHER_BIN)
        )
    return _long_counts(t.select(**exprs), cols)


def _as_text(col: ir.Column) -> ir.StringValue:
    text = col.cast("string") if not col.type().is_string() else col
    return text.fill_null(NULL_BIN)


def _long_counts(binned: ir.Table, cols: Sequence[str]) -> dict[str, dict[str, int]]:
    long = binned.pivot_longer(list(cols), names_to="feature", values_to="bin")
    rows = long.group_by(["feature", "bin"]).aggregate(n=long.count()).to_pyarrow().to_pylist()
    out: dict[str, dict[str, int]] = {c: {} for c in cols}
    for r in rows:
        out[r["feature"]][r["bin"]] = int(r["n"])
    return out


# --------------------------------------------------------------------------- rows


def _numeric_rows(
    run_id: str,
    ref: str | None,
    edges: Mapping[str, Sequence[float]],
    counts: Mapping[str, Mapping[str, int]],
    total: int,
) -> list[dict[str, Any]]:
    rows = []
    for c, e in edges.items():
        got = counts.get(c, {})
        bounds = [None, *e, None]
        for i in range(len(e) + 1):
            rows.append(
                _row(
                    run_id,
                    ref,
                    c,
                    "numeric",
                    str(i),
                    bounds[i],
                    bounds[i + 1],
                    got.get(str(i), 0),
                    total,
                )
            )
        rows.append(
            _row(run_id, ref, c, "numeric", NULL_BIN, None, None, got.get(NULL_BIN, 0), total)
        )
    return rows


def _categorical_rows(
    run_id: str,
    ref: str | None,
    levels: Mapping[str, Sequence[str]],
    counts: Mapping[str, Mapping[str, int]],
    total: int,
) -> list[dict[str, Any]]:
    rows = []
    for c, lv in levels.items():
        got = counts.get(c, {})
        for level in [*[x for x in lv if x != OTHER_BIN], OTHER_BIN]:
            rows.append(
                _row(run_id, ref, c, "categorical", level, None, None, got.get(level, 0), total)
            )
    return rows


def _row(
    run_id: str,
    ref: str | None,
    feature: str,
    kind: str,
    bin_: str,
    lower: float | None,
    upper: float | None,
    count: int,
    total: int,
    value: float | None = None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "ref_run_id": ref,
        "feature": feature,
        "kind": kind,
        "bin": bin_,
        "lower": lower,
        "upper": upper,
        "count": int(count),
        "total": int(total),
        "value": value,
    }


def reference_bins(snap: ir.Table, ref: str) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    """The numeric edges and categorical levels of run ``ref``'s own bins."""
    own = snap.filter((snap.run_id == ref) & snap.ref_run_id.isnull())
    rows = own.filter(own.kind.isin(["numeric", "categorical"])).to_pyarrow().to_pylist()
    edges: dict[str, list[float]] = {}
    levels: dict[str, list[str]] = {}
    for r in rows:
        if r["kind"] == "numeric":
            edges.setdefault(r["feature"], [])
            if r["upper"] is not None:
                edges[r["feature"]].append(float(r["upper"]))
        else:
            levels.setdefault(r["feature"], [])
            if r["bin"] != OTHER_BIN:
                levels[r["feature"]].append(r["bin"])
    return {k: sorted(set(v)) for k, v in edges.items()}, levels


def snapshot_runs(ws: Any) -> list[str]:
    """The runs with a feature snapshot, oldest first.

    Ordered by the ``runs`` table's start time when the run is recorded there, else by
    the run id (run ids are sortable time stamps).
    """
    con = ws.connect()
    if FEATURE_SNAPSHOTS_TABLE not in con.list_tables():
        return []
    s = con.table(FEATURE_SNAPSHOTS_TABLE)
    ids = s.select("run_id").distinct().to_pyarrow()["run_id"].to_pylist()
    started: dict[str, Any] = {}
    if "runs" in con.list_tables():
        r = con.table("runs")
        for row in r.select("run_id", "started_at").to_pyarrow().to_pylist():
            started[row["run_id"]] = row["started_at"]
    return sorted(ids, key=lambda i: (started.get(i) is None, started.get(i) or 0, i))


def _replace(
    con: Any, name: str, rows: list[dict[str, Any]], schema: pa.Schema, run_id: str
) -> None:
    new = pa.Table.from_pylist(rows, schema=schema)
    if name in con.list_tables():
        old = con.table(name)
        kept = old.filter(old.run_id != run_id).to_pyarrow().select(schema.names).cast(schema)
        new = pa.concat_tables([kept, new])
    con.create_table(name, ibis.memtable(new), overwrite=True)


def _model_hash(ws: Any) -> str:
    from custseg.segments.registry import CLUSTER_MODEL_FILE

    path = ws.root / CLUSTER_MODEL_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# --------------------------------------------------------------------------- entry point


def snapshot_features(
    ws: Any,
    run_id: str,
    *,
    reference: str | None = None,
    features: ir.Table | None = None,
) -> SnapshotSummary:
    """Summarise the current ``customer_features`` and segments as run ``run_id``.

    Call it right after the run's segments were evaluated (the pipeline does).

    Parameters
    ----------
    ws : Workspace
        The workspace, with ``customer_features`` built.
    run_id : str
        The run the current tables belong to.
    reference : str, optional
        The run whose bins this run is also counted on; default: the latest other run
        with a snapshot (none for the first run).
    features : ibis Table, optional
        Default: the workspace's ``customer_features``.

    Returns
    -------
    SnapshotSummary

    Raises
    ------
    WorkspaceError
        ``customer_features`` does not exist yet.
    UsageError
        ``reference`` has no snapshot.
    """
    con = ws.connect()
    if features is None:
        if "customer_features" not in con.list_tables():
            raise WorkspaceError(
                "customer_features does not exist; run `custseg features` or `custseg run` first."
            )
        features = con.table("customer_features")
    total = int(features.count().to_pyarrow().as_py())
    numeric, categorical = _feature_kinds(features)
    edges = numeric_edges(features, numeric)
    levels = categorical_levels(features, categorical)
    rows = _numeric_rows(run_id, None, edges, numeric_counts(features, edges), total)
    rows += _categorical_rows(run_id, None, levels, categorical_counts(features, levels), total)

    earlier = [r for r in snapshot_runs(ws) if r != run_id]
    if reference is None and earlier:
        reference = earlier[-1]
    if reference is not None:
        if reference not in earlier:
            raise UsageError(
                f"reference run {reference!r} has no feature snapshot; runs with one: "
                f"{', '.join(earlier) or 'none'}."
            )
        snap = con.table(FEATURE_SNAPSHOTS_TABLE)
        ref_edges, ref_levels = reference_bins(snap, reference)
        ref_edges = {k: v for k, v in ref_edges.items() if k in features.columns}
        ref_levels = {k: v for k, v in ref_levels.items() if k in features.columns}
        rows += _numeric_rows(
            run_id, reference, ref_edges, numeric_counts(features, ref_edges), total
        )
        rows += _categorical_rows(
            run_id, reference, ref_levels, categorical_counts(features, ref_levels), total
        )

    mean_distance = _cluster_rows(ws, run_id, features, rows)
    _replace(con, FEATURE_SNAPSHOTS_TABLE, rows, _SNAPSHOT_SCHEMA, run_id)
    n_segments = _segment_history(ws, run_id, features)
    log.info(
        "snapshot of run %s: %d numeric, %d categorical features, %d segments (reference %s)",
        run_id,
        len(edges),
        len(levels),
        n_segments,
        reference,
    )
    return SnapshotSummary(
        run_id=run_id,
        reference=reference,
        numeric=len(edges),
        categorical=len(levels),
        segments=n_segments,
        cluster_distance=mean_distance,
    )


def _cluster_rows(
    ws: Any, run_id: str, features: ir.Table, rows: list[dict[str, Any]]
) -> float | None:
    from custseg.segments.registry import load_cluster_model

    model = load_cluster_model(ws)
    if model is None:
        return None
    assigned = model.assign(features)
    stats = assigned.aggregate(
        n=assigned.count(),
        mean=assigned.distance.mean(),
        median=assigned.distance.cast("float64").quantile(0.5),
    )
    got = stats.to_pyarrow().to_pylist()[0]
    n = int(got["n"] or 0)
    total = int(features.count().to_pyarrow().as_py())
    kind = "cluster_distance"
    rows.append(_row(run_id, None, "distance", kind, "mean", None, None, n, total, got["mean"]))
    rows.append(_row(run_id, None, "distance", kind, "median", None, None, n, total, got["median"]))
    stability = getattr(model, "stability_", None)
    rows.append(
        _row(
            run_id,
            None,
            "distance",
            kind,
            "stability",
            None,
            None,
            n,
            total,
            None if stability is None else float(stability),
        )
    )
    rows.append(_row(run_id, None, _model_hash(ws), kind, "model", None, None, n, total))
    return None if got["mean"] is None else float(got["mean"])


def _segment_history(ws: Any, run_id: str, features: ir.Table) -> int:
    from custseg.segments.registry import SNAPSHOTS_TABLE

    con = ws.connect()
    if SNAPSHOTS_TABLE not in con.list_tables():
        return 0
    s = con.table(SNAPSHOTS_TABLE)
    m = s.filter(s.run_id == run_id)
    spend = features.select(
        cid=features.customer_id,
        spend=(
            features.amount_spent.cast("float64")
            if "amount_spent" in features.columns
            else ibis.literal(None, type=dt.float64)
        ),
    )
    j = m.left_join(spend, m.customer_id == spend.cid)
    agg = j.group_by(["family", "segment"]).aggregate(
        size=j.customer_id.count(), value=j.spend.sum(), as_of=j.as_of.max()
    )
    rows = [
        {
            "run_id": run_id,
            "as_of": r["as_of"],
            "family": r["family"],
            "segment": r["segment"],
            "size": int(r["size"]),
            "value": r["value"],
        }
        for r in agg.to_pyarrow().to_pylist()
    ]
    _replace(con, SEGMENT_HISTORY_TABLE, rows, _HISTORY_SCHEMA, run_id)
    return len(rows)
