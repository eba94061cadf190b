"""The data behind the dashboard's pages: small, aggregated or paged results of Ibis queries.

Every function takes the request's workspace and returns plain Python data sized for a
page: aggregates (one row per segment, family or run) or ``LIMIT``-ed rows (members,
orders, events, field values, a projection sample). Nothing here sends a whole table to
the browser; the expensive per-run results are cached by the routes (:mod:`.cache`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import ibis

from custseg.exceptions import CustsegError, UsageError
from custseg.segments.registry import (
    DEFINITIONS_TABLE,
    MEMBERSHIPS_TABLE,
    SNAPSHOTS_TABLE,
    SegmentDefinition,
    load_cluster_model,
    load_definitions,
)
from custseg.workspace import Workspace

__all__ = [
    "MAX_VALUES",
    "OPERATORS",
    "Kpi",
    "campaign_forest",
    "campaigns",
    "cluster_overview",
    "cluster_projection",
    "cluster_rules",
    "evaluation_run",
    "finite",
    "customer_events",
    "customer_orders",
    "families",
    "field_values",
    "kpis",
    "recent_runs",
    "rule_fields",
    "run_alerts",
    "segment_action",
    "segment_history",
    "segment_migration",
    "segment_profile",
    "segment_rows",
    "segment_shipping",
    "segment_stats",
    "size_trends",
]

log = logging.getLogger(__name__)

#: Most distinct values ``field_values`` returns.
MAX_VALUES = 50
#: Operators and keywords of the segment language, for autocomplete.
OPERATORS: tuple[str, ...] = (
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "CONTAINS",
    "IS NULL",
    "IS NOT NULL",
    "MATCHES",
    "TRUE",
    "FALSE",
    "TODAY",
)


def _tables(ws: Workspace) -> set[str]:
    return set(ws.connect().list_tables())


def evaluation_run(ws: Workspace) -> str | None:
    """The run id of the last evaluation (``memberships``), or None before any.

    Not :func:`custseg.pipeline.current_run` (the last succeeded pipeline run):
    ``custseg segments evaluate`` also rewrites the memberships, under its own id, and
    the pages' cache must follow the memberships they show.
    """
    con = ws.connect()
    if MEMBERSHIPS_TABLE not in _tables(ws):
        return None
    return con.table(MEMBERSHIPS_TABLE).run_id.max().to_pyarrow().as_py()


# ----------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class Kpi:
    """One headline figure and its change since the previous run."""

    key: str
    label: str
    value: float | None
    previous: float | None
    kind: str  # "count", "money" or "share"
    note: str = ""

    @property
    def change(self) -> float | None:
        """``value - previous`` (0 within rounding noise), or None when either is unknown."""
        if self.value is None or self.previous is None:
            return None
        diff = self.value - self.previous
        return 0.0 if abs(diff) <= 1e-9 * max(abs(self.value), abs(self.previous), 1.0) else diff


def _history_runs(ws: Workspace) -> list[str]:
    from custseg.monitor.snapshots import SEGMENT_HISTORY_TABLE

    if SEGMENT_HISTORY_TABLE not in _tables(ws):
        return []
    h = ws.connect().table(SEGMENT_HISTORY_TABLE)
    return sorted(h.select("run_id").distinct().to_pyarrow()["run_id"].to_pylist())


def _previous_run(ws: Workspace, run_id: str | None) -> str | None:
    earlier = [r for r in _history_runs(ws) if run_id is None or r < run_id]
    return earlier[-1] if earlier else None


def _history_totals(ws: Workspace, run_id: str) -> dict[str, float | None]:
    """Customers, revenue and churn share of a past run, from ``segment_history``."""
    from custseg.monitor.snapshots import SEGMENT_HISTORY_TABLE

    h = ws.connect().table(SEGMENT_HISTORY_TABLE)
    h = h.filter(h.run_id == run_id)
    rfm = h.filter(h.family == "rfm").aggregate(n=h.size.sum(), v=h.value.sum()).to_pyarrow()
    n, v = rfm["n"][0].as_py(), rfm["v"][0].as_py()
    churn = h.filter(h.segment == "churn_high").size.sum().to_pyarrow().as_py()
    return {
        "customers": None if not n else int(n),
        "revenue": v,
        "churn": None if not n or churn is None else churn / n,
    }


def kpis(ws: Workspace) -> list[Kpi]:
    """Customers, revenue, predicted CLV and the share at high churn risk, with changes.

    Current values come from ``customer_features`` and ``memberships``; the previous
    run's customers, revenue and churn share from ``segment_history`` (its RFM family
    covers every customer; ``value`` is the amount spent). Its predicted CLV total is
    read from the run's ``prediction_snapshots`` rows (each pipeline run writes them).
    """
    from custseg.segments.predictive import clv_column

    con = ws.connect()
    tables = _tables(ws)
    if "customer_features" not in tables:
        return []
    f = con.table("customer_features")
    clv = clv_column(f)
    agg = {"n": f.count()}
    if "amount_spent" in f.columns:
        agg["revenue"] = f.amount_spent.cast("float64").sum()
    if clv:
        agg["clv"] = f[clv].cast("float64").sum()
    row = f.aggregate(**agg).to_pyarrow().to_pylist()[0]
    n = int(row["n"])
    churn = None
    run_id = evaluation_run(ws)
    if run_id is not None:
        m = con.table(MEMBERSHIPS_TABLE)
        high = m.filter(m.segment == "churn_high").count().to_pyarrow().as_py()
        churn = high / n if n else None
    now = {
        "customers": float(n),
        "revenue": row.get("revenue"),
        "clv": row.get("clv"),
        "churn": churn,
    }
    prev: dict[str, float | None] = {}
    note = "no previous run to compare"
    prev_run = _previous_run(ws, run_id)
    if prev_run is not None:
        prev = _history_totals(ws, prev_run)
        prev["clv"] = _snapshot_clv(ws, prev_run)
        note = f"no value recorded for the previous run {prev_run}"
    return [
        Kpi("customers", "Customers", n, prev.get("customers"), "count", note),
        Kpi(
            "revenue", "Revenue (amount spent)", now["revenue"], prev.get("revenue"), "money", note
        ),
        Kpi("clv", f"Predicted CLV ({clv or 'none'})", now["clv"], prev.get("clv"), "money", note),
        Kpi("churn", "Share at high churn risk", now["churn"], prev.get("churn"), "share", note),
    ]


def _snapshot_clv(ws: Workspace, run_id: str) -> float | None:
    """The predicted CLV total of a run, from ``prediction_snapshots`` (None without rows)."""
    from custseg.monitor.validation import PREDICTION_SNAPSHOTS_TABLE

    if PREDICTION_SNAPSHOTS_TABLE not in _tables(ws):
        return None
    p = ws.connect().table(PREDICTION_SNAPSHOTS_TABLE)
    p = p.filter(p.run_id == run_id)
    row = p.aggregate(n=p.count(), clv=p.clv.sum()).to_pyarrow().to_pylist()[0]
    return float(row["clv"]) if row["n"] and row["clv"] is not None else None


def _sizes(ws: Workspace) -> dict[str, int]:
    if MEMBERSHIPS_TABLE not in _tables(ws):
        return {}
    m = ws.connect().table(MEMBERSHIPS_TABLE)
    rows = m.group_by("segment").aggregate(n=m.count()).to_pyarrow()
    return dict(zip(rows["segment"].to_pylist(), rows["n"].to_pylist(), strict=True))


def families(ws: Workspace, sizes: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Segment families with their segments' sizes at the last evaluation.

    ``sizes`` (segment → members, as in :func:`segment_stats`) is computed when omitted.
    """
    sizes = sizes if sizes is not None else _sizes(ws)
    out: dict[str, dict[str, Any]] = {}
    for d in load_definitions(ws):
        fam = out.setdefault(d.family, {"family": d.family, "segments": [], "size": 0})
        size = sizes.get(d.name)
        fam["segments"].append({"key": d.name, "title": d.title, "size": size})
        fam["size"] += size or 0
    return list(out.values())


