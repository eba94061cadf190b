"""Statistics for campaign measurement: intervals, tests and multiple-testing correction.

Pure numpy/scipy, no tables: :mod:`custseg.monitor.experiments` aggregates in the engine
and calls these on the counts (and on the non-zero revenues, for the bootstrap).

* :func:`wilson_interval`: the Wilson score interval for one proportion (Wilson 1927;
  method 3 of Newcombe 1998a), without continuity correction.
* :func:`newcombe_interval`: the hybrid score interval for a difference of two
  independent proportions, built from the two Wilson intervals (method 10 of Newcombe
  1998b).
* :func:`relative_lift_interval`: the Katz log interval for the ratio of two
  proportions, reported as a relative lift ``ratio - 1`` (Katz et al. 1978).
* :func:`two_proportion_pvalue`: the pooled two-proportion z-test, or Fisher's exact test
  when an expected cell count is below 5 (Cochran's rule).
* :func:`welch_pvalue`: Welch's unequal-variance t-test from sufficient statistics.
* :func:`bootstrap_mean_diff_interval`: a seeded, stratified (per arm) bootstrap interval
  for a difference of means, BCa (default) or percentile.
* :func:`benjamini_hochberg`: Benjamini-Hochberg adjusted p-values (q-values).

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. JASA 22, 209-212.
Newcombe, R. G. (1998a). Two-sided confidence intervals for the single proportion:
comparison of seven methods. Statistics in Medicine 17, 857-872.
Newcombe, R. G. (1998b). Interval estimation for the difference between independent
proportions: comparison of eleven methods. Statistics in Medicine 17, 873-890.
Katz, D., Baptista, J., Azen, S. P., Pike, M. C. (1978). Obtaining confidence intervals
for the risk ratio in cohort studies. Biometrics 34, 469-474.
Efron, B., Tibshirani, R. J. (1993). An Introduction to the Bootstrap, ch. 13-14.
Davison, A. C., Hinkley, D. V. (1997). Bootstrap Methods and their Application, 3.2, 5.3.
Benjamini, Y., Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57,
289-300.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats as sps

from custseg.exceptions import UsageError

__all__ = [
    "FISHER_MIN_EXPECTED",
    "benjamini_hochberg",
    "bootstrap_mean_diff_interval",
    "newcombe_interval",
    "relative_lift_interval",
    "two_proportion_pvalue",
    "welch_pvalue",
    "wilson_interval",
    "z_value",
]

log = logging.getLogger(__name__)

#: Below this expected count in any cell of the 2x2 table, :func:`two_proportion_pvalue`
#: uses Fisher's exact test instead of the normal approximation (Cochran's rule).
FISHER_MIN_EXPECTED = 5.0

#: Bootstrap draws are generated in chunks of at most this many values (memory bound).
_CHUNK_DRAWS = 4_000_000

BootstrapMethod = Literal["bca", "percentile"]


# --------------------------------------------------------------------------- helpers


def z_value(confidence: float = 0.95) -> float:
    """The two-sided standard normal quantile for ``confidence`` (1.959964 for 0.95).

    Raises
    ------
    UsageError
        If ``confidence`` is not strictly between 0 and 1.
    """
    if not 0.0 < confidence < 1.0:
        raise UsageError(
            f"confidence must be strictly between 0 and 1, got {confidence!r}; e.g. 0.95."
        )
    return float(sps.norm.ppf(0.5 + confidence / 2.0))


def _check_count(x: int, n: int, what: str) -> None:
    if n <= 0 or x < 0 or x > n or int(x) != x or int(n) != n:
        raise UsageError(
            f"{what}: need whole numbers with 0 <= successes <= n and n > 0, got "
            f"successes={x!r}, n={n!r}."
        )


# --------------------------------------------------------------------------- proportions


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion, without continuity correction.

    The interval is the set of ``p`` for which the score test of ``H0: p`` does not
    reject: ``|x/n - p| <= z * sqrt(p (1 - p) / n)``. Solving the quadratic gives

    ``(2x + z² ± z sqrt(z² + 4x(1 - x/n))) / (2 (n + z²))``.

    Parameters
    ----------
    successes
        Number of successes ``x`` (0 <= x <= n).
    n
        Number of trials (> 0).
    confidence
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        ``(lower, upper)``, within [0, 1].

    Raises
    ------
    UsageError
        If the counts are impossible or ``n`` is 0.

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    """
    _check_count(successes, n, "wilson_interval")
    z = z_value(confidence)
    x, n = float(successes), float(n)
    p = x / n
    centre = (x + z * z / 2.0) / (n + z * z)
    half = z * math.sqrt(n) / (n + z * z) * math.sqrt(p * (1.0 - p) + z * z / (4.0 * n))
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return lower, upper


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p1 - p2`` (method 10 of Newcombe 1998b).

    With ``(l1, u1)`` and ``(l2, u2)`` the Wilson intervals of the two proportions and
    ``d = p1 - p2``::

        lower = d - sqrt((p1 - l1)² + (u2 - p2)²)
        upper = d + sqrt((u1 - p1)² + (p2 - l2)²)

    Parameters
    ----------
    x1, n1
        Successes and trials of the first group (treatment).
    x2, n2
        Successes and trials of the second group (control).
    confidence
        Two-sided confidence level.

    Returns
    -------
    tuple of float
        ``(lower, upper)``, within [-1, 1].

    Examples
    --------
    >>> [round(v, 4) for v in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    """
    l1, u1 = wilson_interval(x1, n1, confidence=confidence)
    l2, u2 = wilson_interval(x2, n2, confidence=confidence)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def relative_lift_interval(
    x1: int, n1: int, x2: int, n2: int, *, confidence: float = 0.95
) -> tuple[float, float] | None:
    """The Katz log interval for ``p1 / p2 - 1`` (the relative lift).

    ``log(p1 / p2) ± z sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)``, exponentiated, minus 1.

    Returns
    -------
    tuple of float or None
        ``(lower, upper)``; None when ``x1`` or ``x2`` is 0 (the ratio or its log
        variance is undefined).
    """
    _check_count(x1, n1, "relative_lift_interval")
    _check_count(x2, n2, "relative_lift_interval")
    if x1 == 0 or x2 == 0:
        return None
    z = z_value(confidence)
    log_rr = math.log((x1 / n1) / (x2 / n2))
    se = math.sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2)
    return math.exp(log_rr - z * se) - 1.0, math.exp(log_rr + z * se) - 1.0


def two_proportion_pvalue(
    x1: int, n1: int, x2: int, n2: int, *, method: Literal["auto", "z", "fisher"] = "auto"
) -> tuple[float, str]:
    """Two-sided p-value for ``H0: p1 = p2``.

    ``z``: the pooled two-proportion z-test, ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))``
    with ``p = (x1 + x2) / (n1 + n2)`` (equal to Pearson's chi-square test without
    continuity correction). ``fisher``: Fisher's exact test (two-sided, by the
    probabilities of the tables as or less likely). ``auto`` uses Fisher when any
    expected cell count of the 2x2 table is below :data:`FISHER_MIN_EXPECTED`, else z.

    Returns
    -------
    tuple
        ``(p_value, method_used)``; when nobody or everybody converted in both groups the
        p-value is 1.0 (nothing to test).
    """
    _check_count(x1, n1, "two_proportion_pvalue")
    _check_count(x2, n2, "two_proportion_pvalue")
    if method not in ("auto", "z", "fisher"):
        raise UsageError(f"method must be one of auto, z, fisher; got {method!r}.")
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0, "fisher" if method == "fisher" else "z"
    if method == "auto":
        expected = min(n1, n2) * min(pooled, 1.0 - pooled)
        method = "fisher" if expected < FISHER_MIN_EXPECTED else "z"
    if method == "fisher":
        table = [[x1, n1 - x1], [x2, n2 - x2]]
        return float(sps.fisher_exact(table, alternative="two-sided").pvalue), "fisher"
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (x1 / n1 - x2 / n2) / se
    return float(2.0 * sps.norm.sf(abs(z))), "z"


# --------------------------------------------------------------------------- means


def welch_pvalue(
    mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int
) -> float | None:
    """Two-sided p-value of Welch's t-test from means, sample variances (ddof=1) and sizes.

    Returns
    -------
    float or None
        None when a group has fewer than 2 members; 1.0 or 0.0 when both variances are
        zero (the means are then equal or certainly different).
    """
    if n1 < 2 or n2 < 2:
        return None
    s1, s2 = var1 / n1, var2 / n2
    se2 = s1 + s2
    if se2 <= 0.0:
        return 1.0 if mean1 == mean2 else 0.0
    t = (mean1 - mean2) / math.sqrt(se2)
    df = se2**2 / (s1**2 / (n1 - 1) + s2**2 / (n2 - 1))
    return float(2.0 * sps.t.sf(abs(t), df))


def _split_sparse(values: np.ndarray, n: int | None, what: str) -> tuple[np.ndarray, int]:
    """The non-zero values and the size of the full sample."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        raise UsageError(f"{what}: the values must be finite numbers (found NaN or infinity).")
    if n is None:
        return v[v != 0.0], len(v)
    nz = v[v != 0.0]
    if n < len(nz):
        raise UsageError(
            f"{what}: n={n} is smaller than the {len(nz)} non-zero values given; n is the "
            "size of the whole sample, zeros included."
        )
    return nz, int(n)


