"""Candidate generation, component scores, blend and ranking: in the engine and for one customer.

:func:`rank_in_engine` is the Ibis implementation used by ``Recommender.recommend``;
:class:`OneCustomerRanker` does the same computation in Python for one customer, from the
fitted product-level tables held in memory and the customer's rows read with one key
lookup (``Recommender.recommend_one``). Both follow these rules, and the tests check that
they agree:

Candidates of a customer with ``m`` owned products (limit ``L = top_n + m``, so that at
least ``top_n`` remain once owned products are removed):

* the ``L`` most popular in-range products;
* the co-occurrence neighbours of the customer's seeds (most recent kept purchases);
* in each category the customer viewed, its ``L`` most popular in-range products;
* the ``L`` in-range products with the highest lift in the customer's segment;

minus the products the customer owns. Raw components: ``cooccurrence`` = sum of the seeds'
similarity to the candidate (similarities are stored as integer nano-units, so the sum is
exact and the same in any order); ``segment_lift`` = the candidate's lift in the
customer's segment; ``browsing`` = the customer's view share of its category. Each is
divided by its maximum over the customer's candidates (0 when that is 0). ``score`` is the
weighted mean (weights normalised to sum 1) for customers with a kept purchase,
``browsing`` otherwise; rank by score, then popularity, then SKU.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.actions._recommend_data import left_join

__all__ = ["COMPONENTS", "NANO", "Fitted", "OneCustomerRanker", "profile_table", "rank_in_engine"]

COMPONENTS: tuple[str, ...] = ("cooccurrence", "segment_lift", "browsing")
OUTPUT_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "rank",
    "sku",
    "product_name",
    "category",
    "score",
    *COMPONENTS,
)
#: Similarities are stored as integers in units of 1e-9.
NANO = 1_000_000_000


@dataclass(frozen=True)
class Fitted:
    """The fitted tables (cached in the engine) that ranking reads.

    ``items``: in-range products ``sku, product_name, category, popularity, pop_rank,
    cat_rank``; ``owned``: ``customer_id, sku, kept``; ``stats``: ``customer_id, n_owned,
    warm``; ``seeds``: ``customer_id, sku``; ``neighbours``: ``sku, neighbour, support,
    similarity, nano``; ``affinity``: ``customer_id, category, views, affinity``;
    ``segments``: ``customer_id, segment``; ``lift``: ``segment, sku, n_sj, lift,
    lift_rank``. The last four may be None (component switched off or no events).
    """

    items: ir.Table
    owned: ir.Table
    stats: ir.Table
    seeds: ir.Table
    neighbours: ir.Table | None
    affinity: ir.Table | None
    segments: ir.Table | None
    lift: ir.Table | None


def _max_ratio(x: ir.FloatingValue, mx: ir.FloatingValue) -> ir.FloatingValue:
    return ibis.ifelse(mx > 0, x / mx, 0.0)


def rank_in_engine(
    f: Fitted, scope: ir.Table, *, top_n: int, weights: Mapping[str, float]
) -> ir.Table:
    """Recommendations of every customer in ``scope`` (``customer_id``), as an expression.

    ``weights`` must sum to 1 (``check_config`` normalises them); the score is then the
    weighted sum of the normalised components.
    """
    items = f.items
    info = left_join(scope, f.stats, "customer_id")
    # view(): a join's output must be its own relation before a non-equi join (Ibis chains)
    info = info.select(
        "customer_id",
        _limit=info.n_owned.fill_null(0) + top_n,
        _warm=info.warm.fill_null(False),
    ).view()
    null = ibis.null("int64")
    parts = [
        info.join(items, items.pop_rank <= info._limit).select(
            info.customer_id, items.sku, _nano=null
        )
    ]
    if f.neighbours is not None:
        nb = f.seeds.semi_join(scope, "customer_id").join(f.neighbours, "sku")
        parts.append(nb.select(nb.customer_id, sku=nb.neighbour, _nano=nb.nano))
    if f.affinity is not None:
        a = f.affinity.join(info, "customer_id").view()
        on = [a.category == items.category, items.cat_rank <= a._limit]
        parts.append(a.join(items, on).select(a.customer_id, items.sku, _nano=null))
    if f.lift is not None:
        s = f.segments.join(info, "customer_id").view()
        on = [s.segment == f.lift.segment, f.lift.lift_rank <= s._limit]
        parts.append(s.join(f.lift, on).select(s.customer_id, f.lift.sku, _nano=null))
    cand = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    cand = cand.group_by(["customer_id", "sku"]).aggregate(_cooc=cand._nano.sum())
    cand = cand.anti_join(f.owned, ["customer_id", "sku"])
    c = cand.join(items.select("sku", "product_name", "category", "pop_rank"), "sku")
    c = c.join(info.select("customer_id", "_warm"), "customer_id")
    raw = {"cooccurrence": "_cooc"}
    if f.lift is not None:
        c = left_join(c, f.segments, "customer_id")
        c = left_join(c, f.lift.select("segment", "sku", _lift=f.lift.lift), ["segment", "sku"])
        raw["segment_lift"] = "_lift"
    if f.affinity is not None:
        aff = f.affinity.select("customer_id", "category", _aff=f.affinity.affinity)
        c = left_join(c, aff, ["customer_id", "category"])
        raw["browsing"] = "_aff"
    c = c.mutate(**{f"_r_{k}": c[col].cast("float64").fill_null(0.0) for k, col in raw.items()})
    mx = c.group_by("customer_id").aggregate(**{f"_m_{k}": c[f"_r_{k}"].max() for k in raw})
    c = c.join(mx, "customer_id")
    comps = {
        k: (_max_ratio(c[f"_r_{k}"], c[f"_m_{k}"]) if k in raw else ibis.literal(0.0))
        for k in COMPONENTS
    }
    c = c.mutate(**comps)
    blend = sum((weights[k] * c[k] for k in COMPONENTS), ibis.literal(0.0))
    c = c.mutate(score=ibis.ifelse(c._warm, blend, c.browsing))
    # pop_rank orders by popularity, then SKU: one integer sort key instead of two
    rank = ibis.row_number().over(group_by=c.customer_id, order_by=[c.score.desc(), c.pop_rank])
    c = c.mutate(rank=(rank + 1).cast("int64"))
    return c.filter(c["rank"] <= top_n).select(*OUTPUT_COLUMNS)


def profile_table(f: Fitted) -> ir.Table:
    """Every customer's rows in one table, for one-key lookups.

    ``customer_id, kind, key, value``: ``owned`` (key sku, value 1 if kept else 0),
    ``seed`` (key sku), ``view`` (key category, value affinity), ``segment`` (key segment).
    """
    parts = [
        f.owned.select(
            "customer_id",
            kind=ibis.literal("owned"),
            key=f.owned.sku,
            value=ibis.ifelse(f.owned.kept, 1.0, 0.0),
        ),
        f.seeds.select(
            "customer_id", kind=ibis.literal("seed"), key=f.seeds.sku, value=ibis.null("float64")
        ),
    ]
    if f.affinity is not None:
        a = f.affinity
        parts.append(
            a.select("customer_id", kind=ibis.literal("view"), key=a.category, value=a.affinity)
        )
    if f.segments is not None:
        s = f.segments
        parts.append(
            s.select(
                "customer_id",
                kind=ibis.literal("segment"),
                key=s.segment,
                value=ibis.null("float64"),
            )
        )
    t = ibis.union(*parts, distinct=False)
    return t.order_by("customer_id")


class OneCustomerRanker:
    """The product-level fitted tables in memory; ranks one customer from their profile rows.

    Loading runs one query per table (``items``, ``neighbours``, ``lift``); ranking a
    customer is pure Python over their candidates.
    """

    def __init__(self, f: Fitted, *, top_n: int, weights: Mapping[str, float]) -> None:
        self.top_n = top_n
        self.weights = dict(weights)
        items = f.items.order_by("pop_rank").to_pyarrow().to_pylist()
        self.items = {r["sku"]: r for r in items}
        self.by_popularity = [r["sku"] for r in items]
        self.by_category: dict[str, list[str]] = defaultdict(list)
        for r in sorted(items, key=lambda r: r["cat_rank"]):
            self.by_category[r["category"]].append(r["sku"])
        self.neighbours: dict[str, list[tuple[str, int]]] = defaultdict(list)
        if f.neighbours is not None:
            for r in f.neighbours.select("sku", "neighbour", "nano").to_pyarrow().to_pylist():
                self.neighbours[r["sku"]].append((r["neighbour"], r["nano"]))
        self.lift: dict[str, dict[str, float]] = defaultdict(dict)
        self.by_lift: dict[str, list[str]] = defaultdict(list)
        self.has_lift = f.lift is not None
        if f.lift is not None:
            rows = f.lift.order_by("segment", "lift_rank").to_pyarrow().to_pylist()
            for r in rows:
                self.lift[r["segment"]][r["sku"]] = r["lift"]
                self.by_lift[r["segment"]].append(r["sku"])
        self.has_browsing = f.affinity is not None
        self.has_cooc = f.neighbours is not None

    def rank(self, customer_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The recommendations of ``customer_id`` from its ``profile_table`` rows."""
        owned: set[str] = set()
        seeds: list[str] = []
        views: dict[str, float] = {}
        segment = None
        warm = False
        for r in rows:
            kind = r["kind"]
            if kind == "owned":
                owned.add(r["key"])
                warm = warm or r["value"] == 1.0
            elif kind == "seed":
                seeds.append(r["key"])
            elif kind == "view":
                views[r["key"]] = r["value"]
            elif kind == "segment":
                segment = r["key"]
        limit = len(owned) + self.top_n
        cand: set[str] = set(self.by_popularity[:limit])
        cooc: dict[str, int] = defaultdict(int)
        if self.has_cooc:
            for s in seeds:
                for nb, nano in self.neighbours.get(s, ()):
                    cooc[nb] += nano
                    cand.add(nb)
        for cat in views:
            cand.update(self.by_category.get(cat, ())[:limit])
        if self.has_lift and segment is not None:
            cand.update(self.by_lift.get(segment, ())[:limit])
        cand -= owned
        lifts = self.lift.get(segment, {}) if segment is not None else {}
        raw: dict[str, dict[str, float]] = {}
        for sku in cand:
            cat = self.items[sku]["category"]
            raw[sku] = {
                "cooccurrence": float(cooc.get(sku, 0)),
                "segment_lift": lifts.get(sku, 0.0) if self.has_lift else 0.0,
                "browsing": views.get(cat, 0.0) if self.has_browsing else 0.0,
            }
        mx = {k: max((v[k] for v in raw.values()), default=0.0) for k in COMPONENTS}
        out = []
        for sku, v in raw.items():
            comp = {k: (v[k] / mx[k] if mx[k] > 0 else 0.0) for k in COMPONENTS}
            blend = 0.0
            for k in COMPONENTS:
                blend = blend + self.weights[k] * comp[k]
            score = blend if warm else comp["browsing"]
            it = self.items[sku]
            out.append(
                {
                    "customer_id": customer_id,
                    "sku": sku,
                    "product_name": it["product_name"],
                    "category": it["category"],
                    "score": score,
                    **comp,
                    "_pop": it["popularity"],
                }
            )
        out.sort(key=lambda r: (-r["score"], -r["_pop"], r["sku"]))
        result = []
        for i, r in enumerate(out[: self.top_n], start=1):
            r.pop("_pop")
            result.append({c: (i if c == "rank" else r[c]) for c in OUTPUT_COLUMNS})
        return result
