"""Technographic features: devices, systems, browsers, channels and traffic sources."""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders, mode, safe_div
from custseg.features.engagement import _event_counts, window_events

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
    return _technographics(
        window_events(events, as_of=cut, lookback_days=lookback_days), counted_orders(orders, cut)
    )


_EVENT_MODES = {
    "device": "main_device",
    "os": "main_os",
    "browser": "main_browser",
    "source": "main_traffic_source",
}


def _technographics(e: ir.Table, o: ir.Table) -> ir.Table:
    """:func:`technographics` on window events and counted orders.

    Each mode counts events per customer and value (sessions and all events) and picks
    the basis from the customer's session count, so no window runs over the events.
    """
    is_session = (e.type.lower() == "session").cast("int64")
    flags = _event_counts(e).select("customer_id", _has_session=ibis._.sessions > 0)

    def basis_counts(col: str) -> ir.Table:
        counts = e.group_by(["customer_id", col]).aggregate(
            _sessions=is_session.sum(), _events=e.count()
        )
        counts = counts.join(flags, "customer_id")
        # the basis: session events, or every event for a customer without one
        return counts.mutate(_n=ibis.ifelse(counts._has_session, counts._sessions, counts._events))

    by_value = {col: basis_counts(col) for col in _EVENT_MODES}
    parts = [
        mode(t.filter(t._n > 0), col, name=_EVENT_MODES[col], weight="_n")
        for col, t in by_value.items()
    ]
    s = by_value["device"].filter(ibis._.device.notnull())
    mobile = ibis.ifelse(s.device.lower() == "mobile", s._sessions, 0)
    share = s.group_by("customer_id").aggregate(
        mobile_session_share=safe_div(mobile.sum(), s._sessions.sum())
    )
    channels = o.group_by(["customer_id", "channel"]).aggregate(_orders=o.count())
    parts += [share, mode(channels, "channel", name="main_channel", weight="_orders")]

    ids = flags.select("customer_id").union(channels.select("customer_id"), distinct=True)
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
