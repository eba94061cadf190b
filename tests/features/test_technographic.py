"""technographic: modes with alphabetical tie-breaks, session fallback, channel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custseg.features import technographic

from ._tables import AS_OF, canonical, connect, one, ts


@pytest.fixture(scope="module")
def tables():
    con = connect()
    sessions = [("mobile", "iOS", "Safari", "google"), ("mobile", "iOS", "Safari", "newsletter"),
                ("desktop", "Android", "Chrome", "google"),
                ("desktop", "Android", "Chrome", "newsletter")]  # fmt: skip
    rows = [
        {"event_id": f"s{i}", "customer_id": "A", "ts": ts(2024, 3, 1), "type": "session",
         "device": d, "os": o, "browser": b, "source": s}
        for i, (d, o, b, s) in enumerate(sessions)
    ]  # fmt: skip
    # A's page views are ignored (A has sessions) even if they would win the mode
    rows += [
        {"event_id": f"p{i}", "customer_id": "A", "ts": ts(2024, 3, 1), "type": "page_view",
         "device": "tablet"}
        for i in range(5)
    ]  # fmt: skip
    # D has no session: fall back to all events
    rows += [
        {
            "event_id": "d1",
            "customer_id": "D",
            "ts": ts(2024, 3, 1),
            "type": "page_view",
            "device": "tablet",
            "os": "iPadOS",
        },
    ]
    events = canonical(con, "events", rows)
    orders = canonical(
        con,
        "orders",
        [
            {"order_id": str(i), "customer_id": "A", "ordered_at": ts(2024, 2, 1),
             "total": Decimal("1"), "status": st, "channel": ch}
            for i, (ch, st) in enumerate([("web", "placed"), ("app", "placed"), ("app", "placed"),
                                          ("web", "placed"), ("store", "cancelled"),
                                          ("store", "cancelled"), ("store", "cancelled")])
        ],
    )  # fmt: skip
    return events, orders


def test_modes_with_ties(tables) -> None:
    events, orders = tables
    a = one(technographic.technographics(events, orders, as_of=AS_OF), "A")
    # 2 mobile vs 2 desktop sessions -> alphabetical: desktop; Android < iOS; Chrome < Safari
    assert (a["main_device"], a["main_os"], a["main_browser"]) == ("desktop", "Android", "Chrome")
    assert a["main_traffic_source"] == "google"  # 2 vs 2: google < newsletter
    assert a["mobile_session_share"] == pytest.approx(2 / 4)
    # counted orders: web 2, app 2 (cancelled store orders ignored) -> app
    assert a["main_channel"] == "app"


def test_fallback_to_all_events(tables) -> None:
    events, orders = tables
    d = one(technographic.technographics(events, orders, as_of=AS_OF), "D")
    assert (d["main_device"], d["main_os"]) == ("tablet", "iPadOS")
    assert d["mobile_session_share"] is None and d["main_channel"] is None