def recent_runs(ws: Workspace, limit: int = 10) -> list[dict[str, Any]]:
    """The last runs, newest first (``pipeline.list_runs``)."""
    from custseg.pipeline import list_runs

    return [r.to_dict() for r in list_runs(ws, limit=limit)]


def run_alerts(ws: Workspace) -> tuple[list[dict[str, Any]], str | None]:
    """Drift alerts of the last run against the previous one, and a note when there are none.

    Returns
    -------
    (list of dict, str or None)
        The alerts (``Alert.to_dict()``), and why there are none to show, if so.
    """
    from custseg.monitor import drift_alerts

    try:
        found = drift_alerts(ws)
    except UsageError as exc:
        return [], str(exc)
    return [a.to_dict() for a in found], None if found else "No drift alerts."


# ----------------------------------------------------------------------------- segments


def _revenue(ws: Workspace) -> tuple[dict[str, float], float | None]:
    """Amount spent by the members of each segment, and by everyone."""
    con = ws.connect()
    tables = _tables(ws)
    if "customer_features" not in tables or MEMBERSHIPS_TABLE not in tables:
        return {}, None
    f = con.table("customer_features")
    if "amount_spent" not in f.columns:
        return {}, None
    spend = f.select(_cid="customer_id", spend=f.amount_spent.cast("float64"))
    m = con.table(MEMBERSHIPS_TABLE)
    j = m.inner_join(spend, m.customer_id == spend._cid)
    rows = j.group_by("segment").aggregate(v=j.spend.sum()).to_pyarrow()
    total = f.amount_spent.cast("float64").sum().to_pyarrow().as_py()
    by = dict(zip(rows["segment"].to_pylist(), rows["v"].to_pylist(), strict=True))
    return {k: float(v or 0.0) for k, v in by.items()}, total


