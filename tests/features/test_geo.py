"""geo: haversine to the nearest warehouse, and shipping destinations."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from custseg.config import Warehouse
from custseg.features import geo

from ._tables import AS_OF, canonical, connect, one, ts

NYC = (40.7128, -74.0060)
NEWARK = (40.7357, -74.1724)
CHICAGO = (41.8781, -87.6298)


def _haversine(p: tuple[float, float], q: tuple[float, float]) -> float:
    """Independent reference: the textbook formula in plain Python."""
    (la1, lo1), (la2, lo2) = p, q
    f1, f2 = math.radians(la1), math.radians(la2)
    df, dl = math.radians(la2 - la1), math.radians(lo2 - lo1)
    h = math.sin(df / 2) ** 2 + math.cos(f1) * math.cos(f2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def customers():
    con = connect()
    return canonical(
        con,
        "customers",
        [
            {"customer_id": "ny", "country": "US", "city": "New York", "postal_code": "10001",
             "latitude": NYC[0], "longitude": NYC[1]},
            {"customer_id": "chi", "latitude": 41.9, "longitude": -87.7},
            {"customer_id": "nowhere", "city": "Springfield"},
        ],
    )  # fmt: skip


def test_new_york_to_newark(customers) -> None:
    whs = [Warehouse(name="chicago", lat=CHICAGO[0], lon=CHICAGO[1]), ("newark", *NEWARK)]
    t = geo.location(customers, warehouses=whs)
    ny = one(t, "ny")
    expected = _haversine(NYC, NEWARK)
    assert 13 < expected < 16  # sanity: NYC -> Newark is about 14 km
    assert ny["distance_to_warehouse_km"] == pytest.approx(expected, rel=1e-9)
    assert ny["nearest_warehouse"] == "newark"
    assert (ny["country"], ny["city"], ny["postal_code"]) == ("US", "New York", "10001")
    assert one(t, "chi")["nearest_warehouse"] == "chicago"
    nowhere = one(t, "nowhere")
    assert nowhere["distance_to_warehouse_km"] is None and nowhere["nearest_warehouse"] is None


def test_no_warehouses_gives_null(customers) -> None:
    ny = one(geo.location(customers, warehouses=[]), "ny")
    assert ny["distance_to_warehouse_km"] is None and ny["nearest_warehouse"] is None


def test_shipping_destinations() -> None:
    con = connect()
    dests = [("10001", "New York"), ("10001", "New York"), ("07102", "Newark"), (None, None),
             ("10001", None)]  # fmt: skip
    orders = canonical(
        con,
        "orders",
        [
            {"order_id": str(i), "customer_id": "A", "ordered_at": ts(2024, 1, 1),
             "total": Decimal("1"), "ship_postal_code": pc, "ship_city": city}
            for i, (pc, city) in enumerate(dests)
        ],
    )  # fmt: skip
    # distinct known pairs: (10001, New York), (07102, Newark), (10001, null) = 3
    assert one(geo.shipping_summary(orders, as_of=AS_OF), "A")["shipping_destinations"] == 3
