"""validation_report on the CDNOW calibration/holdout split (weeks 1-39 / 40-78)."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from custseg.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    calibration_holdout,
    validation_report,
)
from custseg.exceptions import SchemaError, UsageError


@pytest.fixture(scope="module")
def calib(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    out = calibration_holdout(
        cdnow_transactions,
        customer_id_col="sample_id",
        datetime_col="date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
    )
    out["segment"] = np.where(out["frequency"] > 0, "repeat", "one-off")
    return out


def test_overall_and_segments(bgnbd: BetaGeoModel, calib: pd.DataFrame) -> None:
    report = validation_report(bgnbd, calib, segment_col="segment")
    pred = bgnbd.conditional_expected_purchases(
        39.0, calib["frequency"], calib["recency"], calib["T"]
    )
    npt.assert_allclose(report.predictions, pred)
    row = report.overall.iloc[0]
    assert row["n_customers"] == 2357
    assert row["total_actual"] == calib["frequency_holdout"].sum()
    assert row["mean_predicted"] == pytest.approx(pred.mean())
    assert row["error"] == pytest.approx(pred.mean() - calib["frequency_holdout"].mean())
    assert row["mae"] == pytest.approx(np.abs(pred - calib["frequency_holdout"]).mean())
    seg = report.by_segment
    assert seg is not None and list(seg.index) == ["one-off", "repeat"]
    assert seg["n_customers"].sum() == 2357
    assert seg["total_predicted"].sum() == pytest.approx(row["total_predicted"])
    # BG/NBD forecasts the holdout total within 15% on this sample.
    assert abs(row["relative_error"]) < 0.15


def test_calibration_table(bgnbd: BetaGeoModel, calib: pd.DataFrame) -> None:
    table = validation_report(bgnbd, calib).calibration
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["n_customers"].sum() == 2357
    assert table.loc["0", "n_customers"] == (calib["frequency"] == 0).sum()
    actual_7 = calib.loc[calib["frequency"] >= 7, "frequency_holdout"].mean()
    assert table.loc["7+", "actual"] == pytest.approx(actual_7)
    # The conditional expectations rise with past frequency, as in the paper's figure.
    assert np.all(np.diff(table["predicted"].to_numpy()) > 0)


def test_bgbb_works_too(bgbb: BetaGeoBetaBinomModel, donations: pd.DataFrame) -> None:
    data = donations.assign(frequency_holdout=0, duration_holdout=5)
    report = validation_report(bgbb, data)
    assert report.overall.iloc[0]["n_customers"] == 22


def test_errors(bgnbd: BetaGeoModel, gg: GammaGammaModel, calib: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="'duration_holdout'.*calibration_holdout"):
        validation_report(bgnbd, calib.drop(columns="duration_holdout"))
    with pytest.raises(SchemaError, match="segment_col='tier'"):
        validation_report(bgnbd, calib, segment_col="tier")
    with pytest.raises(UsageError, match="purchase model"):
        validation_report(gg, calib)
