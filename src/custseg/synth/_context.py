"""Run-wide constants shared by the chunk generators (calendar, catalog, prices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from custseg.synth._catalog import Catalog
from custseg.synth._geo import GEO, Geo

__all__ = ["Context", "BASE_CURRENCY", "FX_RATES", "CURRENCIES", "make_context"]

BASE_CURRENCY = "USD"
#: Units of USD per unit of each currency (``usd = amount * rate``).
FX_RATES: dict[str, float] = {"EUR": 1.08, "GBP": 1.27, "CAD": 0.74}
#: Currency codes by index, as used in the generated arrays.
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD")

DAY = 86_400

#: Relative order intensity by month (January first): a Q4 peak and a soft summer.
_MONTH_WEIGHT = np.array([0.85, 0.80, 0.90, 0.95, 1.00, 0.95, 0.90, 0.95, 1.00, 1.05, 1.45, 1.60])
#: Relative intensity by weekday (Monday first) for consumers and for businesses.
_WEEKDAY_B2C = np.array([1.00, 0.97, 0.98, 1.00, 1.05, 1.15, 1.20])
_WEEKDAY_B2B = np.array([1.00, 1.05, 1.05, 1.00, 0.90, 0.15, 0.10])
#: Relative intensity by local hour of the day.
HOUR_B2C = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.2, 2.4, 2.6, 2.4, 2.3,
                     2.3, 2.5, 2.8, 3.2, 3.6, 3.8, 3.4, 2.2, 1.0])  # fmt: skip
HOUR_B2B = np.array([0.05, 0.02, 0.02, 0.02, 0.02, 0.1, 0.4, 1.5, 3.0, 3.5, 3.5, 3.0, 2.0, 3.0,
                     3.2, 3.0, 2.2, 1.0, 0.4, 0.2, 0.1, 0.1, 0.05, 0.05])  # fmt: skip


@dataclass(frozen=True)
class Context:
    """Everything a chunk generator needs besides its random generator.

    Attributes
    ----------
    start, end
        First and last day of the store's history.
    t_start, t_end
        ``start`` 00:00:00 and ``end`` 23:59:59 UTC, in epoch seconds.
    n_days
        Number of days from ``start`` to ``end`` inclusive.
    cum_b2c, cum_b2b
        Cumulative daily order intensity (length ``n_days + 1``) for seasonal sampling.
    catalog
        The product catalog.
    local_price
        ``(len(CURRENCIES), n_sku)`` list prices in cents, per currency.
    campaign_start
        When the spring campaign was sent (epoch seconds).
    dirty
        Whether dirty rows are injected.
    """

    start: date
    end: date
    t_start: int
    t_end: int
    n_days: int
    cum_b2c: np.ndarray
    cum_b2b: np.ndarray
    catalog: Catalog
    local_price: np.ndarray
    campaign_start: int
    dirty: bool
    geo: Geo = GEO

    def day_index(self, days_before_end: np.ndarray) -> np.ndarray:
        """Day index (0 = ``start``) of a number of days before ``end``, clipped to the span."""
        d = self.n_days - 1 - np.asarray(days_before_end, dtype=np.int64)
        return np.clip(d, 0, self.n_days - 1)


def epoch(d: date) -> int:
    """Epoch seconds of ``d`` at 00:00 UTC."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _black_friday_weekends(start: date, end: date) -> list[date]:
    days = []
    for year in range(start.year, end.year + 1):
        nov1 = date(year, 11, 1)
        thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        days += [thanksgiving + timedelta(days=k) for k in range(1, 5)]
    return days


def make_context(start: date, end: date, catalog: Catalog, dirty: bool) -> Context:
    """Build the :class:`Context` of one run."""
    n_days = (end - start).days + 1
    days = np.datetime64(start.isoformat(), "D") + np.arange(n_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    season = _MONTH_WEIGHT[month]
    for bf in _black_friday_weekends(start, end):
        i = (bf - start).days
        if 0 <= i < n_days:
            season[i] *= 2.0
    cum_b2c = np.concatenate([[0.0], np.cumsum(season * _WEEKDAY_B2C[weekday])])
    cum_b2b = np.concatenate([[0.0], np.cumsum(season * _WEEKDAY_B2B[weekday])])
    rates = [1.0] + [FX_RATES[c] for c in CURRENCIES[1:]]
    local_price = np.stack([catalog.local_price_cents(r) for r in rates])
    t_start = epoch(start)
    t_end = epoch(end) + DAY - 1
    return Context(
        start=start,
        end=end,
        t_start=t_start,
        t_end=t_end,
        n_days=n_days,
        cum_b2c=cum_b2c,
        cum_b2b=cum_b2b,
        catalog=catalog,
        local_price=local_price,
        campaign_start=max(t_start, epoch(end) - 83 * DAY) + 9 * 3600,
        dirty=dirty,
    )
