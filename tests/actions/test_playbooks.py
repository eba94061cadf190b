"""Playbooks: the plan's arithmetic against an independent pandas computation."""

from __future__ import annotations

import numpy as np
import pytest

from custseg.actions.playbooks import (
    DEFAULT_PLAYBOOK,
    assign_actions,
    ladder_headroom,
    offer_cost,
    plan,
    playbook,
)
from custseg.segments.registry import evaluate
from custseg.workspace import open_workspace


def test_ladder_headroom_by_hand():
    ladder = [100.0, 200.0, 500.0]
    assert ladder_headroom(0.0, ladder) == 100.0
    assert ladder_headroom(150.0, ladder) == 50.0
    assert ladder_headroom(200.0, ladder) == 300.0  # the next rung strictly above
    assert ladder_headroom(900.0, ladder) == 0.0


@pytest.mark.parametrize(
    ("offer", "aov", "cost"),
    [
        ("percent_15", 80.0, 12.0),
        ("free_shipping", 80.0, 5.0),
        ("loyalty_points", 80.0, 1.6),
        ("early_access", 80.0, 0.0),
        ("none", None, 0.0),
    ],
)
def test_offer_cost(offer, aov, cost):
    assert offer_cost(offer, aov, shipping_base=5.0) == pytest.approx(cost)


@pytest.fixture
def evaluated(demo_copy):
    evaluate(demo_copy, run_id="run-1")
    return demo_copy


def _frame(ws):
    con = ws.connect().con
    f = con.execute("SELECT * FROM customer_features").df()
    m = con.execute("SELECT customer_id, segment FROM memberships").df()
    return f, m


def test_plan_matches_pandas(evaluated):
    actions = {a.segment: a for a in plan(evaluated)}
    f, m = _frame(evaluated)
    cfg = evaluated.config.actions
    buyers = f[(f.number_of_orders > 0) & f.clv_365d.notna()].clv_365d.to_numpy()
    ladder = sorted(np.quantile(buyers, [0.5, 0.75, 0.9, 0.975]))

    def members(seg):
        return f[f.customer_id.isin(m[m.segment == seg].customer_id)]

    # reward on e-mail: reach = consenting members; headroom = mean(clv x churn)
    champ = members("rfm_champions")
    a = actions["rfm_champions"]
    reach = int(champ.accepts_email_marketing.fillna(False).sum())
    head = float((champ.clv_365d * champ.churn_probability).mean())
    assert (a.size, a.reach) == (len(champ), reach)
    assert a.headroom_per_customer == pytest.approx(head)
    rate = cfg.response_rates["reward"]
    assert a.expected_revenue == pytest.approx(reach * rate * head)
    assert a.expected_cost == pytest.approx(reach * cfg.channel_costs["email"])  # early access
    # upsell with a percentage: headroom up the ladder, offer = 10% of AOV, capped at 5
    pl = members("rfm_potential_loyalist")
    a = actions["rfm_potential_loyalist"]
    mean_clv = pl.clv_365d.mean()
    rung = next(r for r in ladder if r > mean_clv)
    assert a.headroom_per_customer == pytest.approx(rung - mean_clv, rel=1e-6)
    per = min(0.10 * pl.avg_order_value.mean(), 5.0)
    assert a.offer_cost_per_responder == pytest.approx(per)
    reach = int(pl.accepts_email_marketing.fillna(False).sum())
    rate = cfg.response_rates["upsell"]
    assert a.expected_value == pytest.approx(
        reach * rate * (rung - mean_clv) - reach * cfg.channel_costs["email"] - reach * rate * per,
        rel=1e-6,
    )
    # win-back by direct mail reaches everyone; headroom = yearly historic spend
    ct = members("rfm_cant_lose_them")
    a = actions["rfm_cant_lose_them"]
    yearly = (ct.amount_spent * 365 / np.maximum(ct.tenure_days.fillna(0), 365)).mean()
    assert a.reach == len(ct)
    assert a.headroom_per_customer == pytest.approx(yearly)


def test_plan_is_ranked_by_expected_value(evaluated):
    p = plan(evaluated)
    assert [a.rank for a in p] == list(range(1, len(p) + 1))
    values = [a.expected_value for a in p]
    assert values == sorted(values, reverse=True)


def test_config_actions_replace_defaults_for_their_segment(evaluated):
    cfg = evaluated.root / "custseg.toml"
    cfg.write_text(
        cfg.read_text()
        + '\n[[actions.playbook]]\nsegment = "rfm_champions"\nobjective = "upsell"\n'
        'channel = "sms"\noffer = "percent_5"\nresponse_rate = 0.5\n'
    )
    ws = open_workspace(evaluated.root)
    book = playbook(ws)
    champs = [(a, src) for a, src in book if a.segment == "rfm_champions"]
    assert len(champs) == 1 and champs[0][1] == "custseg.toml"
    a = next(x for x in plan(ws) if x.segment == "rfm_champions")
    assert (a.channel, a.response_rate, a.source) == ("sms", 0.5, "custseg.toml")
    assert len(book) == len(DEFAULT_PLAYBOOK)


def test_each_customer_gets_the_best_ranked_action_of_their_segments(evaluated):
    p = plan(evaluated)
    rank = {a.segment: a.rank for a in p}
    got = assign_actions(evaluated, p).execute()
    _, m = _frame(evaluated)
    m = m[m.segment.isin(rank)]
    m["rank"] = m.segment.map(rank)
    best = m.sort_values("rank").groupby("customer_id").segment.first()
    assert dict(zip(got.customer_id, got.segment, strict=True)) == best.to_dict()
