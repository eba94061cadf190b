"""Purchase timelines, orders and order lines.

All amounts are computed in integer cents of the order's currency, so that the
order totals reconcile exactly with their lines:

* ``subtotal = sum(quantity * unit_price - discount)`` over the sale lines
  (``quantity > 0``);
* ``discount = sum(line discount)`` (the discount is shown on the order and
  allocated to its lines);
* ``total = subtotal + shipping + tax``.

A returned order (status ``returned``) records its return in exactly one of two
ways: ``returned_qty`` on the sale lines, or (for some orders without a
discount) separate return lines with a negative quantity, the same positive
``unit_price`` and no discount. Return lines never count in ``subtotal``;
``refunded`` holds the refunded merchandise plus its tax. Cancelled and refunded
orders have ``refunded = total``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custseg.synth import _arrow as A
from custseg.synth._catalog import CATEGORIES
from custseg.synth._context import DAY, HOUR_B2B, HOUR_B2C, Context
from custseg.synth._personas import CHANNELS, PERSONA_NAMES, PERSONAS, column

__all__ = [
    "Plan",
    "Orders",
    "plan_purchases",
    "make_orders",
    "category_preferences",
    "STATUSES",
    "DEVICES",
    "SHIPPING_METHODS",
]

STATUSES: tuple[str, ...] = ("placed", "cancelled", "returned", "refunded")
_PLACED, _CANCELLED, _RETURNED, _REFUNDED = range(4)
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
SHIPPING_METHODS: tuple[str, ...] = ("standard", "express", "next_day", "in_store", "freight")
#: Shipping fee in cents per method (standard is free from 75.00 up).
_SHIPPING_FEE = np.array([499, 1299, 1999, 0, 4999], dtype=np.int64)
_FREE_SHIPPING_FROM = 7_500
_CANCEL_P = 0.025
_REFUND_P = 0.010
#: Share of returned orders (without discount) whose return is written as negative lines.
_RETURN_LINES_P = 0.30
_DEVICE_P = np.array([0.45, 0.45, 0.10])

_N_CAT = len(CATEGORIES)
_CAT_INDEX = {c: i for i, c in enumerate(CATEGORIES)}


def _affinity() -> np.ndarray:
    w = np.ones((len(PERSONAS), _N_CAT))
    tweaks = {
        "bargain_hunter": {"apparel": 2.0, "beauty": 2.0, "toys": 1.5, "kitchen": 1.5},
        "b2b_bulk": {"office": 12.0, "kitchen": 3.0, "electronics": 3.0, "home": 2.0,
                     "apparel": 0.3, "beauty": 0.3, "toys": 0.3, "footwear": 0.3},
        "browser": {"apparel": 1.5, "electronics": 1.5, "footwear": 1.5},
    }  # fmt: skip
    for p, t in tweaks.items():
        for c, v in t.items():
            w[PERSONA_NAMES.index(p), _CAT_INDEX[c]] = v
    return w


_AFFINITY = _affinity()


def category_preferences(
    rng: np.random.Generator, persona: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: categories in order of preference, and how many of them they buy from.

    Uses weighted random permutations (Efraimidis-Spirakis keys ``u ** (1 / w)``).
    """
    n = len(persona)
    keys = rng.random((n, _N_CAT)) ** (1.0 / _AFFINITY[persona])
    perm = np.argsort(-keys, axis=1).astype(np.int8)
    lo = column("breadth")[:, 0][persona]
    hi = column("breadth")[:, 1][persona]
    breadth = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    return perm, breadth


@dataclass
class Plan:
    """When each customer orders: the customer's order count and first/last order days."""

    n_orders: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    created_s: np.ndarray


