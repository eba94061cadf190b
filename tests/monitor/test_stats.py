"""The measurement statistics against published values, second computations and simulation.

* Wilson and Newcombe intervals: the worked examples of Newcombe (1998a, Table I; 1998b,
  Table II), and the Wilson bounds found again by solving the score equation with
  ``scipy.optimize.brentq``;
* the p-values against scipy's chi-square, Fisher (by hand) and Welch tests;
* the bootstrap against plain resampling of the full arrays and ``scipy.stats.bootstrap``;
* Benjamini-Hochberg against hand-worked examples;
* coverage: 500 simulated campaigns with known lifts in three segments (Newcombe) and
  200 with known revenue differences (bootstrap, BCa with 999 draws each, to keep the
  module well under 30 s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as sps

from custseg.exceptions import UsageError
from custseg.monitor import stats
from custseg.monitor.stats import (
    benjamini_hochberg,
    bootstrap_mean_diff_interval,
    newcombe_interval,
    relative_lift_interval,
    two_proportion_pvalue,
    welch_pvalue,
    wilson_interval,
)

# --------------------------------------------------------------------------- Wilson


# Newcombe (1998a), Table I, method 3 (score, no continuity correction).
@pytest.mark.parametrize(
    ("x", "n", "lower", "upper"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998a(x: int, n: int, lower: float, upper: float) -> None:
    lo, hi = wilson_interval(x, n)
    assert lo == pytest.approx(lower, abs=5e-5)
    assert hi == pytest.approx(upper, abs=5e-5)


def _wilson_by_root_finding(x: int, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson bounds as the roots of the score equation (x/n - p)² = z² p (1 - p) / n."""
    z = sps.norm.ppf(0.5 + confidence / 2)
    p_hat = x / n

    def score(p: float) -> float:
        return (p_hat - p) ** 2 - z * z * p * (1 - p) / n

    # p_hat itself is a root of the left side only when x is 0 or n: bracket off it
    eps = 1e-12
    lower = 0.0 if x == 0 else optimize.brentq(score, 1e-15, p_hat - eps, xtol=1e-15)
    upper = 1.0 if x == n else optimize.brentq(score, p_hat + eps, 1 - 1e-15, xtol=1e-15)
    return lower, upper


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_equals_the_score_test_inversion(confidence: float) -> None:
    rng = np.random.default_rng(1)
    cases = [(0, 1), (1, 1), (0, 7), (7, 7), (3, 10), (1, 2000), (1999, 2000)]
    cases += [(int(x), int(n)) for n in rng.integers(1, 5000, 40) for x in [rng.integers(0, n + 1)]]
    for x, n in cases:
        lo, hi = wilson_interval(x, n, confidence=confidence)
        lo2, hi2 = _wilson_by_root_finding(x, n, confidence)
        assert lo == pytest.approx(lo2, abs=1e-10), (x, n)
        assert hi == pytest.approx(hi2, abs=1e-10), (x, n)
        assert 0.0 <= lo <= x / n <= hi <= 1.0


# --------------------------------------------------------------------------- Newcombe


# Newcombe (1998b), Table II, method 10 (hybrid score, no continuity correction).
@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "lower", "upper"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0),
        (10, 10, 0, 10, 0.6075, 1.0),
    ],
)
def test_newcombe_matches_newcombe_1998b(x1, n1, x2, n2, lower, upper) -> None:
    lo, hi = newcombe_interval(x1, n1, x2, n2)
    assert lo == pytest.approx(lower, abs=5e-5)
    assert hi == pytest.approx(upper, abs=5e-5)


