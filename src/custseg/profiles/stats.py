"""Segment profiles computed in the engine: a few grouped Ibis queries for all segments.

:func:`profile_segments` joins the memberships to ``customer_features`` and aggregates
every segment at once, against the population (every customer in the features):

1. the population: mean, median, std and count of each numeric feature, the totals of
   ``amount_spent`` and the CLV column, the CLV deciles (the histogram's bin edges);
2. the segments: mean, median and count of each numeric feature, size and totals,
   grouped by segment;
3. the categorical features and the CLV bin, unpivoted into ``(feature, value)`` and
   counted by segment and for the population;
4. with orders and order lines, the units bought by category, product and brand by
   segment and for the population, ranked by lift in the engine (top ``top_n`` only),
   and the unit totals; then the names of the listed products.

Only the aggregated rows come back to Python, where the shares, lifts and rankings are
assembled into :class:`~custseg.profiles.model.SegmentProfile` objects. The number of
queries does not depend on the number of segments or features. Every operation is a
portable Ibis operation (mean, median, std, count, sum, quantile, joins, ``pivot_longer``,
``row_number``), so the same code runs on the PySpark backend.

Pass a materialized ``customer_features`` table (``con.table("customer_features")``):
an unmaterialized expression is recomputed by each query.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.exceptions import DataError, SchemaError, UsageError
from custseg.features._common import as_of_cut, counted_orders
from custseg.features.catalog import IDENTITY_COLUMNS, feature_family
from custseg.features.demographic import AGE_BANDS
from custseg.profiles.model import (
    ITEM_KINDS,
    CategoryShare,
    ClvHistogram,
    Distinction,
    Distribution,
    FeatureStat,
    HistogramBin,
    ItemLift,
    SegmentProfile,
    TopItems,
)
from custseg.segments.rfm import PROSPECTS

__all__ = [
    "CLV_QUANTILES",
    "NOT_RANKED",
    "categorical_columns",
    "clv_column",
    "numeric_columns",
    "profile_segment",
    "profile_segments",
]

log = logging.getLogger(__name__)

#: Numeric columns not profiled: coordinates (their mean means nothing) and the RFM
#: scores (the RFM mix shows them).
SKIP_NUMERIC: frozenset[str] = frozenset({"latitude", "longitude", "r_score", "f_score", "m_score"})
#: Numeric columns profiled but not ranked among the distinguishing features: they
#: restate another feature (``clv_frequency`` = ``repeat_purchase_days``,
#: ``churn_probability`` = 1 - ``p_alive``, the CLV inputs in weeks).
NOT_RANKED: frozenset[str] = frozenset(
    {"clv_frequency", "clv_recency", "clv_T", "clv_monetary", "churn_probability"}
)
#: String columns not profiled: near-unique per customer, or lists.
SKIP_CATEGORICAL: frozenset[str] = frozenset(
    {"city", "postal_code", "account_id", "tags", "rfm_score"}
)
#: Population quantiles of the CLV column used as the histogram's bin edges (deciles).
CLV_QUANTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_CLV_RE = re.compile(r"^clv_(\d+)d$")
_CLV_BIN = "__clv_bin__"
#: Display order of known categorical values; other values follow by population count.
_NATURAL_ORDER: dict[str, tuple[str, ...]] = {
    "age_band": ("under 18", *[label for _, label in reversed(AGE_BANDS)]),
    "rfm_group": (
        "Champions",
        "Loyal Customers",
        "Potential Loyalist",
        "New Customers",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "At Risk",
        "Can't Lose Them",
        "Hibernating",
        "Lost",
        PROSPECTS,
    ),
}


# --------------------------------------------------------------------------- columns


def numeric_columns(features: ir.Table) -> list[str]:
    """The numeric (and boolean) columns a profile describes, in table order.

    Every numeric or boolean column except the identity columns (``customer_id``,
    ``is_stub``, ``as_of``) and :data:`SKIP_NUMERIC`. Booleans count as 0/1, so their
    mean is the share of ``True``.
    """
    schema = features.schema()
    return [
        name
        for name, dtype in schema.items()
        if (dtype.is_numeric() or dtype.is_boolean())
        and name not in IDENTITY_COLUMNS
        and name not in SKIP_NUMERIC
    ]


def categorical_columns(features: ir.Table) -> list[str]:
    """The string columns a profile describes as distributions, in table order.

    Every string column except ``customer_id`` and :data:`SKIP_CATEGORICAL`.
    """
    schema = features.schema()
    return [
        name
        for name, dtype in schema.items()
        if dtype.is_string() and name not in IDENTITY_COLUMNS and name not in SKIP_CATEGORICAL
    ]


def clv_column(columns: Sequence[str]) -> str | None:
    """The predicted CLV column ``clv_<h>d`` (the shortest horizon if several), or None."""
    found = [(int(m.group(1)), c) for c in columns if (m := _CLV_RE.match(c))]
    return min(found)[1] if found else None


# --------------------------------------------------------------------------- checks


def _check_options(
    top_n: object, n_distinguishing: object, min_share: object, min_units: object
) -> None:
    for name, value in (
        ("top_n", top_n),
        ("n_distinguishing", n_distinguishing),
        ("min_item_units", min_units),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a positive integer, got {value!r}")
    if (
        isinstance(min_share, bool)
        or not isinstance(min_share, int | float)
        or not 0 <= min_share < 1
    ):
        raise UsageError(f"min_category_share must be a number in [0, 1), got {min_share!r}")


def _require(table: ir.Table, what: str, columns: Sequence[str], hint: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        got = ", ".join(list(table.columns)[:20]) or "none"
        raise SchemaError(f"{what} needs the column(s) {', '.join(missing)}; it has {got}. {hint}")


def _check_tables(
    features: ir.Table,
    memberships: ir.Table,
    orders: ir.Table | None,
    order_lines: ir.Table | None,
) -> None:
    for name, t in (("features", features), ("memberships", memberships)):
        if not isinstance(t, ir.Table):
            raise UsageError(f"{name} must be an Ibis table, got {type(t).__name__}")
    _require(
        features,
        "features",
        ["customer_id"],
        "Pass the customer_features table (custseg.features.materialize, then "
        "con.table('customer_features')).",
    )
    _require(
        memberships,
        "memberships",
        ["customer_id", "segment"],
        "Pass one row per (customer_id, segment), e.g. ibis.memtable({'customer_id': [...], "
        "'segment': [...]}).",
    )
    if order_lines is not None and orders is None:
        raise UsageError(
            "order_lines were given without orders; the top items need both (orders decide "
            "which lines count: not cancelled, placed by as-of, with a customer)."
        )
    if orders is not None:
        _require(
            orders,
            "orders",
            ["order_id", "customer_id", "ordered_at", "status", "total", "refunded"],
            "Pass the canonical orders table (custseg.schema).",
        )
    if order_lines is not None:
        _require(
            order_lines,
            "order_lines",
            ["order_id", "quantity", "category", "brand", "sku", "product_name"],
            "Pass the canonical order_lines table (custseg.schema).",
        )


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class _Columns:
    numeric: list[str]
    categorical: list[str]
    clv: str | None
    revenue: bool
    as_of: bool


def _memberships(memberships: ir.Table, features: ir.Table) -> ir.Table:
    """``customer_id`` (features' type) and ``_segment`` (string), distinct, no nulls."""
    cid = memberships.customer_id
    if cid.type() != features.customer_id.type():
        cid = cid.cast(features.customer_id.type())
    m = memberships.select(customer_id=cid, _segment=memberships.segment.cast("string"))
    return m.filter(m.customer_id.notnull(), m._segment.notnull()).distinct()


def _population(features: ir.Table, cols: _Columns) -> dict[str, Any]:
    """One row: the population statistics of every numeric feature and the totals."""
    f = features
    aggs: dict[str, ir.Value] = {"_size": f.count(), "_ids": f.customer_id.nunique()}
    for i, c in enumerate(cols.numeric):
        x = f[c].cast("float64")
        aggs[f"m{i}"] = x.mean()
        aggs[f"q{i}"] = x.median()
        aggs[f"s{i}"] = x.std()
        aggs[f"n{i}"] = x.count()
    if cols.revenue:
        aggs["_revenue"] = f.amount_spent.cast("float64").sum()
    if cols.clv:
        x = f[cols.clv].cast("float64")
        aggs["_clv"] = x.sum()
        aggs["_clv_q"] = x.quantile(list(CLV_QUANTILES))
        aggs["_clv_min"] = x.min()
        aggs["_clv_max"] = x.max()
    if cols.as_of:
        aggs["_as_of"] = f.as_of.max()
    row = f.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    if not row["_size"]:
        raise DataError(
            "features has no rows, so there is no population to profile against; build "
            "customer_features first (custseg features)."
        )
    if row["_ids"] != row["_size"]:
        raise DataError(
            f"features must have one row per customer, but {row['_size']:,} rows hold "
            f"{row['_ids']:,} distinct customer_id values (nulls or duplicates). Pass "
            "customer_features as built by custseg.features."
        )
    return row


def _segment_numeric(features: ir.Table, m: ir.Table, cols: _Columns) -> list[dict[str, Any]]:
    """One row per segment: member counts, totals, and mean/median/count of each feature."""
    sel: dict[str, ir.Value] = {"_fid": features.customer_id}
    for i, c in enumerate(cols.numeric):
        sel[f"v{i}"] = features[c].cast("float64")
    if cols.revenue:
        sel["_rev"] = features.amount_spent.cast("float64")
    if cols.clv:
        sel["_clvv"] = features[cols.clv].cast("float64")
    fs = features.select(**sel)
    j = m.left_join(fs, m.customer_id == fs._fid)
    aggs: dict[str, ir.Value] = {"_members": j.count(), "_size": j._fid.count()}
    for i in range(len(cols.numeric)):
        v = j[f"v{i}"]
        aggs[f"m{i}"] = v.mean()
        aggs[f"q{i}"] = v.median()
        aggs[f"n{i}"] = v.count()
    if cols.revenue:
        aggs["_revenue"] = j._rev.sum()
    if cols.clv:
        aggs["_clv"] = j._clvv.sum()
    return j.group_by("_segment").aggregate(**aggs).to_pyarrow().to_pylist()


def _clv_bin(x: ir.NumericValue, edges: Sequence[float]) -> ir.StringValue:
    """The histogram bin of ``x`` as a string: ``"0"`` for x <= edges[0], ... ; null if null."""
    branches = [(x <= ibis.literal(e, type="float64"), i) for i, e in enumerate(edges)]
    binned = ibis.cases(*branches, else_=len(edges)) if branches else ibis.literal(0)
    return ibis.ifelse(x.isnull(), ibis.null("string"), binned.cast("string"))


def _category_counts(
    features: ir.Table, m: ir.Table, cols: _Columns, edges: Sequence[float] | None
) -> dict[tuple[str | None, str], dict[str | None, int]]:
    """Counts by (segment or None for the population, feature) and value (None: missing)."""
    sel: dict[str, ir.Value] = {
        f"c{i}": features[c].cast("string") for i, c in enumerate(cols.categorical)
    }
    if cols.clv and edges is not None:
        sel[_CLV_BIN] = _clv_bin(features[cols.clv].cast("float64"), edges)
    if not sel:
        return {}
    names = {f"c{i}": c for i, c in enumerate(cols.categorical)} | {_CLV_BIN: _CLV_BIN}
    value_cols = list(sel)
    cs = features.select(_fid=features.customer_id, **sel)
    seg_side = m.join(cs, m.customer_id == cs._fid).select("_segment", *value_cols)
    pop_side = cs.select(_segment=ibis.null("string"), **{c: cs[c] for c in value_cols})

    def counted(t: ir.Table) -> ir.Table:
        long = t.pivot_longer(value_cols, names_to="_feature", values_to="_value")
        return long.group_by(["_segment", "_feature", "_value"]).aggregate(_n=long.count())

    rows = counted(seg_side).union(counted(pop_side)).to_pyarrow().to_pylist()
    out: dict[tuple[str | None, str], dict[str | None, int]] = {}
    for r in rows:
        out.setdefault((r["_segment"], names[r["_feature"]]), {})[r["_value"]] = int(r["_n"])
    return out


def _bought_units(
    features: ir.Table, orders: ir.Table, order_lines: ir.Table, as_of: date | datetime
) -> ir.Table:
    """Bought lines (quantity > 0) of counted orders of customers in ``features``."""
    co = counted_orders(orders, as_of_cut(as_of))
    co = co.select(_oid=co.order_id, _cid=co.customer_id.cast(features.customer_id.type()))
    ids = features.select(_fid=features.customer_id)
    co = co.semi_join(ids, co._cid == ids._fid)
    ol = order_lines.filter(order_lines.quantity > 0)
    ol = ol.select(
        _loid=ol.order_id,
        _units=ol.quantity.cast("int64"),
        _cat=ol.category,
        _brand=ol.brand,
        _pkey=ol.sku.fill_null(ol.product_name),
    )
    return ol.join(co, ol._loid == co._oid).select("_cid", "_units", "_cat", "_brand", "_pkey")


_ITEM_COLUMNS: dict[str, str] = {"_cat": "categories", "_pkey": "products", "_brand": "brands"}


def _item_rows(
    bought: ir.Table, m: ir.Table, *, top_n: int, min_units: int
) -> list[dict[str, Any]]:
    """The top items and the unit totals, in one query.

    Rows with ``_kind`` in ``_cat, _pkey, _brand`` are the ``top_n`` items per (segment,
    kind) by lift among items with at least ``min_units`` units; rows with ``_kind ==
    "_total"`` carry the units bought by a segment (``_segment`` None: the population).
    """
    keys = list(_ITEM_COLUMNS)
    # Sum units by (category, brand, product) first: few groups, then unpivot the small result.
    joined = bought.join(m, bought._cid == m.customer_id)
    seg = joined.group_by(["_segment", *keys]).aggregate(_u=joined._units.sum())
    seg = seg.pivot_longer(keys, names_to="_kind", values_to="_key")
    seg = seg.group_by(["_segment", "_kind", "_key"]).aggregate(_u=seg._u.sum())
    seg = seg.mutate(_st=seg._u.sum().over(group_by=[seg._segment, seg._kind]))
    pop = bought.group_by(keys).aggregate(_pu=bought._units.sum())
    pop = pop.pivot_longer(keys, names_to="_kind", values_to="_key")
    pop = pop.group_by(["_kind", "_key"]).aggregate(_pu=pop._pu.sum())
    pop = pop.mutate(_pt=pop._pu.sum().over(group_by=pop._kind))

    top = seg.filter(seg._key.notnull(), seg._u >= min_units).join(pop, ["_kind", "_key"])
    top = top.mutate(
        _ss=top._u.cast("float64") / top._st.cast("float64"),
        _ps=top._pu.cast("float64") / top._pt.cast("float64"),
    )
    top = top.mutate(_lift=top._ss / top._ps)
    top = top.mutate(
        _rank=ibis.row_number().over(
            group_by=[top._segment, top._kind],
            order_by=[top._lift.desc(), top._u.desc(), top._key.asc()],
        )
    )
    top = top.filter(top._rank < top_n)
    top = top.select(
        "_segment",
        "_kind",
        "_key",
        _u=top._u,
        _pu=top._pu,
        _ss=top._ss,
        _ps=top._ps,
        _lift=top._lift,
        _rank=top._rank.cast("int64"),
    )

    def totals(t: ir.Table, segment: ir.Value, units: ir.Value) -> ir.Table:
        return t.select(
            _segment=segment,
            _kind=ibis.literal("_total"),
            _key=ibis.null("string"),
            _u=units.cast("int64"),
            _pu=ibis.null("int64"),
            _ss=ibis.null("float64"),
            _ps=ibis.null("float64"),
            _lift=ibis.null("float64"),
            _rank=ibis.null("int64"),
        )

    seg_cat = seg.filter(seg._kind == "_cat")
    seg_tot = seg_cat.group_by("_segment").aggregate(_t=seg_cat._u.sum())
    pop_cat = pop.filter(pop._kind == "_cat")
    pop_tot = pop_cat.aggregate(_t=pop_cat._pu.sum())
    result = top.union(
        totals(seg_tot, seg_tot._segment, seg_tot._t),
        totals(pop_tot, ibis.null("string"), pop_tot._t),
    )
    return result.to_pyarrow().to_pylist()


def _product_labels(order_lines: ir.Table, keys: Sequence[str]) -> dict[str, str]:
    """Product name of each product key (sku, else name): the alphabetically first one."""
    if not keys:
        return {}
    ol = order_lines.mutate(_pkey=order_lines.sku.fill_null(order_lines.product_name))
    ol = ol.filter(ol._pkey.isin(list(keys)), ol.product_name.notnull())
    rows = ol.group_by("_pkey").aggregate(_name=ol.product_name.min()).to_pyarrow().to_pylist()
    return {r["_pkey"]: r["_name"] for r in rows}


# --------------------------------------------------------------------------- assembly


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or (isinstance(b, float) and math.isnan(b)):
        return None
    out = a / b
    return out if math.isfinite(out) else None


def _float(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _feature_stats(
    cols: _Columns, pop: Mapping[str, Any], seg: Mapping[str, Any] | None
) -> tuple[FeatureStat, ...]:
    out = []
    for i, c in enumerate(cols.numeric):
        pm, ps = _float(pop[f"m{i}"]), _float(pop[f"s{i}"])
        sm = _float(seg[f"m{i}"]) if seg else None
        out.append(
            FeatureStat(
                feature=c,
                family=feature_family(c),
                segment_mean=sm,
                segment_median=_float(seg[f"q{i}"]) if seg else None,
                segment_count=int(seg[f"n{i}"]) if seg else 0,
                population_mean=pm,
                population_median=_float(pop[f"q{i}"]),
                population_std=ps,
                population_count=int(pop[f"n{i}"]),
                lift=_div(sm, pm),
                std_diff=None if sm is None or pm is None else _div(sm - pm, ps),
            )
        )
    return tuple(out)


def _share_row(value: str | None, n: int, size: int, pn: int, pop_size: int) -> CategoryShare:
    s, p = _div(n, size), _div(pn, pop_size)
    return CategoryShare(value, n, s, pn, p, _div(s, p))


def _distribution(
    feature: str,
    seg_counts: Mapping[str | None, int],
    pop_counts: Mapping[str | None, int],
    size: int,
    pop_size: int,
    *,
    top_n: int,
    min_share: float,
) -> Distribution:
    values = set(pop_counts) | set(seg_counts)
    by_segment = sorted(
        (v for v in values if v is not None), key=lambda v: (-seg_counts.get(v, 0), v)
    )
    keep = {v for v in by_segment[:top_n] if seg_counts.get(v, 0) > 0}
    keep |= {v for v in values if v is not None and pop_counts.get(v, 0) >= min_share * pop_size}
    natural = _NATURAL_ORDER.get(feature, ())
    keep |= values & set(natural)  # the known values of a small fixed set are always listed
    if None in values:
        keep.add(None)

    def order(v: str | None) -> tuple:
        if v is None:
            return (2, 0, "")
        if v in natural:
            return (0, natural.index(v), v)
        return (1, -pop_counts.get(v, 0), v)

    rows = tuple(
        _share_row(v, seg_counts.get(v, 0), size, pop_counts.get(v, 0), pop_size)
        for v in sorted(keep, key=order)
    )
    rest = values - keep
    other = None
    if rest:
        other = _share_row(
            None,
            sum(seg_counts.get(v, 0) for v in rest),
            size,
            sum(pop_counts.get(v, 0) for v in rest),
            pop_size,
        )
    return Distribution(feature=feature, family=feature_family(feature), rows=rows, other=other)


def _indicator_std_diff(s: float, p: float) -> float | None:
    """Standardized difference of a 0/1 indicator with population mean p: (s - p) / sd."""
    if p <= 0 or p >= 1:
        return None
    return (s - p) / math.sqrt(p * (1 - p))


def _distinctions(
    stats: Sequence[FeatureStat],
    dists: Mapping[str, Distribution],
    *,
    n: int,
    min_share: float,
) -> tuple[Distinction, ...]:
    cands: list[Distinction] = []
    for st in stats:
        if st.feature in NOT_RANKED or st.std_diff is None:
            continue
        cands.append(
            Distinction(
                rank=0,
                feature=st.feature,
                family=st.family,
                kind="numeric",
                category=None,
                score=abs(st.std_diff),
                std_diff=st.std_diff,
                lift=st.lift,
                segment_value=st.segment_mean,
                population_value=st.population_mean,
            )
        )
    for name, dist in dists.items():
        eligible = [
            r
            for r in dist.rows
            if r.value is not None
            and r.lift is not None
            and r.segment_share is not None
            and r.population_share is not None
            and min_share <= r.population_share < 1
        ]
        if not eligible:
            continue
        best = min(eligible, key=lambda r: (-r.lift, -r.segment_share, r.value))
        sd = _indicator_std_diff(best.segment_share, best.population_share)
        if sd is None:
            continue
        cands.append(
            Distinction(
                rank=0,
                feature=name,
                family=dist.family,
                kind="categorical",
                category=best.value,
                score=abs(sd),
                std_diff=sd,
                lift=best.lift,
                segment_value=best.segment_share,
                population_value=best.population_share,
            )
        )
    cands = [c for c in cands if c.score > 0]
    cands.sort(key=lambda c: (-c.score, c.feature))
    return tuple(Distinction(**{**c.__dict__, "rank": i + 1}) for i, c in enumerate(cands[:n]))


def _histogram(
    column: str,
    edges: Sequence[float],
    lo: float | None,
    hi: float | None,
    seg_counts: Mapping[str | None, int],
    pop_counts: Mapping[str | None, int],
) -> ClvHistogram:
    bounds = [lo, *edges, hi]
    seg_valued = sum(n for k, n in seg_counts.items() if k is not None)
    pop_valued = sum(n for k, n in pop_counts.items() if k is not None)
    bins = []
    for i in range(len(edges) + 1):
        sn, pn = seg_counts.get(str(i), 0), pop_counts.get(str(i), 0)
        bins.append(
            HistogramBin(
                low=bounds[i],
                high=bounds[i + 1],
                segment_count=sn,
                segment_share=_div(sn, seg_valued),
                population_count=pn,
                population_share=_div(pn, pop_valued),
            )
        )
    return ClvHistogram(
        column=column,
        bins=tuple(bins),
        segment_missing=seg_counts.get(None, 0),
        population_missing=pop_counts.get(None, 0),
    )


def _items(
    rows: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    seg_units: int,
    pop_units: int,
) -> TopItems:
    by_kind: dict[str, list[ItemLift]] = {k: [] for k in ITEM_KINDS}
    for r in sorted(rows, key=lambda r: r["_rank"]):
        kind = _ITEM_COLUMNS[r["_kind"]]
        key = str(r["_key"])
        by_kind[kind].append(
            ItemLift(
                key=key,
                label=labels.get(key, key) if kind == "products" else key,
                segment_units=int(r["_u"]),
                segment_share=float(r["_ss"]),
                population_units=int(r["_pu"]),
                population_share=float(r["_ps"]),
                lift=float(r["_lift"]),
            )
        )
    return TopItems(
        segment_units=seg_units,
        population_units=pop_units,
        **{k: tuple(v) for k, v in by_kind.items()},
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date | datetime) else None


@dataclass(frozen=True)
class _Context:
    """What every segment's profile is assembled from (the queries' results and options)."""

    cols: _Columns
    pop: Mapping[str, Any]
    counts: Mapping[tuple[str | None, str], Mapping[str | None, int]]
    edges: Sequence[float] | None
    items: bool
    item_rows: Sequence[Mapping[str, Any]]
    labels: Mapping[str, str]
    totals: Mapping[str | None, int]
    as_of: str | None
    top_n: int
    n_distinguishing: int
    min_share: float


def _build_profile(name: str, seg: Mapping[str, Any] | None, ctx: _Context) -> SegmentProfile:
    """The profile of segment ``name`` from its row of the segment query (None: no members)."""
    cols, pop = ctx.cols, ctx.pop
    pop_size = int(pop["_size"])
    size = int(seg["_size"]) if seg else 0
    stats = _feature_stats(cols, pop, seg if size else None)
    dists = {
        c: _distribution(
            c,
            ctx.counts.get((name, c), {}),
            ctx.counts.get((None, c), {}),
            size,
            pop_size,
            top_n=ctx.top_n,
            min_share=ctx.min_share,
        )
        for c in cols.categorical
    }
    revenue = clv = None
    if cols.revenue:
        revenue = (_float(seg["_revenue"]) if seg and size else None) or 0.0
    if cols.clv:
        clv = (_float(seg["_clv"]) if seg and size else None) or 0.0
    pop_revenue, pop_clv = _float(pop.get("_revenue")), _float(pop.get("_clv"))
    items = None
    if ctx.items:
        items = _items(
            [r for r in ctx.item_rows if r["_segment"] == name],
            ctx.labels,
            ctx.totals.get(name, 0),
            ctx.totals.get(None, 0),
        )
    histogram = None
    if cols.clv and ctx.edges is not None:
        histogram = _histogram(
            cols.clv,
            ctx.edges,
            _float(pop.get("_clv_min")),
            _float(pop.get("_clv_max")),
            ctx.counts.get((name, _CLV_BIN), {}),
            ctx.counts.get((None, _CLV_BIN), {}),
        )
    distinguishing = (
        _distinctions(stats, dists, n=ctx.n_distinguishing, min_share=ctx.min_share) if size else ()
    )
    return SegmentProfile(
        name=name,
        size=size,
        population_size=pop_size,
        share_of_customers=_div(size, pop_size),
        revenue=revenue,
        population_revenue=pop_revenue,
        share_of_revenue=_div(revenue, pop_revenue),
        clv_column=cols.clv,
        clv=clv,
        population_clv=pop_clv,
        share_of_clv=_div(clv, pop_clv),
        as_of=ctx.as_of,
        features=stats,
        distinguishing=distinguishing,
        distributions=dists,
        items=items,
        clv_histogram=histogram,
    )


# --------------------------------------------------------------------------- public


def profile_segments(
    features: ir.Table,
    memberships: ir.Table,
    *,
    orders: ir.Table | None = None,
    order_lines: ir.Table | None = None,
    as_of: date | datetime | None = None,
    top_n: int = 10,
    segments: Sequence[str] | None = None,
    n_distinguishing: int = 8,
    min_category_share: float = 0.01,
    min_item_units: int = 5,
) -> dict[str, SegmentProfile]:
    """Profile every segment of ``memberships`` against the population of ``features``.

    Parameters
    ----------
    features
        ``customer_features`` (one row per customer; see ``docs/features.md``). Every
        customer in it is the population. Pass the materialized table.
    memberships
        ``customer_id, segment``: one row per membership (a customer may be in several
        segments; duplicate rows count once; rows with a null id or segment are
        ignored, and so are members missing from ``features``).
    orders, order_lines
        Canonical tables, for the top categories, products and brands (both needed;
        without them ``items`` is None).
    as_of
        Orders placed at or before this date (whole day, UTC) or instant count for the
        items. Default: the features' ``as_of`` column, else the latest order's date.
    top_n
        Items listed per kind, and the values a distribution keeps besides those held by
        at least ``min_category_share`` of the population.
    segments
        The segments to profile, in this order; a name without members gets an empty
        profile (size 0). Default: every segment, largest first (ties by name).
    n_distinguishing
        How many distinguishing features to keep.
    min_category_share
        A categorical value needs at least this population share to be a distinguishing
        feature (and is always listed in distributions).
    min_item_units
        An item needs at least this many units bought by the segment to be ranked.

    Returns
    -------
    dict of str to SegmentProfile
        By segment name, in the order described under ``segments``.

    Raises
    ------
    SchemaError
        A table lacks a needed column.
    DataError
        ``features`` is empty or not one row per customer.
    UsageError
        A bad option, or ``order_lines`` without ``orders``.

    Notes
    -----
    Runs a fixed number of grouped queries (three; five with items), whatever the number
    of segments and features; see the module docstring and ``docs/profiles.md``.

    Examples
    --------
    >>> import ibis
    >>> f = ibis.memtable({"customer_id": ["a", "b", "c", "d"],
    ...                    "amount_spent": [10.0, 30.0, 20.0, 40.0]})
    >>> m = ibis.memtable({"customer_id": ["b", "d"], "segment": ["big", "big"]})
    >>> p = profile_segments(f, m)["big"]
    >>> p.size, p.share_of_customers, p.share_of_revenue
    (2, 0.5, 0.7)
    >>> p.feature("amount_spent").lift
    1.4
    """
    _check_options(top_n, n_distinguishing, min_category_share, min_item_units)
    _check_tables(features, memberships, orders, order_lines)
    if segments is not None:
        segments = [str(s) for s in segments]
    names = list(features.columns)
    cols = _Columns(
        numeric=numeric_columns(features),
        categorical=categorical_columns(features),
        clv=clv_column(names),
        revenue="amount_spent" in names,
        as_of="as_of" in names and features.as_of.type().is_temporal(),
    )
    m = _memberships(memberships, features)
    if segments is not None:
        m = m.filter(m._segment.isin(segments))

    pop = _population(features, cols)
    seg_rows = {r["_segment"]: r for r in _segment_numeric(features, m, cols)}
    for name, r in seg_rows.items():
        if r["_members"] > r["_size"]:
            log.warning(
                "segment %r: %d of its %d members are not in the features and are ignored",
                name,
                r["_members"] - r["_size"],
                r["_members"],
            )
    edges: list[float] | None = None
    if cols.clv and pop.get("_clv_q") is not None:
        edges = sorted({float(e) for e in pop["_clv_q"] if e is not None})
    counts = _category_counts(features, m, cols, edges)

    items_as_of: Any = None
    item_rows: list[dict[str, Any]] = []
    totals: dict[str | None, int] = {}
    labels: dict[str, str] = {}
    if orders is not None and order_lines is not None:
        items_as_of = as_of if as_of is not None else pop.get("_as_of")
        if items_as_of is None:
            from custseg.features import default_as_of

            items_as_of = default_as_of(orders)
        bought = _bought_units(features, orders, order_lines, items_as_of)
        rows = _item_rows(bought, m, top_n=top_n, min_units=min_item_units)
        totals = {r["_segment"]: int(r["_u"] or 0) for r in rows if r["_kind"] == "_total"}
        item_rows = [r for r in rows if r["_kind"] != "_total"]
        labels = _product_labels(
            order_lines, sorted({str(r["_key"]) for r in item_rows if r["_kind"] == "_pkey"})
        )
    elif orders is not None:
        log.info("orders were given without order_lines: no top items")
    as_of_text = _iso(as_of if as_of is not None else (items_as_of or pop.get("_as_of")))

    ctx = _Context(
        cols=cols,
        pop=pop,
        counts=counts,
        edges=edges,
        items=orders is not None and order_lines is not None,
        item_rows=item_rows,
        labels=labels,
        totals=totals,
        as_of=as_of_text,
        top_n=top_n,
        n_distinguishing=n_distinguishing,
        min_share=min_category_share,
    )
    order = (
        segments
        if segments is not None
        else sorted(seg_rows, key=lambda s: (-int(seg_rows[s]["_size"]), s))
    )
    out = {name: _build_profile(name, seg_rows.get(name), ctx) for name in order}
    log.info("profiled %d segment(s) against %d customers", len(out), int(pop["_size"]))
    return out


def profile_segment(
    features: ir.Table,
    members: ir.Table,
    *,
    name: str = "segment",
    orders: ir.Table | None = None,
    order_lines: ir.Table | None = None,
    as_of: date | datetime | None = None,
    top_n: int = 10,
    n_distinguishing: int = 8,
    min_category_share: float = 0.01,
    min_item_units: int = 5,
) -> SegmentProfile:
    """Profile one segment given its members; the wrapper of :func:`profile_segments`.

    Parameters
    ----------
    features
        ``customer_features``.
    members
        A table with a ``customer_id`` column (other columns are ignored).
    name
        The segment's name in the profile.
    orders, order_lines, as_of, top_n, n_distinguishing, min_category_share, min_item_units
        As for :func:`profile_segments`.

    Returns
    -------
    SegmentProfile
        Size 0 (and empty statistics) when no member is in ``features``.
    """
    if not isinstance(members, ir.Table) or "customer_id" not in members.columns:
        raise SchemaError(
            "members must be an Ibis table with a customer_id column, got "
            f"{type(members).__name__}"
            + (
                f" with columns {', '.join(members.columns)}"
                if isinstance(members, ir.Table)
                else ""
            )
        )
    memberships = members.select("customer_id").mutate(segment=ibis.literal(str(name)))
    return profile_segments(
        features,
        memberships,
        orders=orders,
        order_lines=order_lines,
        as_of=as_of,
        top_n=top_n,
        segments=[str(name)],
        n_distinguishing=n_distinguishing,
        min_category_share=min_category_share,
        min_item_units=min_item_units,
    )[str(name)]
