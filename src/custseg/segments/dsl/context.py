"""What a rule is evaluated against: :class:`RuleContext` (features, raw tables, as-of date)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis.expr.types as ir

from custseg.exceptions import DataError, UsageError

__all__ = ["RAW_TABLES", "RuleContext"]

log = logging.getLogger(__name__)

FEATURES_TABLE = "customer_features"

#: The canonical tables the functions may read (each optional).
RAW_TABLES: tuple[str, ...] = (
    "orders",
    "order_lines",
    "events",
    "campaigns",
    "campaign_exposures",
    "campaign_outcomes",
)


@dataclass(frozen=True, eq=False, repr=False)
class RuleContext:
    """The tables and the as-of date a rule is type-checked and compiled against.

    Parameters
    ----------
    features
        The ``customer_features`` table (one row per customer, with ``customer_id``).
        Its columns are the fields of the language.
    as_of
        The run's as-of date: ``today`` and relative dates are counted from it and every
        raw row after the end of that day (UTC) is ignored. Default: the single value of
        ``features.as_of`` (one query).
    orders, order_lines, events, campaigns, campaign_exposures, campaign_outcomes
        Canonical raw tables for the functions (``products_purchased MATCHES ...``);
        ``None`` when absent: a rule that needs a missing table is a ``RuleError``
        naming it.

    Examples
    --------
    >>> import ibis
    >>> from datetime import date
    >>> t = ibis.memtable({"customer_id": ["a"], "amount_spent": [10.0]})
    >>> RuleContext(features=t, as_of=date(2025, 6, 30)).as_of
    datetime.date(2025, 6, 30)
    """

    features: ir.Table
    as_of: date | None = None
    orders: ir.Table | None = None
    order_lines: ir.Table | None = None
    events: ir.Table | None = None
    campaign_exposures: ir.Table | None = None
    campaign_outcomes: ir.Table | None = None
    campaigns: ir.Table | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.features, ir.Table):
            raise UsageError(
                f"RuleContext(features=...) needs an Ibis table, got "
                f"{type(self.features).__name__}; pass con.table('customer_features')."
            )
        if "customer_id" not in self.features.columns:
            raise UsageError(
                "the features table has no customer_id column; pass customer_features "
                "(built by custseg.features) or a table with one row per customer_id."
            )
        for name in RAW_TABLES:
            t = getattr(self, name)
            if t is not None and not isinstance(t, ir.Table):
                raise UsageError(
                    f"RuleContext({name}=...) needs an Ibis table or None, got {type(t).__name__}."
                )
        as_of = self.as_of
        if as_of is None:
            as_of = _stored_as_of(self.features)
        elif isinstance(as_of, datetime):
            as_of = as_of.date()
        elif not isinstance(as_of, date):
            raise UsageError(
                f"as_of must be a date, got {type(as_of).__name__} ({as_of!r}); "
                "pass e.g. datetime.date(2025, 6, 30)."
            )
        object.__setattr__(self, "as_of", as_of)

    @classmethod
    def from_workspace(cls, workspace: Any, as_of: date | None = None) -> RuleContext:
        """The context of a workspace: its ``customer_features`` and raw tables.

        Parameters
        ----------
        workspace
            An opened :class:`custseg.workspace.Workspace`.
        as_of
            Default: the as-of date ``customer_features`` was built at.

        Raises
        ------
        UsageError
            If the workspace has no ``customer_features`` table (run ``custseg features``).
        """
        con = workspace.connect()
        present = set(con.list_tables())
        if FEATURES_TABLE not in present:
            raise UsageError(
                "the workspace has no customer_features table; build it first with "
                "'custseg features' (or custseg.features.materialize)."
            )
        features = con.table(FEATURES_TABLE)
        raw = {name: con.table(name) if name in present else None for name in RAW_TABLES}
        stored = _stored_as_of(features) if "as_of" in features.columns else None
        if as_of is not None and stored is not None and as_of != stored:
            log.warning(
                "customer_features was built as of %s but the rule is evaluated as of %s; "
                "fields keep their values as of %s",
                stored,
                as_of,
                stored,
            )
        return cls(features=features, as_of=as_of or stored, **raw)

    def __repr__(self) -> str:
        raw = [name for name in RAW_TABLES if getattr(self, name) is not None]
        return (
            f"RuleContext(as_of={self.as_of}, features={len(self.features.columns)} columns, "
            f"raw tables={raw})"
        )

    def table(self, name: str) -> ir.Table | None:
        """The raw table ``name`` (one of :data:`RAW_TABLES`), or None."""
        return getattr(self, name) if name in RAW_TABLES else None


def _stored_as_of(features: ir.Table) -> date:
    if "as_of" not in features.columns:
        raise UsageError(
            "the features table has no as_of column, so the as-of date is unknown; "
            "pass RuleContext(features=..., as_of=datetime.date(...))."
        )
    known = features.filter(features.as_of.notnull())
    values = known.select("as_of").distinct().limit(2).to_pyarrow().column(0).to_pylist()
    if len(values) != 1:
        what = "no as_of value (the table is empty)" if not values else "several as_of dates"
        raise DataError(
            f"customer_features has {what}; rebuild it with 'custseg features' or pass "
            "as_of=... explicitly."
        )
    v = values[0]
    return v.date() if isinstance(v, datetime) else v
