"""Demographic features: age as of a date, and the declared profile fields as they are."""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut

__all__ = ["AGE_BANDS", "DECLARED", "DEMOGRAPHIC_COLUMNS", "demographics", "age_years"]

#: (lowest age, label) of each band; ages under 18 get "under 18".
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (65, "65+"),
    (55, "55-64"),
    (45, "45-54"),
    (35, "35-44"),
    (25, "25-34"),
    (18, "18-24"),
)

#: Columns of ``customers`` passed through unchanged (missing stays missing).
DECLARED = (
    "gender",
    "income_band",
    "education",
    "marital_status",
    "household",
    "occupation",
    "language",
)

#: The columns :func:`demographics` returns after ``customer_id``.
DEMOGRAPHIC_COLUMNS = ("age", "age_band", *DECLARED)


def age_years(birth_date: ir.DateValue, on: date) -> ir.IntegerValue:
    """Whole years from ``birth_date`` to ``on``; null if unknown or after ``on``.

    A 29 February birthday counts from 1 March in non-leap years.
    """
    before_birthday = (ibis.literal(on.month) < birth_date.month()) | (
        (ibis.literal(on.month) == birth_date.month()) & (ibis.literal(on.day) < birth_date.day())
    )
    age = on.year - birth_date.year() - before_birthday.cast("int64")
    return ibis.ifelse(age >= 0, age.cast("int64"), ibis.null("int64"))


def demographics(customers: ir.Table, *, as_of: date | datetime | AsOf) -> ir.Table:
    """Age, age band and the declared demographic fields.

    Parameters
    ----------
    customers
        Canonical ``customers``; uses ``customer_id, birth_date`` and :data:`DECLARED`.
    as_of
        The date the age is computed on.

    Returns
    -------
    ir.Table
        One row per customer: ``customer_id``, ``age`` (int64, whole years), ``age_band``
        (``under 18``, ``18-24``, ``25-34``, ``35-44``, ``45-54``, ``55-64``, ``65+``;
        null when age is), then :data:`DECLARED` unchanged.
    """
    cut = as_of_cut(as_of)
    return _with_demographics(customers, cut).select("customer_id", *DEMOGRAPHIC_COLUMNS)


def _with_demographics(customers: ir.Table, cut: AsOf) -> ir.Table:
    """``customers`` plus ``age`` and ``age_band`` (the declared fields are its own)."""
    c = customers.mutate(age=age_years(customers.birth_date, cut.day))
    band = ibis.cases(*[(c.age >= lo, label) for lo, label in AGE_BANDS], else_="under 18")
    return c.mutate(age_band=ibis.ifelse(c.age.isnull(), ibis.null("string"), band))