def _uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.floor(lo + rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def plan_purchases(rng: np.random.Generator, ctx: Context, persona: np.ndarray) -> Plan:
    """Draw the purchase timeline of each customer (see :mod:`custseg.synth._personas`)."""
    n = len(persona)
    model = np.array([p.order_model for p in PERSONAS])[persona]
    fo = column("first_order_days")[persona]
    rec = column("recency_days")[persona]
    last_possible = ctx.n_days - 1
    first_r = np.minimum(_uniform(rng, fo[:, 0], fo[:, 1]), last_possible)
    last_r = np.minimum(_uniform(rng, rec[:, 0], rec[:, 1]), first_r)
    n_orders = np.ones(n, dtype=np.int64)
    created_r = np.zeros(n, dtype=np.float64)

    # Pareto/NBD-like: Poisson orders at a gamma-distributed rate between first and last order.
    proc = model == "process"
    shape = column("rate_shape")[persona]
    rate = rng.gamma(shape, column("orders_per_month")[persona] / shape) / 30.0
    window = (first_r - last_r).astype(np.float64)
    between = rng.poisson(rate * window)
    n_orders = np.where(proc, np.where(window > 0, 2 + between, 1), n_orders)

    one = model == "one"
    last_r = np.where(one, first_r, last_r)

    few = model == "few"
    extra = rng.binomial(2, 0.35, n)
    n_orders = np.where(few, 1 + extra, n_orders)
    last_r = np.where(few & (extra == 0), first_r, last_r)
    last_r = np.where(few & (extra > 0), (rng.random(n) * first_r).astype(np.int64), last_r)

    # Browsers: registered some time ago; a few placed a single order since.
    zoo = model == "zero_or_one"
    reg_r = _uniform(rng, np.full(n, 45), np.full(n, last_possible))
    buys = rng.random(n) < column("one_order_p")[persona]
    n_orders = np.where(zoo, buys.astype(np.int64), n_orders)
    once_r = np.floor(30 + rng.random(n) * np.maximum(reg_r - 32, 0)).astype(np.int64)
    first_r = np.where(zoo, once_r, first_r)
    last_r = np.where(zoo, once_r, last_r)

    # Accounts are created shortly before the first order (browsers: at registration).
    # (at least 1.5 days before, so that no time-zone shift puts an order before it).
    created_r = np.where(zoo, reg_r + rng.random(n), first_r + 1.5 + rng.random(n) * 20.0)
    created_r = np.minimum(created_r, ctx.n_days - 1e-6)
    created_s = (ctx.t_end + 1 - created_r * DAY).astype(np.int64)
    return Plan(
        n_orders=n_orders.astype(np.int64),
        first_day=ctx.day_index(first_r),
        last_day=ctx.day_index(last_r),
        created_s=np.maximum(created_s, ctx.t_start),
    )


def _time_of_day(rng: np.random.Generator, bulk: np.ndarray) -> np.ndarray:
    n = len(bulk)
    cb2c = np.cumsum(HOUR_B2C) / HOUR_B2C.sum()
    cb2b = np.cumsum(HOUR_B2B) / HOUR_B2B.sum()
    u = rng.random(n)
    hour = np.where(bulk, np.searchsorted(cb2b, u, side="right"),
                    np.searchsorted(cb2c, u, side="right"))  # fmt: skip
    return np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, n)


@dataclass
class Orders:
    """One chunk's orders and lines as arrays (orders sorted by time, lines by order)."""

    cust: np.ndarray
    ts: np.ndarray
    channel: np.ndarray
    device: np.ndarray  # -1 = unknown
    currency: np.ndarray
    ship_city: np.ndarray
    ship_moved: np.ndarray
    method: np.ndarray
    status: np.ndarray
    subtotal: np.ndarray
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    refunded: np.ndarray
    items: np.ndarray
    weight: np.ndarray
    return_lines: np.ndarray  # returned order written with negative lines
    # lines
    l_order: np.ndarray
    l_no: np.ndarray
    l_sku: np.ndarray
    l_qty: np.ndarray
    l_unit: np.ndarray
    l_disc: np.ndarray
    l_ret: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def first_line(self) -> np.ndarray:
        """Index of each order's first line."""
        return np.searchsorted(self.l_order, np.arange(len(self.ts)))


def _empty_orders() -> Orders:
    i = np.zeros(0, dtype=np.int64)
    return Orders(*([i] * 17), return_lines=np.zeros(0, bool), l_order=i, l_no=i, l_sku=i,
                  l_qty=i, l_unit=i, l_disc=i, l_ret=i)  # fmt: skip


