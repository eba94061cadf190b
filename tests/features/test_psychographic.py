"""psychographic: the attribute pivot takes the latest answer; purchase traits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custseg.features import psychographic

from ._tables import AS_OF, canonical, connect, one, ts


def test_attribute_pivot_latest_answer() -> None:
    con = connect()
    attrs = canonical(
        con,
        "attributes",
        [
            {"customer_id": "A", "key": "interest", "value": "sports", "source": "s1",
             "observed_at": ts(2024, 1, 1)},
            {"customer_id": "A", "key": "interest", "value": "music", "source": "s2",
             "observed_at": ts(2024, 3, 1)},
            {"customer_id": "A", "key": "interest", "value": "art", "source": "s3",
             "observed_at": ts(2024, 4, 15)},  # after as_of: ignored
            {"customer_id": "A", "key": "Life Style", "value": "urban", "source": "s1"},
            {"customer_id": "A", "key": "not_configured", "value": "x", "source": "s1"},
            {"customer_id": "B", "key": "values", "value": "price", "source": "crm",
             "observed_at": ts(2024, 2, 1)},
        ],
    )  # fmt: skip
    t = psychographic.attribute_pivot(attrs, keys=["interest", "Life Style", "values"], as_of=AS_OF)
    assert t.columns == ("customer_id", "attr_interest", "attr_life_style", "attr_values")
    a = one(t, "A")
    assert (a["attr_interest"], a["attr_life_style"], a["attr_values"]) == ("music", "urban", None)
    assert one(t, "B")["attr_values"] == "price"
    later = psychographic.attribute_pivot(attrs, keys=["interest"], as_of=ts(2024, 5, 1))
    assert one(later, "A")["attr_interest"] == "art"


def test_purchase_traits_hand_computed() -> None:
    con = connect()
    d = Decimal
    orders = canonical(
        con,
        "orders",
        [
            {"order_id": "a1", "customer_id": "A", "ordered_at": ts(2024, 1, 1),
             "total": d("20"), "discount": d("5"), "status": "placed"},
            {"order_id": "a2", "customer_id": "A", "ordered_at": ts(2024, 3, 1),
             "total": d("30"), "status": "placed"},
            {"order_id": "c1", "customer_id": "C", "ordered_at": ts(2024, 1, 1),
             "total": d("20"), "status": "placed"},
        ],
    )  # fmt: skip
    lines = canonical(
        con,
        "order_lines",
        [
            {"order_id": "a1", "line_no": 1, "sku": "S1", "category": "x", "quantity": 2,
             "unit_price": d("10")},
            {"order_id": "a2", "line_no": 1, "sku": "S2", "category": "x", "quantity": 1,
             "unit_price": d("30")},
            {"order_id": "c1", "line_no": 1, "sku": "S2", "category": "x", "quantity": 1,
             "unit_price": d("20")},
        ],
    )  # fmt: skip
    a = one(psychographic.purchase_traits(orders, lines, as_of=AS_OF), "A")
    # median unit price of x over lines: [10, 30, 20] -> 20
    # price level: (2 units x 10/20 + 1 unit x 30/20) / 3 units = 2.5 / 3
    level = 2.5 / 3
    assert a["relative_price_level"] == pytest.approx(level)
    # discount share 1/2 (a1); cheapness = 1 - level/2
    assert a["price_sensitivity_score"] == pytest.approx((0.5 + (1 - level / 2)) / 2)
    # S1 first sold 01-01 (a1 itself: novel, 2 units); S2 first sold 01-01 by C,
    # a2 on 03-01 is 60 days later: not novel -> 2 / 3
    assert a["novelty_seeking"] == pytest.approx(2 / 3)
    assert a["category_breadth"] == 1