def test_newcombe_from_root_found_wilson_bounds() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        n1, n2 = (int(v) for v in rng.integers(1, 3000, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        l1, u1 = _wilson_by_root_finding(x1, n1, 0.95)
        l2, u2 = _wilson_by_root_finding(x2, n2, 0.95)
        p1, p2 = x1 / n1, x2 / n2
        lower = p1 - p2 - math.hypot(p1 - l1, u2 - p2)
        upper = p1 - p2 + math.hypot(u1 - p1, p2 - l2)
        lo, hi = newcombe_interval(x1, n1, x2, n2)
        assert (lo, hi) == pytest.approx((lower, upper), abs=1e-9)
        # swapping the groups mirrors the interval
        lo_s, hi_s = newcombe_interval(x2, n2, x1, n1)
        assert (lo_s, hi_s) == pytest.approx((-hi, -lo), abs=1e-12)


def test_relative_lift_katz_by_hand() -> None:
    # RR = 0.8 / 0.6; se = sqrt(1/56 - 1/70 + 1/48 - 1/80) = 0.109109; z = 1.959964
    # exp(0.287682 -/+ 0.213851) - 1 = 0.07663, 0.65125
    lo, hi = relative_lift_interval(56, 70, 48, 80)
    assert lo == pytest.approx(0.07663, abs=5e-5)
    assert hi == pytest.approx(0.65125, abs=5e-5)
    assert relative_lift_interval(3, 10, 0, 10) is None


# --------------------------------------------------------------------------- tests


def test_z_test_equals_uncorrected_chi_square() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        n1, n2 = (int(v) for v in rng.integers(200, 5000, 2))
        x1 = int(rng.binomial(n1, 0.1))
        x2 = int(rng.binomial(n2, 0.12))
        p, method = two_proportion_pvalue(x1, n1, x2, n2)
        assert method == "z"
        chi = sps.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
        assert p == pytest.approx(chi.pvalue, rel=1e-9)


def test_fisher_for_small_expected_counts_by_hand() -> None:
    # [[3, 1], [0, 4]]: hypergeometric P(X=k) = C(3,k) C(5,4-k) / C(8,4) = 5, 30, 30, 5 / 70;
    # two-sided p = P(3) + P(0) = 10/70.
    p, method = two_proportion_pvalue(3, 4, 0, 4)
    assert method == "fisher"
    assert p == pytest.approx(10 / 70, rel=1e-12)
    # min(n) * min(pooled, 1 - pooled) = 100 * 0.04 = 4 < 5: Fisher; 200 * 0.04 = 8: z
    assert two_proportion_pvalue(5, 100, 3, 100)[1] == "fisher"
    assert two_proportion_pvalue(10, 200, 6, 200)[1] == "z"
    assert two_proportion_pvalue(0, 50, 0, 60) == (1.0, "z")


def test_welch_from_sufficient_statistics_equals_scipy() -> None:
    rng = np.random.default_rng(4)
    a = rng.lognormal(3, 1, 300) * (rng.random(300) < 0.2)
    b = rng.lognormal(3, 1, 80) * (rng.random(80) < 0.1)
    p = welch_pvalue(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    assert p == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    assert welch_pvalue(1.0, 1.0, 1, 0.0, 1.0, 10) is None


# --------------------------------------------------------------------------- bootstrap


def _zero_inflated(rng: np.random.Generator, n: int, rate: float, mu: float) -> np.ndarray:
    return np.where(rng.random(n) < rate, rng.lognormal(mu, 0.6, n), 0.0)


def test_sparse_bootstrap_has_the_plain_bootstrap_distribution() -> None:
    """Resampling only the non-zero values has the spread of resampling every value."""
    rng = np.random.default_rng(5)
    t, c = _zero_inflated(rng, 3000, 0.1, 4.0), _zero_inflated(rng, 400, 0.06, 4.0)
    lo, hi = bootstrap_mean_diff_interval(t, c, n_boot=20000, seed=1, method="percentile")
    # plain bootstrap, every value resampled
    prng = np.random.default_rng(99)
    boot = np.array(
        [
            t[prng.integers(0, len(t), len(t))].mean() - c[prng.integers(0, len(c), len(c))].mean()
            for _ in range(4000)
        ]
    )
    plo, phi = np.quantile(boot, [0.025, 0.975])
    width = phi - plo
    assert abs(lo - plo) < 0.06 * width
    assert abs(hi - phi) < 0.06 * width
    # and the bootstrap standard error is sqrt(s_t²/n_t + s_c²/n_c) with ddof=0
    se = math.sqrt(t.var() / len(t) + c.var() / len(c))
    assert (hi - lo) / (2 * 1.959964) == pytest.approx(se, rel=0.06)


def test_chunked_draws_give_the_same_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large arms are drawn in chunks; small chunks must not change the result's law."""
    rng = np.random.default_rng(10)
    t = _zero_inflated(rng, 2000, 0.1, 3.0)
    whole = stats._boot_means(t[t != 0], len(t), 8000, np.random.default_rng(1))
    monkeypatch.setattr(stats, "_CHUNK_DRAWS", 50)  # ~200 draws per replicate: 1 per chunk
    chunked = stats._boot_means(t[t != 0], len(t), 8000, np.random.default_rng(2))
    assert np.isfinite(chunked).all() and len(chunked) == 8000
    assert chunked.mean() == pytest.approx(t.mean(), rel=0.01)
    assert chunked.std() == pytest.approx(whole.std(), rel=0.05)
    assert chunked.std() == pytest.approx(t.std() / math.sqrt(len(t)), rel=0.05)


def test_bca_matches_scipy_bootstrap() -> None:
    rng = np.random.default_rng(6)
    t, c = _zero_inflated(rng, 600, 0.15, 3.5), _zero_inflated(rng, 150, 0.08, 3.5)
    lo, hi = bootstrap_mean_diff_interval(t, c, n_boot=20000, seed=3, method="bca")
    ref = sps.bootstrap(
        (t, c),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        method="BCa",
        n_resamples=20000,
        rng=np.random.default_rng(4),
        vectorized=True,
    ).confidence_interval
    width = ref.high - ref.low
    assert abs(lo - ref.low) < 0.05 * width
    assert abs(hi - ref.high) < 0.05 * width


def test_acceleration_equals_brute_force_jackknife() -> None:
    rng = np.random.default_rng(7)
    t, c = _zero_inflated(rng, 80, 0.3, 2.0), _zero_inflated(rng, 50, 0.2, 2.0)
    jack = []
    for j, sample in enumerate((t, c)):
        theta_i = []
        for i in range(len(sample)):
            rest = np.delete(sample, i)
            theta_i.append(rest.mean() - c.mean() if j == 0 else t.mean() - rest.mean())
        theta_i = np.array(theta_i)
        jack.append((len(sample) - 1) * (theta_i.mean() - theta_i))
    num = sum((u**3).sum() / len(u) ** 3 for u in jack)
    den = sum((u**2).sum() / len(u) ** 2 for u in jack)
    expected = num / (6 * den**1.5)
    got = stats._acceleration(t[t != 0], len(t), c[c != 0], len(c))
    assert got == pytest.approx(expected, rel=1e-9)


def test_bootstrap_is_seeded_and_zero_padded() -> None:
    rng = np.random.default_rng(8)
    t, c = _zero_inflated(rng, 500, 0.2, 3.0), _zero_inflated(rng, 100, 0.1, 3.0)
    a = bootstrap_mean_diff_interval(t, c, seed=11)
    b = bootstrap_mean_diff_interval(t, c, seed=11)
    other = bootstrap_mean_diff_interval(t, c, seed=12)
    assert a == b
    assert a != other
    sparse = bootstrap_mean_diff_interval(
        t[t != 0], c[c != 0], n_treatment=len(t), n_control=len(c), seed=11
    )
    assert sparse == a
    assert a[0] < t.mean() - c.mean() < a[1]
    with pytest.raises(UsageError, match="smaller than"):
        bootstrap_mean_diff_interval([1.0, 2.0, 3.0], [1.0], n_treatment=2)
    with pytest.raises(UsageError, match="both arms"):
        bootstrap_mean_diff_interval([1.0], [])


# --------------------------------------------------------------------------- BH


def test_benjamini_hochberg_hand_worked() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4p/i = 0.02, 0.02, 0.04, 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # 8p/i = .008 .032 .104 .082 .0672 .08 .08457 .205; running minimum from the top
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    q = [0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.074 * 8 / 7, 0.205]
    assert benjamini_hochberg(p) == pytest.approx(q)
    # None / NaN are left out of m: 2 tests, q = 2 * 0.02 / 1, 2 * 0.5 / 2
    got = benjamini_hochberg([0.02, None, 0.5, float("nan")])
    assert got[[0, 2]] == pytest.approx([0.04, 0.5])
    assert np.isnan(got[[1, 3]]).all()
    assert benjamini_hochberg([0.9, 0.8]) == pytest.approx([0.9, 0.9])


def test_benjamini_hochberg_properties() -> None:
    rng = np.random.default_rng(9)
    for _ in range(50):
        p = rng.random(int(rng.integers(1, 40))) ** 3
        q = benjamini_hochberg(p)
        assert np.all(q >= p - 1e-15)
        assert np.all(q <= 1.0)
        order = np.argsort(p)
        assert np.all(np.diff(q[order]) >= -1e-15)  # same order as p


def test_bad_inputs_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="0 <= successes <= n"):
        wilson_interval(5, 3)
    with pytest.raises(UsageError, match="n > 0"):
        newcombe_interval(0, 0, 1, 2)
    with pytest.raises(UsageError, match="confidence"):
        wilson_interval(1, 2, confidence=1.5)
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.5, 1.2])


