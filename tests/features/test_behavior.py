"""behavior: RFM, windows, baskets and CLV inputs against hand-computed values."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from custseg.features import behavior

from ._tables import AS_OF, canonical, connect, one, ts


@pytest.fixture(scope="module")
def shop():
    con = connect()
    d = Decimal
    orders = canonical(
        con,
        "orders",
        [
            # customer A: purchase days 01-01 (o1 + o2), 02-10, 03-25
            {"order_id": "o1", "customer_id": "A", "ordered_at": ts(2024, 1, 1, 10),
             "total": d("100"), "status": "placed"},
            {"order_id": "o2", "customer_id": "A", "ordered_at": ts(2024, 1, 1, 15),
             "total": d("50"), "refunded": d("20"), "status": "refunded"},
            {"order_id": "o3", "customer_id": "A", "ordered_at": ts(2024, 2, 10),
             "total": d("80"), "status": "placed"},
            {"order_id": "o4", "customer_id": "A", "ordered_at": ts(2024, 3, 25, 12),
             "total": d("60"), "discount": d("10"), "status": "placed"},
            {"order_id": "o5", "customer_id": "A", "ordered_at": ts(2024, 3, 25),
             "total": d("999"), "status": "cancelled"},
            {"order_id": "o6", "customer_id": "A", "ordered_at": ts(2024, 4, 5),
             "total": d("500"), "status": "placed"},
            # customer C: one order, a tie between two categories
            {"order_id": "c1", "customer_id": "C", "ordered_at": ts(2024, 3, 1),
             "total": d("40"), "status": "placed"},
        ],
    )  # fmt: skip
    lines = canonical(
        con,
        "order_lines",
        [
            {"order_id": "o1", "line_no": 1, "category": "Home & Garden", "brand": "X",
             "quantity": 2, "unit_price": d("10"), "discount": d("0")},
            {"order_id": "o1", "line_no": 2, "category": "toys", "brand": "Y",
             "quantity": 1, "unit_price": d("20"), "discount": d("5")},
            {"order_id": "o2", "line_no": 1, "category": "toys", "brand": "Y",
             "quantity": 1, "unit_price": d("50"), "returned_qty": 1},
            {"order_id": "o3", "line_no": 1, "category": "Home & Garden", "brand": "X",
             "quantity": 3, "unit_price": d("20")},
            {"order_id": "o3", "line_no": 2, "category": "Home & Garden", "brand": "X",
             "quantity": -1, "unit_price": d("20")},
            {"order_id": "o4", "line_no": 1, "category": "toys", "brand": "X",
             "quantity": 1, "unit_price": d("70")},
            {"order_id": "o5", "line_no": 1, "category": "toys", "brand": "Y",
             "quantity": 100, "unit_price": d("10")},
            {"order_id": "c1", "line_no": 1, "category": "zeta", "quantity": 1,
             "unit_price": d("20")},
            {"order_id": "c1", "line_no": 2, "category": "alpha", "quantity": 1,
             "unit_price": d("20")},
        ],
    )  # fmt: skip
    return orders, lines


def test_rfm_hand_computed(shop) -> None:
    orders, _ = shop
    a = one(behavior.rfm_summary(orders, as_of=AS_OF), "A")
    # counted: o1, o2, o3, o4 (o5 cancelled, o6 after as_of)
    assert a["number_of_orders"] == 4
    # net: 100 + (50 - 20) + 80 + 60 = 270
    assert a["amount_spent"] == pytest.approx(270.0)
    assert a["avg_order_value"] == pytest.approx(270.0 / 4)
    assert a["first_order_date"] == date(2024, 1, 1)
    assert a["last_order_date"] == date(2024, 3, 25)
    assert a["days_since_last_order"] == 6  # 03-25 -> 03-31
    assert a["tenure_days"] == 90  # 31 (Jan) + 29 (Feb, leap) + 30
    # purchase days 01-01 (130), 02-10 (80), 03-25 (60): 3 days -> 2 repeats
    assert a["repeat_purchase_days"] == 2
    assert a["mean_repeat_order_value"] == pytest.approx((80 + 60) / 2)
    # gaps: 01-01 -> 02-10 = 40 days, 02-10 -> 03-25 = 19 + 25 = 44 days
    assert a["mean_interpurchase_days"] == pytest.approx(42.0)
    assert a["std_interpurchase_days"] == pytest.approx(math.sqrt((2**2 + 2**2) / 1))
    # windows: 30d = 03-02..03-31 -> o4; 90d = 01-02..03-31 -> o3, o4 (01-01 is 90 days back)
    assert (a["orders_30d"], a["spend_30d"]) == (1, pytest.approx(60.0))
    assert (a["orders_90d"], a["spend_90d"]) == (2, pytest.approx(140.0))
    assert (a["orders_365d"], a["spend_365d"]) == (4, pytest.approx(270.0))
    # CLV inputs in weeks: recency = 84 days, T = 90 days
    assert a["clv_frequency"] == 2
    assert a["clv_recency"] == pytest.approx(84 / 7)
    assert a["clv_T"] == pytest.approx(90 / 7)
    assert a["clv_monetary"] == pytest.approx(70.0)


def test_single_purchase_day(shop) -> None:
    orders, _ = shop
    c = one(behavior.rfm_summary(orders, as_of=AS_OF), "C")
    assert c["number_of_orders"] == 1 and c["repeat_purchase_days"] == 0
    assert c["mean_repeat_order_value"] is None and c["clv_monetary"] == 0.0
    assert c["mean_interpurchase_days"] is None and c["std_interpurchase_days"] is None
    assert c["clv_recency"] == 0.0 and c["clv_T"] == pytest.approx(30 / 7)


@pytest.mark.parametrize(
    ("as_of", "n", "spent"),
    [
        (date(2024, 3, 24), 3, 210.0),  # o4 (03-25) not yet
        (datetime(2024, 3, 25, 11, 59, tzinfo=UTC), 3, 210.0),  # o4 is at 12:00
        (datetime(2024, 3, 25, 12, 0, tzinfo=UTC), 4, 270.0),  # at the instant: counts
        (datetime(2024, 3, 25, 12, 0), 4, 270.0),  # naive = UTC
        (date(2024, 4, 5), 5, 770.0),  # o6 now counts
    ],
)
def test_as_of_excludes_later_orders(shop, as_of, n, spent) -> None:
    orders, _ = shop
    a = one(behavior.rfm_summary(orders, as_of=as_of), "A")
    assert a["number_of_orders"] == n
    assert a["amount_spent"] == pytest.approx(spent)


def test_no_customer_before_first_order(shop) -> None:
    orders, _ = shop
    t = behavior.rfm_summary(orders, as_of=date(2024, 2, 1))
    assert t.customer_id.to_pyarrow().to_pylist() == ["A"]


def test_basket_hand_computed(shop) -> None:
    orders, lines = shop
    b = behavior.basket_summary(orders, lines, as_of=AS_OF)
    assert "share_home_garden" in b.columns and "share_toys" in b.columns
    a = one(b, "A")
    # bought units: o1 2+1, o2 1, o3 3, o4 1 = 8 (o5 cancelled, o3's -1 is a return)
    # returned: o2 returned_qty 1 + o3 return line 1 = 2
    assert a["return_rate"] == pytest.approx(2 / 8)
    # discounted orders: o1 (line discount), o4 (order discount) of 4
    assert a["discount_share"] == pytest.approx(0.5)
    # full-price units: o1 line 1 (2), o2 (1), o3 (3) = 6 of 8
    assert a["full_price_share"] == pytest.approx(6 / 8)
    assert a["share_home_garden"] == pytest.approx(5 / 8)
    assert a["share_toys"] == pytest.approx(3 / 8)
    assert a["top_category"] == "Home & Garden"
    assert a["brand_loyalty"] == pytest.approx(6 / 8)  # X: 2 + 3 + 1
    assert a["avg_basket_units"] == pytest.approx((3 + 1 + 3 + 1) / 4)
    assert a["basket_diversity"] == pytest.approx((2 + 1 + 1 + 1) / 4)
    c = one(b, "C")
    assert c["top_category"] == "alpha"  # 1 unit each: alphabetical tie-break
    assert c["brand_loyalty"] is None  # no brand known
    assert c["share_alpha"] == pytest.approx(0.5)
    # C bought alpha and zeta only: 0 of its units are toys (0, not null)
    assert c["share_toys"] == 0.0
    assert c["share_home_garden"] == 0.0


def test_category_cap_and_names(shop) -> None:
    orders, lines = shop
    b = behavior.basket_summary(orders, lines, as_of=AS_OF, max_categories=2)
    shares = [c for c in b.columns if c.startswith("share_")]
    # top by units: Home & Garden 5, toys 3 (alpha and zeta 1 each)
    assert shares == ["share_home_garden", "share_toys"]
