"""A quick look at a rule's segment: how many customers, what share, and a few of them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa

from custseg.exceptions import UsageError
from custseg.segments.dsl.checker import rule_fields
from custseg.segments.dsl.compiler import compile_rule
from custseg.segments.dsl.context import RuleContext

__all__ = ["PreviewResult", "preview"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PreviewResult:
    """What :func:`preview` found.

    Attributes
    ----------
    rule
        The rule text.
    count
        Customers the rule selects.
    total
        All customers (rows of ``customer_features``).
    share
        ``count / total`` (0.0 when there are no customers).
    sample
        Up to ``sample`` members, lowest ``customer_id`` first: ``customer_id`` and the
        fields the rule uses (:func:`~custseg.segments.dsl.rule_fields`).
    as_of
        The as-of date the rule was evaluated at.
    """

    rule: str
    count: int
    total: int
    share: float
    sample: pa.Table
    as_of: date

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: dates as ISO text, decimals as floats, the sample as rows."""
        return {
            "rule": self.rule,
            "as_of": self.as_of.isoformat(),
            "count": self.count,
            "total": self.total,
            "share": self.share,
            "sample": [{k: _plain(v) for k, v in r.items()} for r in self.sample.to_pylist()],
        }


def _plain(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def preview(ctx: RuleContext, text: str, *, sample: int = 10) -> PreviewResult:
    """Count a rule's members and fetch a few of them.

    Normally one query: the first ``sample`` members by ``customer_id``
    (``order_by("customer_id").limit(sample)``), each carrying the member count (a window
    over all members) and the total (a scalar subquery), so a function's semi-join runs
    once. When nobody matches, a second, cheap query counts the customers; with
    ``sample=0`` a single aggregate query gives the count and the total.

    Parameters
    ----------
    ctx
        The features, raw tables and as-of date.
    text
        The rule.
    sample
        How many members to return (0 for none).

    Returns
    -------
    PreviewResult
        Count, total, share and the sample as a ``pyarrow.Table``.

    Raises
    ------
    RuleError
        If the rule does not parse, type-check or compile.
    UsageError
        If ``sample`` is negative.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise UsageError(f"sample must be a whole number >= 0, got {sample!r}.")
    expr = compile_rule(text, ctx)
    f = ctx.features
    cols = ["customer_id", *(c for c in rule_fields(text) if c != "customer_id")]
    members = f.filter(expr)
    if sample == 0:
        row = f.aggregate(count=expr.cast("int64").sum(), total=f.count()).to_pyarrow()
        count, total = (int(row.column(c)[0].as_py() or 0) for c in ("count", "total"))
        table = members.select(*cols).schema().to_pyarrow().empty_table()
    else:
        # isnull().count() counts every member row (count() of a non-null column)
        everyone = ibis.window()
        top = (
            members.select(
                *cols,
                _count=members.customer_id.isnull().count().over(everyone),
                _total=f.count().as_scalar(),
            )
            .order_by("customer_id")
            .limit(sample)
            .to_pyarrow()
        )
        if top.num_rows:
            count, total = top.column("_count")[0].as_py(), top.column("_total")[0].as_py()
        else:
            count, total = 0, f.count().to_pyarrow().as_py()
        table = top.drop_columns(["_count", "_total"])
    log.debug("preview %r: %d of %d", text, count, total)
    return PreviewResult(
        rule=text,
        count=int(count),
        total=int(total),
        share=count / total if total else 0.0,
        sample=table,
        as_of=ctx.as_of,  # type: ignore[arg-type]
    )
