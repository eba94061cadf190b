"""Input handling shared by the CLV models: tables to arrays, checks, and collapsing.

Nothing here is public. Each model's ``fit`` calls :func:`table_columns`, then
:func:`check_rfm` (or its own checks), then :func:`collapse`, so that the likelihood
is evaluated once per unique row with a count, not once per customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from custseg.exceptions import DataError, SchemaError

RFM_HINT = (
    "Build the table from transactions with custseg.clv.rfm_summary(transactions, "
    "customer_id_col=..., datetime_col=..., observation_period_end=...) first."
)


def _table_to_mapping(data: Any) -> Mapping[str, Any]:
    """Return ``data`` as something indexable by column name.

    Accepts a pandas DataFrame, a pyarrow Table or RecordBatch, an Ibis table
    (executed with ``to_pyarrow``) or a mapping of column name to array.
    """
    if isinstance(data, pd.DataFrame | Mapping):
        return data
    module = type(data).__module__
    if module.startswith("ibis") and hasattr(data, "to_pyarrow"):
        data = data.to_pyarrow()
        module = type(data).__module__
    if module.startswith("pyarrow") and hasattr(data, "column_names"):
        return {name: data.column(name).to_numpy() for name in data.column_names}
    raise SchemaError(
        f"Expected a table (pandas DataFrame, pyarrow Table, Ibis table or a dict of arrays), "
        f"got {type(data).__name__}. {RFM_HINT}"
    )


def table_columns(
    data: Any,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    where: str,
    hint: str = RFM_HINT,
) -> dict[str, np.ndarray]:
    """Pick numeric columns from a table as float64 arrays of equal length.

    Parameters
    ----------
    data
        The table (see :func:`_table_to_mapping` for the accepted types).
    required
        Columns that must be present.
    optional
        Columns used when present (for example ``weights``).
    where
        The caller, for messages, e.g. ``"BetaGeoModel.fit"``.
    hint
        The next step to suggest when a column is missing.

    Raises
    ------
    SchemaError
        A required column is missing, a column is not numeric, or lengths differ.
    DataError
        The table is empty or holds missing or infinite values.
    """
    table = _table_to_mapping(data)
    names = list(table.keys())
    missing = [c for c in required if c not in table]
    if missing:
        need = ", ".join(repr(c) for c in required)
        got = ", ".join(repr(str(c)) for c in names[:20]) or "none"
        raise SchemaError(
            f"{where} needs the columns {need}; missing: {', '.join(repr(c) for c in missing)} "
            f"(the table has {got}). {hint}"
        )
    out: dict[str, np.ndarray] = {}
    for name in [*required, *(c for c in optional if c in table)]:
        out[name] = _numeric(table[name], name=name, where=where)
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise SchemaError(f"{where}: the columns have different lengths {sorted(lengths)}.")
    if not lengths or lengths == {0}:
        raise DataError(f"{where}: the table has no rows; there is nothing to fit or predict.")
    return out


def _numeric(values: Any, *, name: str, where: str) -> np.ndarray:
    """Convert one column to a 1-d float64 array, or raise a message naming the column."""
    try:
        if isinstance(values, pd.Series | pd.Index):
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        dtype = getattr(values, "dtype", type(values).__name__)
        raise SchemaError(
            f"{where}: column {name!r} must be numeric, got dtype {dtype}. "
            f"Convert it (e.g. pd.to_numeric) or rebuild the table with custseg.clv.rfm_summary."
        ) from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise SchemaError(f"{where}: column {name!r} must be one-dimensional, got {arr.shape}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: column {name!r} has {int(bad.sum())} missing or infinite values "
            f"(first at row {first}). Drop or fill those rows before fitting."
        )
    return arr


def _fail_rows(mask: np.ndarray, what: str, *, where: str, detail: str, fix: str) -> None:
    """Raise :class:`DataError` if any row breaks a rule, naming the first one."""
    if mask.any():
        rows = np.flatnonzero(mask)
        raise DataError(
            f"{where}: {what} in {rows.size} row(s) (first at row {int(rows[0])}: {detail}). {fix}"
        )


def check_rfm(cols: Mapping[str, np.ndarray], *, where: str, discrete: bool = False) -> None:
    """Check the rules every frequency/recency/T table obeys.

    Rules: ``frequency`` is a non-negative integer, ``0 <= recency <= T``, ``recency`` is
    0 when ``frequency`` is 0, and ``weights`` (if present) are non-negative. With
    ``discrete=True`` (BG/BB) recency and T are integers, ``T >= 1`` and
    ``frequency <= recency``.

    Raises
    ------
    DataError
        Naming the rule, the number of rows that break it and the first such row.
    """
    x, tx, big_t = cols["frequency"], cols["recency"], cols["T"]
    rebuild = "Rebuild the table with custseg.clv.rfm_summary."

    def at(i: int) -> str:
        return f"frequency={x[i]:g}, recency={tx[i]:g}, T={big_t[i]:g}"

    def check(mask: np.ndarray, what: str, fix: str) -> None:
        if mask.any():
            _fail_rows(mask, what, where=where, detail=at(int(np.flatnonzero(mask)[0])), fix=fix)

    check(
        x < 0,
        "negative frequency",
        "frequency counts repeat purchase periods, so it is >= 0. " + rebuild,
    )
    check(
        x != np.round(x),
        "non-integer frequency",
        "frequency is a count of repeat purchase periods. " + rebuild,
    )
    check(tx < 0, "negative recency", "recency is the time from first to last purchase. " + rebuild)
    check(
        tx > big_t,
        "recency larger than T",
        "recency (first to last purchase) cannot exceed T (first purchase to the end of the "
        "observation period); check that both use the same time unit. " + rebuild,
    )
    check(
        (x == 0) & (tx != 0),
        "non-zero recency with frequency 0",
        "a customer without repeat purchases has recency 0. " + rebuild,
    )
    if discrete:
        check(
            (tx != np.round(tx)) | (big_t != np.round(big_t)),
            "non-integer recency or T",
            "BG/BB counts discrete transaction opportunities: recency is the period of the last "
            "transaction and T the number of periods, both whole numbers.",
        )
        check(
            x > tx,
            "frequency larger than recency",
            "with one transaction at most per period, frequency <= recency.",
        )
        check(big_t < 1, "T below 1", "T is the number of transaction opportunities (>= 1).")
    if "weights" in cols:
        w = cols["weights"]
        _fail_rows(
            w < 0,
            "negative weights",
            where=where,
            detail=f"weights={w[np.argmax(w < 0)]:g}",
            fix="weights count identical customers, so they are >= 0.",
        )
        if not (w > 0).any():
            raise DataError(f"{where}: every weight is 0; there is nothing to fit.")


def collapse(
    columns: Sequence[np.ndarray], weights: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Collapse rows to the unique combinations of ``columns`` with summed weights.

    A hash group-by (pandas) is used: on a million rows it is about ten times faster
    than ``np.unique(..., axis=0)``, which sorts rows as opaque byte strings.

    Returns
    -------
    unique_columns : list of ndarray
        One array per input column, one entry per unique row (sorted).
    counts : ndarray of float64
        The summed weights (the number of customers when ``weights`` is None).
    """
    n = len(columns[0])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    keys = [f"c{i}" for i in range(len(columns))]
    frame = pd.DataFrame(dict(zip(keys, columns, strict=True)))
    frame["_w"] = w
    frame = frame[frame["_w"] > 0]
    summed = frame.groupby(keys, sort=True)["_w"].sum()
    index = summed.index
    if len(keys) == 1:
        uniq = [np.asarray(index, dtype=np.float64)]
    else:
        uniq = [np.asarray(index.get_level_values(i), dtype=np.float64) for i in range(len(keys))]
    return uniq, summed.to_numpy(dtype=np.float64)


