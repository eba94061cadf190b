"""BetaGeoModel (BG/NBD) against the published CDNOW figures.

Sources: Fader, Hardie & Lee (2005); lifetimes ``tests/test_estimation.py``
(``TestBetaGeoFitter``: "Hardie paper", "Hardie excel sheet", "R BTYD") and lifetimes
``docs/Quickstart.md`` (the summary table with standard errors).
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest
from scipy import special

from custseg.clv import BetaGeoModel
from custseg.clv._simulate import simulate_beta_geo

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _with_params(**params: float) -> BetaGeoModel:
    model = BetaGeoModel()
    model.params_ = dict(params)
    return model


def test_params_match_hardie_paper(bgnbd: BetaGeoModel) -> None:
    fitted = [bgnbd.params_[k] for k in ("r", "alpha", "a", "b")]
    npt.assert_array_almost_equal(fitted, list(PUBLISHED.values()), decimal=3)


def test_params_match_lifetimes_summary_table(bgnbd: BetaGeoModel) -> None:
    # lifetimes Quickstart: r 0.242593, alpha 4.413532, a 0.792886, b 2.425752.
    fitted = [bgnbd.params_[k] for k in ("r", "alpha", "a", "b")]
    npt.assert_allclose(fitted, [0.242593, 4.413532, 0.792886, 2.425752], rtol=1e-5)


def test_standard_errors_match_lifetimes_summary_table(bgnbd: BetaGeoModel) -> None:
    # se(coef) column of the same table: 0.012557, 0.378221, 0.185719, 0.705345.
    se = [bgnbd.standard_errors_[k] for k in ("r", "alpha", "a", "b")]
    npt.assert_allclose(se, [0.012557, 0.378221, 0.185719, 0.705345], rtol=1e-4)


def test_log_likelihood(bgnbd: BetaGeoModel) -> None:
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bgnbd.n_customers_ == 2357
    assert bgnbd.n_unique_rows_ < 2357
    assert bgnbd.converged_


def test_unconditional_expectation_matches_hardie_sheet(bgnbd: BetaGeoModel) -> None:
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    npt.assert_array_almost_equal(bgnbd.expected_purchases(times), expected, decimal=3)


def test_conditional_expectation_matches_hardie_sheet(bgnbd: BetaGeoModel) -> None:
    actual = bgnbd.conditional_expected_purchases(39, 2, 30.43, 38.86)
    assert abs(float(actual) - 1.226) < 0.001


def test_pmf_matches_r_btyd() -> None:
    model = _with_params(**PUBLISHED)
    assert model.probability_of_n_purchases(2, 10) == pytest.approx(1.07869e-07, rel=1e-5)
    assert model.probability_of_n_purchases(39, 0) == pytest.approx(0.5737864, abs=1e-7)
    expected = [
        0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
        0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260,
    ]  # fmt: skip
    npt.assert_allclose(
        model.probability_of_n_purchases(30, np.arange(11, 21)), expected, rtol=1e-6
    )


def test_pmf_sums_to_one_and_its_mean_is_the_expectation() -> None:
    model = _with_params(**PUBLISHED)
    n = np.arange(0, 400)
    pmf = model.probability_of_n_purchases(20.0, n)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    assert (pmf * n).sum() == pytest.approx(float(model.expected_purchases(20.0)), rel=1e-8)
    assert model.probability_of_n_purchases(0.0, [0, 1]).tolist() == [1.0, 0.0]


def test_probability_alive_rules(bgnbd: BetaGeoModel) -> None:
    # No repeat purchase: alive for sure (dropout only happens after a repeat purchase).
    assert bgnbd.probability_alive(0, 0, 1) == 1.0
    # Buying up to the end: P(alive) = 1 / (1 + a / (b + x - 1)).
    r, alpha, a, b = (bgnbd.params_[k] for k in ("r", "alpha", "a", "b"))
    assert bgnbd.probability_alive(3, 20, 20) == pytest.approx(1 / (1 + a / (b + 2)))
    x, tx = np.meshgrid(np.arange(0, 100, 10.0), np.arange(0, 100, 10.0))
    tx = np.where(x == 0, 0.0, tx)
    p = bgnbd.probability_alive(x, tx, 100.0)
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(bgnbd.churn_probability(x, tx, 100.0), 1 - p)


def test_probability_alive_matches_closed_form(bgnbd: BetaGeoModel) -> None:
    r, alpha, a, b = (bgnbd.params_[k] for k in ("r", "alpha", "a", "b"))
    x, tx, big_t = 2.0, 30.43, 38.86
    expected = 1 / (1 + a / (b + x - 1) * ((alpha + big_t) / (alpha + tx)) ** (r + x))
    assert bgnbd.probability_alive(x, tx, big_t) == pytest.approx(expected, rel=1e-12)


def test_conditional_expectation_matches_direct_formula(bgnbd: BetaGeoModel) -> None:
    """The Euler-transformed evaluation equals equation (10) of the paper, evaluated directly."""
    r, alpha, a, b = (bgnbd.params_[k] for k in ("r", "alpha", "a", "b"))
    for x, tx, big_t, t in [(2, 30.43, 38.86, 39), (0, 0, 20, 10), (7, 35.0, 38.86, 52)]:
        z = t / (alpha + big_t + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        front = (
            (a + b + x - 1)
            / (a - 1)
            * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp)
        )
        alive = 1 / (1 + (x > 0) * a / (b + x - 1) * ((alpha + big_t) / (alpha + tx)) ** (r + x))
        assert bgnbd.conditional_expected_purchases(t, x, tx, big_t) == pytest.approx(front * alive)


def test_conditional_expectation_is_stable_for_heavy_buyers(bgnbd: BetaGeoModel) -> None:
    x = np.array([100.0, 300.0, 1000.0])
    e = bgnbd.conditional_expected_purchases(52.0, x, 38.0, 38.86)
    assert np.all(np.isfinite(e)) and np.all(e > 0)
    # A heavy buyer who is surely alive buys about (r + x) / (alpha + T) per week.
    rate = (bgnbd.params_["r"] + x) / (bgnbd.params_["alpha"] + 38.86)
    assert np.all(e < rate * 52.0)


def test_expected_time_to_next_purchase(bgnbd: BetaGeoModel) -> None:
    r, alpha = bgnbd.params_["r"], bgnbd.params_["alpha"]
    out = bgnbd.expected_time_to_next_purchase([0, 2], [0, 30.43], [38.86, 38.86])
    npt.assert_allclose(out, [(alpha + 38.86) / r, (alpha + 38.86) / (r + 2)])


def test_expectation_starts_at_the_mean_rate_and_grows(bgnbd: BetaGeoModel) -> None:
    """E[X(t)] grows with t and its slope at 0 is the mean purchase rate r / alpha."""
    r, alpha = bgnbd.params_["r"], bgnbd.params_["alpha"]
    h = 1e-6
    slope = float(bgnbd.expected_purchases(h)) / h
    assert slope == pytest.approx(r / alpha, rel=1e-4)
    e = bgnbd.expected_purchases(np.linspace(0, 100, 50))
    assert np.all(np.diff(e) > 0)


def test_recovers_parameters_from_simulated_customers() -> None:
    true = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    big_t = np.random.default_rng(0).uniform(30, 60, 30_000)
    data = simulate_beta_geo(true, big_t, random_state=1)
    model = BetaGeoModel().fit(data)
    for k, v in true.items():
        assert abs(model.params_[k] - v) < 3.5 * model.standard_errors_[k], k


def test_a_million_customers_collapse_to_few_rows() -> None:
    """Weekly data: 1M customers from 13 weekly cohorts fit on ~14k unique rows."""
    n = 1_000_000
    rng = np.random.default_rng(1)
    big_t = (52 + rng.integers(0, 13, n)).astype(float)
    data = simulate_beta_geo(PUBLISHED, big_t, random_state=2, time_resolution=1.0)
    model = BetaGeoModel().fit(data)
    assert model.n_customers_ == n
    assert model.n_unique_rows_ < 20_000
    assert model.converged_
    # Recency is floored to whole weeks, so the fit is close but not exact.
    for k, v in PUBLISHED.items():
        assert model.params_[k] == pytest.approx(v, rel=0.15), k
    p = model.probability_alive(data["frequency"], data["recency"], data["T"])
    assert p.shape == (n,)


def test_predict_uses_table_columns(bgnbd: BetaGeoModel, cdnow_summary: pd.DataFrame) -> None:
    out = bgnbd.predict(cdnow_summary.head(5), t=39)
    expected = bgnbd.conditional_expected_purchases(
        39, cdnow_summary["frequency"][:5], cdnow_summary["recency"][:5], cdnow_summary["T"][:5]
    )
    npt.assert_array_equal(out, expected)