def size_trends(ws: Workspace) -> dict[str, list[int]]:
    """Each segment's size at each run, oldest first (for the sparklines).

    From ``segment_history`` (a small table); without it, from ``membership_snapshots``
    (one aggregate).
    """
    from custseg.monitor.snapshots import SEGMENT_HISTORY_TABLE

    con = ws.connect()
    tables = _tables(ws)
    if SEGMENT_HISTORY_TABLE in tables:
        t = con.table(SEGMENT_HISTORY_TABLE).select("run_id", "segment", "size")
    elif SNAPSHOTS_TABLE in tables:
        s = con.table(SNAPSHOTS_TABLE)
        t = s.group_by(["run_id", "segment"]).aggregate(size=s.count())
    else:
        return {}
    rows = t.order_by(["run_id", "segment"]).to_pyarrow().to_pylist()
    runs = sorted({r["run_id"] for r in rows})
    index = {r: i for i, r in enumerate(runs)}
    out: dict[str, list[int]] = {}
    for r in rows:
        out.setdefault(r["segment"], [0] * len(runs))[index[r["run_id"]]] = int(r["size"])
    return out


def segment_stats(ws: Workspace) -> dict[str, Any]:
    """Sizes and revenue of the evaluated segments (one aggregate each; cache per run).

    Returns
    -------
    dict
        ``sizes`` (segment → members), ``evaluated`` (segments of the last evaluation,
        empty ones included), ``total`` (customers), ``revenue`` (segment → amount spent
        by its members) and ``revenue_total`` (by everyone).
    """
    con = ws.connect()
    tables = _tables(ws)
    sizes = _sizes(ws)
    evaluated = set(sizes)
    if DEFINITIONS_TABLE in tables:
        evaluated |= set(con.table(DEFINITIONS_TABLE).name.to_pyarrow().to_pylist())
    total = (
        int(con.table("customer_features").count().to_pyarrow().as_py())
        if "customer_features" in tables
        else 0
    )
    revenue, revenue_total = _revenue(ws)
    return {
        "sizes": sizes,
        "evaluated": evaluated,
        "total": total,
        "revenue": revenue,
        "revenue_total": revenue_total,
    }


def segment_rows(
    ws: Workspace,
    stats: dict[str, Any] | None = None,
    trends: dict[str, list[int]] | None = None,
) -> list[dict[str, Any]]:
    """One row per segment (every definition, evaluated or not) for the segments list.

    Parameters
    ----------
    ws : Workspace
    stats : dict, optional
        :func:`segment_stats` (computed when omitted).
    trends : dict, optional
        :func:`size_trends` (computed when omitted).

    Returns
    -------
    list of dict
        ``key``, ``title``, ``family``, ``tags``, ``description``, ``rule``, ``size``
        (None when not evaluated yet), ``share``, ``revenue_share``, ``trend`` (sizes by
        run).
    """
    st = stats if stats is not None else segment_stats(ws)
    trends = trends if trends is not None else size_trends(ws)
    total, revenue_total = st["total"], st["revenue_total"]
    out = []
    for d in load_definitions(ws):
        size = st["sizes"].get(d.name, 0) if d.name in st["evaluated"] else None
        out.append(
            {
                "key": d.name,
                "title": d.title,
                "family": d.family,
                "tags": list(d.tags),
                "description": d.description,
                "rule": d.rule,
                "size": size,
                "share": size / total if size is not None and total else None,
                "revenue_share": (
                    st["revenue"].get(d.name, 0.0) / revenue_total
                    if size is not None and revenue_total
                    else None
                ),
                "trend": trends.get(d.name, []),
            }
        )
    return out


