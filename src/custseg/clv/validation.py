"""Holdout validation of a fitted purchase model: predicted vs actual purchases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custseg.clv._base import CLVModel
from custseg.clv._data import _table_to_mapping, table_columns
from custseg.exceptions import SchemaError, UsageError

__all__ = ["ValidationReport", "validation_report"]

#: Calibration frequencies at or above this are pooled into one "7+" row.
_MAX_FREQUENCY_ROW = 7

_HOLDOUT_HINT = (
    "Build the table with custseg.clv.calibration_holdout(transactions, customer_id_col=..., "
    "datetime_col=..., calibration_period_end=..., observation_period_end=...) first."
)


@dataclass(frozen=True)
class ValidationReport:
    """Predicted vs actual holdout purchases.

    Attributes
    ----------
    overall : DataFrame
        One row: ``n_customers, mean_predicted, mean_actual, error`` (mean predicted minus
        mean actual: the bias per customer), ``relative_error`` (error / mean actual),
        ``mae`` and ``rmse`` (per customer), ``total_predicted, total_actual``.
    by_segment : DataFrame or None
        The same columns per value of ``segment_col`` (indexed by it), or None.
    calibration : DataFrame
        Customers grouped by calibration frequency 0, 1, ..., 6 and "7+": ``n_customers,
        actual`` (mean holdout purchases) and ``predicted`` (mean predicted), the classic
        conditional-expectation check of Fader, Hardie & Lee (2005, figure 4).
    predictions : ndarray
        The predicted holdout purchases, one per input row.
    """

    overall: pd.DataFrame
    by_segment: pd.DataFrame | None
    calibration: pd.DataFrame
    predictions: np.ndarray


def _metrics(frame: pd.DataFrame) -> pd.Series:
    pred, act = frame["predicted"].to_numpy(), frame["actual"].to_numpy()
    mean_pred, mean_act = float(pred.mean()), float(act.mean())
    err = mean_pred - mean_act
    return pd.Series(
        {
            "n_customers": len(frame),
            "mean_predicted": mean_pred,
            "mean_actual": mean_act,
            "error": err,
            "relative_error": err / mean_act if mean_act else np.nan,
            "mae": float(np.abs(pred - act).mean()),
            "rmse": float(np.sqrt(((pred - act) ** 2).mean())),
            "total_predicted": float(pred.sum()),
            "total_actual": float(act.sum()),
        }
    )


def validation_report(
    model: CLVModel, calib_holdout: Any, *, segment_col: str | None = None
) -> ValidationReport:
    """Compare a fitted model's holdout predictions with what customers actually did.

    For each customer, the model predicts purchases over ``duration_holdout`` from the
    calibration ``frequency, recency, T`` (:meth:`conditional_expected_purchases`); the
    actual is ``frequency_holdout``.

    Parameters
    ----------
    model : BetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        A fitted purchase model (usually fitted on the calibration columns of
        ``calib_holdout``).
    calib_holdout : table
        The output of :func:`custseg.clv.calibration_holdout`: ``frequency, recency, T,
        frequency_holdout, duration_holdout`` (plus ``segment_col`` if given).
    segment_col : str, default=None
        A column to break the comparison down by (e.g. an RFM segment).

    Returns
    -------
    ValidationReport
        ``overall``, ``by_segment``, ``calibration`` tables and the ``predictions``.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.clv import BetaGeoModel, validation_report
    >>> df = pd.DataFrame({"frequency": [0, 2, 5, 1], "recency": [0, 30, 35, 4],
    ...                    "T": [38, 39, 39, 20], "frequency_holdout": [0, 1, 4, 0],
    ...                    "duration_holdout": 39.0})
    >>> model = BetaGeoModel()
    >>> model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> report = validation_report(model, df)
    >>> list(report.calibration.index)
    ['0', '1', '2', '3', '4', '5', '6', '7+']
    """
    model._check_fitted()
    if not hasattr(model, "conditional_expected_purchases"):
        raise UsageError(
            f"validation_report needs a purchase model (BetaGeoModel, ParetoNBDModel or "
            f"BetaGeoBetaBinomModel), got {type(model).__name__}."
        )
    where = "validation_report"
    cols = table_columns(
        calib_holdout,
        required=("frequency", "recency", "T", "frequency_holdout", "duration_holdout"),
        where=where,
        hint=_HOLDOUT_HINT,
    )
    pred = model.conditional_expected_purchases(
        cols["duration_holdout"], cols["frequency"], cols["recency"], cols["T"]
    )
    frame = pd.DataFrame(
        {"frequency": cols["frequency"], "actual": cols["frequency_holdout"], "predicted": pred}
    )
    overall = _metrics(frame).to_frame().T.reset_index(drop=True)
    overall["n_customers"] = overall["n_customers"].astype(np.int64)

    by_segment = None
    if segment_col is not None:
        table = _table_to_mapping(calib_holdout)
        if segment_col not in table:
            raise SchemaError(
                f"{where}: segment_col={segment_col!r} is not a column of the table; "
                "add the segment labels to it first."
            )
        frame["segment"] = np.asarray(table[segment_col])
        by_segment = frame.groupby("segment", sort=True)[["actual", "predicted"]].apply(_metrics)
        by_segment.index.name = segment_col
        by_segment["n_customers"] = by_segment["n_customers"].astype(np.int64)

    labels = [str(i) for i in range(_MAX_FREQUENCY_ROW)] + [f"{_MAX_FREQUENCY_ROW}+"]
    bucket = np.minimum(frame["frequency"].to_numpy(), _MAX_FREQUENCY_ROW).astype(int)
    frame["bucket"] = pd.Categorical.from_codes(bucket, categories=labels)
    calibration = frame.groupby("bucket", observed=False).agg(
        n_customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    calibration.index = pd.Index(labels, name="frequency")
    return ValidationReport(overall, by_segment, calibration, pred)
