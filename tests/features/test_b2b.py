"""b2b: account firmographics and order volume."""

from __future__ import annotations

from decimal import Decimal

import pytest

from custseg.features import b2b

from ._tables import AS_OF, canonical, connect, one, ts


def test_account_profile() -> None:
    con = connect()
    customers = canonical(
        con,
        "customers",
        [
            {"customer_id": "A", "account_id": "acc1"},
            {"customer_id": "B"},
            {"customer_id": "E", "account_id": "gone"},
        ],
    )
    accounts = canonical(
        con,
        "accounts",
        [{"account_id": "acc1", "employee_band": "50-249", "industry": "retail", "tier": "gold"}],
    )
    t = b2b.account_profile(customers, accounts)
    assert t.count().to_pyarrow().as_py() == 3
    a = one(t, "A")
    assert (a["company_size"], a["industry"], a["account_tier"]) == ("50-249", "retail", "gold")
    assert one(t, "B")["account_id"] is None
    e = one(t, "E")
    assert e["account_id"] == "gone" and e["company_size"] is None


def test_order_volume_hand_computed() -> None:
    con = connect()
    one_ = Decimal("1")
    orders = canonical(
        con,
        "orders",
        [
            {"order_id": "o1", "customer_id": "A", "ordered_at": ts(2024, 3, 1), "total": one_},
            {"order_id": "o2", "customer_id": "A", "ordered_at": ts(2024, 3, 2), "total": one_},
            {"order_id": "o3", "customer_id": "A", "ordered_at": ts(2024, 3, 3), "total": one_,
             "items_count": 10},  # no lines: items_count used
            {"order_id": "o4", "customer_id": "A", "ordered_at": ts(2023, 1, 1), "total": one_},
        ],
    )  # fmt: skip
    lines = canonical(
        con,
        "order_lines",
        [
            {"order_id": "o1", "line_no": 1, "quantity": 20, "unit_price": one_},
            {"order_id": "o1", "line_no": 2, "quantity": 5, "unit_price": one_},
            {"order_id": "o2", "line_no": 1, "quantity": 3, "unit_price": one_},
            {"order_id": "o2", "line_no": 2, "quantity": -1, "unit_price": one_},  # return
            {"order_id": "o4", "line_no": 1, "quantity": 30, "unit_price": one_},
        ],
    )
    a = one(b2b.order_volume(orders, lines, as_of=AS_OF, bulk_units=20), "A")  # AS_OF = 2024-03-31
    # units: o1 25, o2 3, o3 10, o4 30 (o4 is 455 days back)
    assert a["units_per_order"] == pytest.approx((25 + 3 + 10 + 30) / 4)
    assert a["bulk_order_share"] == pytest.approx(2 / 4)  # o1, o4 >= 20
    assert a["b2b_order_volume"] == 25 + 3 + 10
