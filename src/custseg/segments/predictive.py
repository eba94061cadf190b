"""Predictive tiers: CLV tiers, churn-risk bands and "due for an order soon".

Each is a column added to ``customer_features`` by :func:`add_tiers`, so rules can use
them (``clv_tier = 'top' AND churn_risk = 'high'``) and the built-in segments are
plain rules over them:

* ``clv_tier``: ``'top'`` for the top :attr:`~custseg.config.TiersConfig.clv_top_share`
  of customers with orders by predicted CLV, ``'next'`` for the following
  ``clv_next_share``, ``'rest'`` for the others; null for prospects. The cut-offs are the
  population's quantiles of the CLV column (:func:`tier_thresholds`); a customer exactly
  on a cut-off goes to the higher tier.
* ``churn_risk``: ``'high'`` when ``p_alive < churn_high_below``, ``'medium'`` when
  ``p_alive < churn_medium_below``, else ``'low'``; null without a prediction.
* ``due_soon``: true when ``next_order_date`` is within ``due_within_days`` days after the
  as-of date and ``p_alive >= due_min_p_alive``; false otherwise (never null).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from custseg.config import TiersConfig
from custseg.exceptions import DataError

__all__ = ["TIER_COLUMNS", "TierThresholds", "add_tiers", "clv_column", "tier_thresholds"]

log = logging.getLogger(__name__)

#: The columns :func:`add_tiers` adds.
TIER_COLUMNS: tuple[str, ...] = ("clv_tier", "churn_risk", "due_soon")

_CLV = re.compile(r"clv_(\d+)d")


@dataclass(frozen=True)
class TierThresholds:
    """The CLV cut-offs of one evaluation (in the CLV column's currency)."""

    column: str
    top: float | None
    next: float | None


def clv_column(features: ir.Table) -> str | None:
    """The predicted-CLV column of ``features`` (``clv_<h>d``), or None without one."""
    names = [c for c in features.columns if _CLV.fullmatch(c)]
    return names[0] if names else None


def tier_thresholds(features: ir.Table, config: TiersConfig | None = None) -> TierThresholds:
    """The CLV cut-offs of the top and next tiers, from one small aggregate query.

    Parameters
    ----------
    features : ibis Table
        ``customer_features`` (with ``number_of_orders`` and a ``clv_<h>d`` column).
    config : TiersConfig, optional
        The shares; defaults to 10% and 20%.

    Returns
    -------
    TierThresholds
        ``top`` is the ``1 - clv_top_share`` quantile of the CLV of customers with
        orders, ``next`` the ``1 - clv_top_share - clv_next_share`` quantile (linear
        interpolation, as ``numpy.quantile``). Both None when there is no CLV column
        or no customer with a prediction.
    """
    config = config or TiersConfig()
    col = clv_column(features)
    if col is None:
        return TierThresholds(column="", top=None, next=None)
    buyers = features.filter(features.number_of_orders > 0, features[col].notnull())
    q_top = 1.0 - config.clv_top_share
    q_next = 1.0 - config.clv_top_share - config.clv_next_share
    row = (
        buyers.aggregate(top=buyers[col].quantile(q_top), next=buyers[col].quantile(q_next))
        .to_pyarrow()
        .to_pylist()[0]
    )
    top, nxt = row["top"], row["next"]
    log.debug("CLV tier cut-offs on %s: top >= %s, next >= %s", col, top, nxt)
    return TierThresholds(
        column=col,
        top=None if top is None else float(top),
        next=None if nxt is None else float(nxt),
    )


def add_tiers(
    features: ir.Table,
    config: TiersConfig | None = None,
    *,
    as_of: date | None = None,
    thresholds: TierThresholds | None = None,
) -> ir.Table:
    """``features`` with the columns of :data:`TIER_COLUMNS` added.

    Parameters
    ----------
    features : ibis Table
        ``customer_features``: ``number_of_orders``, and ideally ``clv_<h>d``,
        ``p_alive`` and ``next_order_date`` (a tier whose input is missing is null;
        ``due_soon`` is then false).
    config : TiersConfig, optional
        Shares and thresholds (``[segments.tiers]``).
    as_of : date, optional
        The date ``due_soon`` counts from. Default: the table's ``as_of`` column.
    thresholds : TierThresholds, optional
        Precomputed CLV cut-offs (:func:`tier_thresholds`); computed when omitted.

    Returns
    -------
    ibis Table
        The same rows, with ``clv_tier`` (string), ``churn_risk`` (string) and
        ``due_soon`` (boolean).
    """
    config = config or TiersConfig()
    for name in TIER_COLUMNS:
        if name in features.columns:
            raise DataError(
                f"customer_features already has a column {name!r}; the predictive tiers "
                "would overwrite it. Rename that column."
            )
    t = features
    th = thresholds if thresholds is not None else tier_thresholds(t, config)

    null_str = ibis.null().cast("string")
    if th.column and th.top is not None and th.next is not None and th.column in t.columns:
        clv = t[th.column]
        clv_tier = ibis.cases(
            ((t.number_of_orders <= 0) | clv.isnull(), null_str),
            (clv >= th.top, ibis.literal("top")),
            (clv >= th.next, ibis.literal("next")),
            else_=ibis.literal("rest"),
        )
    else:
        clv_tier = null_str

    if "p_alive" in t.columns:
        p = t.p_alive
        churn_risk = ibis.cases(
            (p.isnull(), null_str),
            (p < config.churn_high_below, ibis.literal("high")),
            (p < config.churn_medium_below, ibis.literal("medium")),
            else_=ibis.literal("low"),
        )
    else:
        churn_risk = null_str

    if "next_order_date" in t.columns and "p_alive" in t.columns:
        start = ibis.date(as_of) if as_of is not None else t.as_of
        end = (
            ibis.date(as_of + timedelta(days=config.due_within_days))
            if as_of is not None
            else t.as_of + ibis.interval(days=config.due_within_days)
        )
        due = (
            (t.next_order_date >= start)
            & (t.next_order_date <= end)
            & (t.p_alive >= config.due_min_p_alive)
        ).fill_null(False)
    else:
        due = ibis.literal(False)

    return t.mutate(clv_tier=clv_tier, churn_risk=churn_risk, due_soon=due)
