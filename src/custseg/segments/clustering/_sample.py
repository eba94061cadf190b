"""The clustered population and its reproducible sample, drawn in the engine.

The sample is the first ``size`` rows of the population ordered by
``hash(customer_id || '|' || seed)`` (then ``customer_id``): deterministic for a seed
and a backend, with only portable operations (Ibis ``hash`` is DuckDB ``hash`` and
Spark ``hash``; the two backends draw different, equally random samples). Only the
sample comes to pandas, sorted by ``customer_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from custseg.exceptions import DataError, SchemaError, UsageError

__all__ = ["DEFAULT_POPULATION", "draw_sample", "population_filter"]

log = logging.getLogger(__name__)

ID = "customer_id"
DEFAULT_POPULATION = "number_of_orders > 0 and not is_stub"


def population_filter(table: ir.Table, population: Any) -> ir.Table:
    """``table`` restricted to the population.

    Parameters
    ----------
    table
        The features table.
    population
        ``None`` for the default (customers with ``number_of_orders > 0`` that are not
        stubs), or an Ibis boolean expression over ``table`` or a deferred one
        (``ibis._.number_of_orders >= 2``).
    """
    if ID not in table.columns:
        raise SchemaError(
            f"The features table has no {ID!r} column; pass customer_features "
            "(custseg.features.build or the materialized table)."
        )
    if population is None:
        cond = None
        if "number_of_orders" in table.columns:
            cond = table.number_of_orders > 0
        if "is_stub" in table.columns:
            not_stub = ~table.is_stub.fill_null(False)
            cond = not_stub if cond is None else cond & not_stub
        if cond is None:
            log.info("no number_of_orders/is_stub columns: every row is in the population")
            return table
        return table.filter(cond)
    try:
        return table.filter(population)
    except Exception as e:  # noqa: BLE001 - Ibis raises several types for a foreign expression
        raise UsageError(
            f"population cannot filter this table ({type(e).__name__}: {e}). Pass a boolean "
            "expression over the same table, or a deferred one such as "
            "ibis._.number_of_orders >= 2, which binds to any table."
        ) from None


def draw_sample(
    population: ir.Table, columns: Sequence[str], *, size: int, seed: int
) -> pd.DataFrame:
    """At most ``size`` rows of ``population`` with ``customer_id`` and ``columns``.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``customer_id``, with a fresh index.

    Raises
    ------
    DataError
        The population is empty, or ``customer_id`` repeats in the sample.
    """
    t = population
    key = (t[ID].cast("string") + f"|{int(seed)}").hash()
    cols = [ID, *[c for c in columns if c != ID]]
    sample = t.select(*cols, _key=key).order_by(["_key", ID]).limit(int(size)).drop("_key")
    frame = sample.execute()
    if frame.empty:
        raise DataError(
            "The population is empty: no customer matches it (by default, customers with "
            "orders that are not stubs). Build features on data with orders, or change "
            "population=."
        )
    if frame[ID].duplicated().any():
        raise DataError(
            f"{ID!r} repeats in the features table; it must hold one row per customer "
            "(custseg.features does)."
        )
    return frame.sort_values(ID, kind="stable").reset_index(drop=True)
