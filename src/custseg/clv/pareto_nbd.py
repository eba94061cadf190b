"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys at a Poisson rate ``λ ~ Gamma(r, α)``; their lifetime is
exponential with rate ``μ ~ Gamma(s, β)``, so dropout can happen at any moment (unlike
BG/NBD, where it happens only right after a purchase). Same input as
:class:`~custseg.clv.BetaGeoModel`.

The likelihood follows Fader & Hardie (2005), "A note on deriving the Pareto/NBD model
and related expressions" (brucehardie.com/notes/009): its ``A_0`` term holds Gauss
hypergeometric functions, evaluated here on the log scale on the branch that keeps the
argument in ``[0, 1)`` (``α >= β`` or ``α < β``), with overflow-safe fallbacks (see
:func:`custseg.clv._special.log_hyp2f1_ab_a1`). The gradient is taken numerically
(central differences of the log-likelihood in the log-parameters).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import special

from custseg.clv._base import CLVModel
from custseg.clv._data import (
    as_float_arrays,
    check_prediction_rfm,
    factorize_rows,
    prepare_rfm,
    table_columns,
)
from custseg.clv._special import log1mexp, log_hyp2f1_ab_a1
from custseg.clv.beta_geo import _check_time

__all__ = ["ParetoNBDModel"]


