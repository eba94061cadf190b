"""Shared helpers of the feature families: the as-of cut, modes, names.

Every helper builds Ibis expressions only (no execution, no pandas), so the
families run on any Ibis backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

from custseg.exceptions import UsageError

__all__ = ["AsOf", "as_of_cut", "counted_orders", "mode", "sanitize", "safe_div"]


@dataclass(frozen=True)
class AsOf:
    """The as-of moment: rows with a timestamp ``< end`` count; ``day`` is the as-of date.

    A ``date`` includes the whole day (UTC); a ``datetime`` counts up to and including
    that instant (naive datetimes are taken as UTC).
    """

    end: datetime
    day: date

    @property
    def end_lit(self) -> ir.TimestampScalar:
        return ibis.timestamp(self.end)

    @property
    def day_lit(self) -> ir.DateScalar:
        return ibis.date(self.day)

    def before(self, ts: ir.TimestampValue) -> ir.BooleanValue:
        """True for timestamps at or before the as-of moment."""
        return ts < self.end_lit

    def days_back(self, d: ir.DateValue) -> ir.IntegerValue:
        """Whole days from date ``d`` to the as-of date (0 on the as-of day)."""
        return self.day_lit.delta(d, unit="day")


def as_of_cut(as_of: date | datetime | AsOf) -> AsOf:
    """Normalise ``as_of`` (``date`` or ``datetime``) to an :class:`AsOf`."""
    if isinstance(as_of, AsOf):
        return as_of
    if isinstance(as_of, datetime):
        aware = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        aware = aware.astimezone(UTC)
        # "at or before" an instant == "before" the next microsecond
        return AsOf(end=aware + timedelta(microseconds=1), day=aware.date())
    if isinstance(as_of, date):
        start = datetime.combine(as_of, time(0), tzinfo=UTC)
        return AsOf(end=start + timedelta(days=1), day=as_of)
    raise UsageError(
        f"as_of must be a date or a datetime, got {type(as_of).__name__} ({as_of!r}); "
        "pass e.g. datetime.date(2025, 6, 30)."
    )


def counted_orders(orders: ir.Table, cut: AsOf) -> ir.Table:
    """Orders that count: status not 'cancelled', placed at or before as-of, with a customer.

    Adds ``net`` (``total - coalesce(refunded, 0)``, in the money type: an exact decimal
    for canonical tables, so sums of it are exact and the same on every backend and in
    any order; cast a sum to float64, not each value) and ``order_date`` (date).
    """
    status = orders.status.lower().strip()
    kept = orders.filter(
        orders.customer_id.notnull(),
        cut.before(orders.ordered_at),
        status.isnull() | (status != "cancelled"),
    )
    return kept.mutate(
        net=kept.total.fill_null(0) - kept.refunded.fill_null(0),
        order_date=kept.ordered_at.date(),
    )


def mode(
    table: ir.Table,
    value: str,
    *,
    key: str = "customer_id",
    name: str,
    weight: str | None = None,
) -> ir.Table:
    """Most frequent non-null ``value`` per ``key``; ties go to the alphabetically first value.

    With ``weight``, rows count by the sum of that column instead of once each.
    Returns columns ``key, name``.
    """
    t = table.filter(table[value].notnull())
    n = t[weight].sum() if weight else t.count()
    counts = t.group_by([key, value]).aggregate(_n=n)
    ranked = counts.mutate(
        _rn=ibis.row_number().over(
            group_by=counts[key], order_by=[counts._n.desc(), counts[value].asc()]
        )
    )
    return ranked.filter(ranked._rn == 0).select(key, **{name: ranked[value]})


def safe_div(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """``num / den`` as float64, null when ``den`` is 0 or null."""
    d = den.cast("float64")
    return ibis.ifelse(d == 0, ibis.null("float64"), num.cast("float64") / d)


def sanitize(label: str) -> str:
    """A column-safe name: lower case, runs of non-alphanumerics become '_'."""
    s = re.sub(r"[^0-9a-z]+", "_", str(label).strip().lower()).strip("_")
    return s or "unknown"