def _boot_means(nonzero: np.ndarray, n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` bootstrap means of a sample of size ``n`` whose non-zero values are given.

    A resample draws ``n`` values with replacement; the number of draws landing on a
    non-zero value is Binomial(n, k/n), and given that number they are uniform over the
    ``k`` non-zero values. So only ``~k`` values per replicate are drawn, not ``n``: the
    same distribution as resampling all ``n``, at the cost of the converters only.
    """
    k = len(nonzero)
    if k == 0:
        return np.zeros(n_boot)
    counts = rng.binomial(n, k / n, size=n_boot)
    # Draw in chunks of about _CHUNK_DRAWS values (a chunk ends after the replicate that
    # crosses the bound), so memory stays flat for large arms.
    before = np.cumsum(counts) - counts
    chunk = before // _CHUNK_DRAWS
    sums = np.empty(n_boot)
    for c in np.unique(chunk):
        sel = np.flatnonzero(chunk == c)
        idx = rng.integers(0, k, size=int(counts[sel].sum()))
        labels = np.repeat(np.arange(len(sel)), counts[sel])
        sums[sel] = np.bincount(labels, weights=nonzero[idx], minlength=len(sel))
    return sums / n


def _acceleration(nz_t: np.ndarray, n_t: int, nz_c: np.ndarray, n_c: int) -> float:
    """BCa acceleration of ``mean_t - mean_c`` from the empirical influence values.

    For a statistic of two independent samples, with ``l_sj`` the empirical influence
    of observation ``j`` of sample ``s`` (``x - mean`` for a mean, negated for the
    control): ``a = (1/6) Σ_s n_s⁻³ Σ_j l_sj³ / (Σ_s n_s⁻² Σ_j l_sj²)^{3/2}``
    (Efron & Tibshirani 1993, 14.3 and eq. 15.36, with the jackknife values of a mean,
    ``(n - 1)(θ̄ - θ_(i)) = x_i - mean``; Davison & Hinkley 1997 for several samples).
    Zeros enter as one group of ``n - k`` identical values.
    """
    num = 0.0
    den = 0.0
    for nz, n, sign in ((nz_t, n_t, 1.0), (nz_c, n_c, -1.0)):
        mean = nz.sum() / n
        dev = nz - mean
        zeros = n - len(nz)
        s2 = (dev**2).sum() + zeros * mean**2
        s3 = (dev**3).sum() + zeros * (-mean) ** 3
        num += sign * s3 / n**3
        den += s2 / n**2
    if den <= 0.0:
        return 0.0
    return num / (6.0 * den**1.5)


def bootstrap_mean_diff_interval(
    treatment: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    *,
    n_treatment: int | None = None,
    n_control: int | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.SeedSequence | None = 0,
    method: BootstrapMethod = "bca",
) -> tuple[float, float]:
    """Bootstrap interval for ``mean(treatment) - mean(control)``.

    Each replicate resamples each arm with replacement, separately (a stratified
    bootstrap: the arm sizes are fixed by the design). Zero-heavy samples, such as
    revenue per exposed customer, cost only their non-zero values (see ``_boot_means``).

    Parameters
    ----------
    treatment, control
        Per-customer values. With ``n_treatment`` (``n_control``) given, only the
        non-zero values need to be passed: the sample is those values plus zeros up to
        ``n_treatment`` customers.
    n_treatment, n_control
        Sizes of the full samples, zeros included; default: the lengths of the arrays.
    confidence
        Two-sided confidence level.
    n_boot
        Number of bootstrap replicates.
    seed
        Seed (or :class:`numpy.random.SeedSequence`) of the random generator: the same
        seed gives the same interval.
    method
        ``bca`` (bias-corrected and accelerated, Efron 1987; the acceleration from the
        empirical influence values) or ``percentile``.

    Returns
    -------
    tuple of float
        ``(lower, upper)``.

    Raises
    ------
    UsageError
        An empty arm, fewer than 100 replicates, non-finite values, or an unknown method.
    """
    if method not in ("bca", "percentile"):
        raise UsageError(f"method must be 'bca' or 'percentile', got {method!r}.")
    if n_boot < 100:
        raise UsageError(f"n_boot must be at least 100 for an interval, got {n_boot}.")
    nz_t, n_t = _split_sparse(treatment, n_treatment, "treatment")
    nz_c, n_c = _split_sparse(control, n_control, "control")
    if n_t == 0 or n_c == 0:
        raise UsageError(
            f"both arms need customers for a bootstrap interval; got {n_t} in treatment and "
            f"{n_c} in control."
        )
    alpha = 1.0 - confidence
    z_value(confidence)  # validates
    rng = np.random.default_rng(seed)
    theta = nz_t.sum() / n_t - nz_c.sum() / n_c
    boot = _boot_means(nz_t, n_t, n_boot, rng) - _boot_means(nz_c, n_c, n_boot, rng)
    if np.ptp(boot) == 0.0:
        return float(theta), float(theta)
    lo_q, hi_q = alpha / 2.0, 1.0 - alpha / 2.0
    if method == "bca":
        below = (np.count_nonzero(boot < theta) + 0.5 * np.count_nonzero(boot == theta)) / n_boot
        below = min(max(below, 1.0 / (n_boot + 1)), n_boot / (n_boot + 1))
        z0 = float(sps.norm.ppf(below))
        a = _acceleration(nz_t, n_t, nz_c, n_c)
        qs = []
        for q in (lo_q, hi_q):
            zq = float(sps.norm.ppf(q))
            adj = z0 + (z0 + zq) / (1.0 - a * (z0 + zq))
            qs.append(float(sps.norm.cdf(adj)))
        lo_q, hi_q = qs
    lower, upper = np.quantile(boot, [lo_q, hi_q])
    return float(lower), float(upper)


# --------------------------------------------------------------------------- multiplicity


def benjamini_hochberg(pvalues: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    ``q_(i) = min over j >= i of (m p_(j) / j)``, capped at 1, with ``p_(1) <= ... <=
    p_(m)`` the sorted p-values. Rejecting every hypothesis with ``q <= α`` controls the
    false discovery rate at level ``α`` (for independent or positively dependent tests).

    Parameters
    ----------
    pvalues
        p-values in [0, 1]; None or NaN entries are left out (``m`` counts the others)
        and come back as NaN.

    Returns
    -------
    numpy.ndarray
        The q-values, same shape as the input.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    p = np.array([np.nan if v is None else v for v in pvalues], dtype=np.float64)
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0.0) | (p[ok] > 1.0)):
        raise UsageError("p-values must lie in [0, 1].")
    q = np.full(p.shape, np.nan)
    vals = p[ok]
    m = len(vals)
    if m == 0:
        return q
    order = np.argsort(vals, kind="stable")
    ranked = vals[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    q[ok] = out
    return q
