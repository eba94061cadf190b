"""Behavioural / RFM features: what, when and how much each customer bought.

Counted orders are orders with a customer, a status other than ``cancelled``
and ``ordered_at`` at or before ``as_of``; an order's net revenue is
``total - coalesce(refunded, 0)``. A *purchase day* is a calendar day (UTC)
with at least one counted order; same-day orders are summed, as in lifetimes
(``freq="D"``).

Functions return one row per customer **with at least one counted order**;
:func:`custseg.features.build` left-joins them onto ``customers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders, mode, safe_div, sanitize

__all__ = ["WINDOWS", "rfm_summary", "basket_summary", "top_categories", "order_lines_bought"]

#: The trailing windows (days) of ``orders_<n>d`` and ``spend_<n>d``.
WINDOWS: tuple[int, ...] = (30, 90, 365)


def rfm_summary(
    orders: ir.Table,
    *,
    as_of: date | datetime | AsOf,
    windows: Sequence[int] = WINDOWS,
) -> ir.Table:
    """Recency, frequency, monetary value, inter-purchase times and CLV inputs.

    Parameters
    ----------
    orders
        Canonical ``orders``; uses ``customer_id, ordered_at, status, total, refunded``.
    as_of
        Only orders at or before this date (whole day, UTC) or instant count.
    windows
        Trailing windows in days for ``orders_<n>d`` / ``spend_<n>d``; a window of
        ``n`` days covers the as-of day and the ``n - 1`` days before it.

    Returns
    -------
    ir.Table
        One row per customer with a counted order:

        - ``customer_id``
        - ``number_of_orders`` (int64): counted orders
        - ``amount_spent`` (float64): sum of net revenue
        - ``avg_order_value`` (float64): amount_spent / number_of_orders
        - ``first_order_date``, ``last_order_date`` (date)
        - ``days_since_last_order``, ``tenure_days`` (int64): as-of date minus last / first
        - ``repeat_purchase_days`` (int64): distinct purchase days - 1
        - ``mean_repeat_order_value`` (float64): mean net of purchase days after the first
          (same-day orders summed); null without a repeat day
        - ``mean_interpurchase_days``, ``std_interpurchase_days`` (float64): mean and
          sample standard deviation of the gaps between consecutive purchase days (null
          with fewer than 1 / 2 gaps)
        - ``orders_<n>d`` (int64), ``spend_<n>d`` (float64) for each window
        - ``clv_frequency`` (int64), ``clv_recency``, ``clv_T``, ``clv_monetary`` (float64):
          lifetimes' ``frequency, recency, T, monetary_value`` with ``freq="D",
          freq_multiplier=7`` (weeks); ``clv_monetary`` is 0 without a repeat day.

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> from custseg.schema import ibis_schema
    >>> utc = dt.timezone.utc
    >>> o = ibis.memtable({
    ...     "order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": [dt.datetime(2024, 1, 1, tzinfo=utc), dt.datetime(2024, 1, 11, tzinfo=utc)],
    ...     "total": [10.0, 20.0], "status": ["placed", "placed"]},
    ... ).cast({"ordered_at": "timestamp('UTC')", "total": "decimal(18, 2)"})
    >>> o = o.mutate(refunded=ibis.null("decimal(18, 2)"))
    >>> r = rfm_summary(o, as_of=dt.date(2024, 1, 31)).to_pyarrow().to_pylist()[0]
    >>> r["number_of_orders"], r["days_since_last_order"], r["clv_T"] * 7, r["clv_monetary"]
    (2, 20, 30.0, 20.0)
    """
    cut = as_of_cut(as_of)
    return _rfm_from_counted(counted_orders(orders, cut), cut, windows)


def _rfm_from_counted(o: ir.Table, cut: AsOf, windows: Sequence[int]) -> ir.Table:
    """:func:`rfm_summary` on counted orders (:func:`~custseg.features._common.counted_orders`)."""
    # Money is summed in the exact decimal type and cast to float64 after summing, so the
    # sums (and the means made from them) do not depend on the order of addition: the same
    # on every run and every backend (the CLV models are fitted on them).
    days = o.group_by(["customer_id", "order_date"]).aggregate(day_net=o.net.sum())
    w = ibis.window(group_by=days.customer_id, order_by=days.order_date)
    days = days.mutate(_prev=days.order_date.lag().over(w))
    # the first purchase day is the one without a previous day: no second window needed
    repeat = days._prev.notnull()
    days = days.mutate(_gap=days.order_date.delta(days._prev, unit="day").cast("float64"))
    per_day = days.group_by("customer_id").aggregate(
        _n_days=days.count(),
        first_order_date=days.order_date.min(),
        last_order_date=days.order_date.max(),
        mean_interpurchase_days=days._gap.mean(),
        std_interpurchase_days=days._gap.std(how="sample"),
        mean_repeat_order_value=safe_div(
            days.day_net.sum(where=repeat), repeat.cast("int64").sum()
        ),
    )

    back = cut.days_back(o.order_date)
    aggs: dict[str, ir.Value] = {
        "number_of_orders": o.count(),
        "amount_spent": o.net.sum().cast("float64"),
    }
    for n in windows:
        aggs[f"orders_{n}d"] = (back < n).cast("int64").sum()
        aggs[f"spend_{n}d"] = o.net.sum(where=back < n).cast("float64").fill_null(0.0)
    per_order = o.group_by("customer_id").aggregate(**aggs)

    t = per_order.join(per_day, "customer_id")
    first, last = t.first_order_date, t.last_order_date
    t = t.mutate(
        avg_order_value=safe_div(t.amount_spent, t.number_of_orders),
        days_since_last_order=cut.days_back(last),
        tenure_days=cut.days_back(first),
        repeat_purchase_days=t._n_days - 1,
        clv_frequency=t._n_days - 1,
        clv_recency=last.delta(first, unit="day").cast("float64") / 7.0,
        clv_T=cut.days_back(first).cast("float64") / 7.0,
        clv_monetary=t.mean_repeat_order_value.fill_null(0.0),
    )
    cols = [
        "customer_id",
        "number_of_orders",
        "amount_spent",
        "avg_order_value",
        "first_order_date",
        "last_order_date",
        "days_since_last_order",
        "tenure_days",
        "repeat_purchase_days",
        "mean_repeat_order_value",
        "mean_interpurchase_days",
        "std_interpurchase_days",
        *[f"{k}_{n}d" for k in ("orders", "spend") for n in windows],
        "clv_frequency",
        "clv_recency",
        "clv_T",
        "clv_monetary",
    ]
    return t.select(*cols)


def order_lines_bought(
    orders: ir.Table, order_lines: ir.Table, *, as_of: date | datetime | AsOf
) -> ir.Table:
    """The lines of counted orders, with the order's customer, date and discount.

    Returns ``order_lines`` columns plus ``customer_id``, ``order_date``,
    ``order_discount`` (float64) and ``bought`` (int64: the quantity of a
    positive line, else 0).
    """
    return _lines_of(counted_orders(orders, as_of_cut(as_of)), order_lines)


def _lines_of(counted: ir.Table, order_lines: ir.Table) -> ir.Table:
    """:func:`order_lines_bought` on counted orders."""
    o = counted.select(
        "order_id",
        "customer_id",
        "order_date",
        order_discount=counted.discount.cast("float64").fill_null(0.0),
    )
    lines = order_lines.join(o, "order_id")
    return lines.mutate(
        bought=ibis.ifelse(lines.quantity > 0, lines.quantity, 0).cast("int64"),
    )


def _order_stats(lines: ir.Table) -> ir.Table:
    """One row per counted order with lines (``lines`` from :func:`_lines_of`).

    Columns: ``order_id, customer_id``, ``_units`` (bought units), ``_positive_units``
    (sum of positive quantities, null without one), ``_returned`` (``returned_qty`` of
    positive lines + ``-quantity`` of negative lines), ``_full`` (bought units without a
    line or order discount), ``_line_disc`` (a line with ``discount > 0``) and ``_cats``
    (distinct categories bought). The basket, psychographic and B2B features share it.
    """
    line_disc = lines.discount.cast("float64").fill_null(0.0)
    returned = ibis.ifelse(
        lines.quantity > 0, lines.returned_qty.fill_null(0), -lines.quantity
    ).cast("int64")
    full = ibis.ifelse((line_disc <= 0) & (lines.order_discount <= 0), lines.bought, 0)
    return lines.group_by(["order_id", "customer_id"]).aggregate(
        _units=lines.bought.sum(),
        _positive_units=lines.quantity.sum(where=lines.quantity > 0),
        _returned=returned.sum(),
        _full=full.sum(),
        _line_disc=(line_disc > 0).any(),
        _cats=lines.category.nunique(where=lines.bought > 0),
    )


def _category_units(lines: ir.Table) -> ir.Table:
    """Units bought per ``(customer_id, category)`` (null category included; 0 for returns)."""
    return lines.group_by(["customer_id", "category"]).aggregate(_units=lines.bought.sum())


def _discount_share(counted: ir.Table, stats: ir.Table) -> ir.Table:
    """``customer_id, _discount_share``: share of counted orders with an order or line discount."""
    disc = counted.left_join(stats.select("order_id", "_line_disc"), "order_id")
    has_disc = (disc.discount.cast("float64").fill_null(0.0) > 0) | disc._line_disc.fill_null(False)
    return disc.group_by("customer_id").aggregate(_discount_share=has_disc.cast("float64").mean())


def top_categories(order_lines: ir.Table, *, limit: int = 12) -> list[str]:
    """The ``limit`` categories with the most units bought (executes one small query).

    Ties go to the alphabetically first category.
    """
    lines = order_lines.filter(order_lines.category.notnull(), order_lines.quantity > 0)
    units = lines.group_by("category").aggregate(units=lines.quantity.sum())
    return _ranked_categories(units, limit)


def _ranked_categories(units: ir.Table, limit: int) -> list[str]:
    top = units.order_by([ibis.desc("units"), "category"]).limit(limit)
    return [r for r in top.to_pyarrow().column("category").to_pylist()]


def _top_from_category_units(cat_units: ir.Table, limit: int) -> list[str]:
    """:func:`top_categories` from :func:`_category_units` (a much smaller table)."""
    t = cat_units.filter(cat_units.category.notnull(), cat_units._units > 0)
    return _ranked_categories(t.group_by("category").aggregate(units=t._units.sum()), limit)


def _share_names(categories: Sequence[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    used: set[str] = set()
    for c in categories:
        base = f"share_{sanitize(c)}"
        name, i = base, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        names[name] = c
    return names


def basket_summary(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | datetime | AsOf,
    categories: Sequence[str] | None = None,
    max_categories: int = 12,
) -> ir.Table:
    """What is in the baskets: returns, discounts, categories, brands, basket size.

    Parameters
    ----------
    orders
        Canonical ``orders``; uses ``order_id, customer_id, ordered_at, status, discount``.
    order_lines
        Canonical ``order_lines``; uses ``order_id, category, brand, quantity,
        discount, returned_qty``.
    as_of
        Only counted orders at or before this date or instant.
    categories
        Categories that get a ``share_<category>`` column. Default: the
        ``max_categories`` categories with most units bought in counted orders
        (found with one small query).
    max_categories
        Cap on the number of ``share_`` columns.

    Returns
    -------
    ir.Table
        One row per customer with a counted order:

        - ``customer_id``
        - ``return_rate``: returned units / bought units; returned = ``returned_qty`` of
          positive lines + ``-quantity`` of negative (return) lines; null if nothing bought
        - ``discount_share``: share of counted orders with ``orders.discount > 0`` or a
          line with ``discount > 0``
        - ``full_price_share``: share of bought units on lines without a line discount,
          in orders without an order discount
        - ``share_<category>``: units of the category / bought units
        - ``top_category``: category with most units (ties alphabetical)
        - ``brand_loyalty``: units of the top brand / units with a known brand
        - ``avg_basket_units``: mean bought units per order with lines
        - ``basket_diversity``: mean distinct categories per order with lines
    """
    counted = counted_orders(orders, as_of_cut(as_of))
    lines = _lines_of(counted, order_lines)
    return _basket(
        counted,
        lines,
        _order_stats(lines),
        _category_units(lines),
        categories=categories,
        max_categories=max_categories,
    )


def _basket(
    counted: ir.Table,
    lines: ir.Table,
    stats: ir.Table,
    cat_units: ir.Table,
    *,
    categories: Sequence[str] | None,
    max_categories: int,
) -> ir.Table:
    """:func:`basket_summary` on the shared intermediate tables (see :func:`_order_stats`)."""
    if categories is None:
        categories = _top_from_category_units(cat_units, max_categories)
    shares = _share_names(list(categories)[:max_categories])

    per_order = stats.group_by("customer_id").aggregate(
        _bought=stats._units.sum(),
        _returned=stats._returned.sum(),
        _full=stats._full.sum(),
        avg_basket_units=stats._units.mean().cast("float64"),
        basket_diversity=stats._cats.mean().cast("float64"),
    )
    per_cat = cat_units.group_by("customer_id").aggregate(
        **{
            name: cat_units._units.sum(where=cat_units.category == cat)
            for name, cat in shares.items()
        }
    )
    per_cust = per_order.left_join(per_cat, "customer_id").drop("customer_id_right")
    per_cust = per_cust.mutate(
        return_rate=safe_div(per_cust._returned, per_cust._bought),
        full_price_share=safe_div(per_cust._full, per_cust._bought),
        # a buyer with no unit in a category has share 0, not null (sum over no rows)
        **{n: safe_div(per_cust[n].fill_null(0), per_cust._bought) for n in shares},
    )

    bought_cats = cat_units.filter(cat_units._units > 0)
    top_cat = mode(bought_cats, "category", name="top_category", weight="_units")
    brands = lines.filter(lines.bought > 0, lines.brand.notnull())
    brand_units = brands.group_by(["customer_id", "brand"]).aggregate(u=brands.bought.sum())
    loyalty = brand_units.group_by("customer_id").aggregate(
        brand_loyalty=safe_div(brand_units.u.max(), brand_units.u.sum())
    )

    out = _discount_share(counted, stats).rename(discount_share="_discount_share")
    for part in (per_cust, top_cat, loyalty):
        out = out.left_join(part, "customer_id").drop("customer_id_right")
    return out.select(
        "customer_id",
        "return_rate",
        "discount_share",
        "full_price_share",
        *shares,
        "top_category",
        "brand_loyalty",
        "avg_basket_units",
        "basket_diversity",
    )
