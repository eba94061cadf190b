"""Objective presets and opportunity sizing.

An objective (``retention``, ``upsell``, ``win-back``, ``acquisition-lookalike``) is a
short list of candidate rule segments with a default ordering. :func:`suggest`
evaluates the candidates on the workspace (nothing is written) and returns them with
their size and value, best first; a marketer saves the ones they want as ordinary
segments (``custseg segments suggest --objective retention --save``).

:func:`opportunity` sizes any segments: historic value, predicted value and the
*headroom*: how far the segment's mean predicted CLV is below the mean of the top CLV
tier, times its size. A segment is flagged *underserved* when its customers are still
likely alive (mean ``p_alive`` ≥ 0.5) and their mean predicted CLV is less than half the
top tier's: people who are still buying but are worth far less than the best.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.exceptions import UsageError
from custseg.segments.predictive import clv_column

__all__ = [
    "OBJECTIVES",
    "Candidate",
    "Objective",
    "Opportunity",
    "Suggestion",
    "opportunity",
    "suggest",
]

log = logging.getLogger(__name__)

#: Mean ``p_alive`` from which a segment counts as reachable for the underserved flag.
UNDERSERVED_MIN_P_ALIVE = 0.5
#: Mean predicted CLV below this fraction of the top tier's counts as headroom to serve.
UNDERSERVED_CLV_FRACTION = 0.5


@dataclass(frozen=True)
class Candidate:
    """A segment an objective proposes: a key, a title, a rule and why."""

    name: str
    title: str
    rule: str
    description: str


@dataclass(frozen=True)
class Objective:
    """A preset: the features it looks at, its candidate segments and their ordering.

    ``order_by`` is one of ``value_at_risk`` (Σ spend of the last 365 days × churn
    probability), ``headroom``, ``historic_value`` (Σ amount spent) or
    ``predicted_value_per_customer``.
    """

    name: str
    description: str
    feature_families: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    order_by: str


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective(
            name="retention",
            description="Keep valuable customers who are starting to slip.",
            feature_families=("behavior", "predictive", "engagement"),
            order_by="value_at_risk",
            candidates=(
                Candidate(
                    "valuable_at_risk",
                    "Valuable, at risk",
                    "clv_tier IN ('top', 'next') AND churn_risk IN ('high', 'medium')",
                    "High predicted value but a falling chance of still being active.",
                ),
                Candidate(
                    "loyal_slipping",
                    "Loyal, slipping",
                    "rfm_group IN ('Champions', 'Loyal Customers') AND p_alive < 0.6",
                    "Best RFM groups whose P(alive) has dropped.",
                ),
                Candidate(
                    "cant_lose_them",
                    "Can't lose them",
                    "rfm_group IN ('Can''t Lose Them', 'At Risk')",
                    "Frequent, high-spend customers who have not ordered for a while.",
                ),
                Candidate(
                    "due_soon_valuable",
                    "Due soon, valuable",
                    "due_soon = true AND clv_tier IN ('top', 'next')",
                    "Valuable customers expected to order in the coming days: remind them.",
                ),
            ),
        ),
        Objective(
            name="upsell",
            description="Grow active customers who buy less than they could.",
            feature_families=("behavior", "psychographic", "predictive"),
            order_by="headroom",
            candidates=(
                Candidate(
                    "rising_next_tier",
                    "Next CLV tier, active",
                    "clv_tier = 'next' AND churn_risk = 'low'",
                    "Active customers one tier below the top.",
                ),
                Candidate(
                    "potential_loyalists",
                    "Potential loyalists",
                    "rfm_group IN ('Potential Loyalist', 'Promising', 'New Customers')",
                    "Recent buyers with few orders so far.",
                ),
                Candidate(
                    "narrow_repeaters",
                    "Repeat buyers, few categories",
                    "p_alive >= 0.6 AND number_of_orders >= 3 AND category_breadth <= 2",
                    "Regular buyers of one or two categories: cross-sell.",
                ),
            ),
        ),
        Objective(
            name="win-back",
            description="Bring back customers who have stopped buying.",
            feature_families=("behavior", "predictive"),
            order_by="historic_value",
            candidates=(
                Candidate(
                    "lapsed_repeaters",
                    "Lapsed repeat buyers",
                    "churn_risk = 'high' AND number_of_orders >= 3",
                    "Bought several times, now probably gone.",
                ),
                Candidate(
                    "hibernating",
                    "Hibernating and lost",
                    "rfm_group IN ('Hibernating', 'Lost') AND number_of_orders >= 2",
                    "Low recency RFM groups with more than one order.",
                ),
                Candidate(
                    "lapsed_recent_browsers",
                    "Lapsed but browsing",
                    "churn_risk = 'high' AND events MATCHES (type = 'product_view', "
                    "date >= -30d, count >= 1)",
                    "Probably churned buyers who still look at products.",
                ),
            ),
        ),
        Objective(
            name="acquisition-lookalike",
            description="Seed audiences for lookalike targeting on ad platforms.",
            feature_families=("behavior", "geo", "demographic", "technographic"),
            order_by="predicted_value_per_customer",
            candidates=(
                Candidate(
                    "top_clv_seed",
                    "Top CLV seed",
                    "clv_tier = 'top'",
                    "The highest predicted value customers: the seed of a lookalike audience.",
                ),
                Candidate(
                    "champions_seed",
                    "Champions seed",
                    "rfm_group = 'Champions'",
                    "The best RFM group.",
                ),
                Candidate(
                    "engaged_prospects",
                    "Engaged prospects",
                    "number_of_orders = 0 AND product_views >= 5",
                    "People with no order who browse a lot: close to converting.",
                ),
            ),
        ),
    )
}


@dataclass(frozen=True)
class Opportunity:
    """The size and value of one segment, with its headroom.

    ``predicted_value`` and ``headroom`` are None without a CLV prediction.
    """

    name: str
    size: int
    share: float
    historic_value: float
    historic_value_per_customer: float | None
    predicted_value: float | None
    predicted_value_per_customer: float | None
    mean_p_alive: float | None
    value_at_risk: float | None
    headroom: float | None
    underserved: bool

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return asdict(self)


def opportunity(frame: ir.Table, memberships: ir.Table) -> list[Opportunity]:
    """Historic value, predicted value and headroom of each segment.

    Parameters
    ----------
    frame : ibis Table
        The segment frame (features with ``clv_tier``, see
        :func:`custseg.segments.registry.segment_frame`).
    memberships : ibis Table
        ``customer_id, segment`` rows.

    Returns
    -------
    list of Opportunity
        In the order of the segments' names.
    """
    clv = clv_column(frame)
    total = int(frame.count().to_pyarrow().as_py())
    top_mean: float | None = None
    if clv is not None and "clv_tier" in frame.columns:
        top = frame.filter(frame.clv_tier == "top")
        top_mean = top[clv].mean().to_pyarrow().as_py()

    m = memberships.select("customer_id", "segment")
    j = m.inner_join(frame, "customer_id")
    aggs: dict[str, Any] = {
        "size": j.count(),
        "historic": j.amount_spent.sum(),
    }
    if clv is not None:
        aggs["predicted"] = j[clv].sum()
        aggs["predicted_mean"] = j[clv].mean()
    if "p_alive" in frame.columns:
        aggs["p_alive"] = j.p_alive.mean()
    if "churn_probability" in frame.columns and "spend_365d" in frame.columns:
        aggs["at_risk"] = (j.spend_365d * j.churn_probability).sum()
    rows = j.group_by("segment").aggregate(**aggs).order_by("segment").to_pyarrow().to_pylist()

    out = []
    for r in rows:
        size = int(r["size"])
        pred_mean = r.get("predicted_mean")
        headroom = None
        if top_mean is not None and pred_mean is not None:
            headroom = max(0.0, float(top_mean) - float(pred_mean)) * size
        p_alive = r.get("p_alive")
        underserved = bool(
            top_mean is not None
            and pred_mean is not None
            and p_alive is not None
            and p_alive >= UNDERSERVED_MIN_P_ALIVE
            and pred_mean < UNDERSERVED_CLV_FRACTION * top_mean
        )
        historic = float(r["historic"] or 0.0)
        out.append(
            Opportunity(
                name=r["segment"],
                size=size,
                share=size / total if total else 0.0,
                historic_value=historic,
                historic_value_per_customer=historic / size if size else None,
                predicted_value=None if r.get("predicted") is None else float(r["predicted"]),
                predicted_value_per_customer=None if pred_mean is None else float(pred_mean),
                mean_p_alive=None if p_alive is None else float(p_alive),
                value_at_risk=None if r.get("at_risk") is None else float(r["at_risk"]),
                headroom=headroom,
                underserved=underserved,
            )
        )
    return out


@dataclass(frozen=True)
class Suggestion:
    """A candidate segment of an objective, evaluated."""

    candidate: Candidate
    opportunity: Opportunity
    score: float

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return {**asdict(self.candidate), **self.opportunity.to_dict(), "score": self.score}


def _score(o: Opportunity, order_by: str) -> float:
    value = {
        "value_at_risk": o.value_at_risk,
        "headroom": o.headroom,
        "historic_value": o.historic_value,
        "predicted_value_per_customer": o.predicted_value_per_customer,
    }[order_by]
    return float(value) if value is not None else float("-inf")


def suggest(
    ctx: Any, objective: str, *, candidates: Sequence[Candidate] | None = None
) -> list[Suggestion]:
    """The candidate segments of an objective, with size and value, best first.

    Parameters
    ----------
    ctx : RuleContext
        The rule context over the segment frame
        (:func:`custseg.segments.registry.rule_context`).
    objective : str
        A key of :data:`OBJECTIVES`.
    candidates : sequence of Candidate, optional
        Replace the preset's candidates.

    Returns
    -------
    list of Suggestion
        Ordered by the objective's ``order_by``, descending; empty segments last.

    Raises
    ------
    UsageError
        Unknown objective.
    """
    if objective not in OBJECTIVES:
        raise UsageError(
            f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}."
        )
    from custseg.segments.dsl import compile_rule

    obj = OBJECTIVES[objective]
    cands = list(candidates if candidates is not None else obj.candidates)
    frame = ctx.features
    parts = []
    for c in cands:
        cond = compile_rule(c.rule, ctx)
        parts.append(
            frame.filter(cond).select(customer_id=frame.customer_id, segment=ibis.literal(c.name))
        )
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    opps = {o.name: o for o in opportunity(frame, union)}
    out = []
    for c in cands:
        o = opps.get(c.name) or Opportunity(
            name=c.name,
            size=0,
            share=0.0,
            historic_value=0.0,
            historic_value_per_customer=None,
            predicted_value=None,
            predicted_value_per_customer=None,
            mean_p_alive=None,
            value_at_risk=None,
            headroom=None,
            underserved=False,
        )
        out.append(Suggestion(candidate=c, opportunity=o, score=_score(o, obj.order_by)))
    out.sort(key=lambda s: (s.opportunity.size == 0, -s.score))
    return out
