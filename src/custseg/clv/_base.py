"""The base class of the CLV models: maximum likelihood, standard errors, bootstrap, save/load.

A model subclass declares its parameter names and supplies three things:

* ``_prepare(data)``: read and check the input table, and collapse it to unique rows
  with counts (see :func:`custseg.clv._data.collapse`);
* ``_initial_params(stats, counts)``: a starting point for the optimiser;
* ``_loglik(params, stats)``: the log-likelihood of each unique row, and optionally
  ``_loglik_grad(params, stats)`` returning it with its gradient in the natural parameters.

The base fits by L-BFGS-B on the log-parameters, minimising the weighted *mean*
negative log-likelihood plus ``penalizer * sum(params ** 2)`` (the lifetimes convention,
so a penalizer means the same for 1,000 and 1,000,000 customers).
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import pandas as pd
from scipy import optimize

from custseg.clv._data import factorize_rows
from custseg.clv._errors import ConvergenceError, NotFittedError
from custseg.exceptions import SourceReadError, UsageError

__all__ = ["CLVModel", "Interval"]

log = logging.getLogger(__name__)

#: The ``format`` field of a saved model; bump it when the layout changes.
SAVE_FORMAT = "custseg.clv.model/1"

#: Bounds on the log-parameters: exp(±30) covers 1e-13 to 1e13, far past any sane fit.
_LOG_BOUND = 30.0

#: A fit whose largest gradient (per customer, log-parameters) is below this is accepted
#: even if the line search stopped with a warning (it does so at the noise floor).
_GRAD_ACCEPT = 1e-5

#: Below this, a line search that gave up is restarted once; if the restart cannot lower
#: the objective either, the fit is accepted as being at the noise floor.
_GRAD_RETRY = 1e-3

_REGISTRY: dict[str, type[CLVModel]] = {}


class Interval(NamedTuple):
    """A prediction with a percentile interval from the parametric bootstrap."""

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _custseg_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("custseg")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _json_float(value: float) -> float | None:
    """JSON has no NaN or infinity: store those as null."""
    return float(value) if math.isfinite(value) else None


class CLVModel:
    """Base class of the CLV estimators; use a subclass such as :class:`BetaGeoModel`.

    Parameters
    ----------
    penalizer : float, default=0.0
        Coefficient of the L2 penalty ``penalizer * sum(params ** 2)`` added to the mean
        negative log-likelihood. Use a small value (0.001 to 0.1) when the fit does not
        converge or parameters run off to very large values.
    tol : float, default=1e-10
        Convergence tolerance of ``scipy.optimize.minimize`` (L-BFGS-B ``ftol`` and ``gtol``)
        on the per-customer objective.
    max_iter : int, default=2000
        Maximum number of optimiser iterations.
    initial_params : dict of str to float, default=None
        Starting values keyed by the parameter names; ``None`` picks them from the data.
    """

    #: The parameter names, in the paper's notation and order.
    _param_names: ClassVar[tuple[str, ...]] = ()
    #: Public prediction methods that :meth:`bootstrap` may call.
    _prediction_methods: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._param_names:
            _REGISTRY[cls.__name__] = cls

    def __init__(
        self,
        penalizer: float = 0.0,
        *,
        tol: float = 1e-10,
        max_iter: int = 2000,
        initial_params: Mapping[str, float] | None = None,
    ) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter
        self.initial_params = initial_params

    # ------------------------------------------------------------------ sklearn protocol
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters (scikit-learn protocol).

        Parameters
        ----------
        deep : bool, default=True
            Ignored; there are no nested estimators.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (scikit-learn protocol) and return ``self``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise UsageError(
                    f"{type(self).__name__} has no parameter {key!r}; valid parameters are {valid}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        shown = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    # ------------------------------------------------------------------ subclass hooks
    def _prepare(self, data: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        raise NotImplementedError

    def _initial_params(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _loglik(self, params: np.ndarray, stats: tuple[np.ndarray, ...]) -> np.ndarray:
        raise NotImplementedError

    #: Subclasses with an analytic gradient override this with a method returning
    #: ``(loglik, grad)``, ``grad`` of shape (n_rows, n_params) in the natural parameters.
    _loglik_grad: ClassVar[Callable[..., tuple[np.ndarray, np.ndarray]] | None] = None

    # ------------------------------------------------------------------ fitting
    def _check_hyperparams(self) -> None:
        name = type(self).__name__
        pen = self.penalizer
        if not isinstance(pen, int | float) or isinstance(pen, bool) or not pen >= 0:
            raise UsageError(f"{name}: penalizer must be a number >= 0, got {pen!r}.")
        if not isinstance(self.tol, int | float) or not self.tol > 0:
            raise UsageError(f"{name}: tol must be a number > 0, got {self.tol!r}.")
        if (
            not isinstance(self.max_iter, int)
            or isinstance(self.max_iter, bool)
            or self.max_iter < 1
        ):
            raise UsageError(f"{name}: max_iter must be an integer >= 1, got {self.max_iter!r}.")
        if self.initial_params is not None:
            init = self.initial_params
            if not isinstance(init, Mapping) or set(init) != set(self._param_names):
                raise UsageError(
                    f"{name}: initial_params must be a dict with the keys "
                    f"{list(self._param_names)}, got {init!r}."
                )
            bad = {k: v for k, v in init.items() if not (np.isfinite(v) and v > 0)}
            if bad:
                raise UsageError(f"{name}: initial_params must be positive numbers, got {bad}.")

    def fit(self, data: Any) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        data : table
            A pandas DataFrame, pyarrow Table, Ibis table or dict of arrays with the
            columns the model needs (see the class docstring); an optional ``weights``
            column counts identical customers.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        SchemaError
            A required column is missing or not numeric.
        DataError
            Values break a model rule (e.g. ``recency > T``), or are missing.
        UsageError
            A constructor parameter is invalid.
        ConvergenceError
            The optimiser did not converge.
        """
        self._check_hyperparams()
        stats, counts = self._prepare(data)
        self._fit_stats(stats, counts)
        return self

    def _objective(
        self,
        log_params: np.ndarray,
        stats: tuple[np.ndarray, ...],
        counts: np.ndarray,
        precise: bool = True,
    ) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood plus penalty, and its gradient in log-parameters.

        Without an analytic gradient, ``precise=False`` takes forward differences (half
        the likelihood evaluations of central ones); the optimiser's search uses them, the
        final Newton polish and the Hessian use central differences.
        """
        params = np.exp(log_params)
        total = counts.sum()
        pen = self.penalizer * float(np.sum(params**2))
        pen_grad = 2.0 * self.penalizer * params**2
        if self._loglik_grad is not None:
            with np.errstate(all="ignore"):
                ll, grad = self._loglik_grad(params, stats)
            value = -float(counts @ ll) / total + pen
            g = -(counts @ grad) * params / total + pen_grad
        else:
            base = self._mean_nll(log_params, stats, counts)
            value = base + pen
            if precise:
                g = self._numeric_grad(log_params, stats, counts) + pen_grad
            else:
                g = self._forward_grad(log_params, stats, counts, base) + pen_grad
        if not np.isfinite(value) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(log_params)
        return value, g

    def _mean_nll(
        self, log_params: np.ndarray, stats: tuple[np.ndarray, ...], counts: np.ndarray
    ) -> float:
        with np.errstate(all="ignore"):
            ll = self._loglik(np.exp(log_params), stats)
        return -float(counts @ ll) / counts.sum()

    def _numeric_grad(
        self,
        log_params: np.ndarray,
        stats: tuple[np.ndarray, ...],
        counts: np.ndarray,
        h: float = 1e-6,
    ) -> np.ndarray:
        """Central differences of the mean negative log-likelihood in log-parameters."""
        g = np.empty_like(log_params)
        for i in range(log_params.size):
            step = np.zeros_like(log_params)
            step[i] = h
            up = self._mean_nll(log_params + step, stats, counts)
            down = self._mean_nll(log_params - step, stats, counts)
            g[i] = (up - down) / (2 * h)
        return g

    def _forward_grad(
        self,
        log_params: np.ndarray,
        stats: tuple[np.ndarray, ...],
        counts: np.ndarray,
        base: float,
        h: float = 1e-7,
    ) -> np.ndarray:
        """Forward differences of the mean negative log-likelihood in log-parameters."""
        g = np.empty_like(log_params)
        for i in range(log_params.size):
            step = np.zeros_like(log_params)
            step[i] = h
            g[i] = (self._mean_nll(log_params + step, stats, counts) - base) / h
        return g

    def _hessian(
        self, log_params: np.ndarray, stats: tuple[np.ndarray, ...], counts: np.ndarray
    ) -> np.ndarray:
        """Hessian of the per-customer objective in log-parameters, by finite differences."""
        k = log_params.size
        hess = np.empty((k, k))
        if self._loglik_grad is not None:
            h = 1e-5
            for i in range(k):
                step = np.zeros(k)
                step[i] = h
                up = self._objective(log_params + step, stats, counts)[1]
                down = self._objective(log_params - step, stats, counts)[1]
                hess[i] = (up - down) / (2 * h)
        else:
            h = 1e-4

            def f(v: np.ndarray) -> float:
                return self._objective_value(v, stats, counts)

            f0 = f(log_params)
            eye = np.eye(k) * h
            for i in range(k):
                hess[i, i] = (f(log_params + eye[i]) - 2 * f0 + f(log_params - eye[i])) / h**2
                for j in range(i):
                    hess[i, j] = hess[j, i] = (
                        f(log_params + eye[i] + eye[j])
                        - f(log_params + eye[i] - eye[j])
                        - f(log_params - eye[i] + eye[j])
                        + f(log_params - eye[i] - eye[j])
                    ) / (4 * h**2)
        return (hess + hess.T) / 2

    def _objective_value(
        self, log_params: np.ndarray, stats: tuple[np.ndarray, ...], counts: np.ndarray
    ) -> float:
        params = np.exp(log_params)
        return self._mean_nll(log_params, stats, counts) + self.penalizer * float(np.sum(params**2))

    def _start(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> np.ndarray:
        if self.initial_params is not None:
            return np.log([float(self.initial_params[k]) for k in self._param_names])
        return np.log(self._initial_params(stats, counts))

    def _fit_stats(self, stats: tuple[np.ndarray, ...], counts: np.ndarray) -> None:
        name = type(self).__name__
        x0 = self._start(stats, counts)
        value0, _ = self._objective(x0, stats, counts)
        if not np.isfinite(value0):
            raise ConvergenceError(
                f"{name}: the log-likelihood is not finite at the starting values "
                f"{dict(zip(self._param_names, np.exp(x0).round(4), strict=True))}. "
                "Pass initial_params closer to the data's scale, or rescale time (e.g. days "
                "to weeks)."
            )
        log.debug("%s: fitting %d unique rows (%g customers)", name, counts.size, counts.sum())
        res = optimize.minimize(
            self._objective,
            x0,
            args=(stats, counts, False),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * x0.size,
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": self.tol},
        )
        grad_max = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
        if not res.success and np.isfinite(res.fun) and grad_max <= _GRAD_RETRY:
            # The line search gave up near the optimum: restart once from there. If the
            # restart cannot move either, the fit is at the numerical floor.
            first = res
            res = optimize.minimize(
                self._objective,
                first.x,
                args=(stats, counts, False),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-_LOG_BOUND, _LOG_BOUND)] * x0.size,
                options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": self.tol},
            )
            grad_max = float(np.max(np.abs(res.jac))) if res.jac is not None else np.inf
            if not res.success and grad_max <= _GRAD_RETRY and res.fun >= first.fun - 1e-12:
                grad_max = min(grad_max, _GRAD_ACCEPT)
        at_bound = np.abs(res.x) >= _LOG_BOUND - 1e-6
        converged = bool(np.isfinite(res.fun) and (res.success or grad_max <= _GRAD_ACCEPT))
        if converged and at_bound.any():
            converged = False
        if not converged:
            stuck = [p for p, b in zip(self._param_names, at_bound, strict=True) if b]
            if stuck and self.penalizer > 0 and np.all(res.x[at_bound] < 0):
                raise ConvergenceError(
                    f"{name} did not converge: with penalizer={self.penalizer:g} the penalty "
                    f"pulls {stuck} to 0. Try a smaller penalizer (e.g. "
                    f"{name}(penalizer={self.penalizer / 100:g})) or none."
                )
            why = (
                f"parameter(s) {stuck} ran to the edge of the search space (the data do not "
                "pin them down)"
                if stuck
                else f"the optimiser stopped with {res.message!r} after {res.nit} iterations "
                f"(largest gradient {grad_max:.2g})"
            )
            raise ConvergenceError(
                f"{name} did not converge: {why}. Try a larger penalizer (e.g. "
                f"{name}(penalizer=0.01)), rescaling time to larger units (days to weeks), "
                f"more iterations (max_iter={max(2 * self.max_iter, 2000)}), or initial_params."
            )
        if not res.success:
            log.info("%s: accepted fit at the noise floor (%s)", name, res.message)
        x_opt, hess = self._polish(res.x, stats, counts)
        params = np.exp(x_opt)
        total = counts.sum()
        with np.errstate(all="ignore"):
            ll = float(counts @ self._loglik(params, stats))
        self._set_standard_errors(x_opt, hess, counts, stats)
        self.params_ = {k: float(v) for k, v in zip(self._param_names, params, strict=True)}
        self.log_likelihood_ = ll
        self.n_customers_ = int(total) if float(total).is_integer() else float(total)
        self.n_unique_rows_ = int(counts.size)
        self.converged_ = converged
        self.n_iter_ = int(res.nit)
        log.info(
            "%s fitted on %s customers (%d unique rows): %s, log-likelihood %.4f",
            name,
            self.n_customers_,
            self.n_unique_rows_,
            ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()),
            ll,
        )

    def _polish(
        self, x: np.ndarray, stats: tuple[np.ndarray, ...], counts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A few Newton steps from the quasi-Newton optimum.

        L-BFGS-B stops on a relative change of the objective, which leaves the flat
        directions of these likelihoods (Pareto/NBD's beta, for one) short of the optimum
        by more than the third decimal. Newton steps with the finite-difference Hessian
        close that gap. The Hessian is computed once and reused (the steps are tiny); a
        step is kept only if it does not increase the objective.

        Returns
        -------
        x : ndarray
            The polished log-parameters.
        hess : ndarray
            The Hessian of the per-customer objective (for the standard errors).
        """
        value, grad = self._objective(x, stats, counts)
        hess = self._hessian(x, stats, counts)
        try:
            if not np.all(np.linalg.eigvalsh(hess) > 0):
                return x, hess
        except np.linalg.LinAlgError:  # pragma: no cover - eigvalsh failed to converge
            return x, hess
        start = x
        for _ in range(6):
            step = np.linalg.solve(hess, grad)
            cand = x - step
            if np.any(np.abs(cand) >= _LOG_BOUND):
                break
            cand_value, cand_grad = self._objective(cand, stats, counts)
            if not cand_value <= value + 1e-14 * abs(value):
                break
            x, value, grad = cand, cand_value, cand_grad
            if np.max(np.abs(step)) < 1e-9:
                break
        if np.max(np.abs(x - start)) > 1e-3:
            hess = self._hessian(x, stats, counts)
        return x, hess

    def _set_standard_errors(
        self,
        log_params: np.ndarray,
        hess: np.ndarray,
        counts: np.ndarray,
        stats: tuple[np.ndarray, ...],
    ) -> None:
        """Covariance of the log-parameters from the observed information; SEs by the delta method.

        Raises
        ------
        ConvergenceError
            The Hessian is not positive definite: the optimum is not a strict maximum, so
            some parameter (combination) is not determined by the data.
        """
        name = type(self).__name__
        k = log_params.size
        info = hess * counts.sum()
        try:
            ok = bool(np.all(np.isfinite(info)) and np.all(np.linalg.eigvalsh(info) > 0))
        except np.linalg.LinAlgError:  # pragma: no cover - eigvalsh failed to converge
            ok = False
        if not ok:
            # stats[0] is the frequency column for every model.
            repeat = float(counts[stats[0] > 0].sum() / counts.sum())
            raise ConvergenceError(
                f"{name}: the likelihood is flat at the optimum (its Hessian is not positive "
                f"definite), so the data do not determine all of {list(self._param_names)}. "
                f"{repeat:.1%} of the {counts.sum():g} customers made a repeat purchase; fit "
                "on more customers or a longer period (a small penalizer, e.g. "
                f"{name}(penalizer=0.001), can also help)."
            )
        cov = np.linalg.inv(info)
        cov = (cov + cov.T) / 2
        params = np.exp(log_params)
        se = params * np.sqrt(np.diag(cov))
        self.log_params_covariance_ = cov
        self.standard_errors_ = {n: float(v) for n, v in zip(self._param_names, se, strict=True)}
        if k and not np.all(np.isfinite(se)):  # pragma: no cover - guarded by the check above
            log.warning("%s: some standard errors are not finite", name)

    # ------------------------------------------------------------------ fitted state
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _params(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(self.params_[k] for k in self._param_names)

    def summary(self) -> pd.DataFrame:
        """The fitted parameters with standard errors and 95% intervals.

        The interval is ``exp(log(estimate) ± 1.96 · se_log)``: the parameters were fitted
        on the log scale, so the interval stays positive.

        Returns
        -------
        DataFrame
            Indexed by parameter name, columns ``estimate, std_error, lower_95, upper_95``.
        """
        self._check_fitted()
        est = np.array(self._params())
        se_log = np.sqrt(np.diag(self.log_params_covariance_))
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": [self.standard_errors_[k] for k in self._param_names],
                "lower_95": est * np.exp(-1.959963984540054 * se_log),
                "upper_95": est * np.exp(1.959963984540054 * se_log),
            },
            index=pd.Index(list(self._param_names), name="param"),
        )

    # ------------------------------------------------------------------ bootstrap
    def bootstrap(
        self,
        method: str,
        /,
        *args: Any,
        n_boot: int = 200,
        level: float = 0.9,
        random_state: int | np.random.Generator | None = None,
        chunk_size: int = 100_000,
        **kwargs: Any,
    ) -> Interval:
        """Percentile intervals of a prediction by the parametric bootstrap.

        Draws ``n_boot`` parameter vectors from the asymptotic normal distribution of the
        log-parameters (mean: the fit; covariance: the inverse observed information), calls
        ``method`` with each, and takes percentiles per customer. It reflects parameter
        uncertainty only, not the randomness of a customer's own future purchases.

        Parameters
        ----------
        method : str
            A prediction method of this model, e.g. ``"probability_alive"``.
        *args, **kwargs
            Passed to ``method``.
        n_boot : int, default=200
            Number of parameter draws.
        level : float, default=0.9
            Coverage of the interval (0.9 gives the 5th and 95th percentiles).
        random_state : int or numpy Generator, default=None
            Seed for reproducible draws.
        chunk_size : int, default=100_000
            Distinct inputs per block; memory is about ``8 * n_boot * chunk_size`` bytes.
            Customers with identical inputs are computed once.

        Returns
        -------
        Interval
            ``estimate`` (at the fitted parameters), ``lower`` and ``upper``, each shaped
            like the prediction.
        """
        self._check_fitted()
        name = type(self).__name__
        if method not in self._prediction_methods:
            raise UsageError(
                f"{name}.bootstrap: method must be one of {list(self._prediction_methods)}, "
                f"got {method!r}."
            )
        if not isinstance(n_boot, int) or n_boot < 2:
            raise UsageError(f"{name}.bootstrap: n_boot must be an integer >= 2, got {n_boot!r}.")
        if not 0 < level < 1:
            raise UsageError(f"{name}.bootstrap: level must be between 0 and 1, got {level!r}.")
        cov = self.log_params_covariance_
        if np.isnan(cov).any():
            raise UsageError(
                f"{name}.bootstrap needs standard errors, but they are NaN for this fit "
                "(the Hessian was not positive definite). Refit with a small penalizer."
            )
        estimate = np.asarray(getattr(self, method)(*args, **kwargs), dtype=np.float64)
        rng = np.random.default_rng(random_state)
        mean = np.log(np.array(self._params()))
        draws = np.exp(rng.multivariate_normal(mean, cov, size=n_boot))
        clone = copy.copy(self)

        # Broadcast the array arguments to the prediction's shape, keep only the distinct
        # input rows (a million customers are often a few thousand distinct histories),
        # and walk over those in blocks.
        arrays = {i: a for i, a in enumerate(args) if np.ndim(a) > 0}
        karrays = {k: v for k, v in kwargs.items() if np.ndim(v) > 0}
        shape = estimate.shape
        keys = [*arrays, *karrays]
        flat = {
            key: np.broadcast_to(np.asarray(val, dtype=np.float64), shape).ravel()
            for key, val in [*arrays.items(), *karrays.items()]
        }
        codes: np.ndarray | None = None
        if flat:
            uniq, codes = factorize_rows(*(flat[k] for k in keys))
            flat = dict(zip(keys, uniq, strict=True))
        n = len(next(iter(flat.values()))) if flat else 1
        lower = np.empty(n)
        upper = np.empty(n)
        q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            a = [flat[i][start:stop] if i in arrays else v for i, v in enumerate(args)]
            kw = {k: flat[k][start:stop] if k in karrays else v for k, v in kwargs.items()}
            block = np.empty((n_boot, stop - start))
            for b in range(n_boot):
                clone.params_ = dict(zip(self._param_names, draws[b].tolist(), strict=True))
                block[b] = np.asarray(getattr(clone, method)(*a, **kw), dtype=np.float64).ravel()
            lo, hi = np.nanpercentile(block, q, axis=0)
            lower[start:stop] = lo
            upper[start:stop] = hi
        if codes is not None:
            lower, upper = lower[codes], upper[codes]
        return Interval(estimate, lower.reshape(shape), upper.reshape(shape))

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """The fitted model as a JSON-ready dict (the format :meth:`save` writes)."""
        self._check_fitted()
        init = self.get_params()
        if init.get("initial_params") is not None:
            init["initial_params"] = {k: float(v) for k, v in init["initial_params"].items()}
        cov = self.log_params_covariance_
        return {
            "format": SAVE_FORMAT,
            "model": type(self).__name__,
            "custseg_version": _custseg_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "init_params": init,
            "params": dict(self.params_),
            "standard_errors": {k: _json_float(v) for k, v in self.standard_errors_.items()},
            "log_params_covariance": [[_json_float(v) for v in row] for row in cov.tolist()],
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "n_unique_rows": self.n_unique_rows_,
            "converged": self.converged_,
            "n_iter": self.n_iter_,
            "extra": self._extra_state(),
        }

    def _extra_state(self) -> dict[str, Any]:
        """Model-specific fitted values to save (none by default)."""
        return {}

    def _load_extra_state(self, extra: Mapping[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to a JSON file (never a pickle).

        The format is documented in ``docs/clv.md``: model name, parameters,
        log-likelihood, standard errors and covariance, number of customers, the
        constructor parameters, the custseg version and a UTC timestamp.

        Parameters
        ----------
        path : str or Path
            Where to write; parent folders must exist.

        Returns
        -------
        Path
            The path written.
        """
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
        return path

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> CLVModel:
        """Rebuild a model from :meth:`to_dict` output. See :meth:`load`."""
        if not isinstance(payload, Mapping) or payload.get("format") != SAVE_FORMAT:
            found = payload.get("format") if isinstance(payload, Mapping) else None
            raise SourceReadError(
                f"Not a saved custseg CLV model: expected format {SAVE_FORMAT!r}, got {found!r}."
            )
        model_name = payload.get("model")
        target = _REGISTRY.get(str(model_name))
        if target is None:
            raise SourceReadError(
                f"Unknown CLV model {model_name!r} in the file; known models: {sorted(_REGISTRY)}."
            )
        if cls is not CLVModel and target is not cls:
            raise UsageError(
                f"The file holds a {model_name}, not a {cls.__name__}; load it with "
                f"{model_name}.load(path)."
            )
        try:
            model = target(**payload["init_params"])
            params = {k: float(payload["params"][k]) for k in target._param_names}
            cov = np.array(
                [
                    [np.nan if v is None else v for v in row]
                    for row in payload["log_params_covariance"]
                ],
                dtype=np.float64,
            )
            model.params_ = params
            model.standard_errors_ = {
                k: (
                    np.nan
                    if payload["standard_errors"][k] is None
                    else float(payload["standard_errors"][k])
                )
                for k in target._param_names
            }
            model.log_params_covariance_ = cov.reshape(len(params), len(params))
            model.log_likelihood_ = float(payload["log_likelihood"])
            model.n_customers_ = payload["n_customers"]
            model.n_unique_rows_ = int(payload["n_unique_rows"])
            model.converged_ = bool(payload["converged"])
            model.n_iter_ = int(payload["n_iter"])
            model._load_extra_state(payload.get("extra", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceReadError(
                f"The saved {model_name} is incomplete or damaged ({type(exc).__name__}: {exc}). "
                "Save the model again with model.save(path)."
            ) from None
        return model

    @classmethod
    def load(cls, path: str | Path) -> CLVModel:
        """Read a model written by :meth:`save`.

        ``CLVModel.load`` returns whichever model the file holds;
        ``BetaGeoModel.load`` (etc.) also checks it is that model.

        Raises
        ------
        SourceReadError
            The file cannot be read or is not a saved custseg CLV model.
        UsageError
            The file holds a different model than the class it is loaded with.
        """
        path = Path(path)
        try:
            payload = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceReadError(f"Cannot read a CLV model from {str(path)!r}: {exc}.") from None
        return cls.from_dict(payload)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # pragma: no cover - exotic parameter values
        return False
