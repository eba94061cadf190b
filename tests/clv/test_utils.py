"""rfm_summary and calibration_holdout: CDNOW reproduced from raw transactions.

The published ``cdnow_customers_summary.csv`` was made with lifetimes'
``summary_data_from_transaction_data(..., freq="D", freq_multiplier=7)``: purchase
periods are days, and recency and T are days / 7 (to 2 decimals). ``freq="W"`` instead
counts calendar weeks (whole numbers, and one purchase per week), which does not match
the file; lifetimes' own docstring says so.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pandas as pd
import pyarrow as pa
import pytest

from custseg.clv import calibration_holdout, rfm_summary
from custseg.exceptions import DataError, SchemaError, UsageError

CDNOW = {
    "customer_id_col": "sample_id",
    "datetime_col": "date",
    "observation_period_end": "1997-09-30",
}


@pytest.fixture(scope="module")
def summary(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(
        cdnow_transactions, **CDNOW, monetary_value_col="spent", freq="D", freq_multiplier=7
    )


def test_reproduces_published_cdnow_summary(
    summary: pd.DataFrame, cdnow_summary: pd.DataFrame
) -> None:
    assert len(summary) == 2357
    npt.assert_array_equal(summary["customer_id"], cdnow_summary["ID"])
    npt.assert_array_equal(summary["frequency"], cdnow_summary["frequency"])
    npt.assert_array_equal(summary["recency"].round(2), cdnow_summary["recency"])
    npt.assert_array_equal(summary["T"].round(2), cdnow_summary["T"])
    assert summary["frequency"].dtype == np.int64


def test_monetary_summary_matches_hardie(
    summary: pd.DataFrame, cdnow_monetary: pd.DataFrame
) -> None:
    repeat = summary.loc[summary["frequency"] > 0, "monetary_value"]
    stats = repeat.describe()
    assert stats["count"] == 946
    assert stats["mean"] == pytest.approx(35.08, abs=0.005)
    assert stats["std"] == pytest.approx(30.28, abs=0.005)
    assert stats["min"] == pytest.approx(2.99, abs=0.005)
    assert stats["50%"] == pytest.approx(27.50, abs=0.005)
    assert stats["max"] == pytest.approx(299.63, abs=0.005)
    assert (summary.loc[summary["frequency"] == 0, "monetary_value"] == 0).all()
    # Hardie's zbar column, to its two decimals.
    npt.assert_allclose(summary["monetary_value"], cdnow_monetary["monetary_value"], atol=0.0051)


def test_weekly_periods_count_calendar_weeks(
    cdnow_transactions: pd.DataFrame, cdnow_summary: pd.DataFrame
) -> None:
    weekly = rfm_summary(cdnow_transactions, **CDNOW, freq="W")
    assert (weekly["recency"] == weekly["recency"].round()).all()
    assert weekly.loc[0, ["frequency", "recency", "T"]].tolist() == [2, 30.0, 39.0]
    # Several purchases in one week count once, so frequency never exceeds the daily one
    # (purchases after Tuesday 1997-09-30 in that week are left out, unlike lifetimes).
    assert (weekly["frequency"] <= cdnow_summary["frequency"]).all()
    assert (weekly["frequency"] < cdnow_summary["frequency"]).sum() > 0


def test_small_example_by_hand() -> None:
    tx = pd.DataFrame(
        {
            "cust": ["a", "a", "a", "a", "b", "c", "c"],
            "ts": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 18:00",  # same day: one period, values summed
                    "2024-01-05 00:00",
                    "2024-01-11 00:00",
                    "2024-01-03 00:00",
                    "2024-01-02 00:00",
                    "2024-02-15 00:00",  # after the end: dropped
                ]
            ),
            "value": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0, 99.0],
        }
    )
    out = rfm_summary(
        tx,
        customer_id_col="cust",
        datetime_col="ts",
        monetary_value_col="value",
        observation_period_end="2024-01-31",
    )
    expected = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "frequency": np.array([2, 0, 0], dtype=np.int64),
            "recency": [10.0, 0.0, 0.0],
            "T": [30.0, 28.0, 29.0],
            "monetary_value": [30.0, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(out, expected)


def test_months_are_whole_calendar_months() -> None:
    tx = {"id": [1, 1, 1], "d": ["2024-01-31", "2024-02-01", "2024-04-15"]}
    out = rfm_summary(
        tx, customer_id_col="id", datetime_col="d", observation_period_end="2024-06-30", freq="M"
    )
    assert out.loc[0, ["frequency", "recency", "T"]].tolist() == [2, 3.0, 5.0]


def test_accepts_arrow_and_timezones(
    cdnow_transactions: pd.DataFrame, summary: pd.DataFrame
) -> None:
    table = pa.Table.from_pandas(cdnow_transactions, preserve_index=False)
    out = rfm_summary(table, **CDNOW, monetary_value_col="spent", freq="D", freq_multiplier=7)
    pd.testing.assert_frame_equal(out, summary)
    aware = cdnow_transactions.assign(date=cdnow_transactions["date"].dt.tz_localize("UTC"))
    out = rfm_summary(aware, **CDNOW, freq="D", freq_multiplier=7)
    npt.assert_array_equal(out["T"], summary["T"])


def test_errors_name_the_problem(cdnow_transactions: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="customer_id_col='customer'.*sample_id"):
        rfm_summary(
            cdnow_transactions,
            customer_id_col="customer",
            datetime_col="date",
            observation_period_end="1997-09-30",
        )
    with pytest.raises(UsageError, match="freq='fortnight' is not a pandas period"):
        rfm_summary(cdnow_transactions, **CDNOW, freq="fortnight")
    with pytest.raises(UsageError, match="freq_multiplier"):
        rfm_summary(cdnow_transactions, **CDNOW, freq_multiplier=0)
    bad = cdnow_transactions.assign(
        date=cdnow_transactions["date"].astype(str).where(lambda s: s.index != 3, "soon")
    )
    with pytest.raises(DataError, match="cannot be read as dates"):
        rfm_summary(bad, **CDNOW)
    missing = cdnow_transactions.assign(
        spent=cdnow_transactions["spent"].where(lambda s: s.index != 5)
    )
    with pytest.raises(DataError, match="'spent' has 1 missing"):
        rfm_summary(missing, **CDNOW, monetary_value_col="spent")


def test_calibration_holdout(cdnow_transactions: pd.DataFrame, summary: pd.DataFrame) -> None:
    out = calibration_holdout(
        cdnow_transactions,
        customer_id_col="sample_id",
        datetime_col="date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
        monetary_value_col="spent",
    )
    pd.testing.assert_frame_equal(out[summary.columns], summary)
    assert (out["duration_holdout"] == 39.0).all()  # 273 days
    # Holdout purchase days per customer, counted directly.
    hold = cdnow_transactions[
        (cdnow_transactions["date"] > "1997-09-30") & (cdnow_transactions["date"] <= "1998-06-30")
    ]
    days = hold.groupby("sample_id")["date"].nunique()
    npt.assert_array_equal(out["frequency_holdout"], out["customer_id"].map(days).fillna(0))
    assert out["frequency_holdout"].dtype == np.int64
    spend = hold.groupby(["sample_id", "date"])["spent"].sum().groupby("sample_id").mean()
    npt.assert_allclose(out["monetary_value_holdout"], out["customer_id"].map(spend).fillna(0.0))


def test_calibration_holdout_drops_customers_first_seen_in_holdout() -> None:
    tx = {"id": [1, 1, 2], "d": ["2024-01-01", "2024-02-10", "2024-02-05"]}
    out = calibration_holdout(
        tx,
        customer_id_col="id",
        datetime_col="d",
        calibration_period_end="2024-01-31",
        observation_period_end="2024-02-29",
    )
    assert out["customer_id"].tolist() == [1]
    assert out[["frequency", "recency", "T", "frequency_holdout", "duration_holdout"]].iloc[
        0
    ].tolist() == [
        0,
        0.0,
        30.0,
        1,
        29.0,
    ]
    with pytest.raises(UsageError, match="later 'D' period"):
        calibration_holdout(
            tx,
            customer_id_col="id",
            datetime_col="d",
            calibration_period_end="2024-01-31",
            observation_period_end="2024-01-31",
        )
