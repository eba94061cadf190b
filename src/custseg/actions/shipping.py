"""Shipping tiers: segment-driven service levels, regional fulfilment and packaging.

Each tier is a segment-language rule with a shipping method; a customer gets the first
tier whose rule matches (``[[actions.shipping.tiers]]`` first, then, unless
``default_tiers = false``, the built-in :data:`DEFAULT_TIERS`, whose last tier matches
everyone). The table written, ``shipping_tiers``, has per customer:

* ``tier``, ``method`` and ``reason`` (the tier's reason and the rule that matched);
* regional fulfilment: ``nearest_warehouse``, ``distance_km`` and ``beyond_promise``
  (farther than ``promise_radius_km`` from every warehouse; null without coordinates);
* packaging flags, one boolean per ``[actions.shipping.packaging]`` rule (gift wrap,
  fragile goods, B2B labels with PO numbers by default).

:func:`tier_summary` gives, per tier, its customers, its share of the orders of the last
365 days and the estimated shipping cost of those orders at the configured rates
(``base + per_kg × weight_kg`` per order).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.config import ShippingTierConfig
from custseg.exceptions import ConfigError, UsageError

__all__ = [
    "DEFAULT_TIERS",
    "SHIPPING_TABLE",
    "TierSummary",
    "assign_shipping",
    "shipping_tiers",
    "tier_summary",
]

log = logging.getLogger(__name__)

SHIPPING_TABLE = "shipping_tiers"

#: The built-in tiers, in order; the last one matches every customer.
DEFAULT_TIERS: tuple[ShippingTierConfig, ...] = (
    ShippingTierConfig(
        name="b2b_freight",
        rule="account_id IS NOT NULL AND (units_per_order >= 20 OR bulk_order_share >= 0.3)",
        method="freight",
        reason="B2B account ordering in bulk: consolidated freight",
    ),
    ShippingTierConfig(
        name="bulk_freight",
        rule="units_per_order >= 20",
        method="freight",
        reason="High-volume buyer: bulk freight",
    ),
    ShippingTierConfig(
        name="free_express",
        rule="clv_tier = 'top' OR rfm_group = 'Champions'",
        method="express",
        reason="High predicted CLV or Champion: free express shipping",
    ),
    ShippingTierConfig(
        name="economy",
        rule="number_of_orders <= 1 AND (clv_tier = 'rest' OR clv_tier IS NULL)",
        method="economy",
        reason="One-off or low-value buyer: cost-effective standard shipping",
    ),
    ShippingTierConfig(
        name="standard",
        rule="number_of_orders >= 0",
        method="standard",
        reason="Everyone else: standard shipping",
    ),
)


def shipping_tiers(ws: Any) -> list[ShippingTierConfig]:
    """The tiers in the order they are tried."""
    cfg = ws.config.actions.shipping
    tiers = list(cfg.tiers)
    if cfg.default_tiers:
        names = {t.name for t in tiers}
        tiers += [t for t in DEFAULT_TIERS if t.name not in names]
    if not tiers:
        raise ConfigError(
            "[actions.shipping] has no tiers: add [[actions.shipping.tiers]] or set "
            "default_tiers = true."
        )
    for t in tiers:
        if t.method not in cfg.rates:
            raise ConfigError(
                f"shipping tier {t.name!r} uses method {t.method!r}, which has no rate in "
                f"[actions.shipping.rates] (rates: {', '.join(cfg.rates)})."
            )
    return tiers


def assign_shipping(ws: Any, *, write: bool = True) -> ir.Table:
    """Each customer's shipping tier, fulfilment facts and packaging flags.

    Parameters
    ----------
    ws : Workspace
        The workspace, with ``customer_features`` built.
    write : bool
        Write the :data:`SHIPPING_TABLE` table.

    Returns
    -------
    ibis Table
        One row per customer (see the module docs for the columns).
    """
    from custseg.segments.dsl import compile_rule
    from custseg.segments.registry import rule_context

    cfg = ws.config.actions.shipping
    tiers = shipping_tiers(ws)
    ctx = rule_context(ws)
    f = ctx.features

    def compiled(name: str, rule: str) -> ir.BooleanValue:
        try:
            return compile_rule(rule, ctx).fill_null(False)
        except UsageError as exc:
            raise ConfigError(f"shipping rule {name!r}: {exc}") from None

    conds = [(t, compiled(t.name, t.rule)) for t in tiers]
    null = ibis.null().cast("string")
    tier = ibis.cases(*[(c, ibis.literal(t.name)) for t, c in conds], else_=null)
    method = ibis.cases(*[(c, ibis.literal(t.method)) for t, c in conds], else_=null)
    reason = ibis.cases(
        *[(c, ibis.literal(f"{t.reason} ({t.rule})" if t.reason else t.rule)) for t, c in conds],
        else_=null,
    )
    cols: dict[str, Any] = {
        "customer_id": f.customer_id,
        "tier": tier,
        "method": method,
        "reason": reason,
        "nearest_warehouse": f.nearest_warehouse if "nearest_warehouse" in f.columns else null,
        "distance_km": f.distance_to_warehouse_km
        if "distance_to_warehouse_km" in f.columns
        else ibis.null().cast("float64"),
    }
    cols["beyond_promise"] = cols["distance_km"] > cfg.promise_radius_km
    for flag, rule in cfg.packaging.items():
        cols[flag] = compiled(flag, rule)
    out = f.select(**cols)
    if write:
        con = ws.connect()
        con.create_table(SHIPPING_TABLE, out, overwrite=True)
        return con.table(SHIPPING_TABLE)
    return out


@dataclass(frozen=True)
class TierSummary:
    """One tier: customers, share of recent orders and their estimated shipping cost."""

    tier: str
    method: str
    customers: int
    orders_365d: int
    share_of_orders: float
    estimated_cost: float
    cost_per_order: float | None
    beyond_promise: int

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return asdict(self)


def tier_summary(ws: Any, assigned: ir.Table | None = None) -> list[TierSummary]:
    """Per tier: customers, share of the last 365 days' orders, estimated cost.

    The cost of an order is ``base + per_kg × weight_kg`` of its tier's method (orders
    without a weight count the base only). Orders are the counted orders (not
    cancelled) of the 365 days up to the features' as-of date.
    """
    from custseg.features._common import as_of_cut, counted_orders

    con = ws.connect()
    assigned = assigned if assigned is not None else con.table(SHIPPING_TABLE)
    rates = ws.config.actions.shipping.rates
    f = con.table("customer_features")
    as_of = f.as_of.max().to_pyarrow().as_py()
    cut = as_of_cut(as_of)
    orders = counted_orders(con.table("orders"), cut)
    start = cut.end_lit - ibis.interval(days=365)
    recent = orders.filter(orders.ordered_at > start)
    weight = recent.weight_kg.fill_null(0.0) if "weight_kg" in recent.columns else ibis.literal(0.0)
    recent = recent.select("customer_id", weight=weight)
    base = ibis.cases(*[(assigned.method == m, r.base) for m, r in rates.items()], else_=0.0)
    per_kg = ibis.cases(*[(assigned.method == m, r.per_kg) for m, r in rates.items()], else_=0.0)
    a = assigned.select("customer_id", "tier", "method", "beyond_promise", base=base, per_kg=per_kg)
    j = a.left_join(recent, "customer_id")
    per_tier = (
        j.group_by(["tier", "method"])
        .aggregate(
            orders=j.weight.count(),
            cost=(j.base + j.per_kg * j.weight).sum(where=j.weight.notnull()),
        )
        .to_pyarrow()
        .to_pylist()
    )
    people = (
        a.group_by("tier")
        .aggregate(customers=a.count(), beyond=a.beyond_promise.fill_null(False).sum())
        .to_pyarrow()
        .to_pylist()
    )
    people_by = {r["tier"]: r for r in people}
    total_orders = sum(int(r["orders"] or 0) for r in per_tier)
    order = {t.name: i for i, t in enumerate(shipping_tiers(ws))}
    out = []
    for r in sorted(per_tier, key=lambda r: order.get(r["tier"], len(order))):
        n = int(r["orders"] or 0)
        cost = float(r["cost"] or 0.0)
        p = people_by.get(r["tier"], {})
        out.append(
            TierSummary(
                tier=r["tier"],
                method=r["method"],
                customers=int(p.get("customers") or 0),
                orders_365d=n,
                share_of_orders=n / total_orders if total_orders else 0.0,
                estimated_cost=cost,
                cost_per_order=cost / n if n else None,
                beyond_promise=int(p.get("beyond") or 0),
            )
        )
    return out
