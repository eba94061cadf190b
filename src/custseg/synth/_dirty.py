"""Injection of dirty rows at documented rates (see :mod:`custseg.synth`).

Counts are ``round(rate * rows)`` per chunk of customers, so the totals in the
manifest are exact. The kinds are disjoint: no row carries two kinds. Order-level
kinds that make an order unusable for its customer (everything except
``duplicate_orders``) are only applied to customers with three or more orders,
so that the planted personas stay recoverable.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custseg.synth import _arrow as A
from custseg.synth._context import DAY, Context
from custseg.synth._people import GUEST_EMAIL_DOMAIN

__all__ = ["DIRTY_RATES", "ORDER_KINDS", "BAD_DATE_STRINGS", "UNKNOWN_CURRENCIES",
           "dirty_orders", "dirty_customers", "zero_counts"]  # fmt: skip

#: Kind -> rate. Order kinds are relative to the orders, ``negative_price`` to the order
#: lines, ``missing_customer_id`` and ``duplicate_customers`` to the customers.
DIRTY_RATES: dict[str, float] = {
    "duplicate_orders": 0.005,
    "bad_dates": 0.002,
    "future_dates": 0.0005,
    "unknown_currency": 0.001,
    "unknown_customer": 0.001,
    "guest_with_email": 0.01,
    "guest_anonymous": 0.003,
    "negative_price": 0.0002,
    "missing_customer_id": 0.0005,
    "duplicate_customers": 0.002,
}
#: Order kinds that replace a value of the order (applied to disjoint sets of orders).
ORDER_KINDS: tuple[str, ...] = (
    "bad_dates",
    "future_dates",
    "unknown_currency",
    "unknown_customer",
    "guest_with_email",
    "guest_anonymous",
)
BAD_DATE_STRINGS: tuple[str, ...] = ("2024-13-45T10:00:00Z", "not a date", "31/31/2024")
UNKNOWN_CURRENCIES: tuple[str, ...] = ("XXX", "ZZZ")
#: How far after the end date a future-dated order lands (about two years).
_FUTURE_SHIFT_DAYS = (720, 750)


def zero_counts() -> dict[str, int]:
    """All dirty kinds with a count of zero."""
    return dict.fromkeys(DIRTY_RATES, 0)


def _count(kind: str, rows: int) -> int:
    return int(round(DIRTY_RATES[kind] * rows))


def _insert_after(rng: np.random.Generator, n: int, copies: np.ndarray) -> np.ndarray:
    """Row order for a table of ``n`` rows plus copies of ``copies``, each after its original."""
    key = np.concatenate([np.arange(n, dtype=np.float64),
                          copies + 0.5 + rng.random(len(copies)) * (n - copies - 0.5)])  # fmt: skip
    return np.argsort(key, kind="stable")


def dirty_orders(
    rng: np.random.Generator,
    ctx: Context,
    orders: pa.Table,
    lines: pa.Table,
    order_customer: np.ndarray,
    orders_of_customer: np.ndarray,
    line_order: np.ndarray,
    first_name_lc: pa.Array,
    last_name_lc: pa.Array,
) -> tuple[pa.Table, pa.Table, dict[str, int], int]:
    """Inject the order and order-line kinds.

    Parameters
    ----------
    orders, lines
        Clean tables of the chunk.
    order_customer
        Per order: its customer's row in the chunk.
    orders_of_customer
        Per customer: how many orders they have.
    line_order
        Per line: row of its order in ``orders``.
    first_name_lc, last_name_lc
        Per customer: names in lower-case ASCII (for the guests' new e-mail addresses).

    Returns
    -------
    orders, lines, counts, guest_email_matches
        The dirty tables, the count per kind and how many ``guest_with_email`` orders
        carry the e-mail of an existing customer.
    """
    n = orders.num_rows
    counts = zero_counts()
    pool = rng.permutation(np.flatnonzero(orders_of_customer[order_customer] >= 3))
    sets: dict[str, np.ndarray] = {}
    at = 0
    for kind in ORDER_KINDS:
        k = min(_count(kind, n), len(pool) - at)
        sets[kind] = np.sort(pool[at : at + k])
        counts[kind] = k
        at += k
    touched = np.zeros(n, dtype=bool)
    for rows in sets.values():
        touched[rows] = True

    col = {name: orders.column(name).combine_chunks() for name in orders.column_names}
    for name in ("ordered_at", "currency", "customer_id", "email"):
        col[name] = A.plain(col[name])
    rows = sets["bad_dates"]
    col["ordered_at"] = A.replace_rows(
        col["ordered_at"], rows, A.take(BAD_DATE_STRINGS, np.arange(len(rows)) % 3)
    )
    rows = sets["future_dates"]
    shift = rng.integers(_FUTURE_SHIFT_DAYS[0] * DAY, _FUTURE_SHIFT_DAYS[1] * DAY, len(rows))
    col["ordered_at"] = A.replace_rows(
        col["ordered_at"], rows, A.iso_utc_strings(ctx.t_end + shift)
    )
    rows = sets["unknown_currency"]
    col["currency"] = A.replace_rows(
        col["currency"], rows, A.take(UNKNOWN_CURRENCIES, rng.integers(0, 2, len(rows)))
    )
    rows = sets["unknown_customer"]
    col["customer_id"] = A.replace_rows(
        col["customer_id"], rows, A.join("C9", A.digit_strings(rng, len(rows), 6))
    )
    col["email"] = A.replace_rows(col["email"], rows, pa.nulls(len(rows), pa.string()))

    rows = sets["guest_with_email"]
    has_email = np.asarray(col["email"].is_valid().to_numpy(zero_copy_only=False))[rows]
    keep = has_email & (rng.random(len(rows)) < 0.5)
    fresh = rows[~keep]
    who = order_customer[fresh]
    guest_email = A.join(A.take(first_name_lc, who), A.take(last_name_lc, who), ".",
                         A.digit_strings(rng, len(fresh), 6), "@" + GUEST_EMAIL_DOMAIN)  # fmt: skip
    col["email"] = A.replace_rows(col["email"], fresh, guest_email)
    anon = sets["guest_anonymous"]
    col["email"] = A.replace_rows(col["email"], anon, pa.nulls(len(anon), pa.string()))
    guests = np.concatenate([rows, anon])
    col["customer_id"] = A.replace_rows(
        col["customer_id"], guests, pa.nulls(len(guests), pa.string())
    )
    orders = pa.table(col)

    # Exact duplicates of clean orders, written after the original.
    clean = np.flatnonzero(~touched)
    k = min(_count("duplicate_orders", n), len(clean))
    dup = np.sort(rng.choice(clean, size=k, replace=False)) if k else clean[:0]
    counts["duplicate_orders"] = k
    order = _insert_after(rng, n, dup)
    orders = orders.take(pa.array(np.concatenate([np.arange(n), dup])[order]))

    # Negative unit prices on sale lines of orders that carry no other dirt.
    touched[dup] = True
    qty = lines.column("quantity").to_numpy()
    cand = np.flatnonzero(~touched[line_order] & (qty > 0))
    k = min(_count("negative_price", lines.num_rows), len(cand))
    neg = np.sort(rng.choice(cand, size=k, replace=False)) if k else cand[:0]
    counts["negative_price"] = k
    if k:
        price = lines.column("unit_price").combine_chunks()
        negated = pc.negate(price.take(pa.array(neg)))
        lines = lines.set_column(
            lines.column_names.index("unit_price"),
            "unit_price",
            A.replace_rows(price, neg, negated),
        )
    return orders, lines, counts, int(keep.sum())


def dirty_customers(
    rng: np.random.Generator,
    ctx: Context,
    customers: pa.Table,
    updated_s: np.ndarray,
    phantoms: pa.Table,
) -> tuple[pa.Table, dict[str, int]]:
    """Add rows without a customer id (``phantoms``) and later duplicates of some customers.

    The duplicate is written after the original, with a later ``updated_at`` (1 hour to
    30 days) and ``accepts_sms_marketing`` set to true: the survivor rule (newest wins)
    must pick it.
    """
    n = customers.num_rows
    counts = {"missing_customer_id": phantoms.num_rows, "duplicate_customers": 0}
    cand = np.flatnonzero(updated_s <= ctx.t_end - 31 * DAY)
    k = min(_count("duplicate_customers", n), len(cand))
    dup = np.sort(rng.choice(cand, size=k, replace=False)) if k else cand[:0]
    counts["duplicate_customers"] = k
    copies = customers.take(pa.array(dup))
    later = updated_s[dup] + rng.integers(3600, 30 * DAY, k)
    copies = copies.set_column(
        copies.column_names.index("updated_at"), "updated_at", A.timestamps(later * 10**6)
    )
    copies = copies.set_column(
        copies.column_names.index("accepts_sms_marketing"), "accepts_sms_marketing",
        pa.array(np.ones(k, bool)),
    )  # fmt: skip
    phantoms = phantoms.set_column(0, "customer_id", pa.nulls(phantoms.num_rows, pa.string()))
    allrows = pa.concat_tables([customers, copies, phantoms])
    order = _insert_after(rng, n, dup)
    # Phantom rows go anywhere.
    m = phantoms.num_rows
    key = np.concatenate([np.arange(n + k, dtype=np.float64), rng.random(m) * (n + k)])
    final = np.concatenate([order, n + k + np.arange(m)])[np.argsort(key, kind="stable")]
    return allrows.take(pa.array(final)), counts
