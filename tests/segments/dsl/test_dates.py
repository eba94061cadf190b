"""Date values: calendar arithmetic from the as-of date, with the day clamped."""

from __future__ import annotations

from datetime import date

import pytest

from custseg.segments.dsl import nodes as n
from custseg.segments.dsl.dates import resolve_date, shift


@pytest.mark.parametrize(
    ("day", "amount", "unit", "expected"),
    [
        (date(2025, 6, 30), -7, "d", date(2025, 6, 23)),
        (date(2025, 6, 30), 14, "d", date(2025, 7, 14)),
        (date(2025, 6, 30), -2, "w", date(2025, 6, 16)),
        (date(2025, 3, 31), -1, "m", date(2025, 2, 28)),  # clamped to February's last day
        (date(2024, 3, 31), -1, "m", date(2024, 2, 29)),  # leap year
        (date(2025, 1, 31), 1, "m", date(2025, 2, 28)),
        (date(2025, 6, 30), -12, "m", date(2024, 6, 30)),
        (date(2025, 1, 15), -13, "m", date(2023, 12, 15)),  # across two year boundaries
        (date(2024, 2, 29), 1, "y", date(2025, 2, 28)),
        (date(2024, 2, 29), 4, "y", date(2028, 2, 29)),
        (date(2025, 6, 30), 0, "d", date(2025, 6, 30)),
    ],
)
def test_shift(day: date, amount: int, unit: str, expected: date) -> None:
    assert shift(day, amount, unit) == expected


def test_shift_out_of_range() -> None:
    with pytest.raises(OverflowError):
        shift(date(2025, 1, 1), -3000, "y")
    with pytest.raises(OverflowError):
        shift(date(2025, 1, 1), -(10**6), "d")


def test_resolve_date_uses_the_as_of_never_the_clock() -> None:
    as_of = date(2001, 9, 9)
    assert resolve_date(n.Today("today", 0, 5), as_of) == as_of
    assert resolve_date(n.RelativeDate(-1, "y", "-1y", 0, 3), as_of) == date(2000, 9, 9)
    assert resolve_date(n.DateLiteral(date(2020, 1, 2), "2020-01-02", 0, 10), as_of) == date(
        2020, 1, 2
    )
