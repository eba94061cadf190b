"""Psychographic features: survey/CRM attributes and traits derived from purchases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders, safe_div, sanitize
from custseg.features.behavior import (
    _category_units,
    _discount_share,
    _lines_of,
    _order_stats,
)

__all__ = ["attribute_pivot", "purchase_traits", "NOVELTY_DAYS"]

#: An item is "new" when bought within this many days of the SKU's first sale.
NOVELTY_DAYS = 30


def attribute_pivot(
    attributes: ir.Table, *, keys: Sequence[str], as_of: date | datetime | AsOf
) -> ir.Table:
    """One ``attr_<key>`` column per key, holding the customer's latest answer.

    Parameters
    ----------
    attributes
        Canonical ``attributes``; uses ``customer_id, key, value, source, observed_at``.
    keys
        Attribute keys to pivot (``[features].attribute_keys``).
    as_of
        Answers observed after as-of are ignored; answers without ``observed_at`` count
        but lose to any dated answer.

    Returns
    -------
    ir.Table
        ``customer_id`` and ``attr_<sanitized key>`` (string) for each key, one row per
        customer with an answer to one of the keys. The latest answer by ``observed_at``
        wins; ties go to the alphabetically first ``source``, then ``value``.
    """
    cut = as_of_cut(as_of)
    keys = list(keys)
    a = attributes.filter(
        attributes.customer_id.notnull(),
        attributes.key.isin(keys) if keys else ibis.literal(False),
        attributes.observed_at.isnull() | cut.before(attributes.observed_at),
    )
    ranked = a.mutate(
        _rn=ibis.row_number().over(
            group_by=[a.customer_id, a.key],
            order_by=[a.observed_at.desc(nulls_first=False), a.source.asc(), a.value.asc()],
        )
    )
    latest = ranked.filter(ranked._rn == 0)
    return latest.group_by("customer_id").aggregate(
        **{f"attr_{sanitize(k)}": latest.value.max(where=latest.key == k) for k in keys}
    )


def purchase_traits(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | datetime | AsOf,
    novelty_days: int = NOVELTY_DAYS,
) -> ir.Table:
    """Price sensitivity, novelty seeking and category breadth from what was bought.

    Parameters
    ----------
    orders, order_lines
        Canonical tables; counted orders (see :mod:`custseg.features.behavior`) and
        their positive-quantity lines are used.
    as_of
        Only orders at or before this date or instant count (also for the category
        medians and the SKUs' first sales).
    novelty_days
        Window after a SKU's first sale in which a purchase counts as novel.

    Returns
    -------
    ir.Table
        One row per customer with a bought unit:

        - ``customer_id``
        - ``relative_price_level``: unit-weighted mean of ``unit_price`` / the median
          ``unit_price`` of the line's category (lines with a category and a positive
          median)
        - ``price_sensitivity_score`` in [0, 1]: ``(discount_share + clip(1 -
          relative_price_level / 2, 0, 1)) / 2`` (0.25 at the
          median price without discounts); the discount part alone when no price level
          is known
        - ``novelty_seeking``: units bought within ``novelty_days`` days (``<=``) of the
          SKU's first sale in the data / units with a SKU
        - ``category_breadth`` (int64): distinct categories bought
    """
    counted = counted_orders(orders, as_of_cut(as_of))
    lines = _lines_of(counted, order_lines)
    return _traits(
        counted,
        lines,
        _order_stats(lines),
        _category_units(lines),
        novelty_days=novelty_days,
    )


def _traits(
    counted: ir.Table,
    lines: ir.Table,
    stats: ir.Table,
    cat_units: ir.Table,
    *,
    novelty_days: int,
) -> ir.Table:
    """:func:`purchase_traits` on the shared intermediate tables (see ``behavior``)."""
    bought = lines.filter(lines.bought > 0)

    price = bought.unit_price.cast("float64")
    medians = bought.group_by("category").aggregate(_median=price.median())
    first_sale = bought.group_by("sku").aggregate(_first=bought.order_date.min())
    b = bought.left_join(medians, "category").drop("category_right")
    b = b.left_join(first_sale, "sku").drop("sku_right")
    rel = ibis.ifelse(
        b.category.notnull() & (b._median > 0), b.unit_price.cast("float64") / b._median, None
    )
    novel = b.order_date.delta(b._first, unit="day") <= novelty_days
    b = b.mutate(
        _rel_w=rel * b.bought,
        _rel_units=ibis.ifelse(rel.notnull(), b.bought, 0),
        _novel=ibis.ifelse(b.sku.notnull() & novel, b.bought, 0),
        _sku_units=ibis.ifelse(b.sku.notnull(), b.bought, 0),
    )
    per = b.group_by("customer_id").aggregate(
        relative_price_level=safe_div(b._rel_w.sum(), b._rel_units.sum()),
        novelty_seeking=safe_div(b._novel.sum(), b._sku_units.sum()),
    )
    bought_cats = cat_units.filter(cat_units._units > 0)
    breadth = bought_cats.group_by("customer_id").aggregate(
        category_breadth=bought_cats.category.count().cast("int64")
    )

    t = per.left_join(breadth, "customer_id").drop("customer_id_right")
    t = t.left_join(_discount_share(counted, stats), "customer_id").drop("customer_id_right")
    cheap = ibis.greatest(ibis.least(1.0 - t.relative_price_level / 2.0, 1.0), 0.0)
    score = ibis.cases(
        (cheap.isnull(), t._discount_share),
        (t._discount_share.isnull(), cheap),
        else_=(t._discount_share + cheap) / 2.0,
    )
    return t.select(
        "customer_id",
        "relative_price_level",
        price_sensitivity_score=score,
        novelty_seeking=t.novelty_seeking,
        category_breadth=t.category_breadth,
    )
