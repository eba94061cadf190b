"""Draw synthetic customers from the models' own generative processes.

Used by the tests (parameter recovery, the collapse of a million customers) and by
benchmarks. Vectorised: a million customers take well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def _history(
    rng: np.random.Generator, n_events: np.ndarray, span: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Given ``n`` Poisson events in ``(0, span]``, the count and the time of the last one."""
    # The last of n uniform points on (0, span] is span * U^(1/n).
    with np.errstate(divide="ignore"):
        last = np.where(n_events > 0, span * rng.random(n_events.size) ** (1.0 / n_events), 0.0)
    return n_events.astype(np.float64), last


def simulate_beta_geo(
    params: Mapping[str, float],
    T: np.ndarray,
    *,
    random_state: int | np.random.Generator | None = None,
    time_resolution: float | None = None,
) -> pd.DataFrame:
    """Customers drawn from the BG/NBD process, one per entry of ``T``.

    ``λ ~ Gamma(r, rate α)``, ``p ~ Beta(a, b)``; repeat purchases arrive as a Poisson(λ)
    process and the customer drops out right after each one with probability p.

    Parameters
    ----------
    params : dict
        ``r, alpha, a, b``.
    T : ndarray
        Each customer's observation length.
    random_state : int or Generator, default=None
        Seed.
    time_resolution : float, default=None
        If given, ``recency`` is floored to a multiple of it (e.g. 1 for whole days), as
        real transaction dates are.

    Returns
    -------
    DataFrame
        ``frequency, recency, T``.
    """
    rng = np.random.default_rng(random_state)
    big_t = np.asarray(T, dtype=np.float64)
    n = big_t.size
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    # Repeat purchases until dropout: geometric on {1, 2, ...}; events in (0, T]: Poisson.
    dropout_after = rng.geometric(np.clip(p, 1e-300, 1.0))
    events = rng.poisson(lam * big_t)
    x = np.minimum(events, dropout_after)
    # The x-th of `events` uniform points: T * Beta(x, events - x + 1).
    with np.errstate(invalid="ignore"):
        tx = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), events - x + 1), 0.0)
    return _finish(x.astype(np.float64), tx, big_t, time_resolution)


def simulate_pareto_nbd(
    params: Mapping[str, float],
    T: np.ndarray,
    *,
    random_state: int | np.random.Generator | None = None,
    time_resolution: float | None = None,
) -> pd.DataFrame:
    """Customers drawn from the Pareto/NBD process (see :func:`simulate_beta_geo`).

    ``λ ~ Gamma(r, rate α)``, ``μ ~ Gamma(s, rate β)``; the lifetime is Exponential(μ) and
    purchases arrive as a Poisson(λ) process while alive.
    """
    rng = np.random.default_rng(random_state)
    big_t = np.asarray(T, dtype=np.float64)
    n = big_t.size
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    mu = rng.gamma(params["s"], 1.0 / params["beta"], n)
    alive_for = np.minimum(rng.exponential(1.0 / mu), big_t)
    x, tx = _history(rng, rng.poisson(lam * alive_for), alive_for)
    return _finish(x, tx, big_t, time_resolution)


def _finish(
    x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, time_resolution: float | None
) -> pd.DataFrame:
    if time_resolution is not None:
        tx = np.floor(tx / time_resolution) * time_resolution
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": big_t})