def make_orders(
    rng: np.random.Generator,
    ctx: Context,
    plan: Plan,
    persona: np.ndarray,
    city: np.ndarray,
    primary_device: np.ndarray,
    perm: np.ndarray,
    breadth: np.ndarray,
) -> Orders:
    """Generate the orders and order lines of a chunk of customers."""
    geo = ctx.geo
    cat = ctx.catalog
    n_o = int(plan.n_orders.sum())
    if n_o == 0:
        return _empty_orders()
    cust = np.repeat(np.arange(len(persona)), plan.n_orders)
    start_of = np.cumsum(plan.n_orders) - plan.n_orders
    k = np.arange(n_o) - np.repeat(start_of, plan.n_orders)
    p = persona[cust]
    bulk = column("bulk")[p].astype(bool)

    # Days: first and last order fixed; the others follow seasonality (Q4 peak, weekdays).
    a = plan.first_day[cust]
    b = plan.last_day[cust]
    lo = np.where(bulk, ctx.cum_b2b[a], ctx.cum_b2c[a])
    hi = np.where(bulk, ctx.cum_b2b[b + 1], ctx.cum_b2c[b + 1])
    u = lo + rng.random(n_o) * (hi - lo)
    d_b2c = np.searchsorted(ctx.cum_b2c, u, side="right") - 1
    d_b2b = np.searchsorted(ctx.cum_b2b, u, side="right") - 1
    mid = np.clip(np.where(bulk, d_b2b, d_b2c), a, b)
    n_c = plan.n_orders[cust]
    day = np.where(k == 0, a, np.where(k == n_c - 1, b, mid))
    ts = ctx.t_start + day * DAY + _time_of_day(rng, bulk) - geo.utc_offset_s[city[cust]]
    ts = np.clip(ts, ctx.t_start, ctx.t_end)

    # Channel, device, currency, shipping address and method.
    channel = A.choice_rows(rng, column("channel_p"), p)
    web, app = channel == CHANNELS.index("web"), channel == CHANNELS.index("app")
    dev_any = rng.choice(3, n_o, p=_DEVICE_P)
    device = np.where(rng.random(n_o) < 0.8, primary_device[cust], dev_any)
    device = np.where(app, np.where(rng.random(n_o) < 0.85, 1, 2), device)
    device = np.where(web | app, device, -1)
    country = geo.city_country[city[cust]]
    currency = geo.country_currency[country]
    store = channel == CHANNELS.index("store")
    moved = (rng.random(n_o) < 0.05) & ~store
    ship_city = np.where(moved, geo.other_city_same_country(rng, city[cust]), city[cust])
    method = rng.choice(3, n_o, p=[0.78, 0.17, 0.05])
    method = np.where(store, SHIPPING_METHODS.index("in_store"), method)

    # Lines: categories from the customer's preferences, products near the preferred price.
    n_lines = 1 + rng.poisson(column("extra_lines")[p])
    l_order = np.repeat(np.arange(n_o), n_lines)
    n_l = len(l_order)
    l_first = np.cumsum(n_lines) - n_lines
    l_no = np.arange(n_l) - np.repeat(l_first, n_lines) + 1
    l_cust = cust[l_order]
    lp = persona[l_cust]
    slot = (rng.random(n_l) * breadth[l_cust]).astype(np.int64)
    l_cat = perm[l_cust, slot].astype(np.int64)
    target = cat.cat_median[l_cat] * column("price_factor")[lp] * rng.lognormal(0.0, 0.35, n_l)
    sku = cat.pick(l_cat, target, rng.integers(-2, 3, n_l))
    l_bulk = bulk[l_order]
    case_packs = np.maximum(1, np.round(rng.lognormal(np.log(4.0), 0.4, n_l))).astype(np.int64)
    single = 1 + (rng.random(n_l) < 0.15) * (1 + rng.poisson(0.3, n_l))
    qty = np.where(l_bulk, 6 * np.minimum(case_packs, 20), single).astype(np.int64)
    unit = ctx.local_price[currency[l_order], sku]
    gross = qty * unit
    disc_on = rng.random(n_o) < column("discount_p")[p]
    dr = column("discount_rate")[p]
    rate = np.where(disc_on, dr[:, 0] + rng.random(n_o) * (dr[:, 1] - dr[:, 0]), 0.0)
    l_disc = np.round(gross * rate[l_order]).astype(np.int64)

    subtotal = np.add.reduceat(gross - l_disc, l_first)
    discount = np.add.reduceat(l_disc, l_first)
    items = np.add.reduceat(qty, l_first)
    weight = np.round(np.add.reduceat(qty * cat.weight_kg[sku], l_first), 2)
    method = np.where(bulk & (weight > 30) & ~store, SHIPPING_METHODS.index("freight"), method)
    fee = _SHIPPING_FEE[method]
    shipping = np.where((method == 0) & (subtotal >= _FREE_SHIPPING_FROM), 0, fee)
    tax_rate = geo.tax_rate[country]
    tax = np.round(subtotal * tax_rate).astype(np.int64)
    total = subtotal + shipping + tax

    # Status: cancellations, full refunds and returns (persona-dependent).
    # Only customers with three or more orders cancel or get a full refund, so that a
    # customer's only order is never voided (that would blur the planted personas).
    u = rng.random(n_o)
    void = np.where(n_c >= 3, 1.0, 0.0)
    c_p, r_p = _CANCEL_P * void, _REFUND_P * void
    ret_p = column("return_p")[p]
    status = np.select(
        [u < c_p, u < c_p + r_p, u < c_p + r_p + ret_p], [_CANCELLED, _REFUNDED, _RETURNED], _PLACED
    )
    returned = status == _RETURNED
    l_returned_order = returned[l_order]
    pick = l_first + (rng.random(n_o) * n_lines).astype(np.int64)
    ret_line = l_returned_order & (rng.random(n_l) < 0.6)
    ret_line[pick[returned]] = True
    ret_qty = np.where(ret_line, 1 + (rng.random(n_l) * qty).astype(np.int64), 0)
    ret_qty = np.minimum(ret_qty, qty)
    ret_net = ret_qty * unit - np.round(l_disc * ret_qty / qty).astype(np.int64)
    merch = np.add.reduceat(ret_net, l_first)
    refunded = np.where(returned, merch + np.round(merch * tax_rate).astype(np.int64), 0)
    refunded = np.where((status == _CANCELLED) | (status == _REFUNDED), total, refunded)
    as_lines = returned & ~disc_on & (rng.random(n_o) < _RETURN_LINES_P)

    # Return lines (negative quantity) for the orders whose return is written that way.
    rl = ret_line & as_lines[l_order]
    rl_idx = np.flatnonzero(rl)
    rl_rank = np.cumsum(rl) - 1  # running count of return lines, to number them per order
    first_rl_of_order = np.add.reduceat(rl.astype(np.int64), l_first)
    before = np.cumsum(first_rl_of_order) - first_rl_of_order
    rl_no = n_lines[l_order[rl_idx]] + 1 + rl_rank[rl_idx] - before[l_order[rl_idx]]
    sale_ret = np.where(as_lines[l_order], 0, ret_qty)

    all_order = np.concatenate([l_order, l_order[rl_idx]])
    o = np.argsort(all_order, kind="stable")
    l_no_all = np.concatenate([l_no, rl_no])[o]
    l_sku_all = np.concatenate([sku, sku[rl_idx]])[o]
    l_qty_all = np.concatenate([qty, -ret_qty[rl_idx]])[o]
    l_unit_all = np.concatenate([unit, unit[rl_idx]])[o]
    l_disc_all = np.concatenate([l_disc, np.zeros(len(rl_idx), np.int64)])[o]
    l_ret_all = np.concatenate([sale_ret, np.zeros(len(rl_idx), np.int64)])[o]
    l_order_all = all_order[o]

    # Sort orders by time; renumber the lines' order index accordingly.
    by_time = np.argsort(ts, kind="stable")
    new_pos = np.empty(n_o, dtype=np.int64)
    new_pos[by_time] = np.arange(n_o)
    lo2 = new_pos[l_order_all]
    lsort = np.argsort(lo2, kind="stable")
    return Orders(
        cust=cust[by_time],
        ts=ts[by_time],
        channel=channel[by_time],
        device=device[by_time],
        currency=currency[by_time],
        ship_city=ship_city[by_time],
        ship_moved=moved[by_time],
        method=method[by_time],
        status=status[by_time],
        subtotal=subtotal[by_time],
        discount=discount[by_time],
        shipping=shipping[by_time],
        tax=tax[by_time],
        total=total[by_time],
        refunded=refunded[by_time],
        items=items[by_time],
        weight=weight[by_time],
        return_lines=as_lines[by_time],
        l_order=lo2[lsort],
        l_no=l_no_all[lsort],
        l_sku=l_sku_all[lsort],
        l_qty=l_qty_all[lsort],
        l_unit=l_unit_all[lsort],
        l_disc=l_disc_all[lsort],
        l_ret=l_ret_all[lsort],
    )