# ----------------------------------------------------------------------------- builder


def rule_fields(ws: Workspace) -> list[dict[str, str]]:
    """The fields a rule can use (name, type, feature family), then the functions."""
    from custseg.features.catalog import feature_family
    from custseg.segments.dsl import FUNCTIONS, field_types
    from custseg.segments.registry import rule_context

    out = [
        {"name": name, "kind": kind, "family": feature_family(name)}
        for name, kind in field_types(rule_context(ws)).items()
    ]
    out += [{"name": name, "kind": "function", "family": "function"} for name in sorted(FUNCTIONS)]
    return out


def field_values(ws: Workspace, field: str, limit: int = 20) -> list[dict[str, Any]]:
    """The most frequent values of a text or boolean field, with their counts.

    Parameters
    ----------
    field : str
        A field of the segment frame.
    limit : int
        At most this many values (capped at :data:`MAX_VALUES`).

    Raises
    ------
    UsageError
        An unknown field.
    """
    from custseg.segments.dsl import field_types
    from custseg.segments.registry import rule_context

    ctx = rule_context(ws)
    kinds = field_types(ctx)
    if field not in kinds:
        raise UsageError(f"unknown field {field!r}; GET /ui/api/fields lists the fields.")
    limit = max(1, min(int(limit), MAX_VALUES))
    if kinds[field] == "bool":
        return [{"value": True, "count": None}, {"value": False, "count": None}][:limit]
    if kinds[field] != "text":
        return []
    t = ctx.features
    t = t.filter(t[field].notnull())
    rows = (
        t.group_by(value=t[field])
        .aggregate(count=t.count())
        .order_by([ibis.desc("count"), "value"])
        .limit(limit)
        .to_pyarrow()
        .to_pylist()
    )
    return [{"value": r["value"], "count": int(r["count"])} for r in rows]


def cluster_rules(ws: Workspace) -> list[dict[str, Any]]:
    """Each cluster of the saved model with its name and explaining rule (empty without one)."""
    from custseg.report import cluster_sizes

    model = load_cluster_model(ws)
    if model is None:
        return []
    sizes = cluster_sizes(model)
    out = []
    for c, name in sorted(model.names_.items()):
        r = model.rules_.get(c)
        out.append(
            {
                "cluster": int(c),
                "name": name,
                "rule": r.rule if r else "",
                "precision": None if r is None else float(r.precision),
                "recall": None if r is None else float(r.recall),
                "sample_size": sizes.get(int(c)),
            }
        )
    return out


# ----------------------------------------------------------------------------- one segment


def segment_profile(ws: Workspace, d: SegmentDefinition) -> Any:
    """The segment's :class:`~custseg.profiles.SegmentProfile` (None when it has no members)."""
    from custseg.profiles import profile_segments

    con = ws.connect()
    tables = _tables(ws)
    if MEMBERSHIPS_TABLE not in tables:
        return None
    m = con.table(MEMBERSHIPS_TABLE)
    has_orders = "orders" in tables and "order_lines" in tables
    profiles = profile_segments(
        con.table("customer_features"),
        m.filter(m.segment == d.name).select("customer_id", "segment"),
        orders=con.table("orders") if has_orders else None,
        order_lines=con.table("order_lines") if has_orders else None,
        segments=[d.name],
    )
    return profiles.get(d.name)


def segment_action(ws: Workspace, key: str) -> dict[str, Any] | None:
    """The playbook action planned for the segment, or None."""
    from custseg.actions.playbooks import plan

    try:
        for a in plan(ws):
            if a.segment == key:
                return a.to_dict()
    except CustsegError as exc:
        log.info("no action plan: %s", exc)
    return None


