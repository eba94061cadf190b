"""The BG/NBD model (Fader, Hardie & Lee 2005): repeat purchases and silent churn.

While alive, a customer buys at a Poisson rate ``λ ~ Gamma(r, α)``; after each repeat
purchase they drop out with probability ``p ~ Beta(a, b)``. Fitted on each customer's
``frequency`` (repeat purchases, x), ``recency`` (time of the last purchase since the
first, t_x) and ``T`` (time since the first purchase).

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the easy
way: an alternative to the Pareto/NBD model." *Marketing Science* 24(2), 275-284.
Formulas for the pmf and the conditional expectation: Hardie's notes 004 and 021
(brucehardie.com/notes).
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
from custseg.exceptions import DataError

__all__ = ["BetaGeoModel"]


def _check_time(where: str, t: np.ndarray, name: str = "t") -> None:
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise DataError(f"{where}: {name} must be finite and >= 0 (a time span), got {t!r}.")


class BetaGeoModel(CLVModel):
    """BG/NBD model of repeat purchasing and dropout in continuous time.

    Input columns (from :func:`custseg.clv.rfm_summary`): ``frequency`` (number of repeat
    purchase periods, x), ``recency`` (time from the first to the last purchase, t_x),
    ``T`` (time from the first purchase to the end of the observation period), and
    optionally ``weights`` (the number of customers each row stands for). All times must
    be in one unit (days, weeks...); the fitted ``alpha`` and every prediction horizon
    ``t`` are in that unit.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * (r² + α² + a² + b²)`` on the mean negative log-likelihood.
    tol : float, default=1e-10
        Optimiser tolerance.
    max_iter : int, default=2000
        Maximum optimiser iterations.
    initial_params : dict, default=None
        Starting values for ``r, alpha, a, b``.

    Attributes
    ----------
    params_ : dict of str to float
        ``r, alpha`` (purchase-rate Gamma shape and rate) and ``a, b`` (dropout Beta).
    log_likelihood_ : float
        The log-likelihood at the optimum (without the penalty).
    standard_errors_ : dict of str to float
        Asymptotic standard errors (delta method from the log-parameter Hessian).
    log_params_covariance_ : ndarray of shape (4, 4)
        Covariance of the log-parameters (used by :meth:`bootstrap`).
    n_customers_ : int
        Customers fitted (the sum of the weights).
    n_unique_rows_ : int
        Unique ``(frequency, recency, T)`` rows the likelihood was evaluated on.
    converged_ : bool
        Whether the optimiser converged (a failed fit raises instead).
    n_iter_ : int
        Optimiser iterations.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.clv import BetaGeoModel
    >>> rfm = pd.DataFrame({"frequency": [0, 2, 5, 1, 0, 3], "recency": [0, 30, 35, 4, 0, 12],
    ...                     "T": [38, 39, 39, 20, 10, 30]})
    >>> model = BetaGeoModel(penalizer=0.01).fit(rfm)
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(model.probability_alive(0, 0, 38) == 1.0)
    True
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _prediction_methods: ClassVar[tuple[str, ...]] = (
        "expected_purchases",
        "conditional_expected_purchases",
        "probability_alive",
        "churn_probability",
        "probability_of_n_purchases",
        "expected_time_to_next_purchase",
    )
    _continuous_time: ClassVar[bool] = True

    # ------------------------------------------------------------------ likelihood
    def _prepare(self, data: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        (x, tx, big_t), counts = prepare_rfm(data, where=f"{type(self).__name__}.fit")
        (xu,), xi = factorize_rows(x)
        return (x, tx, big_t, xu, xi), counts

    def _initial_params(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> np.ndarray:
        x, _, big_t = stats[:3]
        w = counts / counts.sum()
        mean_x = max(float(w @ x), 0.05)
        mean_t = max(float(w @ big_t), 1e-3)
        return np.array([1.0, mean_t / mean_x, 1.0, 1.0])

    def _loglik(self, params: np.ndarray, stats: tuple[np.ndarray, ...]) -> np.ndarray:
        return self._loglik_grad(params, stats, grad=False)[0]

    def _loglik_grad(
        self, params: np.ndarray, stats: tuple[np.ndarray, ...], grad: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood (equation 6 of the paper) per unique row, and its gradient.

        ``ll = lnΓ(r+x) - lnΓ(r) + r ln α - ln B(a,b) + ln(e^l1 + e^l2)`` with
        ``l1 = ln B(a, b+x) - (r+x) ln(α+T)`` and, for ``x > 0``,
        ``l2 = ln B(a+1, b+x-1) - (r+x) ln(α+t_x)``. The gamma-function terms depend on
        ``x`` alone and are evaluated once per distinct ``x``.
        """
        r, alpha, a, b = params
        x, tx, big_t, xu, xi = stats
        betaln, psi = special.betaln, special.digamma
        pos_u = xu > 0
        bx1_u = np.where(pos_u, b + xu - 1.0, b)  # b + x - 1 only matters where x > 0
        # Per distinct x.
        c1_u = betaln(a, b + xu)
        c2_u = np.where(pos_u, betaln(a + 1.0, bx1_u), -np.inf)
        head_u = special.gammaln(r + xu) - special.gammaln(r)
        # Per row.
        rx = r + x
        log_at, log_atx = np.log(alpha + big_t), np.log(alpha + tx)
        l1 = c1_u[xi] - rx * log_at
        l2 = c2_u[xi] - rx * log_atx
        lse = np.logaddexp(l1, l2)
        ll = head_u[xi] + r * np.log(alpha) - betaln(a, b) + lse
        if not grad:
            return ll, np.empty((0, 4))
        w1 = np.exp(l1 - lse)
        w2 = 1.0 - w1
        psi_abx_u = psi(a + b + xu)
        da1_u = psi(a) - psi_abx_u
        da2_u = psi(a + 1.0) - psi_abx_u
        db1_u = psi(b + xu) - psi_abx_u
        db2_u = np.where(pos_u, psi(bx1_u) - psi_abx_u, 0.0)
        dr_u = psi(r + xu) - psi(r)
        d_r = dr_u[xi] + np.log(alpha) - w1 * log_at - w2 * log_atx
        d_alpha = r / alpha - rx * (w1 / (alpha + big_t) + w2 / (alpha + tx))
        d_a = -(psi(a) - psi(a + b)) + w1 * da1_u[xi] + w2 * da2_u[xi]
        d_b = -(psi(b) - psi(a + b)) + w1 * db1_u[xi] + w2 * db2_u[xi]
        return ll, np.column_stack([d_r, d_alpha, d_a, d_b])

    # ------------------------------------------------------------------ predictions
    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """``log(P(dead) / P(alive))`` given the history; ``-inf`` when ``x == 0``."""
        r, alpha, a, b = self._params()
        pos = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (
                np.log(a)
                - np.log(np.where(pos, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
            )
        return np.where(pos, val, -np.inf)

    def _expected_if_alive(self, t: np.ndarray, x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """``(a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]``.

        Evaluated through Euler's transformation, ``(1-z)^(a-1) 2F1(a+b-1-r, a-1;
        a+b+x-1; z)`` with ``z = t / (α+T+t)``, whose parameters stay small for any x, so
        nothing overflows for heavy buyers or long horizons.
        """
        r, alpha, a, b = self._params()
        z = t / (alpha + big_t + t)
        c = a + b + x - 1.0
        with np.errstate(all="ignore"):
            hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
            term = np.exp((a - 1.0) * np.log1p(-z)) * hyp
        return c / (a - 1.0) * (1.0 - term) + 0.0  # + 0.0 turns -0.0 into 0.0

    def expected_purchases(self, t: Any) -> np.ndarray:
        """Expected repeat purchases of a new customer in ``(0, t]``: E[X(t)].

        Parameters
        ----------
        t : float or array-like
            Time span(s), in the model's time unit.

        Returns
        -------
        ndarray
            Shaped like ``t``.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.expected_purchases"
        (t,) = as_float_arrays(where, t=t)
        _check_time(where, t)
        zero = np.zeros_like(t)
        return self._expected_if_alive(t, zero, zero)

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """Expected purchases in the next ``t`` time units, given each customer's history.

        Parameters
        ----------
        t : float or array-like
            Horizon, in the model's time unit.
        frequency, recency, T : float or array-like
            The customers' summary (see the class docstring); arrays broadcast together.

        Returns
        -------
        ndarray
            E[Y(t) | x, t_x, T], one value per customer.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.conditional_expected_purchases"
        t, x, tx, big_t = as_float_arrays(where, t=t, frequency=frequency, recency=recency, T=T)
        _check_time(where, t)
        check_prediction_rfm(where, x, tx, big_t)
        p_alive = special.expit(-self._log_odds_dead(x, tx, big_t))
        return self._expected_if_alive(t, x, big_t) * p_alive

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T): the probability a customer has not yet dropped out.

        A customer without repeat purchases has probability 1 (BG/NBD only lets a customer
        drop out right after a repeat purchase).

        Returns
        -------
        ndarray
            One probability per customer.
        """
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

    def probability_of_n_purchases(self, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases in ``(0, t]``.

        Equation (8) of Fader, Hardie & Lee (2005).

        Parameters
        ----------
        t : float or array-like
            Time span, in the model's time unit.
        n : int or array-like of int
            Number of repeat purchases.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.probability_of_n_purchases"
        t, n = as_float_arrays(where, t=t, n=n)
        _check_time(where, t)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise DataError(f"{where}: n must be a whole number >= 0, got {n!r}.")
        r, alpha, a, b = self._params()
        q = t / (alpha + t)  # the NB "failure" probability 1 - α/(α+t)
        with np.errstate(all="ignore"):
            log_first = (
                special.betaln(a, b + n)
                - special.betaln(a, b)
                + special.gammaln(r + n)
                - special.gammaln(r)
                - special.gammaln(n + 1.0)
                + r * np.log(alpha / (alpha + t))
                + special.xlogy(n, q)
            )
            pos = n > 0
            nb_tail = special.betainc(np.where(pos, n, 1.0), r, q)  # P(NB >= n)
            second = np.where(
                pos,
                np.exp(
                    special.betaln(a + 1.0, np.where(pos, b + n - 1.0, b)) - special.betaln(a, b)
                )
                * nb_tail,
                0.0,
            )
        return np.exp(log_first) + second

    def expected_time_to_next_purchase(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected time between purchases for a customer who is still alive: (α + T) / (r + x).

        This is ``1 / E[λ | x, T, alive]``, the posterior mean purchase rate's reciprocal;
        add it to the last purchase (or to today) for an expected next-order date. It does
        not account for dropout: pair it with :meth:`probability_alive` (a customer who is
        likely gone has no next order). Units: the model's time unit.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.expected_time_to_next_purchase"
        x, tx, big_t = as_float_arrays(where, frequency=frequency, recency=recency, T=T)
        check_prediction_rfm(where, x, tx, big_t)
        r, alpha, _, _ = self._params()
        return (alpha + big_t) / (r + x) + 0.0 * tx

    def predict(self, data: Any, *, t: float) -> np.ndarray:
        """Expected purchases in the next ``t`` time units for each row of ``data``.

        Parameters
        ----------
        data : table
            Columns ``frequency, recency, T`` (as for :meth:`fit`).
        t : float
            Horizon, in the model's time unit.
        """
        self._check_fitted()
        cols = table_columns(
            data, required=("frequency", "recency", "T"), where=f"{type(self).__name__}.predict"
        )
        return self.conditional_expected_purchases(t, cols["frequency"], cols["recency"], cols["T"])
