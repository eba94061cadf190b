"""A tiny store for hand-checked profiles: 8 customers, 2 overlapping segments, 14 lines.

Every expected number in the tests is worked out by hand from these rows (the
arithmetic is in the comments next to each assertion).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pytest

from custseg.schema import ibis_schema

AS_OF = date(2025, 6, 30)

#: c1..c8. Segment A = {c1, c2, c3}; B = {c3, c4, c5, c6} (c3 is in both).
FEATURES = {
    "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"],
    "is_stub": [False] * 8,
    "amount_spent": [100.0, 200.0, 300.0, 0.0, 50.0, 50.0, 0.0, 300.0],
    "number_of_orders": [2, 4, 6, 0, 1, 1, 0, 2],
    "avg_order_value": [50.0, 50.0, 50.0, None, 50.0, 50.0, None, 150.0],
    "accepts_email_marketing": [True, True, False, False, True, None, False, True],
    "latitude": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],  # not profiled
    "r_score": [5, 5, 4, None, 1, 1, None, 3],  # not profiled (the RFM mix shows it)
    "clv_365d": [10.0, 20.0, 30.0, None, 5.0, 5.0, None, 30.0],
    "country": ["US", "US", "DE", None, "FR", "FR", "US", "DE"],
    "city": ["a", "b", "c", "d", "e", "f", "g", "h"],  # not profiled (near-unique)
    "main_device": ["mobile", "mobile", "desktop", "desktop", "mobile", None, "desktop", "mobile"],
    "age_band": ["25-34", "18-24", "25-34", "65+", None, "18-24", "25-34", "35-44"],
    "attr_interest": ["tech", "tech", None, "home", "home", "home", None, "tech"],
    "rfm_group": [
        "Champions",
        "Champions",
        "Champions",
        "Prospects",
        "Lost",
        "Lost",
        "Prospects",
        "Loyal Customers",
    ],
    "as_of": [AS_OF] * 8,
}

#: Duplicate (c1, A) counts once; zz is not a customer and is ignored; a null segment too.
MEMBERSHIPS = {
    "customer_id": ["c1", "c2", "c3", "c1", "zz", "c3", "c4", "c5", "c6", "c7"],
    "segment": ["A", "A", "A", "A", "A", "B", "B", "B", "B", None],
}


def _ts(day: int, month: int = 6) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


# order_id, customer_id, ordered_at, status
ORDERS = [
    ("o1", "c1", _ts(1), "placed"),
    ("o2", "c2", _ts(2), "placed"),
    ("o3", "c3", _ts(3), "placed"),
    ("o4", "c5", _ts(4), "cancelled"),  # never counts
    ("o5", "c6", _ts(5, 7), "placed"),  # after the as-of date (2025-07-05)
    ("o6", "c8", _ts(6), "placed"),
    ("o7", None, _ts(7), "placed"),  # guest order: no customer
    ("o8", "c6", _ts(8), "placed"),
    ("o9", "zz", _ts(9), "placed"),  # not a customer of the features
]

# order_id, line_no, sku, product_name, category, brand, quantity
LINES = [
    ("o1", 1, "S1", "Shoe", "shoes", "Acme", 10),
    ("o1", 2, "S2", "Hat", "hats", "Bolt", 2),
    ("o2", 1, "S1", "Shoe", "shoes", "Acme", 5),
    ("o2", 2, "S3", "Mug", "kitchen", "Acme", -1),  # a return line: not bought
    ("o3", 1, "S2", "Hat", "hats", "Bolt", 4),
    ("o4", 1, "S3", "Mug", "kitchen", "Acme", 50),
    ("o5", 1, "S3", "Mug", "kitchen", "Acme", 30),
    ("o6", 1, "S3", "Mug", "kitchen", "Acme", 20),
    ("o6", 2, "S2", "Hat", "hats", "Bolt", 1),
    ("o7", 1, "S1", "Shoe", "shoes", "Acme", 99),
    ("o8", 1, "S4", "Scarf", None, "Cozy", 6),  # no category
    ("o8", 2, "S2", "Hat", "hats", "Bolt", 2),
    ("o9", 1, "S1", "Shoe", "shoes", "Acme", 7),
]


def _canonical(con: Any, name: str, rows: dict[str, list[Any]], n: int) -> ibis.Table:
    """Canonical table ``name`` with the given columns (the others null) in ``con``."""
    schema = ibis_schema(name).to_pyarrow()
    cols = {f.name: pa.array(rows.get(f.name, [None] * n), type=f.type) for f in schema}
    return con.create_table(name, pa.table(cols), overwrite=True)


def tiny_tables(con: Any | None = None) -> dict[str, ibis.Table]:
    """The tiny store as tables of ``con`` (default: a new in-memory DuckDB, UTC)."""
    if con is None:
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
    orders = {
        "order_id": [o[0] for o in ORDERS],
        "customer_id": [o[1] for o in ORDERS],
        "ordered_at": [o[2] for o in ORDERS],
        "status": [o[3] for o in ORDERS],
        "total": [Decimal("10.00")] * len(ORDERS),
    }
    keys = ("order_id", "line_no", "sku", "product_name", "category", "brand", "quantity")
    lines = {key: [line[i] for line in LINES] for i, key in enumerate(keys)}
    lines["unit_price"] = [Decimal("1.00")] * len(LINES)
    features = pa.table(FEATURES)
    memberships = pa.table(
        MEMBERSHIPS, schema=pa.schema([("customer_id", pa.string()), ("segment", pa.string())])
    )
    return {
        "features": con.create_table("customer_features", features, overwrite=True),
        "memberships": con.create_table("memberships", memberships, overwrite=True),
        "orders": _canonical(con, "orders", orders, len(ORDERS)),
        "order_lines": _canonical(con, "order_lines", lines, len(LINES)),
    }


@pytest.fixture
def tiny() -> dict[str, ibis.Table]:
    """The tiny store as Ibis tables: features, memberships, orders, order_lines."""
    return tiny_tables()


@pytest.fixture
def tiny_profiles(tiny):
    """Profiles of A and B on the tiny store, with items."""
    from custseg.profiles import profile_segments

    return profile_segments(
        tiny["features"],
        tiny["memberships"],
        orders=tiny["orders"],
        order_lines=tiny["order_lines"],
    )
