"""The inputs of the recommender, as Ibis expressions: purchases, catalogue, views, segments.

Every function here builds a lazy expression (no execution); :mod:`custseg.actions.recommend`
caches the results in the engine when it fits.

Definitions (also in ``docs/recommendations.md``):

* an *order-product* is one product (``sku``) in one counted order (see
  :func:`custseg.features._common.counted_orders`: not cancelled, at or before as-of, with a
  customer). ``sold`` is the units of its sale lines (``quantity > 0``); ``returned`` is the
  ``returned_qty`` of those lines plus the units of its return lines (``quantity < 0``). It
  is *kept* when ``returned < sold``, otherwise *returned*;
* a customer *owns* a product when any of their counted orders holds it, kept or returned:
  owned products are never recommended to them;
* *purchases* (co-occurrence, segment lift, popularity) are the kept order-products only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from custseg.exceptions import SchemaError, UsageError
from custseg.features._common import AsOf, counted_orders, mode, safe_div

__all__ = [
    "REQUIRED_COLUMNS",
    "browsing_affinity",
    "cached",
    "catalogue",
    "check_tables",
    "customer_segments",
    "left_join",
    "order_products",
    "owned_products",
    "segment_lift",
]

#: Columns each input table must have (``products`` is optional; ``events`` too).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "customer_id", "ordered_at", "status", "total", "refunded"),
    "order_lines": ("order_id", "sku", "product_name", "category", "quantity", "returned_qty"),
    "events": ("customer_id", "ts", "type", "product_id"),
    "products": ("sku",),
    "customers": ("customer_id",),
}
_OPTIONAL = ("events", "products", "customers")
VIEW_EVENT = "product_view"


def cached(table: ir.Table) -> ir.Table:
    """``table.cache()``, registering its in-memory tables first.

    Ibis 12's PySpark backend caches without registering the ``ibis.memtable`` tables an
    expression reads (plain queries do register them); a zero-row query does it first.
    """
    if table.op().find(ops.InMemoryTable):
        table.limit(0).to_pyarrow()
    return table.cache()


def check_tables(tables: Mapping[str, ir.Table]) -> dict[str, ir.Table]:
    """Check the input tables and their columns; return the ones the recommender uses.

    Raises
    ------
    UsageError
        If ``tables`` is not a mapping of Ibis tables or lacks ``orders`` / ``order_lines``.
    SchemaError
        If a table lacks a required column (the message names them).
    """
    if not isinstance(tables, Mapping):
        raise UsageError(
            f"tables must be a dict of Ibis tables by canonical name, got {type(tables).__name__}; "
            "e.g. {name: ws.connect().table(name) for name in ('orders', 'order_lines', 'events')}"
        )
    missing = [n for n in ("orders", "order_lines") if n not in tables]
    if missing:
        raise UsageError(
            f"tables lacks {missing}; the recommender needs 'orders' and 'order_lines' "
            f"(and uses 'events', 'products' and 'customers' when given). Got: {sorted(tables)}"
        )
    out: dict[str, ir.Table] = {}
    for name, cols in REQUIRED_COLUMNS.items():
        if name not in tables or tables[name] is None:
            continue
        t = tables[name]
        if not isinstance(t, ir.Table):
            raise UsageError(f"tables[{name!r}] must be an Ibis table, got {type(t).__name__}")
        have = set(t.schema().names)
        lacking = [c for c in cols if c not in have]
        if lacking:
            raise SchemaError(
                f"tables[{name!r}] lacks the column(s) {lacking} (it has {sorted(have)}). "
                f"The recommender reads the canonical {name!r} table "
                "(see docs/data-model.md); map your columns to those names first."
            )
        out[name] = t
    return out


def order_products(orders: ir.Table, order_lines: ir.Table, cut: AsOf) -> ir.Table:
    """One row per product per counted order, with its units sold and returned.

    Returns
    -------
    ir.Table
        ``order_id, customer_id, order_date, sku, sold, returned, kept`` (kept is
        ``returned < sold``). Products with no sale line in the order are dropped.
    """
    o = counted_orders(orders, cut).select("order_id", "customer_id", "order_date")
    lines = order_lines.filter(order_lines.sku.notnull(), order_lines.quantity.notnull())
    lines = lines.join(o, "order_id")
    q = lines.quantity.cast("int64")
    rq = lines.returned_qty.cast("int64").fill_null(0)
    per = lines.group_by(["order_id", "customer_id", "order_date", "sku"]).aggregate(
        sold=ibis.ifelse(q > 0, q, 0).sum(),
        returned=ibis.ifelse(q > 0, rq, -q).sum(),
    )
    per = per.filter(per.sold > 0)
    return per.mutate(kept=per.returned < per.sold)


def owned_products(products: ir.Table) -> ir.Table:
    """Per customer and product: whether any purchase was kept, and the last kept date.

    Parameters
    ----------
    products
        The output of :func:`order_products`.

    Returns
    -------
    ir.Table
        ``customer_id, sku, kept (bool), last_kept (date, null when never kept)``.
    """
    t = products
    return t.group_by(["customer_id", "sku"]).aggregate(
        kept=t.kept.cast("int64").max() == 1,
        last_kept=t.order_date.max(where=t.kept),
    )


def left_join(t: ir.Table, other: ir.Table, keys: str | list[str]) -> ir.Table:
    """``t`` left-joined with ``other`` on same-named ``keys``, keeping ``t``'s key columns."""
    keys = [keys] if isinstance(keys, str) else keys
    out = t.left_join(other, keys)
    return out.drop(*[f"{k}_right" for k in keys if f"{k}_right" in out.schema().names])


