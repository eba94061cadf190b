"""The BG/BB model (Fader, Hardie & Shang 2010): discrete transaction opportunities.

For settings where purchases can only happen at discrete occasions (a yearly donation
drive, a weekly event): at each opportunity an alive customer transacts with probability
``p ~ Beta(α, β)``, and after it drops out with probability ``θ ~ Beta(γ, δ)``.

Input: ``frequency`` (x, opportunities with a transaction), ``recency`` (t_x, the
opportunity of the last transaction, 0 if none) and ``T`` (n, the number of
opportunities observed), plus optional ``weights`` (customers per row): the BG/BB
literature works on the recency/frequency matrix with counts, as in the donations data.

References
----------
Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). "Customer-base analysis in a
discrete-time noncontractual setting." *Marketing Science* 29(6), 1086-1108.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import special

from custseg.clv._base import CLVModel
from custseg.clv._data import (
    RFM_HINT,
    _table_to_mapping,
    as_float_arrays,
    check_prediction_rfm,
    factorize_rows,
    prepare_rfm,
    table_columns,
)
from custseg.exceptions import DataError, SchemaError

__all__ = ["BetaGeoBetaBinomModel"]

#: Cells of the (rows x opportunities) matrix evaluated at once in the likelihood.
_BLOCK_CELLS = 2_000_000


def _check_periods(where: str, t: np.ndarray, name: str = "t") -> None:
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise DataError(
            f"{where}: {name} must be a whole number of transaction opportunities >= 0, got {t!r}."
        )


class BetaGeoBetaBinomModel(CLVModel):
    """BG/BB model of repeat transactions at discrete opportunities.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * (α² + β² + γ² + δ²)`` on the mean negative log-likelihood.
    tol : float, default=1e-10
        Optimiser tolerance.
    max_iter : int, default=2000
        Maximum optimiser iterations.
    initial_params : dict, default=None
        Starting values for ``alpha, beta, gamma, delta``.

    Attributes
    ----------
    params_ : dict of str to float
        ``alpha, beta`` (Beta of the transaction probability p) and ``gamma, delta`` (Beta
        of the dropout probability θ).
    log_likelihood_, standard_errors_, log_params_covariance_, n_customers_,
    n_unique_rows_, converged_, n_iter_
        As for :class:`~custseg.clv.BetaGeoModel`.

    Examples
    --------
    >>> from custseg.clv import BetaGeoBetaBinomModel
    >>> model = BetaGeoBetaBinomModel()
    >>> model.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    >>> model.probability_alive([0, 2, 6], [0, 4, 6], 6).round(2)
    array([0.11, 0.59, 0.93])
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _prediction_methods: ClassVar[tuple[str, ...]] = (
        "expected_purchases",
        "conditional_expected_purchases",
        "probability_alive",
        "churn_probability",
        "probability_of_n_purchases",
    )

    # ------------------------------------------------------------------ likelihood
    def _prepare(self, data: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        where = f"{type(self).__name__}.fit"
        table = _table_to_mapping(data)
        if "T" not in table:
            for alt in ("periods", "n_periods", "n"):
                if alt in table:
                    raise SchemaError(
                        f"{where} needs the column 'T' (the number of transaction "
                        f"opportunities); the table has {alt!r}: rename it to 'T'."
                    )
        return prepare_rfm(table, where=where, discrete=True, hint=RFM_HINT)

    def _initial_params(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> np.ndarray:
        return np.array([1.0, 1.0, 1.0, 1.0])

    @staticmethod
    def _row_blocks(n_rows: int, width: int) -> list[slice]:
        size = max(1, _BLOCK_CELLS // max(width, 1))
        return [slice(i, min(i + size, n_rows)) for i in range(0, n_rows, size)]

    def _loglik_grad(
        self, params: np.ndarray, stats: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood (equation 5 of the paper) and its gradient, per unique row.

        The likelihood is a sum of ``1 + (n - t_x)`` terms, each a product of Beta
        functions: the customer alive through ``n``, or dropping out after opportunity
        ``t_x + i``. The log is a log-sum-exp over a (rows x opportunities) matrix and the
        gradient the softmax-weighted gradients of the terms.
        """
        alpha, beta, gamma, delta = params
        x, tx, n = stats
        psi, betaln = special.digamma, special.betaln
        width = int((n - tx).max()) if n.size else 0
        ll = np.empty(x.size)
        grad = np.empty((x.size, 4))
        # Parts shared by every term (they factor out of the log-sum-exp).
        common = -betaln(alpha, beta) - betaln(gamma, delta)
        c_grad = np.array(
            [
                -(psi(alpha) - psi(alpha + beta)),
                -(psi(beta) - psi(alpha + beta)),
                -(psi(gamma) - psi(gamma + delta)),
                -(psi(delta) - psi(gamma + delta)),
            ]
        )
        i = np.arange(width, dtype=np.float64)
        for blk in self._row_blocks(x.size, width + 1):
            xb, txb, nb = x[blk, None], tx[blk, None], n[blk, None]
            # Term 0: alive through all n opportunities.
            k0 = nb - xb
            t0 = betaln(alpha + xb, beta + k0) + betaln(gamma, delta + nb)
            # Terms i = 0 .. n - t_x - 1: dropped out after opportunity t_x + i.
            ki = txb - xb + i
            di = delta + txb + i
            valid = i < (nb - txb)
            ti = np.where(valid, betaln(alpha + xb, beta + ki) + betaln(gamma + 1.0, di), -np.inf)
            terms = np.concatenate([t0, ti], axis=1)
            lse = special.logsumexp(terms, axis=1, keepdims=True)
            w = np.exp(terms - lse)
            ll[blk] = lse[:, 0] + common
            psi_ab = np.concatenate(
                [psi(alpha + beta + xb + k0), psi(alpha + beta + xb + ki)], axis=1
            )
            d_alpha = psi(alpha + xb) - psi_ab  # same first Beta argument in every term
            d_beta = np.concatenate([psi(beta + k0), psi(beta + ki)], axis=1) - psi_ab
            d_gamma = np.concatenate(
                [psi(gamma) - psi(gamma + delta + nb), psi(gamma + 1.0) - psi(gamma + di + 1.0)],
                axis=1,
            )
            d_delta = np.concatenate(
                [psi(delta + nb) - psi(gamma + delta + nb), psi(di) - psi(gamma + di + 1.0)],
                axis=1,
            )
            for j, d in enumerate((d_alpha, d_beta, d_gamma, d_delta)):
                grad[blk, j] = np.sum(np.where(w > 0, w * d, 0.0), axis=1) + c_grad[j]
        return ll, grad

    def _loglik(self, params: np.ndarray, stats: tuple[np.ndarray, ...]) -> np.ndarray:
        return self._loglik_grad(params, stats)[0]

    def _log_lik_rows(self, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The log-likelihood of arbitrary (broadcast) histories at the fitted parameters."""
        shape = np.broadcast_shapes(x.shape, tx.shape, n.shape)
        xs, txs, ns = (np.broadcast_to(a, shape).ravel() for a in (x, tx, n))
        # Evaluate each distinct history once (customers share a handful of histories).
        (xu, txu, nu), codes = factorize_rows(xs, txs, ns)
        with np.errstate(all="ignore"):
            ll, _ = self._loglik_grad(np.array(self._params()), (xu, txu, nu))
        return ll[codes].reshape(shape)

    # ------------------------------------------------------------------ predictions
    def _inputs(
        self, where: str, frequency: Any, recency: Any, T: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, tx, n = as_float_arrays(where, frequency=frequency, recency=recency, T=T)
        check_prediction_rfm(where, x, tx, n, discrete=True)
        return x, tx, n

    def _log_alive(self, t: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
        alpha, beta, gamma, delta = self._params()
        betaln = special.betaln
        return (
            betaln(alpha + x, beta + n - x)
            - betaln(alpha, beta)
            + betaln(gamma, delta + n + t)
            - betaln(gamma, delta)
            - self._log_lik_rows(x, tx, n)
        )

    def probability_alive(self, frequency: Any, recency: Any, T: Any, *, t: Any = 1) -> np.ndarray:
        """P(alive at opportunity ``T + t`` | x, t_x, T).

        With the default ``t=1`` this is the probability the customer is still there for
        the next opportunity: the paper's "P(alive in 2002)" for donors observed over the
        six opportunities 1996-2001 (its Table 6), and lifetimes'
        ``conditional_probability_alive(1, ...)``. ``t=0`` is the probability of being
        alive at the last observed opportunity ``T``.

        Parameters
        ----------
        frequency, recency, T : int or array-like
            The customers' history (see the module docstring).
        t : int or array-like, default=1
            Opportunities after ``T``.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.probability_alive"
        x, tx, n = self._inputs(where, frequency, recency, T)
        (t,) = as_float_arrays(where, t=t)
        _check_periods(where, t)
        return np.exp(self._log_alive(t, x, tx, n))

    def churn_probability(self, frequency: Any, recency: Any, T: Any, *, t: Any = 1) -> np.ndarray:
        """``1 - probability_alive(frequency, recency, T, t=t)``."""
        return 1.0 - self.probability_alive(frequency, recency, T, t=t)

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """Expected transactions over the next ``t`` opportunities given the history.

        Equation (13) of Fader, Hardie & Shang (2010): E[X(n, n + t) | x, t_x, n].

        Parameters
        ----------
        t : int or array-like
            Number of future opportunities (lifetimes' ``m_periods_in_future``).
        frequency, recency, T : int or array-like
            The customers' history.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.conditional_expected_purchases"
        x, tx, n = self._inputs(where, frequency, recency, T)
        (t,) = as_float_arrays(where, t=t)
        _check_periods(where, t)
        alpha, beta, gamma, delta = self._params()
        gammaln = special.gammaln
        log_front = (
            special.betaln(alpha + x + 1.0, beta + n - x)
            - special.betaln(alpha, beta)
            - self._log_lik_rows(x, tx, n)
            + gammaln(gamma + delta)
            - gammaln(1.0 + delta)
        )
        # δ/(γ-1) · [Γ(1+δ+n)/Γ(γ+δ+n) - Γ(1+δ+n+t)/Γ(γ+δ+n+t)], both factors change
        # sign together at γ = 1.
        g_now = np.exp(gammaln(1.0 + delta + n) - gammaln(gamma + delta + n))
        g_then = np.exp(gammaln(1.0 + delta + n + t) - gammaln(gamma + delta + n + t))
        return np.exp(log_front) * delta / (gamma - 1.0) * (g_now - g_then)

    def expected_purchases(self, t: Any) -> np.ndarray:
        """Expected transactions of a new customer over the first ``t`` opportunities.

        Equation (9) of the paper: ``α/(α+β) · δ/(γ-1) · [1 - Γ(γ+δ)Γ(1+δ+t) /
        (Γ(γ+δ+t)Γ(1+δ))]``.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.expected_purchases"
        (t,) = as_float_arrays(where, t=t)
        _check_periods(where, t)
        alpha, beta, gamma, delta = self._params()
        gammaln = special.gammaln
        ratio = np.exp(
            gammaln(gamma + delta)
            + gammaln(1.0 + delta + t)
            - gammaln(gamma + delta + t)
            - gammaln(1.0 + delta)
        )
        return alpha / (alpha + beta) * delta / (gamma - 1.0) * (1.0 - ratio) + 0.0

    def probability_of_n_purchases(self, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n): a new customer makes ``n`` transactions in the first ``t`` opportunities.

        Equation (7) of the paper. Multiply by the cohort size for the expected number of
        customers with each frequency (the in-sample fit check).

        Parameters
        ----------
        t : int
            Number of opportunities.
        n : int or array-like of int
            Number of transactions, ``0 <= n <= t``.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.probability_of_n_purchases"
        t_arr, n_arr = as_float_arrays(where, t=t, n=n)
        _check_periods(where, t_arr)
        _check_periods(where, n_arr, "n")
        if t_arr.ndim:
            raise DataError(f"{where}: t must be a single number of opportunities.")
        t_val = int(t_arr)
        alpha, beta, gamma, delta = self._params()
        betaln = special.betaln
        k = n_arr[..., None]
        i = np.arange(t_val, dtype=np.float64)
        log_binom = special.gammaln  # log C(i, k) = lnΓ(i+1) - lnΓ(k+1) - lnΓ(i-k+1)
        first = (
            log_binom(t_val + 1.0)
            - log_binom(k + 1.0)
            - log_binom(t_val - k + 1.0)
            + betaln(alpha + k, beta + t_val - k)
            + betaln(gamma, delta + t_val)
        )
        with np.errstate(all="ignore"):
            rest = np.where(
                i >= k,
                log_binom(i + 1.0)
                - log_binom(k + 1.0)
                - log_binom(np.maximum(i - k, 0) + 1.0)
                + betaln(alpha + k, beta + np.maximum(i - k, 0))
                + betaln(gamma + 1.0, delta + i),
                -np.inf,
            )
        terms = np.concatenate([first, rest], axis=-1)
        out = np.exp(special.logsumexp(terms, axis=-1) - betaln(alpha, beta) - betaln(gamma, delta))
        return np.where(n_arr <= t_val, out, 0.0)

    def expected_cohort_purchases(self, t: int, data: Any) -> float:
        """Expected transactions of a whole cohort over the next ``t`` opportunities.

        The sum over the rows of ``data`` of :meth:`conditional_expected_purchases` times
        the row's ``weights`` (1 when absent). For the donations data and ``t=5`` this is
        the 12,884.2 of Hardie's BG/BB spreadsheet.
        """
        self._check_fitted()
        cols = table_columns(
            data,
            required=("frequency", "recency", "T"),
            optional=("weights",),
            where=f"{type(self).__name__}.expected_cohort_purchases",
        )
        w = cols.get("weights", np.ones_like(cols["frequency"]))
        e = self.conditional_expected_purchases(t, cols["frequency"], cols["recency"], cols["T"])
        return float(w @ e)

    def predict(self, data: Any, *, t: int) -> np.ndarray:
        """Expected transactions over the next ``t`` opportunities for each row of ``data``."""
        self._check_fitted()
        cols = table_columns(
            data, required=("frequency", "recency", "T"), where=f"{type(self).__name__}.predict"
        )
        return self.conditional_expected_purchases(t, cols["frequency"], cols["recency"], cols["T"])
