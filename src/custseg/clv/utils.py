"""Data preparation for the CLV models: transactions to frequency/recency/T summaries.

These are the small-data (pandas) reference versions. They follow the semantics of
lifetimes' ``summary_data_from_transaction_data`` and ``calibration_and_holdout_data``:

* purchases are first grouped into periods of ``freq`` (days by default): several
  purchases in one period count once, and their values are summed;
* ``frequency`` = number of distinct purchase periods - 1 (repeat periods);
* ``recency`` = periods from the first to the last purchase period;
* ``T`` = periods from the first purchase period to the period of
  ``observation_period_end``;
* ``monetary_value`` = mean value of the *repeat* purchase periods (the first is left
  out), 0 for customers without repeat purchases;
* ``recency`` and ``T`` are divided by ``freq_multiplier``: ``freq="D",
  freq_multiplier=7`` gives weeks measured to the day, which is how the published CDNOW
  summary was made (``freq="W"`` instead gives whole weeks, and counts one purchase per
  calendar week).

Two deliberate differences from lifetimes, both only for periods longer than a day:

* the end dates cut transactions by date, not by period: with ``freq="W"`` and an end on
  a Tuesday, purchases from Wednesday to Sunday of that week are left out (lifetimes keeps
  them, which leaks holdout purchases into the calibration period);
* periods are counted as differences of pandas ``Period`` ordinals, so ``freq="M"`` gives
  whole calendar months (lifetimes divides by an average month of 30.4 days).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from custseg.exceptions import DataError, SchemaError, UsageError

__all__ = ["calibration_holdout", "rfm_summary"]


def _as_frame(transactions: Any, where: str) -> pd.DataFrame:
    if isinstance(transactions, pd.DataFrame):
        return transactions
    module = type(transactions).__module__
    if module.startswith("ibis") and hasattr(transactions, "to_pandas"):
        return transactions.to_pandas()
    if module.startswith("pyarrow") and hasattr(transactions, "to_pandas"):
        return transactions.to_pandas()
    if isinstance(transactions, dict):
        return pd.DataFrame(transactions)
    raise SchemaError(
        f"{where}: expected a table of transactions (pandas DataFrame, pyarrow Table, Ibis "
        f"table or dict of columns), got {type(transactions).__name__}."
    )


def _check_columns(frame: pd.DataFrame, columns: dict[str, str | None], where: str) -> None:
    for arg, col in columns.items():
        if col is not None and col not in frame.columns:
            have = ", ".join(repr(str(c)) for c in list(frame.columns)[:20])
            raise SchemaError(
                f"{where}: {arg}={col!r} is not a column of the transactions (they have {have}). "
                f"Pass the right name as {arg}=..."
            )


def _timestamps(values: pd.Series, where: str, what: str) -> pd.Series:
    """Parse to naive timestamps (time-zone aware ones are converted to their local time)."""
    try:
        try:
            stamps = pd.to_datetime(values)
        except ValueError:
            stamps = pd.to_datetime(values, format="mixed")
    except (ValueError, TypeError, pd.errors.OutOfBoundsDatetime) as exc:
        raise DataError(f"{where}: {what} cannot be read as dates ({exc}).") from None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps


def _end_stamp(value: Any, where: str, what: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period-end argument as (timestamp, exclusive cutoff).

    A date (midnight) includes its whole day: the cutoff is the next midnight.
    """
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: {what}={value!r} cannot be read as a date ({exc}).") from None
    if stamp is pd.NaT:
        raise DataError(f"{where}: {what} is missing.")
    if stamp.tz is not None:
        stamp = stamp.tz_localize(None)
    cutoff = stamp + pd.Timedelta(days=1) if stamp == stamp.normalize() else stamp + pd.Timedelta(1)
    return stamp, cutoff


def _check_freq(freq: str, freq_multiplier: float, where: str) -> None:
    try:
        pd.Period("2000-01-01", freq=freq)
    except (ValueError, TypeError, AttributeError):
        raise UsageError(
            f"{where}: freq={freq!r} is not a pandas period frequency; use e.g. 'D' (days), "
            "'W' (weeks), 'M' (months), 'Q', 'Y' or 'h' (hours)."
        ) from None
    if not (isinstance(freq_multiplier, int | float) and freq_multiplier > 0):
        raise UsageError(f"{where}: freq_multiplier must be a number > 0, got {freq_multiplier!r}.")


