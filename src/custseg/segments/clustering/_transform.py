"""Feature transforms as data: fitted on the sample, applied in numpy *and* in the engine.

For each numeric column, in this order: cast to float (booleans 0/1), replace null and NaN
with the sample median, optionally ``log1p`` (after clipping at 0), then robust scaling
``(x - center) / scale`` with the median and IQR of the transformed non-null sample
values (an IQR of 0 becomes 1). Text columns keep their top values as one-hot levels.
The constants are plain numbers, so the same arithmetic is written once for numpy
(:meth:`FittedTransform.numeric_matrix`) and once as Ibis expressions
(:meth:`FittedTransform.ibis_numeric`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.stats import skew

from custseg.exceptions import DataError
from custseg.segments.clustering._featureset import FeatureSet

__all__ = [
    "CategoricalStep",
    "FittedTransform",
    "NumericStep",
    "as_float",
    "as_objects",
    "wants_log",
]

#: At most this many one-hot levels per text column ...
MAX_LEVELS = 10
#: ... each held by at least this share of the sample.
MIN_LEVEL_SHARE = 0.01
#: Skewness above which a non-negative column gets log1p.
SKEW_LIMIT = 1.0


def as_float(s: pd.Series) -> np.ndarray:
    """A pandas column as float64 with NaN for missing (booleans become 0/1)."""
    return s.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


def as_objects(s: pd.Series) -> np.ndarray:
    """A pandas text column as an object array with ``None`` for missing."""
    return np.where(s.isna().to_numpy(), None, s.astype(object).to_numpy())


def wants_log(values: np.ndarray) -> bool:
    """The log1p rule: non-negative, more than two distinct values, skewness above 1.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
        The non-null sample values of one column.
    """
    if values.size < 3 or values.min() < 0 or np.unique(values).size <= 2:
        return False
    return bool(skew(values) > SKEW_LIMIT)


@dataclass(frozen=True)
class NumericStep:
    """The constants of one numeric column: ``z = (log1p?(fill(x, median)) - center) / scale``."""

    column: str
    median: float
    log: bool
    center: float
    scale: float

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The transform in numpy (``x`` float with NaN for missing)."""
        x = np.where(np.isnan(x), self.median, x)
        if self.log:
            x = np.log(np.maximum(x, 0.0) + 1.0)
        return (x - self.center) / self.scale

    def expr(self, col: ir.Value) -> ir.FloatingValue:
        """The same transform as an Ibis expression."""
        x = col.cast("float64")
        if col.type().is_floating():
            x = x.isnan().ifelse(self.median, x)
        x = x.fill_null(self.median)
        if self.log:
            x = (ibis.greatest(x, 0.0) + 1.0).ln()
        return (x - self.center) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Back to original units (a log column comes back through ``expm1``)."""
        x = np.asarray(z, dtype=float) * self.scale + self.center
        return np.exp(x) - 1.0 if self.log else x


@dataclass(frozen=True)
class CategoricalStep:
    """One text column and its one-hot levels (other values and null: all zeros)."""

    column: str
    levels: tuple[str, ...]

    def one_hot(self, values: np.ndarray) -> np.ndarray:
        """The one-hot block in numpy, shape (n, len(levels))."""
        out = np.zeros((values.shape[0], len(self.levels)))
        for j, lv in enumerate(self.levels):
            out[:, j] = values == lv
        return out

    def exprs(self, col: ir.StringValue) -> list[ir.FloatingValue]:
        """The one-hot block as Ibis expressions (null compares false: 0).

        A cast boolean, not ``ifelse(1.0, 0.0)``: DuckDB reads the literals as DECIMAL.
        """
        return [(col == lv).fill_null(False).cast("float64") for lv in self.levels]


@dataclass(frozen=True)
class FittedTransform:
    """The fitted transform of a :class:`FeatureSet`.

    Attributes
    ----------
    numeric
        One :class:`NumericStep` per numeric column.
    categorical
        One :class:`CategoricalStep` per text column.
    """

    numeric: tuple[NumericStep, ...]
    categorical: tuple[CategoricalStep, ...]

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, features: FeatureSet, *, boolean: frozenset[str] = frozenset()
    ) -> FittedTransform:
        """Learn the constants from the sample ``frame``.

        ``boolean`` names the boolean columns (never log-transformed).

        Raises
        ------
        DataError
            A numeric column is null for every sampled customer.
        """
        steps = []
        for c in features.numeric:
            x = as_float(frame[c])
            ok = x[~np.isnan(x)]
            if ok.size == 0:
                raise DataError(
                    f"Column {c!r} is null for every sampled customer, so it cannot be "
                    "imputed or scaled. Drop it from features or fix the feature."
                )
            if features.log is None:
                use_log = c not in boolean and wants_log(ok)
            else:
                use_log = c in features.log
            t = np.log(np.maximum(ok, 0.0) + 1.0) if use_log else ok
            q1, center, q3 = np.percentile(t, [25, 50, 75])
            scale = float(q3 - q1)
            steps.append(
                NumericStep(
                    column=c,
                    median=float(np.median(ok)),
                    log=use_log,
                    center=float(center),
                    scale=scale if scale > 0 and math.isfinite(scale) else 1.0,
                )
            )
        cats = []
        n = len(frame)
        for c in features.categorical:
            counts = frame[c].dropna().astype(str).value_counts()
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            keep = [v for v, cnt in ranked if cnt >= max(1.0, MIN_LEVEL_SHARE * n)]
            cats.append(CategoricalStep(column=c, levels=tuple(keep[:MAX_LEVELS])))
        return cls(numeric=tuple(steps), categorical=tuple(cats))

    # ------------------------------------------------------------------ numpy side

    def numeric_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Scaled numeric columns, shape (n, n_numeric)."""
        cols = [s.apply(as_float(frame[s.column])) for s in self.numeric]
        return np.column_stack(cols) if cols else np.zeros((len(frame), 0))

    def one_hot_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """One-hot blocks of the text columns, shape (n, total levels)."""
        blocks = [s.one_hot(as_objects(frame[s.column])) for s in self.categorical]
        return np.column_stack(blocks) if blocks else np.zeros((len(frame), 0))

    def categorical_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw text columns as objects (``None`` for missing), shape (n, n_categorical)."""
        cols = [as_objects(frame[s.column]) for s in self.categorical]
        return np.column_stack(cols) if cols else np.empty((len(frame), 0), dtype=object)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The k-means / mixture input: scaled numerics then one-hots."""
        return np.column_stack([self.numeric_matrix(frame), self.one_hot_matrix(frame)])

    # ------------------------------------------------------------------ engine side

    def ibis_numeric(self, table: ir.Table) -> list[ir.FloatingValue]:
        """The scaled numeric columns as expressions over ``table``."""
        return [s.expr(table[s.column]) for s in self.numeric]

    def ibis_one_hot(self, table: ir.Table) -> list[ir.FloatingValue]:
        """The one-hot columns as expressions over ``table``."""
        return [e for s in self.categorical for e in s.exprs(table[s.column])]

    # ------------------------------------------------------------------ description

    @property
    def one_hot_columns(self) -> list[tuple[str, str]]:
        """``(column, level)`` of every one-hot column, in matrix order."""
        return [(s.column, lv) for s in self.categorical for lv in s.levels]

    def feature_names(self) -> list[str]:
        """Names of :meth:`matrix` columns: ``amount_spent``, ``main_device=mobile``..."""
        return [s.column for s in self.numeric] + [f"{c}={v}" for c, v in self.one_hot_columns]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {
            "numeric": [
                {
                    "column": s.column,
                    "median": s.median,
                    "log": s.log,
                    "center": s.center,
                    "scale": s.scale,
                }
                for s in self.numeric
            ],
            "categorical": [
                {"column": s.column, "levels": list(s.levels)} for s in self.categorical
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FittedTransform:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            numeric=tuple(
                NumericStep(
                    column=str(s["column"]),
                    median=float(s["median"]),
                    log=bool(s["log"]),
                    center=float(s["center"]),
                    scale=float(s["scale"]),
                )
                for s in d["numeric"]
            ),
            categorical=tuple(
                CategoricalStep(column=str(s["column"]), levels=tuple(map(str, s["levels"])))
                for s in d["categorical"]
            ),
        )