def as_float_arrays(where: str, **arrays: Any) -> list[np.ndarray]:
    """Convert prediction inputs to float arrays and check they broadcast together."""
    out = []
    for name, value in arrays.items():
        try:
            if isinstance(value, pd.Series | pd.Index):
                arr = value.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{where}: {name!r} must be numeric.") from None
        if np.isnan(arr).any():
            raise DataError(f"{where}: {name!r} has missing values; drop or fill them first.")
        out.append(arr)
    try:
        np.broadcast_shapes(*(a.shape for a in out))
    except ValueError:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in zip(arrays, out, strict=True))
        raise DataError(f"{where}: the inputs do not have matching shapes: {shapes}.") from None
    return out


def check_prediction_rfm(
    where: str,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    discrete: bool = False,
) -> None:
    """The :func:`check_rfm` rules for prediction inputs (which may be broadcast scalars)."""
    x, tx, big_t = np.broadcast_arrays(frequency, recency, T)
    check_rfm(
        {"frequency": x.ravel(), "recency": tx.ravel(), "T": big_t.ravel()},
        where=where,
        discrete=discrete,
    )


def prepare_rfm(
    data: object, *, where: str, discrete: bool = False, hint: str = RFM_HINT
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Read, check and collapse a frequency/recency/T table (plus optional ``weights``).

    Returns
    -------
    stats : tuple of ndarray
        The unique ``(frequency, recency, T)`` rows, one array per column.
    counts : ndarray
        How many customers (summed weights) share each unique row.
    """
    cols = table_columns(
        data, required=("frequency", "recency", "T"), optional=("weights",), where=where, hint=hint
    )
    check_rfm(cols, where=where, discrete=discrete)
    uniq, counts = collapse([cols["frequency"], cols["recency"], cols["T"]], cols.get("weights"))
    return tuple(uniq), counts


def factorize_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique combinations of ``columns`` and, per row, the index of its combination.

    Lets a likelihood or a prediction evaluate expensive terms that depend on only some
    columns (say ``frequency`` alone, or ``frequency`` and ``T``) once per distinct value.
    Each column is hashed on its own (``pandas.factorize``) and the codes are combined
    into one integer key, re-factorized after each column so it never overflows.

    Returns
    -------
    uniques : list of ndarray
        One float64 array per column, one entry per distinct combination (in order of
        first appearance).
    codes : ndarray of intp
        For each row, the position of its combination in ``uniques``.
    """
    key: np.ndarray | None = None
    for col in columns:
        codes, uniq = pd.factorize(np.asarray(col))
        if key is None:
            key = codes.astype(np.int64)
        else:
            key, _ = pd.factorize(key * np.int64(len(uniq)) + codes)
            key = key.astype(np.int64)
    assert key is not None
    codes = key.astype(np.intp)
    n_unique = int(codes.max()) + 1 if codes.size else 0
    first = np.empty(n_unique, dtype=np.intp)
    first[codes] = np.arange(codes.size)  # any row of a combination holds its values
    return [np.asarray(col, dtype=np.float64)[first] for col in columns], codes