def _transactions(
    frame: pd.DataFrame,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None,
    freq: str,
    where: str,
) -> pd.DataFrame:
    """One row per transaction: ``customer_id, ts, period[, value]``."""
    if frame[customer_id_col].isna().any():
        n = int(frame[customer_id_col].isna().sum())
        raise DataError(
            f"{where}: {n} transaction(s) have no {customer_id_col!r}; drop them or assign ids."
        )
    stamps = _timestamps(frame[datetime_col], where, f"column {datetime_col!r}")
    if stamps.isna().any():
        raise DataError(
            f"{where}: {int(stamps.isna().sum())} transaction(s) have no {datetime_col!r}; "
            "drop them first."
        )
    out = pd.DataFrame(
        {
            "customer_id": frame[customer_id_col].to_numpy(),
            "ts": stamps.to_numpy(),
            "period": stamps.dt.to_period(freq).array.asi8,
        }
    )
    if monetary_value_col is not None:
        values = pd.to_numeric(frame[monetary_value_col], errors="coerce")
        if values.isna().any():
            raise DataError(
                f"{where}: column {monetary_value_col!r} has {int(values.isna().sum())} missing "
                "or non-numeric values; fill or drop them first."
            )
        out["value"] = values.to_numpy(dtype=np.float64)
    return out


def _periods(tx: pd.DataFrame, monetary: bool) -> pd.DataFrame:
    """Collapse transactions to one row per (customer, period), summing the values."""
    if not monetary:
        return tx[["customer_id", "period"]].drop_duplicates()
    return tx.groupby(["customer_id", "period"], sort=False, as_index=False)["value"].sum()


def rfm_summary(
    transactions: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    observation_period_end: Any,
    monetary_value_col: str | None = None,
    freq: str = "D",
    freq_multiplier: float = 1,
) -> pd.DataFrame:
    """Summarise transactions into one frequency/recency/T row per customer.

    Transforms a table of the form *customer_id, datetime [, monetary_value]* into a
    DataFrame for the CLV models: *customer_id, frequency, recency, T [, monetary_value]*.
    See the module docstring for the exact definitions (those of lifetimes).

    Parameters
    ----------
    transactions : table
        One row per transaction: pandas DataFrame, pyarrow Table, Ibis table or dict.
    customer_id_col : str
        Column with the customer id.
    datetime_col : str
        Column with the transaction date or timestamp.
    observation_period_end : date-like
        End of the observation period, inclusive: purchases on or before that day count
        (up to and including that moment if it has a time of day); later ones are dropped.
        ``T`` is measured up to its period.
    monetary_value_col : str, default=None
        Column with the transaction value; adds ``monetary_value``.
    freq : str, default="D"
        The purchase period and time unit, a pandas period alias: "D", "W", "M", "Q", "Y",
        "h".
    freq_multiplier : float, default=1
        ``recency`` and ``T`` are divided by it (e.g. ``freq="D", freq_multiplier=7`` for
        weeks measured in days).

    Returns
    -------
    DataFrame
        Columns ``customer_id, frequency, recency, T[, monetary_value]``, one row per
        customer with a purchase up to ``observation_period_end``, sorted by
        ``customer_id``. ``frequency`` is int64; the others float64.

    Raises
    ------
    SchemaError
        A named column is missing.
    DataError
        Missing ids, dates or values, or dates that cannot be parsed.
    UsageError
        An unknown ``freq`` or a non-positive ``freq_multiplier``.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.clv import rfm_summary
    >>> tx = pd.DataFrame({
    ...     "id": [1, 1, 1, 2],
    ...     "date": ["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-05"],
    ...     "amount": [10.0, 5.0, 20.0, 8.0],
    ... })
    >>> rfm_summary(tx, customer_id_col="id", datetime_col="date", monetary_value_col="amount",
    ...             observation_period_end="2024-01-31")
       customer_id  frequency  recency     T  monetary_value
    0            1          1     10.0  30.0            20.0
    1            2          0      0.0  26.0             0.0
    """
    where = "rfm_summary"
    frame = _as_frame(transactions, where)
    _check_columns(
        frame,
        {
            "customer_id_col": customer_id_col,
            "datetime_col": datetime_col,
            "monetary_value_col": monetary_value_col,
        },
        where,
    )
    _check_freq(freq, freq_multiplier, where)
    end, cutoff = _end_stamp(observation_period_end, where, "observation_period_end")
    tx = _transactions(
        frame,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        freq=freq,
        where=where,
    )
    periods = _periods(tx[tx["ts"] < cutoff], monetary_value_col is not None)
    return _summarise(
        periods,
        end=end.to_period(freq).ordinal,
        freq_multiplier=freq_multiplier,
        monetary=monetary_value_col,
    )


