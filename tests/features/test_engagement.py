"""engagement: event counts and funnel rates in the lookback window."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custseg.features import engagement

from ._tables import AS_OF, canonical, connect, one, ts


@pytest.fixture(scope="module")
def tables():
    con = connect()
    kinds = ["product_view"] * 4 + ["add_to_cart", "session", "session"]
    kinds += ["email_open"] * 3 + ["email_click"]
    rows = [
        {"event_id": f"e{i}", "customer_id": "A", "ts": ts(2024, 3, 1), "type": k}
        for i, k in enumerate(kinds)
    ]
    rows += [
        # 2023-04-01 is 365 days before 2024-03-31 at 00:00 -> before the window start
        {"event_id": "old", "customer_id": "A", "ts": ts(2023, 3, 31), "type": "product_view"},
        {"event_id": "late", "customer_id": "A", "ts": ts(2024, 4, 1), "type": "product_view"},
        {"event_id": "anon", "customer_id": None, "ts": ts(2024, 3, 1), "type": "session"},
        {"event_id": "n1", "customer_id": "N", "ts": ts(2024, 3, 1), "type": "email_open"},
    ]
    events = canonical(con, "events", rows)
    orders = canonical(
        con,
        "orders",
        [
            {"order_id": f"o{i}", "customer_id": "A", "ordered_at": ts(2024, 2, i + 1),
             "total": Decimal("1"), "status": "placed"}
            for i in range(4)
        ] + [{"order_id": "x", "customer_id": "A", "ordered_at": ts(2024, 2, 9),
              "total": Decimal("1"), "status": "cancelled"}],
    )  # fmt: skip
    return events, orders


def test_counts_and_rates(tables) -> None:
    events, orders = tables
    t = engagement.engagement_summary(events, orders, as_of=AS_OF)
    a = one(t, "A")
    assert (a["product_views"], a["add_to_carts"], a["sessions"]) == (4, 1, 2)
    assert (a["email_opens"], a["email_clicks"]) == (3, 1)
    assert a["add_to_cart_rate"] == pytest.approx(1 / 4)
    assert a["view_to_buy_rate"] == pytest.approx(4 / 4)  # 4 counted orders / 4 views
    n = one(t, "N")
    assert n["email_opens"] == 1 and n["product_views"] == 0
    assert n["add_to_cart_rate"] is None and n["view_to_buy_rate"] is None


def test_lookback_window(tables) -> None:
    events, orders = tables
    a = one(engagement.engagement_summary(events, orders, as_of=AS_OF, lookback_days=400), "A")
    assert a["product_views"] == 5  # the 2023-03-31 view is inside 400 days
    # nothing of A's in the last 10 days: no row (build fills the counts with 0)
    t = engagement.engagement_summary(events, orders, as_of=AS_OF, lookback_days=10)
    assert t.customer_id.to_pyarrow().to_pylist() == []
