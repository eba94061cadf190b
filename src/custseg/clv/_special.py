"""Numerically careful special functions for the CLV likelihoods."""

from __future__ import annotations

import logging

import numpy as np
from scipy import integrate, special

log = logging.getLogger(__name__)

_LN2 = float(np.log(2.0))


def log1mexp(d: np.ndarray) -> np.ndarray:
    """``log(1 - exp(d))`` for ``d <= 0``, accurate near 0 and for very negative ``d``.

    ``d == 0`` gives ``-inf``. This is Mächler's (2012) two-branch rule.
    """
    d = np.asarray(d, dtype=np.float64)
    out = np.empty_like(d)
    near = d > -_LN2
    with np.errstate(divide="ignore", invalid="ignore"):
        out[near] = np.log(-np.expm1(d[near]))
        far = ~near
        out[far] = np.log1p(-np.exp(d[far]))
    return out


def log_hyp2f1_ab_a1(
    a: np.ndarray, b: np.ndarray, z: np.ndarray, one_minus_z: np.ndarray | None = None
) -> np.ndarray:
    """``log 2F1(a, b; a + 1; z)`` for ``a > 0``, ``b > 0`` and ``0 <= z < 1``.

    This is the Gauss hypergeometric function in the Pareto/NBD likelihood. It is
    positive but can be astronomically large when ``b`` is large and ``z`` is near 1,
    so it is returned on the log scale. Pass ``one_minus_z`` when ``z`` is a ratio close
    to 1 whose complement is known exactly (it keeps ``log(1 - z)`` accurate even when
    ``z`` rounds to 1). Evaluation order, per element:

    1. ``scipy.special.hyp2f1`` directly (accurate in the usual range);
    2. where that overflows or fails, Pfaff's transformation
       ``2F1(a, b; a+1; z) = (1 - z)^(-b) 2F1(1, b; a+1; z / (z - 1))``, whose second
       factor lies in (0, 1], so the size is carried by the log term;
    3. where that fails too, the Euler integral
       ``a * ∫_0^1 t^(a-1) (1 - z t)^(-b) dt`` by adaptive quadrature, scaled by its
       maximum (at ``t = 1``) so that nothing overflows.
    """
    a, b, z = (np.asarray(v, dtype=np.float64) for v in (a, b, z))
    omz = 1.0 - z if one_minus_z is None else np.asarray(one_minus_z, dtype=np.float64)
    a, b, z, omz = np.broadcast_arrays(a, b, z, omz)
    shape = a.shape
    a, b, z, omz = (np.atleast_1d(v).ravel() for v in (a, b, z, omz))
    with np.errstate(all="ignore"):
        direct = special.hyp2f1(a, b, a + 1.0, z)
        out = np.log(direct)
        bad = ~np.isfinite(out) | (direct <= 0)
        if bad.any():
            ab, bb, zb, ob = a[bad], b[bad], z[bad], omz[bad]
            pfaff = special.hyp2f1(1.0, bb, ab + 1.0, -zb / ob)
            fixed = -bb * np.log(ob) + np.log(pfaff)
            ok = np.isfinite(fixed) & (pfaff > 0) & (pfaff <= 1.0 + 1e-12)
            still = ~ok
            if still.any():
                fixed[still] = [
                    _log_hyp2f1_quad(float(ai), float(bi), float(zi), float(oi))
                    for ai, bi, zi, oi in zip(
                        ab[still], bb[still], zb[still], ob[still], strict=True
                    )
                ]
            out[bad] = fixed
    return out.reshape(shape)


def _log_hyp2f1_quad(a: float, b: float, z: float, omz: float) -> float:
    """``log 2F1(a, b; a+1; z)`` by quadrature of Euler's integral, in log space.

    Returns NaN if the integral cannot be evaluated (the caller treats the likelihood
    as infinite there, so the optimiser backs off).
    """
    if z == 0.0:
        return 0.0
    if not (omz > 0.0 and a > 0.0 and b > 0.0):
        return float("nan")
    gmax = -b * np.log(omz)  # the integrand's log at t = 1 (its maximum when a >= 1)

    def f(t: float) -> float:
        if t <= 0.0:
            return 0.0
        # 1 - z t = (1 - t) + t (1 - z), accurate when z is within rounding of 1.
        return float(np.exp((a - 1.0) * np.log(t) - b * np.log((1.0 - t) + t * omz) - gmax))

    # The integrand concentrates near t = 1 with width about 1 / (b z / (1 - z) + a).
    width = 1.0 / (b * z / omz + a)
    pts = sorted({p for p in (1.0 - k * width for k in (1, 4, 16, 64)) if 0.0 < p < 1.0})
    try:
        val, _ = integrate.quad(
            f, 0.0, 1.0, points=pts or None, limit=200, epsabs=0.0, epsrel=1e-12
        )
    except (ValueError, ZeroDivisionError, OverflowError):  # pragma: no cover - defensive
        return float("nan")
    log.debug("hyp2f1 quadrature fallback for a=%g b=%g z=%g", a, b, z)
    return float(np.log(a) + np.log(val) + gmax) if val > 0 else float("nan")