def _summarise(
    periods: pd.DataFrame, *, end: int, freq_multiplier: float, monetary: str | None
) -> pd.DataFrame:
    grouped = periods.groupby("customer_id", sort=True)["period"]
    first, last, count = grouped.min(), grouped.max(), grouped.count()
    out = pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(),
            "frequency": (count - 1).to_numpy(dtype=np.int64),
            "recency": ((last - first) / freq_multiplier).to_numpy(dtype=np.float64),
            "T": ((end - first) / freq_multiplier).to_numpy(dtype=np.float64),
        }
    )
    if monetary is not None:
        first_of = periods["customer_id"].map(first)
        repeat = periods[periods["period"] != first_of.to_numpy()]
        mean_repeat = repeat.groupby("customer_id")["value"].mean()
        out["monetary_value"] = (
            out["customer_id"].map(mean_repeat).fillna(0.0).to_numpy(dtype=np.float64)
        )
    return out


def calibration_holdout(
    transactions: Any,
    *,
    customer_id_col: str,
    datetime_col: str,
    calibration_period_end: Any,
    observation_period_end: Any,
    freq: str = "D",
    freq_multiplier: float = 1,
    monetary_value_col: str | None = None,
) -> pd.DataFrame:
    """Split transactions into a calibration summary and the holdout outcome.

    Like lifetimes' ``calibration_and_holdout_data``, except that the calibration columns
    keep their plain names (``frequency, recency, T[, monetary_value]``) so the result can
    be passed straight to a model's ``fit`` and to :func:`custseg.clv.validation_report`.

    Parameters
    ----------
    transactions : table
        One row per transaction (see :func:`rfm_summary`).
    customer_id_col, datetime_col, monetary_value_col, freq, freq_multiplier
        As for :func:`rfm_summary`.
    calibration_period_end : date-like
        Last day (period) of the calibration period, inclusive.
    observation_period_end : date-like
        Last day (period) of the holdout period, inclusive; after
        ``calibration_period_end``.

    Returns
    -------
    DataFrame
        One row per customer with a purchase in the calibration period (customers first
        seen in the holdout are left out): ``customer_id, frequency, recency, T[,
        monetary_value]`` over the calibration period, then ``frequency_holdout`` (distinct
        purchase periods in the holdout), ``duration_holdout`` (holdout length, in the
        same unit as ``T``) and, with ``monetary_value_col``, ``monetary_value_holdout``
        (mean value of the holdout purchase periods, 0 if none).
    """
    where = "calibration_holdout"
    frame = _as_frame(transactions, where)
    _check_columns(
        frame,
        {
            "customer_id_col": customer_id_col,
            "datetime_col": datetime_col,
            "monetary_value_col": monetary_value_col,
        },
        where,
    )
    _check_freq(freq, freq_multiplier, where)
    cal_end, cal_cut = _end_stamp(calibration_period_end, where, "calibration_period_end")
    obs_end, obs_cut = _end_stamp(observation_period_end, where, "observation_period_end")
    cal_period, obs_period = cal_end.to_period(freq).ordinal, obs_end.to_period(freq).ordinal
    if obs_period <= cal_period:
        raise UsageError(
            f"{where}: observation_period_end ({observation_period_end}) must fall in a later "
            f"{freq!r} period than calibration_period_end ({calibration_period_end})."
        )
    tx = _transactions(
        frame,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        freq=freq,
        where=where,
    )
    monetary = monetary_value_col is not None
    calib = _summarise(
        _periods(tx[tx["ts"] < cal_cut], monetary),
        end=cal_period,
        freq_multiplier=freq_multiplier,
        monetary=monetary_value_col,
    )
    if calib.empty:
        raise DataError(
            f"{where}: no transaction falls on or before calibration_period_end "
            f"({calibration_period_end}); check the dates."
        )
    hold = _periods(tx[(tx["ts"] >= cal_cut) & (tx["ts"] < obs_cut)], monetary)
    by_customer = hold.groupby("customer_id")
    calib["frequency_holdout"] = (
        calib["customer_id"].map(by_customer["period"].count()).fillna(0).to_numpy(dtype=np.int64)
    )
    calib["duration_holdout"] = float(obs_period - cal_period) / freq_multiplier
    if monetary_value_col is not None:
        calib["monetary_value_holdout"] = (
            calib["customer_id"].map(by_customer["value"].mean()).fillna(0.0).to_numpy(np.float64)
        )
    return calib
