"""Shipping tiers: first-match tiers, fulfilment flags and costs against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.actions.shipping import DEFAULT_TIERS, assign_shipping, tier_summary
from custseg.exceptions import ConfigError
from custseg.workspace import open_workspace


def _pandas_tiers(f: pd.DataFrame) -> pd.Series:
    """The default tiers re-implemented with pandas, first match wins."""
    buyers = f[(f.number_of_orders > 0) & f.clv_365d.notna()].clv_365d
    top_cut, next_cut = np.quantile(buyers, 0.9), np.quantile(buyers, 0.7)
    buyer = f.number_of_orders > 0
    top = buyer & (f.clv_365d >= top_cut)
    upper = buyer & (f.clv_365d >= next_cut)  # top or next tier
    upo = f.units_per_order.fillna(-1)
    rules = [
        (
            "b2b_freight",
            f.account_id.notna() & ((upo >= 20) | (f.bulk_order_share.fillna(-1) >= 0.3)),
        ),
        ("bulk_freight", upo >= 20),
        ("free_express", top | (f.rfm_group == "Champions")),
        ("economy", (f.number_of_orders <= 1) & ~upper),
        ("standard", f.number_of_orders >= 0),
    ]
    out = pd.Series(None, index=f.index, dtype=object)
    for name, cond in reversed(rules):
        out[cond.fillna(False).astype(bool)] = name
    return out


def test_default_tiers_match_pandas(demo_copy):
    got = assign_shipping(demo_copy).execute().set_index("customer_id")
    f = demo_copy.connect().con.execute("SELECT * FROM customer_features").df()
    want = _pandas_tiers(f)
    want.index = f.customer_id
    assert got.tier.sort_index().tolist() == want.sort_index().tolist()
    # methods follow tiers, and every customer has a tier (the last one matches all)
    methods = {t.name: t.method for t in DEFAULT_TIERS}
    assert (got.method == got.tier.map(methods)).all()
    assert got.tier.notna().all()


def test_fulfilment_and_packaging_flags(demo_copy):
    got = assign_shipping(demo_copy).execute().set_index("customer_id")
    f = (
        demo_copy.connect()
        .con.execute("SELECT * FROM customer_features")
        .df()
        .set_index("customer_id")
    )
    f = f.loc[got.index]
    radius = demo_copy.config.actions.shipping.promise_radius_km
    has = f.distance_to_warehouse_km.notna()
    assert (got.beyond_promise[has] == (f.distance_to_warehouse_km[has] > radius)).all()
    assert got.beyond_promise[~has].isna().all()
    assert (got.b2b_labels == f.account_id.notna()).all()
    # fragile: bought electronics or kitchen items in the 12 months before as-of
    con = demo_copy.connect().con
    fragile = {
        r[0]
        for r in con.execute(
            """
            SELECT DISTINCT o.customer_id FROM orders o JOIN order_lines l USING (order_id)
            WHERE l.category IN ('electronics', 'kitchen') AND o.status <> 'cancelled'
              AND o.ordered_at::DATE >= (SELECT max(as_of) FROM customer_features) - INTERVAL 12 MONTH
              AND o.ordered_at::DATE <= (SELECT max(as_of) FROM customer_features)
            """
        ).fetchall()
    }
    assert set(got.index[got.fragile]) == fragile & set(got.index)


def test_summary_costs_match_pandas(demo_copy):
    assign_shipping(demo_copy)
    summary = {s.tier: s for s in tier_summary(demo_copy)}
    con = demo_copy.connect().con
    df = con.execute(
        """
        SELECT s.tier, s.method, o.weight_kg FROM shipping_tiers s JOIN orders o USING (customer_id)
        WHERE o.status <> 'cancelled'
          AND o.ordered_at < (SELECT max(as_of) FROM customer_features) + INTERVAL 1 DAY
          AND o.ordered_at >= (SELECT max(as_of) FROM customer_features) + INTERVAL 1 DAY - INTERVAL 365 DAY
        """
    ).df()
    rates = demo_copy.config.actions.shipping.rates
    df["cost"] = [
        rates[m].base + rates[m].per_kg * (w if w == w else 0.0)
        for m, w in zip(df.method, df.weight_kg, strict=True)
    ]
    by = df.groupby("tier").agg(n=("cost", "size"), cost=("cost", "sum"))
    for tier, row in by.iterrows():
        assert summary[tier].orders_365d == row.n
        assert summary[tier].estimated_cost == pytest.approx(row.cost)
    assert sum(s.share_of_orders for s in summary.values()) == pytest.approx(1.0)
    tiers = con.execute("SELECT tier, count(*) FROM shipping_tiers GROUP BY 1").fetchall()
    assert {t: n for t, n in tiers} == {t: s.customers for t, s in summary.items() if s.customers}


def test_a_config_tier_goes_first(demo_copy):
    cfg = demo_copy.root / "custseg.toml"
    cfg.write_text(
        cfg.read_text() + '\n[[actions.shipping.tiers]]\nname = "near_newark"\n'
        "rule = \"nearest_warehouse = 'newark' AND distance_to_warehouse_km < 100\"\n"
        'method = "next_day"\nreason = "Close to Newark"\n'
    )
    ws = open_workspace(demo_copy.root)
    got = assign_shipping(ws).execute()
    f = (
        ws.connect()
        .con.execute(
            "SELECT customer_id FROM customer_features WHERE nearest_warehouse = 'newark' "
            "AND distance_to_warehouse_km < 100"
        )
        .fetchall()
    )
    assert set(got[got.tier == "near_newark"].customer_id) == {r[0] for r in f}
    assert (got[got.tier == "near_newark"].method == "next_day").all()


def test_bad_tier_rule_is_a_config_error(demo_copy):
    cfg = demo_copy.root / "custseg.toml"
    cfg.write_text(
        cfg.read_text()
        + '\n[[actions.shipping.tiers]]\nname = "oops"\nrule = "amount_spnt > 1"\nmethod = "express"\n'
    )
    with pytest.raises(ConfigError, match="oops.*amount_spent"):
        assign_shipping(open_workspace(demo_copy.root))