# --------------------------------------------------------------------------- coverage


def test_newcombe_coverage_over_500_simulated_campaigns() -> None:
    """Three segments with known rates (true lifts 0.06, 0.02, 0.0); 500 campaigns each."""
    rng = np.random.default_rng(2025)
    segments = [  # (n treatment, n control, treatment rate, control rate)
        (2000, 300, 0.15, 0.09),
        (800, 120, 0.05, 0.03),
        (1500, 250, 0.10, 0.10),
    ]
    covered = np.zeros((500, len(segments)), dtype=bool)
    for s, (nt, nc, pt, pc) in enumerate(segments):
        xt = rng.binomial(nt, pt, 500)
        xc = rng.binomial(nc, pc, 500)
        for i in range(500):
            lo, hi = newcombe_interval(int(xt[i]), nt, int(xc[i]), nc)
            covered[i, s] = lo <= pt - pc <= hi
    # binomial sd of a 500-draw coverage at 0.95 is ~0.0097: 0.92-0.98 is about +-3 sd
    for s in range(len(segments)):
        assert 0.92 <= covered[:, s].mean() <= 0.98, (segments[s], covered[:, s].mean())
    assert 0.93 <= covered.mean() <= 0.97


def test_bootstrap_coverage_over_200_simulated_campaigns() -> None:
    """Revenue per customer: conversion x lognormal order value; true difference known."""
    rng = np.random.default_rng(7)
    nt, nc, pt, pc, mu, sigma = 1500, 400, 0.12, 0.08, math.log(50), 0.6
    mean_value = math.exp(mu + sigma**2 / 2)
    truth = (pt - pc) * mean_value
    hits = 0
    for i in range(200):
        t = np.where(rng.random(nt) < pt, rng.lognormal(mu, sigma, nt), 0.0)
        c = np.where(rng.random(nc) < pc, rng.lognormal(mu, sigma, nc), 0.0)
        lo, hi = bootstrap_mean_diff_interval(t, c, n_boot=999, seed=i, method="bca")
        hits += lo <= truth <= hi
    # sd of a 200-draw coverage at 0.95 is ~0.015
    assert 0.89 <= hits / 200 <= 0.99
