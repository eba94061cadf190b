"""Predictive features: CLV, expected orders, P(alive), churn and the next order date.

The models are fitted in Python on what is small by construction: the distinct
``(clv_frequency, clv_recency, clv_T, clv_monetary)`` rows of the feature table, with
their counts as weights (a million customers collapse to far fewer rows). Predictions
are computed once per distinct row and handed back to the engine as a small table
joined on those four columns, so the feature table stays an Ibis expression.

Models: BG/NBD for purchases and P(alive), Gamma-Gamma for the value of a purchase
(see ``docs/clv.md``). Time is in weeks, as in the ``clv_*`` inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from custseg.clv import BetaGeoModel, GammaGammaModel
from custseg.config import ClvConfig
from custseg.exceptions import CustsegError

__all__ = ["PredictiveModels", "add_predictions", "prediction_columns"]

log = logging.getLogger(__name__)

_KEYS = ("clv_frequency", "clv_recency", "clv_T", "clv_monetary")
_DAYS_PER_MONTH = 365.25 / 12


@dataclass
class PredictiveModels:
    """The models behind the predictive features (``None`` when they could not be fitted)."""

    transactions: BetaGeoModel | None
    spend: GammaGammaModel | None
    distinct_rows: int
    customers: int


def prediction_columns(config: ClvConfig) -> list[str]:
    """Names of the columns :func:`add_predictions` adds."""
    h = f"{config.horizon_days}d"
    return [f"clv_{h}", f"expected_orders_{h}", "p_alive", "churn_probability", "next_order_date"]


def add_predictions(
    features: ir.Table, *, config: ClvConfig, as_of: date
) -> tuple[ir.Table, PredictiveModels]:
    """Add the predictive columns to a feature table.

    Parameters
    ----------
    features
        The feature table, with ``customer_id`` and the ``clv_*`` inputs (weeks).
    config
        ``[clv]``: horizon, annual discount rate, penalizer.
    as_of
        The as-of date (the next order date is counted from it).

    Returns
    -------
    (table, models)
        ``features`` plus ``clv_<h>d`` (discounted expected net revenue over the horizon),
        ``expected_orders_<h>d``, ``p_alive``, ``churn_probability`` (1 - p_alive) and
        ``next_order_date`` (as_of + the expected time to the next order *if the customer is
        active*; read it with p_alive). Customers without orders get nulls.
    """
    names = prediction_columns(config)
    # The join below matches the predictions to the rows on the exact key values, so both
    # reads of a lazy ``features`` must give the same bits: behavior.rfm_summary makes them
    # so (money summed as exact decimals, times in whole days / 7).
    keyed = features.mutate(**{f"_k_{k}": features[k].cast("float64") for k in _KEYS})
    buyers = keyed.filter(keyed["_k_clv_T"].notnull())
    keys = [f"_k_{k}" for k in _KEYS]
    # sorted: the fit must not depend on the order a GROUP BY returns rows in
    distinct = buyers.group_by(keys).agg(weights=buyers.count()).order_by(keys).to_pyarrow()
    n_customers = int(pa.compute.sum(distinct["weights"]).as_py() or 0)
    empty = PredictiveModels(None, None, distinct.num_rows, n_customers)
    if distinct.num_rows == 0:
        return _null_columns(features, names), empty
    x = distinct["_k_clv_frequency"].to_numpy(zero_copy_only=False)
    tx = distinct["_k_clv_recency"].to_numpy(zero_copy_only=False)
    big_t = distinct["_k_clv_T"].to_numpy(zero_copy_only=False)
    m = np.nan_to_num(distinct["_k_clv_monetary"].to_numpy(zero_copy_only=False), nan=0.0)
    w = distinct["weights"].to_numpy(zero_copy_only=False).astype(float)
    horizon_weeks = config.horizon_days / 7.0

    def finite_predictions(fitted: BetaGeoModel) -> str | None:
        with np.errstate(all="ignore"):
            e = fitted.conditional_expected_purchases(horizon_weeks, x, tx, big_t)
            p = fitted.probability_alive(x, tx, big_t)
        if np.all(np.isfinite(e)) and np.all(np.isfinite(p)):
            return None
        params = ", ".join(f"{k}={v:.4g}" for k, v in fitted.params_.items())
        return f"predictions overflow ({params})"

    bgf = _fit(
        BetaGeoModel,
        {"frequency": x, "recency": tx, "T": big_t, "weights": w},
        config,
        check=finite_predictions,
    )
    if bgf is None:
        log.warning("BG/NBD could not be fitted: the predictive features are left null")
        return _null_columns(features, names), empty
    ok = (x > 0) & (m > 0)
    ggf: GammaGammaModel | None = None
    if ok.sum() >= 10:
        ggf = _fit(
            GammaGammaModel,
            {"frequency": x[ok], "monetary_value": m[ok], "weights": w[ok]},
            config,
        )
        # heavy-tailed spends (bulk buyers) can make q <= 1 (an infinite mean spend):
        # winsorize the repeat values at a lower and lower percentile and refit
        for level in WINSORIZE_LEVELS:
            if ggf is not None:
                break
            cap = _weighted_quantile(m[ok], w[ok], level)
            log.info("Gamma-Gamma: repeat values capped at %.2f (percentile %g)", cap, 100 * level)
            ggf = _fit(
                GammaGammaModel,
                {"frequency": x[ok], "monetary_value": np.minimum(m[ok], cap), "weights": w[ok]},
                config,
            )
            if ggf is not None:
                m = np.where(ok, np.minimum(m, cap), m)
    expected = bgf.conditional_expected_purchases(horizon_weeks, x, tx, big_t)
    p_alive = bgf.probability_alive(x, tx, big_t)
    gap_days = 7.0 * bgf.expected_time_to_next_purchase(x, tx, big_t)
    clv = np.full(len(x), np.nan)
    profit = None
    if ggf is not None:
        # repeat buyers with a non-positive repeat value get the population's expected spend
        profit = ggf.conditional_expected_average_profit(np.where(ok, x, 0), np.where(ok, m, 0.0))
        if not np.all(np.isfinite(profit)):
            # a degenerate fit (e.g. accepted at the noise floor with extreme p, v) can
            # overflow; fall back to the observed values rather than losing clv_*
            log.warning(
                "Gamma-Gamma fit %s gives non-finite expected spends",
                {k: round(v, 4) for k, v in ggf.params_.items()},
            )
            ggf, profit = None, None
    if profit is None and ok.any():
        log.warning(
            "Gamma-Gamma could not be fitted even on winsorized values: clv_* uses each repeat "
            "buyer's observed mean repeat value (the population mean for the others)"
        )
        profit = np.where(ok, m, float(np.average(m[ok], weights=w[ok])))
    if profit is not None:
        months = max(1, round(config.horizon_days / _DAYS_PER_MONTH))
        monthly = (1.0 + config.annual_discount_rate) ** (1 / 12) - 1.0
        clv = np.zeros(len(x))
        prev = np.zeros(len(x))
        for i in range(1, months + 1):
            cum = bgf.conditional_expected_purchases(i * _DAYS_PER_MONTH / 7.0, x, tx, big_t)
            clv += (cum - prev) * profit / (1.0 + monthly) ** i
            prev = cum
    preds = pa.table(
        {
            **{f"_k_{k}": distinct[f"_k_{k}"] for k in _KEYS},
            names[0]: pa.array(np.round(clv, 2), mask=np.isnan(clv)),
            names[1]: expected,
            "p_alive": p_alive,
            "churn_probability": 1.0 - p_alive,
            "_gap_days": np.round(gap_days),
        }
    )
    p = ibis.memtable(preds)
    joined = keyed.left_join(p, keys).drop(*[f"{k}_right" for k in keys])
    out = joined.mutate(
        next_order_date=ibis.date(as_of) + joined["_gap_days"].cast("int64").as_interval("D")
    ).drop("_gap_days", *keys)
    return out, PredictiveModels(bgf, ggf, distinct.num_rows, n_customers)


#: Percentiles at which repeat values are capped, in turn, when Gamma-Gamma finds q <= 1.
WINSORIZE_LEVELS = (0.99, 0.95, 0.90)

#: Penalties tried, in order, after the configured one when a fit does not converge.
FALLBACK_PENALIZERS = (0.001, 0.01, 0.1)


def _fit(
    model: type,
    data: dict[str, np.ndarray],
    config: ClvConfig,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """Fit with the configured penalizer, then with small L2 penalties if that fails.

    Real stores are rarely exactly BG/NBD: a likelihood that is flat in one direction (no
    visible dropout, say) is pinned down by a small penalty, as lifetimes recommends. A
    fit is also rejected when ``check(fitted)`` returns a reason (e.g. its predictions
    overflow on the data: a degenerate optimum with huge ``a`` and ``b``).
    Returns None (and logs why) when no penalty gives a usable fit.
    """
    tried = []
    for pen in (config.penalizer, *(p for p in FALLBACK_PENALIZERS if p > config.penalizer)):
        try:
            fitted = model(penalizer=pen).fit(data)
        except CustsegError as e:
            tried.append(f"penalizer={pen:g}: {str(e).split('.')[0]}")
            continue
        if model is GammaGammaModel and fitted.params_["q"] <= 1:
            tried.append(
                f"penalizer={pen:g}: q={fitted.params_['q']:.3f} <= 1 (infinite mean spend)"
            )
            continue
        reason = check(fitted) if check is not None else None
        if reason:
            tried.append(f"penalizer={pen:g}: {reason}")
            continue
        if tried:
            log.info("%s fitted with penalizer=%g (%s)", model.__name__, pen, "; ".join(tried))
        return fitted
    log.info("%s could not be fitted (%s)", model.__name__, "; ".join(tried))
    return None


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * cum[-1])])


def _null_columns(features: ir.Table, names: list[str]) -> ir.Table:
    return features.mutate(
        **{
            names[0]: ibis.null("float64"),
            names[1]: ibis.null("float64"),
            "p_alive": ibis.null("float64"),
            "churn_probability": ibis.null("float64"),
            "next_order_date": ibis.null("date"),
        }
    )
