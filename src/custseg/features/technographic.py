"""Technographic features: devices, systems, browsers, channels and traffic sources."""

from __future__ import annotations

from datetime import date, datetime

import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders, mode, safe_div
from custseg.features.engagement import window_events

__all__ = ["technographics"]


def technographics(
    events: ir.Table,
    orders: ir.Table,
    *,
    as_of: date | datetime | AsOf,
    lookback_days: int | None = 365,
) -> ir.Table:
    """Most used device, OS, browser, sales channel and traffic source.

    Modes are taken over the customer's ``session`` events in the window; a customer
    with no session event there falls back to all of their events. Ties go to the
    alphabetically first value.

    Parameters
    ----------
    events
        Canonical ``events``; uses ``customer_id, ts, type, device, os, browser, source``.
    orders
        Canonical ``orders``; uses ``customer_id, ordered_at, status, channel``.
    as_of
        Only events and orders at or before this date or instant count.
    lookback_days
        Events window; ``None`` for all history. Orders use all history.

    Returns
    -------
    ir.Table
        One row per customer with an event in the window or a counted order:
        ``customer_id, main_device, main_os, main_browser``,
        ``mobile_session_share`` (session events with device ``mobile`` / session events
        with a known device; null without any), ``main_channel`` (mode of
        ``orders.channel``), ``main_traffic_source`` (mode of ``events.source``).
    """
    cut = as_of_cut(as_of)
    e = window_events(events, as_of=cut, lookback_days=lookback_days)
    is_session = e.type.lower() == "session"
    e = e.mutate(
        _is_session=is_session,
        _has_session=is_session.cast("int64").max().over(group_by=e.customer_id),
    )
    basis = e.filter(e._is_session | (e._has_session == 0))
    parts = [
        mode(basis, "device", name="main_device"),
        mode(basis, "os", name="main_os"),
        mode(basis, "browser", name="main_browser"),
        mode(basis, "source", name="main_traffic_source"),
    ]
    s = e.filter(e._is_session, e.device.notnull())
    share = s.group_by("customer_id").aggregate(
        mobile_session_share=safe_div((s.device.lower() == "mobile").cast("int64").sum(), s.count())
    )
    o = counted_orders(orders, cut)
    parts += [share, mode(o, "channel", name="main_channel")]

    ids = e.select("customer_id").union(o.select("customer_id"), distinct=True)
    t = ids
    for p in parts:
        t = t.left_join(p, "customer_id").drop("customer_id_right")
    return t.select(
        "customer_id",
        "main_device",
        "main_os",
        "main_browser",
        "mobile_session_share",
        "main_channel",
        "main_traffic_source",
    )
