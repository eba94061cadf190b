"""Playbooks: from segments to marketing actions, ordered by expected value.

A playbook maps segments to actions (``[[actions.playbook]]`` in ``custseg.toml``); the
built-in :data:`DEFAULT_PLAYBOOK` covers the RFM groups, the predictive tiers and the
segments that ``custseg segments suggest --save`` writes, for the segments you do not
cover yourself. :func:`plan` sizes every action on the evaluated segments:

* **reach**: members the channel may contact (e-mail and SMS need the customer's
  consent; paid social, direct mail and phone reach everyone);
* **headroom** per customer, by objective: for ``upsell`` and ``onboard`` the distance
  from the segment's mean predicted CLV up to the next rung of the *CLV ladder* (the
  buyers' median, 75th, 90th and 97.5th percentiles of predicted CLV), 0 above the top
  rung; for ``retain`` and
  ``reward`` the predicted value at risk, mean(CLV × churn probability); for
  ``win_back`` the historic yearly spend, mean(amount spent × 365 / max(tenure, 365));
* **expected revenue** = reach × response rate × headroom;
* **expected cost** = reach × channel cost + reach × response rate × offer cost, the offer
  cost per responder being n% of the segment's AOV for ``percent_n``, the standard
  shipping base rate for ``free_shipping``, 2% of AOV for ``loyalty_points`` and 0 for
  ``early_access``/``none``, capped at ``budget_per_customer`` when that is set;
* **expected value** = expected revenue − expected cost; actions are ranked by it.

Response rates and channel costs are assumptions from ``[actions]``; change them there.
:func:`assign_actions` gives every customer the best-ranked action among their segments
(the call the REST API makes for "what should we do with this customer?").
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.config import PlaybookAction
from custseg.exceptions import WorkspaceError

__all__ = [
    "ACTIONS_TABLE",
    "DEFAULT_PLAYBOOK",
    "PlannedAction",
    "assign_actions",
    "ladder_headroom",
    "offer_cost",
    "plan",
    "playbook",
]

log = logging.getLogger(__name__)

ACTIONS_TABLE = "customer_actions"

LOYALTY_POINTS_SHARE = 0.02
#: Percentiles of the buyers' predicted CLV that make the ladder of upsell targets.
LADDER: tuple[float, ...] = (0.5, 0.75, 0.9, 0.975)


def ladder_headroom(mean_clv: float, ladder: list[float]) -> float:
    """Distance from ``mean_clv`` up to the first rung above it (0 above the top rung)."""
    for rung in sorted(ladder):
        if rung > mean_clv:
            return rung - mean_clv
    return 0.0


def _a(
    segment: str,
    objective: str,
    channel: str,
    offer: str,
    message: str,
    cadence: str,
    budget: float,
) -> PlaybookAction:
    return PlaybookAction(
        segment=segment,
        objective=objective,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        offer=offer,
        message=message,
        cadence=cadence,
        budget_per_customer=budget,
    )


#: The built-in actions, used for segments the config's playbook does not cover.
DEFAULT_PLAYBOOK: tuple[PlaybookAction, ...] = (
    _a(
        "rfm_champions",
        "reward",
        "email",
        "early_access",
        "Thank you: early access to new arrivals",
        "monthly",
        5,
    ),
    _a(
        "rfm_loyal_customers",
        "upsell",
        "email",
        "loyalty_points",
        "Bundles in their favourite categories",
        "monthly",
        3,
    ),
    _a(
        "rfm_potential_loyalist",
        "upsell",
        "email",
        "percent_10",
        "Join the loyalty programme",
        "biweekly",
        5,
    ),
    _a(
        "rfm_new_customers",
        "onboard",
        "email",
        "free_shipping",
        "Welcome series and a second-order incentive",
        "weekly x3",
        6,
    ),
    _a(
        "rfm_promising",
        "onboard",
        "email",
        "percent_10",
        "Picks based on their first purchase",
        "biweekly",
        5,
    ),
    _a(
        "rfm_need_attention",
        "retain",
        "email",
        "percent_10",
        "Limited-time offer on recently viewed items",
        "once",
        5,
    ),
    _a(
        "rfm_about_to_sleep",
        "retain",
        "email",
        "percent_15",
        "We miss you: popular picks",
        "once",
        6,
    ),
    _a("rfm_at_risk", "win_back", "email", "percent_20", "Personal win-back offer", "once", 10),
    _a(
        "rfm_cant_lose_them",
        "win_back",
        "direct_mail",
        "percent_20",
        "Personal outreach with a strong offer",
        "once",
        15,
    ),
    _a(
        "rfm_hibernating",
        "win_back",
        "paid_social",
        "percent_15",
        "Retargeting with best sellers",
        "once",
        2,
    ),
    _a("rfm_lost", "win_back", "email", "percent_25", "Last-chance reactivation", "once", 4),
    _a("rfm_prospects", "onboard", "email", "free_shipping", "First-order incentive", "once", 5),
    _a(
        "clv_top",
        "reward",
        "direct_mail",
        "loyalty_points",
        "VIP programme and a handwritten note",
        "quarterly",
        20,
    ),
    _a("clv_next", "upsell", "email", "early_access", "Previews of premium ranges", "monthly", 3),
    _a(
        "churn_high",
        "win_back",
        "email",
        "percent_20",
        "Come back: an offer on what they bought before",
        "once",
        8,
    ),
    _a("due_soon", "retain", "sms", "none", "Reminder: time to restock", "once", 0.5),
    _a(
        "valuable_at_risk",
        "retain",
        "phone",
        "percent_15",
        "Account-manager call for valuable customers at risk",
        "once",
        25,
    ),
    _a(
        "loyal_slipping",
        "retain",
        "email",
        "loyalty_points",
        "Double points on their next order",
        "once",
        5,
    ),
    _a(
        "narrow_repeaters",
        "upsell",
        "email",
        "none",
        "Cross-sell from adjacent categories",
        "monthly",
        0,
    ),
    _a("lapsed_repeaters", "win_back", "email", "percent_20", "Win back repeat buyers", "once", 8),
    _a(
        "engaged_prospects",
        "onboard",
        "email",
        "free_shipping",
        "Free shipping on a first order",
        "once",
        5,
    ),
)


@dataclass(frozen=True)
class PlannedAction:
    """One action of the plan, sized on the evaluated segment."""

    rank: int
    segment: str
    title: str
    objective: str
    channel: str
    offer: str
    message: str
    cadence: str
    budget_per_customer: float
    response_rate: float
    size: int
    reach: int
    headroom_per_customer: float
    offer_cost_per_responder: float
    expected_revenue: float
    expected_cost: float
    expected_value: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return asdict(self)


def playbook(ws: Any) -> list[tuple[PlaybookAction, str]]:
    """The workspace's actions with their source (``custseg.toml`` or ``default``).

    Config actions come first; a default is added for each segment no config action
    covers (when ``[actions] default_playbook`` is true).
    """
    cfg = ws.config.actions
    out: list[tuple[PlaybookAction, str]] = [(a, "custseg.toml") for a in cfg.playbook]
    covered = {a.segment for a in cfg.playbook}
    if cfg.default_playbook:
        out += [(a, "default") for a in DEFAULT_PLAYBOOK if a.segment not in covered]
    return out


def offer_cost(offer: str, aov: float | None, *, shipping_base: float) -> float:
    """The cost of an offer for one responder (see the module docs)."""
    aov = aov or 0.0
    if offer.startswith("percent_"):
        return aov * int(offer.split("_", 1)[1]) / 100.0
    if offer == "free_shipping":
        return shipping_base
    if offer == "loyalty_points":
        return aov * LOYALTY_POINTS_SHARE
    return 0.0


def _segment_stats(frame: ir.Table, memberships: ir.Table, clv: str | None) -> dict[str, dict]:
    j = memberships.select("customer_id", "segment").inner_join(frame, "customer_id")
    email_ok = (
        j.accepts_email_marketing.fill_null(False)
        if "accepts_email_marketing" in j.columns
        else ibis.literal(False)
    )
    sms_ok = (
        j.accepts_sms_marketing.fill_null(False)
        if "accepts_sms_marketing" in j.columns
        else ibis.literal(False)
    )
    yearly = j.amount_spent * 365.0 / ibis.greatest(j.tenure_days.fill_null(0), 365)
    aggs: dict[str, Any] = {
        "size": j.count(),
        "reach_email": email_ok.sum(),
        "reach_sms": sms_ok.sum(),
        "aov": j.avg_order_value.mean(),
        "yearly": yearly.mean(),
    }
    if clv is not None:
        aggs["clv"] = j[clv].mean()
        if "churn_probability" in j.columns:
            aggs["at_risk"] = (j[clv] * j.churn_probability).mean()
    rows = j.group_by("segment").aggregate(**aggs).to_pyarrow().to_pylist()
    return {r["segment"]: r for r in rows}


def plan(ws: Any) -> list[PlannedAction]:
    """Size and rank the playbook's actions on the evaluated segments.

    Actions whose segment has not been evaluated (or does not exist) are left out.

    Returns
    -------
    list of PlannedAction
        Ordered by expected value, best first (``rank`` 1).

    Raises
    ------
    WorkspaceError
        The segments have not been evaluated.
    """
    from custseg.segments.predictive import clv_column
    from custseg.segments.registry import MEMBERSHIPS_TABLE, load_definitions, segment_frame

    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; run `custseg segments evaluate`."
        )
    cfg = ws.config.actions
    frame = segment_frame(ws)
    clv = clv_column(frame)
    ladder: list[float] = []
    if clv is not None:
        buyers = frame.filter((frame.number_of_orders > 0) & frame[clv].notnull())
        q = (
            buyers.aggregate(**{f"q{i}": buyers[clv].quantile(p) for i, p in enumerate(LADDER)})
            .to_pyarrow()
            .to_pylist()[0]
        )
        ladder = sorted(float(v) for v in q.values() if v is not None)
    stats = _segment_stats(frame, con.table(MEMBERSHIPS_TABLE), clv)
    titles = {d.name: d.title for d in load_definitions(ws)}
    shipping_base = (
        cfg.shipping.rates.get("standard").base if "standard" in cfg.shipping.rates else 0.0
    )

    sized = []
    for action, source in playbook(ws):
        st = stats.get(action.segment)
        if st is None:
            continue
        size = int(st["size"])
        reach = {
            "email": int(st["reach_email"] or 0),
            "sms": int(st["reach_sms"] or 0),
        }.get(action.channel, size)
        if action.objective in ("upsell", "onboard"):
            head = ladder_headroom(st.get("clv") or 0.0, ladder)
        elif action.objective in ("retain", "reward"):
            head = float(st.get("at_risk") or 0.0)
        else:
            head = float(st.get("yearly") or 0.0)
        rate = action.response_rate or cfg.response_rates.get(action.objective, 0.05)
        per_responder = offer_cost(action.offer, st.get("aov"), shipping_base=shipping_base)
        if action.budget_per_customer > 0:
            per_responder = min(per_responder, action.budget_per_customer)
        revenue = reach * rate * head
        cost = reach * cfg.channel_costs.get(action.channel, 0.0) + reach * rate * per_responder
        sized.append(
            dict(
                segment=action.segment,
                title=titles.get(action.segment, action.segment),
                objective=action.objective,
                channel=action.channel,
                offer=action.offer,
                message=action.message,
                cadence=action.cadence,
                budget_per_customer=action.budget_per_customer,
                response_rate=rate,
                size=size,
                reach=reach,
                headroom_per_customer=head,
                offer_cost_per_responder=per_responder,
                expected_revenue=revenue,
                expected_cost=cost,
                expected_value=revenue - cost,
                source=source,
            )
        )
    sized.sort(key=lambda a: (-a["expected_value"], a["segment"]))
    return [PlannedAction(rank=i, **a) for i, a in enumerate(sized, start=1)]


def assign_actions(
    ws: Any, actions: list[PlannedAction] | None = None, *, write: bool = True
) -> ir.Table:
    """Each customer's best-ranked action among the segments they are in.

    Parameters
    ----------
    ws : Workspace
        The workspace, with segments evaluated.
    actions : list of PlannedAction, optional
        Default: :func:`plan`.
    write : bool
        Write the :data:`ACTIONS_TABLE` table (``customer_actions``).

    Returns
    -------
    ibis Table
        ``customer_id, segment, rank, objective, channel, offer, message, cadence``:
        one row per customer in at least one planned segment.
    """
    from custseg.segments.registry import MEMBERSHIPS_TABLE

    actions = plan(ws) if actions is None else actions
    con = ws.connect()
    m = con.table(MEMBERSHIPS_TABLE).select("customer_id", "segment")
    schema = {
        "segment": "string",
        "rank": "int64",
        "objective": "string",
        "channel": "string",
        "offer": "string",
        "message": "string",
        "cadence": "string",
    }
    rows = [{k: getattr(a, k) for k in schema} for a in actions]
    p = ibis.memtable(rows, schema=schema)
    j = m.inner_join(p, "segment")
    w = ibis.window(group_by=j.customer_id, order_by=j["rank"])
    best = j.mutate(_n=ibis.row_number().over(w)).filter(lambda t: t._n == 0).drop("_n")
    if write:
        con.create_table(ACTIONS_TABLE, best, overwrite=True)
        return con.table(ACTIONS_TABLE)
    return best
