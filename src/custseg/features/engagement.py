"""Engagement features: e-mail, sessions and shopping events in a lookback window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders, safe_div

__all__ = ["EVENT_COUNTS", "engagement_summary", "window_events"]

#: Output column -> event ``type`` counted.
EVENT_COUNTS: dict[str, str] = {
    "email_opens": "email_open",
    "email_clicks": "email_click",
    "sessions": "session",
    "product_views": "product_view",
    "add_to_carts": "add_to_cart",
}


def window_events(
    events: ir.Table, *, as_of: date | datetime | AsOf, lookback_days: int | None = 365
) -> ir.Table:
    """Identified events (``customer_id`` not null) in ``(as_of - lookback_days, as_of]``.

    ``lookback_days=None`` keeps all events at or before as-of.
    """
    cut = as_of_cut(as_of)
    e = events.filter(events.customer_id.notnull(), cut.before(events.ts))
    if lookback_days is not None:
        start = ibis.timestamp(cut.end - timedelta(days=lookback_days))
        e = e.filter(e.ts >= start)
    return e


def engagement_summary(
    events: ir.Table,
    orders: ir.Table,
    *,
    as_of: date | datetime | AsOf,
    lookback_days: int = 365,
) -> ir.Table:
    """Event counts and funnel rates per customer over a lookback window.

    Parameters
    ----------
    events
        Canonical ``events``; uses ``customer_id, ts, type``.
    orders
        Canonical ``orders``; counted orders in the same window feed ``view_to_buy_rate``.
    as_of
        End of the window (inclusive).
    lookback_days
        Window length: events with ``as_of - lookback_days < ts <= as_of`` count.

    Returns
    -------
    ir.Table
        One row per customer with an identified event or a counted order in the window:

        - ``customer_id``
        - ``email_opens``, ``email_clicks``, ``sessions``, ``product_views``,
          ``add_to_carts`` (int64): events of type ``email_open``, ``email_click``,
          ``session``, ``product_view``, ``add_to_cart``
        - ``add_to_cart_rate``: add_to_carts / product_views (null without views)
        - ``view_to_buy_rate``: counted orders in the window / product_views (null
          without views)
    """
    cut = as_of_cut(as_of)
    return _engagement(
        window_events(events, as_of=cut, lookback_days=lookback_days),
        counted_orders(orders, cut),
        cut,
        lookback_days=lookback_days,
    )


def _event_counts(e: ir.Table) -> ir.Table:
    """Events of each :data:`EVENT_COUNTS` type per customer (technographics shares it)."""
    typ = e.type.lower()
    return e.group_by("customer_id").aggregate(
        **{name: (typ == t).cast("int64").sum() for name, t in EVENT_COUNTS.items()}
    )


def _engagement(e: ir.Table, o: ir.Table, cut: AsOf, *, lookback_days: int) -> ir.Table:
    """:func:`engagement_summary` on window events and counted orders."""
    counts = _event_counts(e)
    start = ibis.timestamp(cut.end - timedelta(days=lookback_days))
    o = o.filter(o.ordered_at >= start)
    n_orders = o.group_by("customer_id").aggregate(_orders=o.count())
    ids = counts.select("customer_id").union(n_orders.select("customer_id"), distinct=True)
    t = ids.left_join(counts, "customer_id").drop("customer_id_right")
    t = t.left_join(n_orders, "customer_id").drop("customer_id_right")
    t = t.mutate(**{n: t[n].fill_null(0) for n in EVENT_COUNTS}, _orders=t._orders.fill_null(0))
    return t.select(
        "customer_id",
        *EVENT_COUNTS,
        add_to_cart_rate=safe_div(t.add_to_carts, t.product_views),
        view_to_buy_rate=safe_div(t._orders, t.product_views),
    )
