"""The careful special functions behind the Pareto/NBD likelihood."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from custseg.clv._special import _log_hyp2f1_quad, log1mexp, log_hyp2f1_ab_a1


def _reference(a: float, b: float, z: float) -> float:
    """log 2F1(a, b; a+1; z) = log(a ∫_0^1 t^(a-1) (1 - z t)^(-b) dt), scaled at t = 1.

    The integrand peaks at t = 1 with width about (1 - z) / (b z), so quad is told where.
    """
    g = -b * np.log1p(-z)
    width = (1 - z) / (b * z + a * (1 - z))
    pts = [1 - k * width for k in (1, 10, 100) if 1 - k * width > 0]
    val = integrate.quad(
        lambda t: a * t ** (a - 1) * np.exp(-b * np.log1p(-z * t) - g),
        0,
        1,
        points=pts,
        epsrel=1e-13,
        limit=500,
    )[0]
    return float(np.log(val) + g)


@pytest.mark.parametrize(
    ("a", "b", "z"),
    [(1.5, 1.6, 0.5), (27.2, 1.6, 0.9), (27.2, 26.5, 0.5), (0.8, 50.0, 0.9), (520.0, 510.0, 0.36)],
)
def test_log_hyp2f1_matches_quadrature(a: float, b: float, z: float) -> None:
    assert log_hyp2f1_ab_a1(a, b, z) == pytest.approx(_reference(a, b, z), rel=1e-10)


def test_log_hyp2f1_where_scipy_overflows() -> None:
    # The value is about exp(2763): scipy's hyp2f1 returns inf; the fallbacks do not.
    a, b, z = 600.0, 600.0, 0.99
    assert not np.isfinite(special.hyp2f1(a, b, a + 1, z))
    got = float(log_hyp2f1_ab_a1(a, b, z))
    assert np.isfinite(got)
    assert got == pytest.approx(_log_hyp2f1_quad(a, b, z, 1 - z), rel=1e-9)
    assert got == pytest.approx(_reference(a, b, z), rel=1e-9)


def test_log_hyp2f1_with_exact_complement() -> None:
    # z rounds to 1 but 1 - z is known. Near z = 1, 2F1(3, 1.5; 4; z) is
    # Γ(4)Γ(0.5) / (Γ(3)Γ(1.5)) (1 - z)^(-0.5) = 6 (1 - z)^(-0.5) to leading order.
    omz = 1e-20
    got = float(log_hyp2f1_ab_a1(3.0, 1.5, 1.0 - omz, omz))
    assert got == pytest.approx(np.log(6.0) + 0.5 * np.log(1 / omz), rel=1e-8)


def test_log1mexp() -> None:
    d = np.array([0.0, -1e-20, -1e-5, -0.5, -1.0, -50.0, -800.0])
    expected = np.array([-np.inf, np.log(1e-20), np.log(-np.expm1(-1e-5)), np.log1p(-np.exp(-0.5)),
                         np.log1p(-np.exp(-1.0)), -np.exp(-50.0), 0.0])  # fmt: skip
    np.testing.assert_allclose(log1mexp(d), expected, rtol=1e-12)
