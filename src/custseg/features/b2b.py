"""B2B features: the account a customer buys for, and how much they buy per order."""

from __future__ import annotations

from datetime import date, datetime

import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders, safe_div
from custseg.features.behavior import _lines_of, _order_stats

__all__ = ["account_profile", "order_volume", "order_units"]


def account_profile(customers: ir.Table, accounts: ir.Table) -> ir.Table:
    """The customer's account and its firmographics.

    Returns
    -------
    ir.Table
        One row per customer: ``customer_id, account_id``, ``company_size``
        (``accounts.employee_band``), ``industry``, ``account_tier`` (``accounts.tier``);
        null when the customer has no (known) account.
    """
    acc = accounts.select(
        "account_id", company_size="employee_band", industry="industry", account_tier="tier"
    )
    t = customers.select("customer_id", "account_id").left_join(acc, "account_id")
    return t.select("customer_id", "account_id", "company_size", "industry", "account_tier")


def order_units(
    orders: ir.Table, order_lines: ir.Table, *, as_of: date | datetime | AsOf
) -> ir.Table:
    """Units per counted order: the sum of positive line quantities, else ``items_count``.

    Returns ``order_id, customer_id, order_date, units`` (int64, null when unknown).
    """
    counted = counted_orders(orders, as_of_cut(as_of))
    return _order_units(counted, _order_stats(_lines_of(counted, order_lines)))


def _order_units(counted: ir.Table, stats: ir.Table) -> ir.Table:
    """:func:`order_units` from counted orders and their line statistics (see ``behavior``)."""
    t = counted.left_join(stats.select("order_id", "_positive_units"), "order_id")
    return t.select(
        "order_id",
        "customer_id",
        "order_date",
        units=t._positive_units.fill_null(t.items_count).cast("int64"),
    )


def order_volume(
    orders: ir.Table,
    order_lines: ir.Table,
    *,
    as_of: date | datetime | AsOf,
    bulk_units: int = 20,
    volume_days: int = 365,
) -> ir.Table:
    """Units per order, bulk ordering and trailing unit volume.

    Parameters
    ----------
    orders, order_lines
        Canonical tables; counted orders and their lines (see :func:`order_units`).
    as_of
        Only orders at or before this date or instant count.
    bulk_units
        An order with at least this many units is bulk (``[features].bulk_units``).
    volume_days
        Window of ``b2b_order_volume``, as-of day included.

    Returns
    -------
    ir.Table
        One row per customer with a counted order: ``customer_id``, ``units_per_order``
        (mean units over orders with known units), ``bulk_order_share`` (orders with
        ``units >= bulk_units`` / orders with known units), ``b2b_order_volume`` (int64:
        units of orders in the last ``volume_days`` days).
    """
    cut = as_of_cut(as_of)
    counted = counted_orders(orders, cut)
    units = _order_units(counted, _order_stats(_lines_of(counted, order_lines)))
    return _volume(units, cut, bulk_units=bulk_units, volume_days=volume_days)


def _volume(u: ir.Table, cut: AsOf, *, bulk_units: int, volume_days: int) -> ir.Table:
    """:func:`order_volume` on :func:`order_units`."""
    recent = cut.days_back(u.order_date) < volume_days
    return u.group_by("customer_id").aggregate(
        units_per_order=u.units.mean().cast("float64"),
        bulk_order_share=safe_div((u.units >= bulk_units).cast("int64").sum(), u.units.count()),
        b2b_order_volume=u.units.sum(where=recent).fill_null(0).cast("int64"),
    )
