"""Predictive columns: the engine join returns exactly the models' own predictions."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import numpy as np
import pytest

from custseg.clv import BetaGeoModel, GammaGammaModel
from custseg.config import ClvConfig
from custseg.features.predictive import add_predictions, prediction_columns


def _features(n: int = 400, seed: int = 3):
    """Customers with BG/NBD-like histories (weeks), plus 3 prospects with nulls."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 60, n).round(2)
    x = rng.poisson(2.0, n).astype(float)
    tx = np.where(x > 0, (T * rng.uniform(0.2, 1.0, n)).round(2), 0.0)
    m = np.where(x > 0, rng.gamma(4.0, 10.0, n).round(2), 0.0)
    ids = [f"c{i}" for i in range(n)] + ["p1", "p2", "p3"]
    nan = [None] * 3
    return ibis.memtable(
        {
            "customer_id": ids,
            "clv_frequency": list(x) + nan,
            "clv_recency": list(tx) + nan,
            "clv_T": list(T) + nan,
            "clv_monetary": list(m) + nan,
        }
    ), (x, tx, T, m)


def test_predictions_equal_the_models_and_prospects_stay_null() -> None:
    table, (x, tx, T, m) = _features()
    cfg = ClvConfig(horizon_days=364, annual_discount_rate=0.0)
    as_of = date(2025, 1, 1)
    out, models = add_predictions(table, config=cfg, as_of=as_of)
    df = out.to_pandas().set_index("customer_id")
    assert len(df) == len(x) + 3
    assert set(prediction_columns(cfg)) <= set(df.columns)
    # prospects: no orders, no predictions
    assert df.loc[["p1", "p2", "p3"], "p_alive"].isna().all()
    # the same data fitted directly (no collapsing, no join) gives the same numbers; this
    # Poisson data shows no dropout, so the unpenalized optimum is degenerate (a, b ~ 1e7,
    # its expected purchases overflow to NaN) and the build falls back to a small penalty
    raw = BetaGeoModel().fit({"frequency": x, "recency": tx, "T": T})
    assert not np.isfinite(raw.conditional_expected_purchases(52.0, x, tx, T)).all()
    pen = models.transactions.penalizer
    assert pen > 0
    bgf = BetaGeoModel(penalizer=pen).fit({"frequency": x, "recency": tx, "T": T})
    assert np.isfinite(got_expected := bgf.conditional_expected_purchases(52.0, x, tx, T)).all()
    for k, v in bgf.params_.items():
        assert models.transactions.params_[k] == pytest.approx(v, rel=1e-5)
    order = [f"c{i}" for i in range(len(x))]
    got = df.loc[order]
    np.testing.assert_allclose(got["p_alive"], bgf.probability_alive(x, tx, T), rtol=1e-5)
    np.testing.assert_allclose(got["churn_probability"], 1 - got["p_alive"], rtol=1e-12)
    np.testing.assert_allclose(got["expected_orders_364d"], got_expected, rtol=1e-5)
    # next order date: as_of + 7 x the expected time to the next purchase (weeks)
    gap = np.round(7 * bgf.expected_time_to_next_purchase(x, tx, T)).astype(int)
    want = [as_of + timedelta(days=int(g)) for g in gap]
    assert [d.date() if hasattr(d, "date") else d for d in got["next_order_date"]] == want


def test_clv_is_discounted_expected_purchases_times_expected_spend() -> None:
    table, (x, tx, T, m) = _features(seed=5)
    cfg = ClvConfig(horizon_days=365, annual_discount_rate=0.0)
    out, models = add_predictions(table, config=cfg, as_of=date(2025, 1, 1))
    df = out.to_pandas().set_index("customer_id").loc[[f"c{i}" for i in range(len(x))]]
    ok = (x > 0) & (m > 0)
    ggf = GammaGammaModel().fit({"frequency": x[ok], "monetary_value": m[ok]})
    bgf = models.transactions
    # no discounting: CLV = E[purchases in 12 months] x E[spend per purchase]
    months = 12
    expected = bgf.conditional_expected_purchases(months * (365.25 / 12) / 7, x, tx, T)
    spend = ggf.conditional_expected_average_profit(np.where(ok, x, 0), np.where(ok, m, 0.0))
    np.testing.assert_allclose(df["clv_365d"], np.round(expected * spend, 2), atol=0.011)


def test_demo_store_predictions_are_finite_for_every_buyer(demo_store):
    """The unpenalized BG/NBD optimum on this store is degenerate (a, b ~ 1e5..1e7, whose
    predictions overflow); the fit must fall back to a small penalty, not leave NaN."""
    import math

    from custseg.workspace import open_workspace

    with open_workspace(demo_store) as ws:
        rows = (
            ws.connect()
            .con.execute(
                "SELECT clv_365d, expected_orders_365d, p_alive FROM customer_features "
                "WHERE number_of_orders > 0"
            )
            .fetchall()
        )
    assert rows
    for clv, expected, p in rows:
        assert clv is not None and math.isfinite(clv)
        assert expected is not None and math.isfinite(expected) and expected >= 0
        assert p is not None and 0 <= p <= 1
