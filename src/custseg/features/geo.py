"""Geographic features: where the customer is, how far from a warehouse, where they ship."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders

__all__ = [
    "EARTH_RADIUS_KM",
    "LOCATION_COLUMNS",
    "haversine_km",
    "location",
    "shipping_summary",
]

#: Mean Earth radius used by the haversine distance.
EARTH_RADIUS_KM = 6371.0088

_LOCATION = ("country", "region", "city", "postal_code", "latitude", "longitude")

#: The columns :func:`location` returns after ``customer_id``.
LOCATION_COLUMNS = (*_LOCATION, "distance_to_warehouse_km", "nearest_warehouse")


def haversine_km(
    lat1: ir.FloatingValue, lon1: ir.FloatingValue, lat2: float, lon2: float
) -> ir.FloatingValue:
    """Great-circle distance in km between columns ``lat1, lon1`` and a point (degrees).

    ``2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))`` with ``R = EARTH_RADIUS_KM``.
    """
    p1 = lat1.cast("float64").radians()
    l1 = lon1.cast("float64").radians()
    p2, l2 = math.radians(lat2), math.radians(lon2)
    a = ((p1 - p2) / 2).sin() ** 2 + p1.cos() * math.cos(p2) * ((l1 - l2) / 2).sin() ** 2
    # clamp: rounding can push a a hair above 1 for antipodal points
    a = ibis.least(a, ibis.literal(1.0))
    return 2 * EARTH_RADIUS_KM * a.sqrt().asin()


def _wh(w: Any) -> tuple[str, float, float]:
    if isinstance(w, Sequence) and not isinstance(w, str):
        name, lat, lon = w
        return str(name), float(lat), float(lon)
    return str(w.name), float(w.lat), float(w.lon)


def location(customers: ir.Table, *, warehouses: Sequence[Any] = ()) -> ir.Table:
    """The customer's address and the distance to the nearest warehouse.

    Parameters
    ----------
    customers
        Canonical ``customers``; uses ``customer_id`` and the address columns.
    warehouses
        :class:`custseg.config.Warehouse` objects or ``(name, lat, lon)`` tuples.

    Returns
    -------
    ir.Table
        One row per customer: ``customer_id, country, region, city, postal_code,
        latitude, longitude``, ``distance_to_warehouse_km`` (haversine km to the nearest
        warehouse; null without coordinates or warehouses) and ``nearest_warehouse``
        (its name; ties go to the first configured).
    """
    return _with_location(customers, warehouses).select("customer_id", *LOCATION_COLUMNS)


def _with_location(customers: ir.Table, warehouses: Sequence[Any]) -> ir.Table:
    """``customers`` plus ``distance_to_warehouse_km`` and ``nearest_warehouse``."""
    c = customers
    whs = [_wh(w) for w in warehouses]
    if not whs:
        return c.mutate(
            distance_to_warehouse_km=ibis.null("float64"),
            nearest_warehouse=ibis.null("string"),
        )
    # each distance is computed once (a column), then compared
    names = [f"_wh{i}" for i in range(len(whs))]
    c = c.mutate(
        **{
            n: haversine_km(c.latitude, c.longitude, lat, lon)
            for n, (_, lat, lon) in zip(names, whs, strict=True)
        }
    )
    dists = [c[n] for n in names]
    nearest = dists[0] if len(dists) == 1 else ibis.least(*dists)
    c = c.mutate(_nearest=nearest)
    has = c.latitude.notnull() & c.longitude.notnull()
    name = ibis.cases(*[(c[n] == c._nearest, w) for n, (w, _, _) in zip(names, whs, strict=True)])
    return c.mutate(
        distance_to_warehouse_km=ibis.ifelse(has, c._nearest, ibis.null("float64")),
        nearest_warehouse=ibis.ifelse(has, name, ibis.null("string")),
    ).drop(*names, "_nearest")


def shipping_summary(orders: ir.Table, *, as_of: date | datetime | AsOf) -> ir.Table:
    """Distinct shipping destinations of the counted orders.

    Returns ``customer_id, shipping_destinations`` (int64: distinct
    ``(ship_postal_code, ship_city)`` pairs with at least one of the two known), one row
    per customer with a counted order.
    """
    return _shipping(counted_orders(orders, as_of_cut(as_of)))


def _shipping(o: ir.Table) -> ir.Table:
    """:func:`shipping_summary` on counted orders."""
    known = o.ship_postal_code.notnull() | o.ship_city.notnull()
    pairs = o.filter(known).select("customer_id", "ship_postal_code", "ship_city").distinct()
    n = pairs.group_by("customer_id").aggregate(shipping_destinations=pairs.count())
    ids = o.select("customer_id").distinct()
    t = ids.left_join(n, "customer_id").drop("customer_id_right")
    return t.mutate(shipping_destinations=t.shipping_destinations.fill_null(0))
