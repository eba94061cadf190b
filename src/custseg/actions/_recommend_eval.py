"""Time-split evaluation of recommendations: test items, the popularity baseline, metrics."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from custseg.actions._recommend_data import order_products
from custseg.features._common import AsOf, as_of_cut, counted_orders

__all__ = [
    "new_items_bought",
    "popular_for",
    "ranking_metrics",
    "split_cuts",
    "train_test_customers",
]


def popular_for(
    scope: ir.Table, owned: ir.Table, catalog: ir.Table, *, k: int, in_range_only: bool
) -> ir.Table:
    """The ``k`` most popular products each customer of ``scope`` does not own.

    Popularity is ``catalog.popularity`` (customers who kept the product), ties by SKU. A
    customer's ``k``-th unowned product is at most at popularity rank ``k + owned``, so
    each customer is joined to that many products only.

    Returns
    -------
    ir.Table
        ``customer_id, rank (int64, 1..k), sku, popularity``.
    """
    items = catalog.filter(catalog.in_range) if in_range_only else catalog
    items = items.mutate(
        _pr=ibis.row_number().over(order_by=[items.popularity.desc(), items.sku.asc()]) + 1
    )
    n_owned = owned.group_by("customer_id").aggregate(_n=owned.count())
    s = scope.left_join(n_owned, "customer_id")
    # view(): a join's output must be its own relation before a non-equi join (Ibis chains)
    s = s.select(customer_id=s.customer_id, _limit=s._n.fill_null(0) + k).view()
    c = s.join(items, items._pr <= s._limit).select(s.customer_id, items.sku, items.popularity)
    c = c.anti_join(owned, ["customer_id", "sku"])
    rank = ibis.row_number().over(
        group_by=c.customer_id, order_by=[c.popularity.desc(), c.sku.asc()]
    )
    c = c.mutate(rank=(rank + 1).cast("int64"))
    return c.filter(c.rank <= k).select("customer_id", "rank", "sku", "popularity")


def train_test_customers(orders: ir.Table, cut: AsOf, test_cut: AsOf) -> ir.Table:
    """Customers with a counted order at or before the split and one in the test window."""
    before = counted_orders(orders, cut).select("customer_id").distinct()
    after = counted_orders(orders, test_cut)
    after = after.filter(after.ordered_at >= cut.end_lit).select("customer_id").distinct()
    return before.semi_join(after, "customer_id")


def new_items_bought(
    orders: ir.Table, order_lines: ir.Table, owned: ir.Table, cut: AsOf, test_cut: AsOf
) -> ir.Table:
    """Products kept in the test window that the customer did not own at the split.

    Returns
    -------
    ir.Table
        ``customer_id, sku`` (distinct).
    """
    lines = order_products(orders, order_lines, test_cut)
    lines = lines.filter(lines.kept, lines.order_date > cut.day_lit)
    t = lines.select("customer_id", "sku").distinct()
    return t.anti_join(owned, ["customer_id", "sku"])


def split_cuts(split_date: date, test_days: int) -> tuple[AsOf, AsOf]:
    """The split cut (whole split day included) and the end of the test window."""
    return as_of_cut(split_date), as_of_cut(split_date + timedelta(days=test_days))


def ranking_metrics(recs: ir.Table, truth: ir.Table, customers: ir.Table, *, k: int) -> dict:
    """Hit rate and recall at ``k``, averaged over ``customers``.

    Parameters
    ----------
    recs
        ``customer_id, rank, sku``: ranks above ``k`` are ignored.
    truth
        ``customer_id, sku``: the products each customer bought in the test window.
    customers
        ``customer_id`` of the customers evaluated; each must have at least one truth row
        (others are dropped).

    Returns
    -------
    dict
        ``customers``, ``hit_rate`` (share with at least one recommended product in
        ``truth``) and ``recall`` (mean over customers of ``|top k ∩ truth| / |truth|``).
    """
    r = recs.filter(recs["rank"] <= k).select("customer_id", "sku").distinct()
    t = truth.select("customer_id", "sku").distinct()
    hits = r.join(t, ["customer_id", "sku"]).group_by("customer_id").aggregate(_hits=ibis._.count())
    n = t.group_by("customer_id").aggregate(_items=ibis._.count())
    c = customers.select("customer_id").distinct().join(n, "customer_id")
    c = c.left_join(hits, "customer_id")
    h = c._hits.fill_null(0)
    row = (
        c.aggregate(
            customers=c.count(),
            hit_rate=(h > 0).cast("float64").mean(),
            recall=(h.cast("float64") / c._items.cast("float64")).mean(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    return {
        "customers": int(row["customers"]),
        "hit_rate": float(row["hit_rate"] or 0.0),
        "recall": float(row["recall"] or 0.0),
    }
