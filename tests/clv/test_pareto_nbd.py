"""ParetoNBDModel against the published CDNOW figures.

Sources: lifetimes ``tests/test_estimation.py`` (``TestParetoNBDFitter``) and the R BTYD
walkthrough (r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562). The BTYD walkthrough's
beta differs from the lifetimes test's 11.669 and from the independent re-fit's 11.6679:
the likelihood is nearly flat along beta (its standard error is about 6.2; moving beta
from 11.6679 to 11.6562 costs 2e-6 log-likelihood units), so optimisers stop at slightly
different points. We assert lifetimes' precision: three decimals for r, alpha and s, and
``decimal=2`` (|difference| < 0.015), the tolerance lifetimes itself uses, for beta.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from scipy import integrate

from custseg.clv import ParetoNBDModel
from custseg.clv._simulate import simulate_pareto_nbd
from custseg.clv.pareto_nbd import _log_a0

BTYD = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6562}


def _with_params(**params: float) -> ParetoNBDModel:
    model = ParetoNBDModel()
    model.params_ = dict(params)
    return model


def test_params_match_hardie_paper(pnbd: ParetoNBDModel) -> None:
    fitted = {k: pnbd.params_[k] for k in ("r", "alpha", "s", "beta")}
    npt.assert_array_almost_equal(
        [fitted["r"], fitted["alpha"], fitted["s"]], [0.553, 10.578, 0.606], decimal=3
    )
    npt.assert_array_almost_equal(fitted["beta"], 11.669, decimal=2)


def test_params_match_independent_refit(pnbd: ParetoNBDModel) -> None:
    # /work/shared/datasets README: r=0.5533, alpha=10.5776, s=0.6062, beta=11.6679.
    fitted = [pnbd.params_[k] for k in ("r", "alpha", "s", "beta")]
    npt.assert_allclose(fitted, [0.5533, 10.5776, 0.6062, 11.6679], atol=1.5e-4)


def test_log_likelihood(pnbd: ParetoNBDModel) -> None:
    assert pnbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert pnbd.converged_


def test_probability_alive_matches_btyd_walkthrough() -> None:
    model = _with_params(**BTYD)
    assert abs(float(model.probability_alive(26.0, 30.86, 31.0)) - 0.9979) < 0.001


def test_conditional_expectation_matches_btyd_walkthrough(pnbd: ParetoNBDModel) -> None:
    actual = float(pnbd.conditional_expected_purchases(52, 26.0, 30.86, 31.0))
    assert abs(actual - 25.46) < 0.01


def test_unconditional_expectation_matches_r_btyd(pnbd: ParetoNBDModel) -> None:
    expected = [
        0.00000000, 0.05077821, 0.09916088, 0.14542507, 0.18979930,
        0.23247466, 0.27361274, 0.31335159, 0.35181024, 0.38909211,
    ]  # fmt: skip
    npt.assert_allclose(pnbd.expected_purchases(np.arange(10)), expected, atol=0.01)


def test_log_a0_matches_quadrature() -> None:
    """A_0 against its integral form, (r+s+x) ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ.

    Covers both branches (α >= β and α < β) and the large-frequency cases that overflow a
    naive evaluation (lifetimes' ``test_overflow_error`` parameters).
    """
    cases = [
        ((0.5533, 10.5777, 0.6062, 11.6669), 2, 30.43, 38.86),
        ((0.5533, 12.5777, 0.6062, 11.6669), 50, 10.0, 380.0),
        ((0.5533, 1.5777, 0.6062, 11.6669), 50, 10.0, 380.0),
        ((10.465, 7.98565181e-03, 3.0516, 2.820), 400, 5.0, 6.0),
        ((10.465, 7.98565181e-03, 3.0516, 2.820), 500, 4.0, 37.0),
        ((0.5533, 1.5777, 0.6062, 111.6669), 600, 10.0, 380.0),
    ]
    for (r, alpha, s, beta), x, tx, big_t in cases:
        g0 = -(r + x) * np.log(alpha + tx) - (s + 1) * np.log(beta + tx)

        def f(tau: float, r=r, alpha=alpha, s=s, beta=beta, x=x, g0=g0) -> float:
            return np.exp(-(r + x) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau) - g0)

        width = (alpha + tx) / (r + x)
        pts = [tx + k * width for k in (1, 5, 20) if tx + k * width < big_t]
        val = integrate.quad(f, tx, big_t, points=pts or None, limit=500, epsrel=1e-13)[0]
        expected = np.log(r + s + x) + g0 + np.log(val)
        got = _log_a0((r, alpha, s, beta), np.array([x]), np.array([tx]), np.array([big_t]))[0]
        assert got == pytest.approx(expected, rel=1e-9), (r, alpha, s, beta, x)


def test_overflow_cases_stay_finite() -> None:
    # lifetimes test_conditional_probability_alive_overflow_error.
    model = _with_params(r=10.465, alpha=7.98565181e-03, s=3.0516, beta=2.820)
    p = model.probability_alive(
        np.array([40.0, 50, 50]), np.array([5.0, 1, 4]), np.array([6.0, 37, 37])
    )
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))


def test_conditional_expectation_has_no_underflow_jump() -> None:
    # lifetimes test_conditional_expectation_underflow: 6.2060517889632418 vs 6.2528722475748113.
    model = _with_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    left = float(model.conditional_expected_purchases(10, 132, 200, 200))
    right = float(model.conditional_expected_purchases(10, 133, 200, 200))
    assert left == pytest.approx(6.2060517889632418, rel=1e-6)
    assert right == pytest.approx(6.2528722475748113, rel=1e-6)


def test_probability_alive_bounds_and_certain_cases(pnbd: ParetoNBDModel) -> None:
    assert pnbd.probability_alive(5, 30.0, 30.0) == 1.0  # bought at the very end
    freq = np.repeat(np.arange(0, 100, 10.0), 10)
    rec = np.tile(np.arange(0, 100, 10.0), 10)
    rec = np.where(freq == 0, 0.0, rec)
    p = pnbd.probability_alive(freq, rec, 100.0)
    assert np.all((p >= 0) & (p <= 1))
    npt.assert_allclose(pnbd.churn_probability(freq, rec, 100.0), 1 - p, atol=1e-15)


def test_expectation_at_s_equal_one_is_the_limit() -> None:
    near = _with_params(r=0.5, alpha=10.0, s=1.0 + 1e-7, beta=12.0)
    exact = _with_params(r=0.5, alpha=10.0, s=1.0, beta=12.0)
    assert float(exact.expected_purchases(30.0)) == pytest.approx(
        float(near.expected_purchases(30.0)), rel=1e-6
    )
    # s = 1: r β / α · log(1 + t / β).
    assert float(exact.expected_purchases(30.0)) == pytest.approx(0.5 * 12 / 10 * np.log1p(30 / 12))


def test_recovers_parameters_from_simulated_customers() -> None:
    true = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    big_t = np.random.default_rng(0).uniform(30, 60, 5_000)
    data = simulate_pareto_nbd(true, big_t, random_state=1)
    model = ParetoNBDModel().fit(data)
    for k, v in true.items():
        assert abs(model.params_[k] - v) < 3.5 * model.standard_errors_[k], k