def _log_term(params: tuple[float, ...] | np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``log[2F1(r+s+x, b'; r+s+x+1; |α-β| / (max(α,β)+t)) / (max(α,β)+t)^(r+s+x)]``.

    ``b' = s + 1`` when ``α >= β`` and ``r + x`` otherwise: the branch that keeps the
    hypergeometric argument in ``[0, 1)``.
    """
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        top, bottom, b_arg = alpha, beta, s + 1.0 + 0.0 * x
    else:
        top, bottom, b_arg = beta, alpha, r + x
    z = (top - bottom) / (top + t)
    one_minus_z = (bottom + t) / (top + t)
    return log_hyp2f1_ab_a1(rsx, b_arg, z, one_minus_z) - rsx * np.log(top + t)


def _log_a0(
    params: tuple[float, ...] | np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """``log A_0`` of Fader & Hardie's note 009 (``-inf`` when ``t_x == T``).

    ``A_0 = term(t_x) - term(T)`` with :func:`_log_term`; both are positive and
    ``term(t_x) >= term(T)``, so the difference is taken on the log scale. The
    hypergeometric terms are evaluated once per distinct ``(x, t_x)`` and ``(x, T)``.
    """
    shape = np.broadcast_shapes(np.shape(x), np.shape(tx), np.shape(big_t))
    xs, txs, ts = (
        np.broadcast_to(np.asarray(a, dtype=np.float64), shape).ravel() for a in (x, tx, big_t)
    )
    (x1, tx1), i1 = factorize_rows(xs, txs)
    (x2, t2), i2 = factorize_rows(xs, ts)
    lt1 = _log_term(params, x1, tx1)[i1]
    lt2 = _log_term(params, x2, t2)[i2]
    return (lt1 + log1mexp(np.minimum(lt2 - lt1, 0.0))).reshape(shape)


def _rate_integral(k: float, u: np.ndarray) -> np.ndarray:
    """``(1 - exp(-k u)) / k``, with the limit ``u`` at ``k = 0`` (i.e. ``s = 1``)."""
    if abs(k) < 1e-10:
        return u
    return -np.expm1(-k * u) / k


class ParetoNBDModel(CLVModel):
    """Pareto/NBD model of repeat purchasing with continuous-time dropout.

    Input columns: ``frequency``, ``recency``, ``T`` and optional ``weights``, as for
    :class:`~custseg.clv.BetaGeoModel` (build them with :func:`custseg.clv.rfm_summary`).

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * (r² + α² + s² + β²)`` on the mean negative log-likelihood.
    tol : float, default=1e-10
        Optimiser tolerance.
    max_iter : int, default=2000
        Maximum optimiser iterations.
    initial_params : dict, default=None
        Starting values for ``r, alpha, s, beta``.

    Attributes
    ----------
    params_ : dict of str to float
        ``r, alpha`` (purchase-rate Gamma) and ``s, beta`` (dropout-rate Gamma).
    log_likelihood_, standard_errors_, log_params_covariance_, n_customers_,
    n_unique_rows_, converged_, n_iter_
        As for :class:`~custseg.clv.BetaGeoModel`.

    Examples
    --------
    >>> from custseg.clv import ParetoNBDModel
    >>> model = ParetoNBDModel()
    >>> model.params_ = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6562}
    >>> round(float(model.probability_alive(26, 30.86, 31)), 4)
    0.9979
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _prediction_methods: ClassVar[tuple[str, ...]] = (
        "expected_purchases",
        "conditional_expected_purchases",
        "probability_alive",
        "churn_probability",
        "expected_time_to_next_purchase",
    )
    _continuous_time: ClassVar[bool] = True

    # ------------------------------------------------------------------ likelihood
    def _prepare(self, data: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        (x, tx, big_t), counts = prepare_rfm(data, where=f"{type(self).__name__}.fit")
        # The hypergeometric terms depend on (x, t_x) and on (x, T), the rest on x or T
        # alone: evaluate each once per distinct value, far fewer than the rows.
        (x1, tx1), i1 = factorize_rows(x, tx)
        (x2, t2), i2 = factorize_rows(x, big_t)
        (xu,), ix = factorize_rows(x)
        (tu,), it = factorize_rows(big_t)
        return (x, tx, big_t, x1, tx1, i1, x2, t2, i2, xu, ix, tu, it), counts

    def _initial_params(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> np.ndarray:
        x, _, big_t = stats[:3]
        w = counts / counts.sum()
        mean_x = max(float(w @ x), 0.05)
        mean_t = max(float(w @ big_t), 1e-3)
        return np.array([1.0, mean_t / mean_x, 1.0, mean_t])

    def _loglik(self, params: np.ndarray, stats: tuple[np.ndarray, ...]) -> np.ndarray:
        """Log-likelihood per unique row (note 009, equation 2, with ``A_0`` on the log scale).

        ``ll = lnΓ(r+x) - lnΓ(r) + r ln α + s ln β + ln(e^alive + e^gone)`` with
        ``alive = -(r+x) ln(α+T) - s ln(β+T)`` and ``gone = ln(s/(r+s+x)) + ln A_0``.
        """
        r, alpha, s, beta = params
        _, _, _, x1, tx1, i1, x2, t2, i2, xu, ix, tu, it = stats
        lt1 = _log_term(params, x1, tx1)[i1]
        log_a0 = lt1 + log1mexp(np.minimum(_log_term(params, x2, t2)[i2] - lt1, 0.0))
        alive = (-(r + xu) * np.log(alpha + tu[:, None]) - s * np.log(beta + tu[:, None])).T
        gone = (np.log(s) - np.log(r + s + xu))[ix] + log_a0
        head = special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        return head[ix] + np.logaddexp(alive[ix, it], gone)

    # ------------------------------------------------------------------ predictions
    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = params = self._params()
        with np.errstate(all="ignore"):
            return (
                np.log(s)
                - np.log(r + s + x)
                + (r + x) * np.log(alpha + big_t)
                + s * np.log(beta + big_t)
                + _log_a0(params, x, tx, big_t)
            )

    def expected_purchases(self, t: Any) -> np.ndarray:
        """Expected purchases of a new customer in ``(0, t]``: ``rβ/(α(s-1)) [1 - (β/(β+t))^(s-1)]``.

        Parameters
        ----------
        t : float or array-like
            Time span(s), in the model's time unit.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.expected_purchases"
        (t,) = as_float_arrays(where, t=t)
        _check_time(where, t)
        r, alpha, s, beta = self._params()
        return r * beta / alpha * _rate_integral(s - 1.0, np.log1p(t / beta))

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """Expected purchases in the next ``t`` time units given each customer's history.

        ``(r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)] · P(alive)``
        (Fader & Hardie's note 009, equation 22).
        """
        self._check_fitted()
        where = f"{type(self).__name__}.conditional_expected_purchases"
        t, x, tx, big_t = as_float_arrays(where, t=t, frequency=frequency, recency=recency, T=T)
        _check_time(where, t)
        check_prediction_rfm(where, x, tx, big_t)
        r, alpha, s, beta = self._params()
        p_alive = special.expit(-self._log_odds_dead(x, tx, big_t))
        rate = (r + x) / (alpha + big_t)
        return (
            rate * (beta + big_t) * _rate_integral(s - 1.0, np.log1p(t / (beta + big_t))) * p_alive
        )

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (Fader & Hardie's note 009, equation 18)."""
        self._check_fitted()
        where = f"{type(self).__name__}.probability_alive"
        x, tx, big_t = as_float_arrays(where, frequency=frequency, recency=recency, T=T)
        check_prediction_rfm(where, x, tx, big_t)
        return special.expit(-self._log_odds_dead(x, tx, big_t))

    def churn_probability(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """``1 - probability_alive``, computed without cancellation."""
        self._check_fitted()
        where = f"{type(self).__name__}.churn_probability"
        x, tx, big_t = as_float_arrays(where, frequency=frequency, recency=recency, T=T)
        check_prediction_rfm(where, x, tx, big_t)
        return special.expit(self._log_odds_dead(x, tx, big_t))

    def expected_time_to_next_purchase(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected time between purchases for a customer who is still alive: (α + T) / (r + x).

        The reciprocal of the posterior mean purchase rate given the customer is alive
        (the posterior of λ is Gamma(r + x, α + T)). It ignores dropout: pair it with
        :meth:`probability_alive`.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.expected_time_to_next_purchase"
        x, tx, big_t = as_float_arrays(where, frequency=frequency, recency=recency, T=T)
        check_prediction_rfm(where, x, tx, big_t)
        r, alpha, _, _ = self._params()
        return (alpha + big_t) / (r + x) + 0.0 * tx

    def predict(self, data: Any, *, t: float) -> np.ndarray:
        """Expected purchases in the next ``t`` time units for each row of ``data``."""
        self._check_fitted()
        cols = table_columns(
            data, required=("frequency", "recency", "T"), where=f"{type(self).__name__}.predict"
        )
        return self.conditional_expected_purchases(t, cols["frequency"], cols["recency"], cols["T"])