def catalogue(
    lines: ir.Table,
    order_lines: ir.Table,
    products: ir.Table | None,
    owned: ir.Table,
    cut: AsOf,
    *,
    range_days: int,
) -> ir.Table:
    """Every product seen, with its name, category, popularity and whether it is in range.

    Parameters
    ----------
    lines
        The output of :func:`order_products`.
    order_lines
        Canonical ``order_lines`` (names and categories).
    products
        Optional products table: ``sku`` and any of ``product_name``, ``category``,
        ``active`` (boolean).
    owned
        The output of :func:`owned_products`.
    cut
        The as-of cut.
    range_days
        A product is in range when it sold in the ``range_days`` days ending on the as-of
        date.

    Returns
    -------
    ir.Table
        ``sku, product_name, category, popularity (int64), in_range (bool)``: every ``sku``
        of a counted order or of ``products``. Name and category come from ``products``
        when it has them, else the most frequent value in the counted orders' lines (ties
        alphabetically). ``popularity`` is the number of customers who kept it.
        ``in_range`` is true when it sold (a sale line in a counted order, returned or not)
        with ``as_of - range_days < order date <= as_of`` and ``products.active`` (when
        present) is not false.
    """
    ol = order_lines.filter(order_lines.sku.notnull())
    ol = ol.semi_join(lines.select("order_id").distinct(), "order_id")
    skus = ol.select("sku").distinct()
    if products is not None:
        skus = skus.union(products.filter(products.sku.notnull()).select("sku"), distinct=True)
    t = left_join(skus, mode(ol, "product_name", key="sku", name="_line_name"), "sku")
    t = left_join(t, mode(ol, "category", key="sku", name="_line_cat"), "sku")
    have = products.schema().names if products is not None else ()
    extra = {f"_p_{c}": products[c] for c in ("product_name", "category", "active") if c in have}
    if extra:
        p = products.filter(products.sku.notnull()).select(sku=products.sku, **extra)
        aggs = {c: p[c].cast("string").min() for c in extra if c != "_p_active"}
        if "_p_active" in extra:  # a product listed twice is inactive if either row says so
            aggs["_p_active"] = p._p_active.cast("boolean").fill_null(True).cast("int8").min()
        t = left_join(t, p.group_by("sku").aggregate(**aggs), "sku")
    name = t._line_name
    cat = t._line_cat
    active = ibis.literal(True)
    if "_p_product_name" in extra:
        name = t._p_product_name.cast("string").coalesce(name)
    if "_p_category" in extra:
        cat = t._p_category.cast("string").coalesce(cat)
    if "_p_active" in extra:
        active = t._p_active.fill_null(1) == 1
    t = t.select("sku", product_name=name, category=cat, _active=active)
    recent = lines.filter(cut.days_back(lines.order_date) < range_days)
    recent = recent.select("sku").distinct().mutate(_recent=ibis.literal(True))
    kept = owned.filter(owned.kept)
    pop = kept.group_by("sku").aggregate(popularity=kept.count())
    t = left_join(left_join(t, recent, "sku"), pop, "sku")
    return t.select(
        "sku",
        "product_name",
        "category",
        popularity=t.popularity.fill_null(0).cast("int64"),
        in_range=t._recent.fill_null(False) & t._active,
    )


