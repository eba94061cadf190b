"""The Gamma-Gamma model of spend per transaction, and customer lifetime value.

A customer's transaction values are Gamma(p, ν) with a customer-specific ``ν ~ Gamma(q,
v)`` (the paper's γ is ``v`` here, as in lifetimes). Given ``x`` repeat transactions with
mean value ``z̄``, the expected spend per transaction shrinks ``z̄`` towards the population
mean ``p v / (q - 1)``. The model assumes spend is independent of purchase frequency; the
fitted :attr:`GammaGammaModel.frequency_monetary_corr_` lets you check that.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
curves for customer base analysis." *Journal of Marketing Research* 42(4), 415-430.
Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (brucehardie.com/notes/025).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy import special

from custseg.clv._base import CLVModel
from custseg.clv._data import (
    _fail_rows,
    as_float_arrays,
    check_prediction_rfm,
    collapse,
    factorize_rows,
    table_columns,
)
from custseg.exceptions import DataError, UsageError

__all__ = ["GammaGammaModel"]

log = logging.getLogger(__name__)

#: Days (etc.) per month for :meth:`GammaGammaModel.customer_lifetime_value`, as in lifetimes.
PERIODS_PER_MONTH: dict[str, float] = {"h": 30.0 * 24.0, "D": 30.0, "W": 4.345, "M": 1.0}


class GammaGammaModel(CLVModel):
    """Gamma-Gamma model of the average transaction value of repeat customers.

    Input columns: ``frequency`` (repeat purchase periods) and ``monetary_value`` (the
    mean value of the repeat purchase periods, as :func:`custseg.clv.rfm_summary` computes
    it), plus optional ``weights``. Only repeat customers (``frequency > 0``) carry
    information; ``fit`` skips the others (their ``monetary_value`` is 0 by convention).

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * (p² + q² + v²)`` on the mean negative log-likelihood.
    tol : float, default=1e-10
        Optimiser tolerance.
    max_iter : int, default=2000
        Maximum optimiser iterations.
    initial_params : dict, default=None
        Starting values for ``p, q, v``.

    Attributes
    ----------
    params_ : dict of str to float
        ``p`` (shape of a transaction's value), ``q, v`` (shape and scale of its rate).
    frequency_monetary_corr_ : float
        Pearson correlation of frequency and monetary value among the repeat customers
        fitted. The model assumes independence; a value far from 0 (say above 0.3 in
        absolute value) means the model is a poor fit.
    log_likelihood_, standard_errors_, log_params_covariance_, n_customers_,
    n_unique_rows_, converged_, n_iter_
        As for :class:`~custseg.clv.BetaGeoModel` (``n_customers_`` counts repeat
        customers only).

    Examples
    --------
    >>> from custseg.clv import GammaGammaModel
    >>> model = GammaGammaModel()
    >>> model.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> model.conditional_expected_average_profit([2, 0], [22.35, 0.0]).round(2)
    array([24.66, 35.22])
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    _prediction_methods: ClassVar[tuple[str, ...]] = ("conditional_expected_average_profit",)

    # ------------------------------------------------------------------ likelihood
    def _prepare(self, data: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        where = f"{type(self).__name__}.fit"
        cols = table_columns(
            data,
            required=("frequency", "monetary_value"),
            optional=("weights",),
            where=where,
            hint="Build it with custseg.clv.rfm_summary(..., monetary_value_col=...) first.",
        )
        x, m = cols["frequency"], cols["monetary_value"]
        w = cols.get("weights", np.ones_like(x))
        _fail_rows(
            (x < 0) | (x != np.round(x)),
            "frequency that is not a whole number >= 0",
            where=where,
            detail=f"frequency={x[np.argmax((x < 0) | (x != np.round(x)))]:g}",
            fix="frequency counts repeat purchase periods; rebuild with custseg.clv.rfm_summary.",
        )
        if np.any(w < 0):
            raise DataError(f"{where}: weights must be >= 0.")
        keep = (x > 0) & (w > 0)
        if not keep.any():
            raise DataError(
                f"{where}: no customer has frequency > 0; the Gamma-Gamma model is fitted on "
                "repeat customers only."
            )
        bad = keep & (m <= 0)
        _fail_rows(
            bad,
            "monetary_value <= 0 for a repeat customer",
            where=where,
            detail=f"frequency={x[np.argmax(bad)]:g}, monetary_value={m[np.argmax(bad)]:g}",
            fix="The model needs positive spend: drop those customers, or net returns against "
            "orders before building the summary.",
        )
        skipped = int((~keep).sum())
        if skipped:
            log.info("%s: skipping %d rows with frequency 0", where, skipped)
        xk, mk, wk = x[keep], m[keep], w[keep]
        self._corr = _weighted_corr(xk, mk, wk)
        (xu_rows, mu_rows), counts = collapse([xk, mk], wk)
        (xu,), xi = factorize_rows(xu_rows)
        return (xu_rows, mu_rows, xu, xi), counts

    def _fit_stats(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> None:
        super()._fit_stats(stats, counts)
        self.frequency_monetary_corr_ = float(self._corr)
        if abs(self.frequency_monetary_corr_) > 0.3:
            log.warning(
                "%s: frequency and monetary value are correlated (r=%.2f); the model assumes "
                "they are independent",
                type(self).__name__,
                self.frequency_monetary_corr_,
            )
        if self.params_["q"] <= 1:
            log.info(
                "%s: fitted q=%.3g <= 1, so the expected spend is infinite; predictions will fail",
                type(self).__name__,
                self.params_["q"],
            )

    def _initial_params(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> np.ndarray:
        m = stats[1]
        mean_m = float(counts @ m / counts.sum())
        return np.array([1.0, 2.0, mean_m])

    def _loglik_grad(
        self, params: np.ndarray, stats: tuple[np.ndarray, ...], grad: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log-density of each customer's mean spend ``z̄`` given ``x`` (note 025, eq. 5).

        ``lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln v + (px-1) ln z̄ + px ln x - (px+q) ln(v + x z̄)``;
        the gamma-function terms depend on ``x`` alone and are evaluated per distinct x.
        """
        p, q, v = params
        x, m, xu, xi = stats
        pxu = p * xu
        head_u = special.gammaln(pxu + q) - special.gammaln(pxu) + pxu * np.log(xu)
        log_m = np.log(m)
        log_vxm = np.log(v + x * m)
        px = p * x
        ll = (
            head_u[xi]
            - special.gammaln(q)
            + q * np.log(v)
            + (px - 1.0) * log_m
            - (px + q) * log_vxm
        )
        if not grad:
            return ll, np.empty((0, 3))
        psi_pq_u = special.digamma(pxu + q)
        dp_u = xu * (psi_pq_u - special.digamma(pxu) + np.log(xu))
        d_p = dp_u[xi] + x * (log_m - log_vxm)
        d_q = psi_pq_u[xi] - special.digamma(q) + np.log(v) - log_vxm
        d_v = q / v - (px + q) / (v + x * m)
        return ll, np.column_stack([d_p, d_q, d_v])

    def _loglik(self, params: np.ndarray, stats: tuple[np.ndarray, ...]) -> np.ndarray:
        return self._loglik_grad(params, stats, grad=False)[0]

    def _extra_state(self) -> dict[str, Any]:
        return {"frequency_monetary_corr": self.frequency_monetary_corr_}

    def _load_extra_state(self, extra: Mapping[str, Any]) -> None:
        self.frequency_monetary_corr_ = float(extra.get("frequency_monetary_corr", np.nan))

    # ------------------------------------------------------------------ predictions
    def _checked_params(self, where: str) -> tuple[float, float, float]:
        p, q, v = self._params()
        if q <= 1:
            raise UsageError(
                f"{where}: the fitted q={q:.4g} is <= 1, so the expected spend is infinite. "
                "Refit with a penalizer, or check the monetary values for outliers."
            )
        return p, q, v

    def expected_average_profit(self) -> float:
        """The population mean spend per transaction, ``p v / (q - 1)``."""
        self._check_fitted()
        p, q, v = self._checked_params(f"{type(self).__name__}.expected_average_profit")
        return p * v / (q - 1.0)

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> np.ndarray:
        """Expected spend per transaction given ``x`` repeat purchases averaging ``z̄``.

        ``(p x z̄ + v p) / (p x + q - 1)``: a weighted mean of the customer's own average
        (weight ``p x / (p x + q - 1)``) and the population mean ``p v / (q - 1)``.
        Customers without repeat purchases get the population mean.

        Parameters
        ----------
        frequency, monetary_value : float or array-like
            Repeat purchase periods and their mean value; arrays broadcast together.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.conditional_expected_average_profit"
        x, m = as_float_arrays(where, frequency=frequency, monetary_value=monetary_value)
        if np.any(x < 0):
            raise DataError(f"{where}: frequency must be >= 0.")
        p, q, v = self._checked_params(where)
        weight = p * x / (p * x + q - 1.0)
        return (1.0 - weight) * (p * v / (q - 1.0)) + weight * m

    def predict(self, data: Any) -> np.ndarray:
        """:meth:`conditional_expected_average_profit` for each row of a table with
        ``frequency`` and ``monetary_value``."""
        self._check_fitted()
        cols = table_columns(
            data, required=("frequency", "monetary_value"), where=f"{type(self).__name__}.predict"
        )
        return self.conditional_expected_average_profit(cols["frequency"], cols["monetary_value"])

    def customer_lifetime_value(
        self,
        transaction_model: CLVModel,
        data: Any,
        *,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
    ) -> np.ndarray:
        """Discounted expected profit over the next ``time`` months, per customer.

        As in lifetimes: for each month ``i = 1..time``, the expected purchases in that
        month (from ``transaction_model``), times the expected profit per purchase (this
        model), divided by ``(1 + discount_rate) ** i``, summed over the months.

        Parameters
        ----------
        transaction_model : BetaGeoModel or ParetoNBDModel
            A fitted continuous-time purchase model.
        data : table
            Columns ``frequency, recency, T, monetary_value`` (one row per customer).
        time : int, default=12
            Horizon in months.
        discount_rate : float, default=0.01
            Discount rate per month (0.01 a month is about 12.7% a year).
        freq : {"D", "W", "M", "h"}, default="D"
            The time unit ``transaction_model`` was fitted in (the unit of ``recency`` and
            ``T``): a month is 30 days, 4.345 weeks, 1 month or 720 hours.

        Returns
        -------
        ndarray
            The lifetime value of each customer, in the currency of ``monetary_value``.
        """
        self._check_fitted()
        where = f"{type(self).__name__}.customer_lifetime_value"
        if not getattr(transaction_model, "_continuous_time", False):
            raise UsageError(
                f"{where}: transaction_model must be a fitted BetaGeoModel or ParetoNBDModel, "
                f"got {type(transaction_model).__name__}."
            )
        if freq not in PERIODS_PER_MONTH:
            raise UsageError(
                f"{where}: freq must be one of {list(PERIODS_PER_MONTH)} (the time unit of the "
                f"transaction model), got {freq!r}."
            )
        if not isinstance(time, int) or time < 1:
            raise UsageError(f"{where}: time must be a whole number of months >= 1, got {time!r}.")
        if not discount_rate > -1:
            raise UsageError(f"{where}: discount_rate must be > -1, got {discount_rate!r}.")
        cols = table_columns(
            data, required=("frequency", "recency", "T", "monetary_value"), where=where
        )
        x, tx, big_t = cols["frequency"], cols["recency"], cols["T"]
        check_prediction_rfm(where, x, tx, big_t)
        profit = self.conditional_expected_average_profit(x, cols["monetary_value"])
        # Expected purchases depend on (x, t_x, T) only: compute them once per distinct row.
        (xu, txu, tu), codes = factorize_rows(x, tx, big_t)
        factor = PERIODS_PER_MONTH[freq]
        clv = np.zeros_like(profit)
        previous = np.zeros(xu.size)
        for month in range(1, time + 1):
            cumulative = transaction_model.conditional_expected_purchases(
                month * factor, xu, txu, tu
            )
            clv += profit * (cumulative - previous)[codes] / (1.0 + discount_rate) ** month
            previous = cumulative
        return clv


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    if x.size < 2:
        return float("nan")
    w = w / w.sum()
    dx, dy = x - w @ x, y - w @ y
    denom = np.sqrt((w @ dx**2) * (w @ dy**2))
    return float((w @ (dx * dy)) / denom) if denom > 0 else float("nan")