def segment_shipping(ws: Workspace, key: str) -> list[dict[str, Any]]:
    """The segment's members by shipping tier and method (empty before tiers exist)."""
    from custseg.actions.shipping import SHIPPING_TABLE

    con = ws.connect()
    tables = _tables(ws)
    if SHIPPING_TABLE not in tables or MEMBERSHIPS_TABLE not in tables:
        return []
    m = con.table(MEMBERSHIPS_TABLE)
    m = m.filter(m.segment == key).select(_cid="customer_id")
    s = con.table(SHIPPING_TABLE)
    j = s.inner_join(m, s.customer_id == m._cid)
    rows = (
        j.group_by(["tier", "method"])
        .aggregate(customers=j.count())
        .order_by([ibis.desc("customers"), "tier"])
        .limit(20)
        .to_pyarrow()
        .to_pylist()
    )
    total = sum(r["customers"] for r in rows)
    return [{**r, "share": r["customers"] / total if total else None} for r in rows]


def segment_history(ws: Workspace, key: str) -> list[dict[str, Any]]:
    """The segment's size at each run with a snapshot, oldest first."""
    from custseg.monitor.snapshots import SEGMENT_HISTORY_TABLE

    con = ws.connect()
    tables = _tables(ws)
    if SEGMENT_HISTORY_TABLE in tables:
        h = con.table(SEGMENT_HISTORY_TABLE)
        t = h.filter(h.segment == key).select("run_id", "as_of", "size")
    elif SNAPSHOTS_TABLE in tables:
        s = con.table(SNAPSHOTS_TABLE)
        s = s.filter(s.segment == key)
        t = s.group_by("run_id").aggregate(as_of=s.as_of.max(), size=s.count())
    else:
        return []
    return t.order_by("run_id").limit(500).to_pyarrow().to_pylist()