def browsing_affinity(
    events: ir.Table, catalog: ir.Table, cut: AsOf, *, browse_days: int, stitch: bool = True
) -> ir.Table:
    """Each customer's share of product views by category over the last ``browse_days`` days.

    Counts ``product_view`` events with ``as_of - browse_days < ts <= as_of`` whose
    ``product_id`` is a known ``sku`` with a category. With ``stitch`` (and an
    ``anonymous_id`` column), a view without ``customer_id`` is given to the customer its
    ``anonymous_id`` (cookie) is most often seen with, logged in, at or before as-of (ties:
    the alphabetically first customer).

    Returns
    -------
    ir.Table
        ``customer_id, category, views (int64), affinity (float64, sums to 1 per customer)``.
    """
    start = ibis.timestamp(cut.end - timedelta(days=browse_days))
    seen = events.filter(cut.before(events.ts))
    e = seen.filter(
        events.product_id.notnull(),
        events.type == VIEW_EVENT,
        events.ts >= start,
    )
    if stitch and "anonymous_id" in events.schema().names:
        known = seen.filter(seen.customer_id.notnull(), seen.anonymous_id.notnull())
        owner = mode(known, "customer_id", key="anonymous_id", name="_owner")
        e = left_join(e, owner, "anonymous_id")
        e = e.mutate(customer_id=e.customer_id.coalesce(e._owner))
    e = e.filter(e.customer_id.notnull())
    cats = catalog.filter(catalog.category.notnull()).select("sku", "category")
    e = e.join(cats, e.product_id == cats.sku)
    per = e.group_by(["customer_id", "category"]).aggregate(views=e.count())
    total = per.views.sum().over(group_by=per.customer_id)
    return per.mutate(affinity=safe_div(per.views, total))


def customer_segments(segments: ir.Table) -> ir.Table:
    """One segment per customer: the alphabetically first one when a customer has several.

    Raises
    ------
    SchemaError
        If ``segments`` lacks ``customer_id`` or ``segment``.
    """
    if not isinstance(segments, ir.Table):
        raise UsageError(
            f"segments must be an Ibis table (customer_id, segment), got {type(segments).__name__}"
        )
    have = segments.schema().names
    lacking = [c for c in ("customer_id", "segment") if c not in have]
    if lacking:
        raise SchemaError(
            f"segments lacks {lacking} (it has {list(have)}); pass a table with one row per "
            "customer and segment, e.g. rfm.select('customer_id', segment='rfm_group')."
        )
    s = segments.filter(segments.customer_id.notnull(), segments.segment.notnull())
    s = s.select(customer_id=s.customer_id.cast("string"), segment=s.segment.cast("string"))
    return s.group_by("customer_id").aggregate(segment=s.segment.min())


def segment_lift(owned: ir.Table, seg: ir.Table, catalog: ir.Table, *, prior: float) -> ir.Table:
    """Lift of each in-range product in each segment, smoothed towards 1.

    With ``n_sj`` the customers of segment ``s`` who kept product ``j``, ``N_s`` the sum of
    ``n_sj`` over products, ``n_j`` and ``N`` the same over every customer::

        p_j  = n_j / N
        lift = ((n_sj + prior * p_j) / (N_s + prior)) / p_j

    so a product the segment buys at the overall rate has lift 1, and ``prior`` pseudo
    purchases at the overall rate pull small segments towards 1.

    Returns
    -------
    ir.Table
        ``segment, sku, n_sj (int64), lift (float64)`` for every segment in ``seg`` and
        every in-range product.
    """
    kept = owned.filter(owned.kept).select("customer_id", "sku")
    n_j = kept.group_by("sku").aggregate(n_j=kept.count())
    total = kept.aggregate(_total=kept.count())  # a one-row table, cross-joined below
    in_seg = kept.join(seg, "customer_id")
    n_sj = in_seg.group_by(["segment", "sku"]).aggregate(n_sj=in_seg.count())
    n_s = n_sj.group_by("segment").aggregate(n_s=n_sj.n_sj.sum())
    segs = seg.select("segment").distinct()
    items = catalog.filter(catalog.in_range).select("sku")
    grid = segs.cross_join(items)
    g = left_join(left_join(left_join(grid, n_sj, ["segment", "sku"]), n_s, "segment"), n_j, "sku")
    g = g.cross_join(total)
    p_j = safe_div(g.n_j.fill_null(0), g._total)
    num = g.n_sj.fill_null(0).cast("float64") + prior * p_j
    share = safe_div(num, g.n_s.fill_null(0).cast("float64") + prior)
    lift = safe_div(share, p_j).fill_null(0.0)
    return g.select("segment", "sku", n_sj=g.n_sj.fill_null(0).cast("int64"), lift=lift)
