"""Date values of a rule, resolved against the as-of date (never the clock)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from custseg.segments.dsl import nodes as n

__all__ = ["resolve_date", "shift"]


def shift(day: date, amount: int, unit: str) -> date:
    """``day`` moved by ``amount`` days (``d``), weeks (``w``), months (``m``) or years (``y``).

    Months and years are calendar arithmetic; a day that does not exist in the target
    month is clamped to its last day (2025-03-31 - 1 month = 2025-02-28).

    Raises
    ------
    OverflowError
        If the result is outside years 1 to 9999.
    """
    if unit == "d":
        return day + timedelta(days=amount)
    if unit == "w":
        return day + timedelta(weeks=amount)
    months = amount if unit == "m" else 12 * amount
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f"year {year} is out of range")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def resolve_date(value: n.DateLiteral | n.RelativeDate | n.Today, as_of: date) -> date:
    """The calendar date a date value stands for, given the run's as-of date.

    Raises
    ------
    OverflowError
        If a relative date falls outside years 1 to 9999.
    """
    if isinstance(value, n.DateLiteral):
        return value.value
    if isinstance(value, n.Today):
        return as_of
    return shift(as_of, value.amount, value.unit)