def segment_migration(ws: Workspace, key: str, family: str, top: int = 8) -> dict[str, Any] | None:
    """Who entered and left the segment between the last two snapshotted runs.

    Returns
    -------
    dict or None
        ``run_a``, ``run_b``, ``stayed``, ``entered``, ``exited`` (counts), ``sources``
        (where those who entered were in run A, within the same family, ``(none)`` when
        in no segment of it) and ``targets`` (where those who left are in run B); None
        with fewer than two runs.
    """
    con = ws.connect()
    if SNAPSHOTS_TABLE not in _tables(ws):
        return None
    s = con.table(SNAPSHOTS_TABLE)
    runs = (
        s.select("run_id")
        .distinct()
        .order_by(ibis.desc("run_id"))
        .limit(2)
        .to_pyarrow()["run_id"]
        .to_pylist()
    )
    if len(runs) < 2:
        return None
    b_run, a_run = runs
    a = s.filter((s.run_id == a_run) & (s.segment == key)).select("customer_id").distinct()
    b = s.filter((s.run_id == b_run) & (s.segment == key)).select("customer_id").distinct()
    entered = b.anti_join(a, "customer_id")
    exited = a.anti_join(b, "customer_id")
    stayed = b.semi_join(a, "customer_id")

    def where(who: Any, run: str) -> list[dict[str, Any]]:
        fam = s.filter((s.run_id == run) & (s.family == family) & (s.segment != key))
        fam = fam.select(_cid="customer_id", other="segment")
        j = who.left_join(fam, who.customer_id == fam._cid)
        j = j.mutate(other=j.other.fill_null("(none)"))
        return (
            j.group_by("other")
            .aggregate(customers=j.customer_id.nunique())
            .order_by([ibis.desc("customers"), "other"])
            .limit(top)
            .to_pyarrow()
            .to_pylist()
        )

    counts = (
        ibis.memtable({"x": [0]})
        .select(
            stayed=stayed.count().as_scalar(),
            entered=entered.count().as_scalar(),
            exited=exited.count().as_scalar(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    return {
        "run_a": a_run,
        "run_b": b_run,
        **{k: int(v) for k, v in counts.items()},
        "sources": where(entered, a_run),
        "targets": where(exited, b_run),
    }


# ----------------------------------------------------------------------------- customer


def customer_orders(ws: Workspace, customer_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The customer's most recent orders."""
    con = ws.connect()
    if "orders" not in _tables(ws):
        return []
    o = con.table("orders")
    cols = [c for c in ("order_id", "ordered_at", "status", "currency", "total") if c in o.columns]
    return (
        o.filter(o.customer_id == customer_id)
        .order_by([ibis.desc("ordered_at"), "order_id"])
        .select(*cols)
        .limit(limit)
        .to_pyarrow()
        .to_pylist()
    )


def customer_events(ws: Workspace, customer_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The customer's most recent events."""
    con = ws.connect()
    if "events" not in _tables(ws):
        return []
    e = con.table("events")
    cols = [c for c in ("ts", "type", "device", "source", "product_id", "url") if c in e.columns]
    return (
        e.filter(e.customer_id == customer_id)
        .order_by([ibis.desc("ts")])
        .select(*cols)
        .limit(limit)
        .to_pyarrow()
        .to_pylist()
    )


# ----------------------------------------------------------------------------- clusters


def cluster_overview(model: Any) -> dict[str, Any]:
    """The chosen k, its curve, stability and criterion of a fitted clustering."""
    return {
        "algorithm": getattr(model, "algorithm", type(model).__name__),
        "k": int(model.k_),
        "criterion": getattr(model, "k_criterion_", "score"),
        "curve": [(int(k), float(s)) for k, s in model.k_curve_],
        "stability": float(model.stability_),
        "features": list(model.transform_columns()),
    }


def cluster_projection(ws: Workspace, model: Any, n: int = 2000) -> dict[str, list[Any]]:
    """A 2-D PCA projection of up to ``n`` sampled customers of the clustered population.

    The sample is the ``n`` customers with the smallest hash of their id (deterministic,
    computed in the engine); the projection is of the model's own scaled design matrix.

    Returns
    -------
    dict
        ``x``, ``y``, ``cluster``, ``name``, ``customer_id`` lists, and ``explained``
        (the two components' shares of variance).
    """
    import numpy as np
    from sklearn.decomposition import PCA

    con = ws.connect()
    f = con.table("customer_features")
    assigned = model.assign(f).select("customer_id", "cluster", "cluster_name")
    cols = model.transform_columns()
    feats = f.select(*cols, _cid="customer_id")
    j = assigned.inner_join(feats, assigned.customer_id == feats._cid)
    sample = (
        j.mutate(_h=j.customer_id.hash())
        .order_by(["_h", "customer_id"])
        .limit(n)
        .drop("_h")
        .to_pandas()
    )
    if len(sample) < 3:
        return {"x": [], "y": [], "cluster": [], "name": [], "customer_id": [], "explained": []}
    x = np.asarray(model.transform_.matrix(sample), dtype=float)
    x = np.nan_to_num(x)
    pca = PCA(n_components=2, random_state=0)
    xy = pca.fit_transform(x)
    return {
        "x": [float(v) for v in xy[:, 0]],
        "y": [float(v) for v in xy[:, 1]],
        "cluster": [int(c) for c in sample["cluster"]],
        "name": [str(c) for c in sample["cluster_name"]],
        "customer_id": [str(c) for c in sample["customer_id"]],
        "explained": [float(v) for v in pca.explained_variance_ratio_],
    }


# ----------------------------------------------------------------------------- campaigns


def campaigns(ws: Workspace, limit: int = 50) -> list[dict[str, Any]]:
    """Campaigns with exposures, newest first."""
    con = ws.connect()
    tables = _tables(ws)
    if not {"campaigns", "campaign_exposures"} <= tables:
        return []
    c = con.table("campaigns")
    exposed = con.table("campaign_exposures").select("campaign_id").distinct()
    cols = [x for x in ("campaign_id", "name", "channel", "started_at") if x in c.columns]
    return (
        c.semi_join(exposed, "campaign_id")
        .order_by(ibis.desc("started_at"))
        .select(*cols)
        .limit(limit)
        .to_pyarrow()
        .to_pylist()
    )


def campaign_forest(ws: Workspace, campaign_id: str, by: str = "rfm") -> tuple[Any, list[Any]]:
    """The campaign's measurement by segment family and its forest plot.

    Returns
    -------
    (plotly Figure, list of SegmentLift)
        The conversion-lift forest plot, and the rows (segments, then overall).
    """
    from custseg.monitor import forest_plot, measure_campaign

    m = measure_campaign(ws, campaign_id, by=by)
    return forest_plot(m), [*m.segments, m.overall]


def finite(x: Any) -> Any:
    """``x`` with NaN and infinities as None (for JSON and display)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
