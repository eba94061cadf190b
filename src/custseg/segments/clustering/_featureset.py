"""Which columns a clustering uses: :class:`FeatureSet` and its resolution from a spec.

A spec is a family name of :data:`custseg.features.catalog.FAMILIES` (or ``"customer"``),
a list of families and/or column names, or a :class:`FeatureSet`. Numeric and boolean
columns become numeric features, text columns categorical ones; dates, timestamps and
id-like columns are never used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis.expr.schema as sch

from custseg.exceptions import SchemaError, UsageError
from custseg.features.catalog import FAMILIES, IDENTITY_COLUMNS, columns_of_family

__all__ = ["BEHAVIOR_DEFAULT", "FAMILY_EXCLUDED", "ID_LIKE", "FeatureSet"]

log = logging.getLogger(__name__)

#: The default columns of the ``behavior`` family. The others are left out because they
#: repeat these (``avg_order_value`` = spend / orders is a linear combination of the two
#: after log1p; ``repeat_purchase_days`` and the ``clv_*`` inputs repeat orders, recency
#: and tenure; the 30- and 90-day windows repeat the 365-day one), are null for every
#: one-order customer (``mean_*``/``std_interpurchase_days``, ``mean_repeat_order_value``),
#: are zero-inflated so that robust scaling blows up their few non-zero values
#: (``return_rate``), or describe the assortment rather than behaviour (``share_*``,
#: ``top_category``). See ``docs/clustering.md`` for the measurements.
BEHAVIOR_DEFAULT: tuple[str, ...] = (
    "number_of_orders",
    "amount_spent",
    "days_since_last_order",
    "tenure_days",
    "orders_365d",
    "spend_365d",
    "discount_share",
    "full_price_share",
    "avg_basket_units",
    "basket_diversity",
    "brand_loyalty",
)

#: Columns that identify rather than describe; never used (even when listed by name).
ID_LIKE: frozenset[str] = frozenset({*IDENTITY_COLUMNS, "account_id", "postal_code", "city"})

#: Columns of a family that a family spec leaves out (redundant or too fine-grained);
#: they can still be listed by name.
FAMILY_EXCLUDED: dict[str, frozenset[str]] = {
    "customer": frozenset({"tags"}),
    "geo": frozenset({"region", "latitude", "longitude", "nearest_warehouse"}),
    "demographic": frozenset({"age_band"}),
    "rfm": frozenset({"rfm_score", "rfm_group"}),
    "predictive": frozenset({"churn_probability"}),
}

_KNOWN_FAMILIES: tuple[str, ...] = (*FAMILIES, "customer")


def _kind(dtype: Any) -> str:
    """``numeric``, ``categorical`` or ``unusable`` for an Ibis data type."""
    if dtype.is_numeric() or dtype.is_boolean():
        return "numeric"
    if dtype.is_string():
        return "categorical"
    return "unusable"


@dataclass(frozen=True)
class FeatureSet:
    """The columns of a clustering, split by kind.

    Parameters
    ----------
    numeric
        Numeric (or boolean, read as 0/1) columns: imputed, optionally log1p'd, robust-scaled.
    categorical
        Text columns: one-hot of their top values (k-means, mixtures) or raw categories
        (k-prototypes).
    log
        The numeric columns that get ``log1p``; ``None`` (default) decides by the rule in
        :func:`custseg.segments.clustering._transform.wants_log` (non-negative and sample
        skewness above 1).

    Examples
    --------
    >>> fs = FeatureSet(numeric=("amount_spent", "number_of_orders"), categorical=("main_device",))
    >>> fs.columns
    ('amount_spent', 'number_of_orders', 'main_device')
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    log: tuple[str, ...] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column, numeric first."""
        return (*self.numeric, *self.categorical)

    @classmethod
    def resolve(cls, spec: str | Sequence[str] | FeatureSet, schema: sch.Schema) -> FeatureSet:
        """Turn a spec into a :class:`FeatureSet` checked against ``schema``.

        Parameters
        ----------
        spec
            A family name, a list of family and/or column names, or a :class:`FeatureSet`.
            A family brings its usable columns (``behavior``: :data:`BEHAVIOR_DEFAULT`;
            others: all but dates, id-like columns and :data:`FAMILY_EXCLUDED`); a column
            named explicitly is used as is.
        schema
            The schema of the features table.

        Raises
        ------
        UsageError
            An unknown name, a date or id column named explicitly, or nothing left.
        SchemaError
            A :class:`FeatureSet` column is missing from the table or has the wrong kind.
        """
        if isinstance(spec, FeatureSet):
            return spec._checked(schema)
        if isinstance(spec, str):
            spec = [spec]
        if not isinstance(spec, Iterable) or isinstance(spec, Mapping):
            raise UsageError(
                f"features must be a family name, a list of families/columns or a FeatureSet, "
                f"got {spec!r}"
            )
        names: dict[str, str] = {}
        for item in spec:
            if not isinstance(item, str):
                raise UsageError(f"features entries must be strings, got {item!r}")
            if item in _KNOWN_FAMILIES:
                for col in _family_columns(item, schema):
                    names.setdefault(col, _kind(schema[col]))
            elif item in schema:
                kind = _kind(schema[item])
                if kind == "unusable" or item in ID_LIKE:
                    raise UsageError(
                        f"Column {item!r} ({schema[item]}) cannot be a clustering feature: "
                        "ids, dates and timestamps are not used. Use days_since_last_order "
                        "or tenure_days for time, or drop it from features."
                    )
                names.setdefault(item, kind)
            else:
                raise UsageError(
                    f"{item!r} is neither a feature family ({', '.join(_KNOWN_FAMILIES)}) nor "
                    "a column of the features table. Check the spelling; docs/features.md "
                    "lists every column."
                )
        fs = cls(
            numeric=tuple(c for c, k in names.items() if k == "numeric"),
            categorical=tuple(c for c, k in names.items() if k == "categorical"),
        )
        if not fs.columns:
            raise UsageError(
                f"features={list(spec)!r} selects no usable column of the table. Pick a "
                "family that the table has (e.g. 'behavior') or list columns by name."
            )
        log.debug("feature set: numeric=%s categorical=%s", fs.numeric, fs.categorical)
        return fs

    def _checked(self, schema: sch.Schema) -> FeatureSet:
        missing = [c for c in self.columns if c not in schema]
        if missing:
            raise SchemaError(
                f"The features table lacks the FeatureSet column(s) {missing}. Build it with "
                "custseg.features, or change the FeatureSet."
            )
        for c in self.numeric:
            if _kind(schema[c]) != "numeric":
                raise SchemaError(f"FeatureSet numeric column {c!r} is {schema[c]}, not numeric.")
        for c in self.categorical:
            if _kind(schema[c]) != "categorical":
                raise SchemaError(f"FeatureSet categorical column {c!r} is {schema[c]}, not text.")
        if self.log is not None and not set(self.log) <= set(self.numeric):
            extra = sorted(set(self.log) - set(self.numeric))
            raise UsageError(f"FeatureSet.log names non-numeric or unknown column(s) {extra}.")
        if not self.columns:
            raise UsageError("The FeatureSet is empty; give it numeric or categorical columns.")
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "log": None if self.log is None else list(self.log),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureSet:
        """Rebuild from :meth:`to_dict` output."""
        log_cols = d.get("log")
        return cls(
            numeric=tuple(d.get("numeric", ())),
            categorical=tuple(d.get("categorical", ())),
            log=None if log_cols is None else tuple(log_cols),
        )


def _family_columns(family: str, schema: sch.Schema) -> list[str]:
    """The usable columns of a family, in table order (``behavior``: the defaults)."""
    names = list(schema.names)
    if family == "behavior":
        cols = [c for c in BEHAVIOR_DEFAULT if c in schema]
        if cols:
            return cols
    excluded = FAMILY_EXCLUDED.get(family, frozenset())
    out = []
    for c in columns_of_family(names, family):
        if c in ID_LIKE or c in excluded:
            continue
        if _kind(schema[c]) == "unusable":
            log.debug("family %s: %s (%s) is not used", family, c, schema[c])
            continue
        out.append(c)
    return out
