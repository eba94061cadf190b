"""The shared machinery of the segmenters: fit, assign, names, rules, profile, saving.

A subclass supplies the algorithm through five hooks: ``_fit_candidate`` (one k on the
search rows), ``_criterion_value``, ``_refit`` (the chosen k on the whole sample, warm
started), ``_to_model`` (the fitted numbers as a :class:`ClusterModel`) and
``_permute_estimator`` (renumber the scikit-learn/kmodes object like the model).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar, Self

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from custseg.exceptions import DataError, NotFittedError, UsageError
from custseg.segments.clustering._assign import assign_expr
from custseg.segments.clustering._explain import explain_clusters
from custseg.segments.clustering._featureset import FeatureSet
from custseg.segments.clustering._models import ClusterModel, Design
from custseg.segments.clustering._naming import name_clusters
from custseg.segments.clustering._sample import ID, draw_sample, population_filter
from custseg.segments.clustering._select import choose_k, stability
from custseg.segments.clustering._transform import FittedTransform

__all__ = ["STABILITY_WARN_BELOW", "BaseSegmenter", "UnstableClusteringWarning"]

log = logging.getLogger(__name__)

#: A stability (mean pairwise ARI of bootstrap refits) below this warns.
STABILITY_WARN_BELOW = 0.6


class UnstableClusteringWarning(UserWarning):
    """Bootstrap refits disagree: the clusters may not be real structure."""


def _is_int(v: object, low: int) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool) and int(v) >= low


class BaseSegmenter(BaseEstimator):
    """Base class of the clustering segmenters; use a subclass such as ``KMeansSegmenter``."""

    _criterion: ClassVar[str] = ""
    _minimize: ClassVar[bool] = False
    _one_hot: ClassVar[bool] = True

    # ------------------------------------------------------------------ hooks

    def _fit_candidate(self, x: Design, k: int, seed: int) -> Any:
        raise NotImplementedError

    def _criterion_value(self, est: Any, x: Design, rows: np.ndarray) -> float:
        raise NotImplementedError

    def _refit(self, est: Any, x: Design, k: int) -> Any:
        raise NotImplementedError

    def _to_model(self, est: Any) -> ClusterModel:
        raise NotImplementedError

    def _permute_estimator(self, est: Any, order: np.ndarray) -> Any:
        """``est`` renumbered so that its cluster i is its old ``order[i]``."""
        return est

    def _check_features(self, fs: FeatureSet) -> None:
        """Refuse feature sets the algorithm cannot use."""

    def _check_extra_params(self) -> None:
        """Validate the subclass's own parameters."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (no nested estimators, so ``deep`` changes nothing).

        ``deep=True`` would probe every value for ``get_params``, which an Ibis deferred
        population answers with another deferred.
        """
        return super().get_params(deep=False)

    def __sklearn_clone__(self) -> Self:
        """An unfitted copy with the same parameters (Ibis expressions are immutable)."""
        return type(self)(**self.get_params())

    # ------------------------------------------------------------------ validation

    def _validate_params(self) -> None:
        k = self.k
        if not (k == "auto" or _is_int(k, 2)):
            raise UsageError(f"k must be 'auto' or an integer >= 2, got {k!r}")
        kr = self.k_range
        ok = (
            isinstance(kr, Sequence)
            and len(kr) == 2
            and all(_is_int(v, 2) for v in kr)
            and kr[0] <= kr[1]
        )
        if not ok:
            raise UsageError(f"k_range must be (low, high) with 2 <= low <= high, got {kr!r}")
        for name, low in (("sample_size", 2), ("search_size", 2), ("random_state", 0)):
            if not _is_int(getattr(self, name), low):
                raise UsageError(f"{name} must be an integer >= {low}, got {getattr(self, name)!r}")
        nb = self.n_bootstrap
        if not _is_int(nb, 0) or nb == 1:
            raise UsageError(
                f"n_bootstrap must be 0 (no stability check) or an integer >= 2 (pairs of "
                f"refits are compared), got {nb!r}"
            )
        self._check_extra_params()

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with the "
                "customer_features table, or load a saved one with load_segmenter(path)."
            )

    # ------------------------------------------------------------------ fit

    def fit(self, features: ir.Table | pd.DataFrame, y: None = None) -> Self:
        """Cluster a reproducible sample of the population.

        Parameters
        ----------
        features
            The ``customer_features`` table (Ibis; a pandas DataFrame is wrapped in a
            memtable), one row per ``customer_id``.
        y
            Ignored.

        Returns
        -------
        self

        Raises
        ------
        UsageError
            Bad parameters or feature names.
        SchemaError
            ``customer_id`` or a feature column is missing.
        DataError
            The population is empty or too small for the k asked.
        """
        self._validate_params()
        table = _as_table(features)
        schema = table.schema()
        fs = FeatureSet.resolve(self.features, schema)
        self._check_features(fs)
        boolean = frozenset(c for c in fs.numeric if schema[c].is_boolean())
        integer = frozenset(c for c in fs.numeric if schema[c].is_integer())
        pop = population_filter(table, self.population)
        frame = draw_sample(pop, fs.columns, size=self.sample_size, seed=self.random_state)
        transform = FittedTransform.fit(frame, fs, boolean=boolean)
        x = self._design(transform, frame)
        n = len(x)
        rng = np.random.default_rng(self.random_state)
        search = np.sort(rng.choice(n, size=min(n, self.search_size), replace=False))
        xs = x.rows(search)
        ks = self._ks(len(xs))
        sil_rows = np.sort(
            rng.choice(len(xs), size=min(len(xs), self._silhouette_rows()), replace=False)
        )
        log.info(
            "%s: %d customers sampled, %d search rows, k in %s",
            type(self).__name__,
            n,
            len(xs),
            ks,
        )
        k, curve, cands = self._search(xs, ks, sil_rows)
        est = cands[k] if len(xs) == n else self._refit(cands[k], x, k)
        est, model, labels = self._numbered_by_size(est, x)
        k_final = model.k
        stab = self._stability(xs, k_final) if self.n_bootstrap else None

        z_names = x.num if self._one_hot else transform.matrix(frame)
        columns = [(s.column, None) for s in transform.numeric] + list(transform.one_hot_columns)
        names = name_clusters(z_names, columns, labels, k_final)
        rules = explain_clusters(
            frame,
            numeric=[c for c in fs.numeric if c not in boolean],
            integer=integer,
            one_hot=transform.one_hot_columns,
            labels=labels,
            k=k_final,
            fit_rows=search,
            random_state=self.random_state,
        )

        self.feature_set_ = fs
        self.transform_ = transform
        self.estimator_ = est
        self.model_ = model
        self.k_ = k_final
        self.k_curve_ = curve
        self.k_criterion_ = self._criterion
        self.stability_ = stab
        self.labels_ = labels
        self.sample_ids_ = frame[ID].to_numpy()
        self.names_ = names
        self.rules_ = rules
        self.profile_ = _profile(frame, transform, model, labels, names)
        self.population_kind_ = "default" if self.population is None else "custom"
        self.integer_columns_ = integer
        return self

    def _search(
        self, xs: Design, ks: list[int], sil_rows: np.ndarray
    ) -> tuple[int, list[tuple[int, float]], dict[int, Any]]:
        """One candidate per k on the search rows; the best by the criterion."""
        # the search and bootstrap fits are small: one thread each avoids the OpenMP/BLAS
        # start-up and spin-wait costs, which dominate on small data or busy machines
        with threadpool_limits(limits=1):
            return choose_k(
                ks,
                lambda kk: self._fit_candidate(xs, kk, self.random_state),
                lambda est: self._criterion_value(est, xs, sil_rows),
                minimize=self._minimize,
            )

    def _numbered_by_size(self, est: Any, x: Design) -> tuple[Any, ClusterModel, np.ndarray]:
        """Renumber clusters by size, largest first, dropping empty ones."""
        model = self._to_model(est)
        sizes = np.bincount(model.predict(x), minlength=model.k)
        order = np.array(sorted(np.flatnonzero(sizes), key=lambda c: (-sizes[c], c)))
        if order.size < model.k:
            log.warning("%d empty cluster(s) dropped", model.k - order.size)
        model = model.permuted(order)
        return self._permute_estimator(est, order), model, model.predict(x)

    def _stability(self, xs: Design, k: int) -> float:
        """Mean pairwise ARI of bootstrap refits on the search rows; warns when low."""

        def refit_predict(idx: np.ndarray, seed: int) -> np.ndarray:
            return self._to_model(self._fit_candidate(xs.rows(idx), k, seed)).predict(xs)

        with threadpool_limits(limits=1):
            stab = stability(
                refit_predict, len(xs), n_bootstrap=self.n_bootstrap, random_state=self.random_state
            )
        if stab < STABILITY_WARN_BELOW:
            msg = (
                f"{type(self).__name__}: bootstrap stability (mean pairwise ARI) is "
                f"{stab:.2f}, below {STABILITY_WARN_BELOW}: the {k} clusters change between "
                "resamples. Try another k, fewer or other features."
            )
            log.warning(msg)
            warnings.warn(msg, UnstableClusteringWarning, stacklevel=3)
        return stab

    def _ks(self, n: int) -> list[int]:
        ks = list(range(self.k_range[0], self.k_range[1] + 1)) if self.k == "auto" else [self.k]
        usable = [k for k in ks if k < n]
        if not usable:
            raise DataError(
                f"Only {n} customers are in the sample, too few for k in {ks} (k must be "
                "below the number of customers). Lower k or k_range, or widen the population."
            )
        return usable

    def _silhouette_rows(self) -> int:
        return int(getattr(self, "silhouette_size", 2_000))

    def _design(self, transform: FittedTransform, frame: pd.DataFrame) -> Design:
        if self._one_hot:
            return Design(transform.matrix(frame), np.empty((len(frame), 0), dtype=object))
        return Design(transform.numeric_matrix(frame), transform.categorical_matrix(frame))

    # ------------------------------------------------------------------ use

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The cluster of each row of a pandas frame of raw features (numpy, no engine).

        Parameters
        ----------
        frame
            Rows with every feature column.

        Returns
        -------
        ndarray of int64 of shape (n_rows,)
        """
        self._check_is_fitted()
        return self.model_.predict(self._design(self.transform_, frame))

    def assign(self, features: ir.Table | pd.DataFrame) -> ir.Table:
        """Assign every customer of the population in the engine.

        Parameters
        ----------
        features
            The ``customer_features`` table (Ibis).

        Returns
        -------
        ir.Table
            ``customer_id``, ``cluster`` (int64), ``cluster_name`` (string), ``distance``
            (float64: Euclidean distance to the centroid in scaled units; Mahalanobis
            distance for mixtures; ``sqrt`` of the k-prototypes cost). Customers outside
            the population are not in it.
        """
        self._check_is_fitted()
        if self.population is None and getattr(self, "population_kind_", "default") == "custom":
            raise UsageError(
                "This segmenter was fitted on a custom population, which is not saved. Pass "
                "it again: load_segmenter(path, population=...)."
            )
        table = _as_table(features)
        missing = [c for c in self.transform_columns() if c not in table.columns]
        if missing:
            raise UsageError(
                f"The table lacks the feature column(s) {missing} this segmenter was fitted on."
            )
        pop = population_filter(table, self.population)
        return assign_expr(pop, model=self.model_, transform=self.transform_, names=self.names_)

    def transform_columns(self) -> list[str]:
        """The raw feature columns the segmenter reads."""
        self._check_is_fitted()
        return [s.column for s in self.transform_.numeric] + [
            s.column for s in self.transform_.categorical
        ]

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to assign again, as plain JSON-able data (see ``docs``)."""
        from custseg.segments.clustering._persist import segmenter_to_dict

        self._check_is_fitted()
        return segmenter_to_dict(self)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path``; returns the path."""
        from custseg.segments.clustering._persist import save_dict

        return save_dict(self.to_dict(), path)


def _as_table(features: Any) -> ir.Table:
    if isinstance(features, ir.Table):
        return features
    if isinstance(features, pd.DataFrame):
        return ibis.memtable(features)
    raise UsageError(
        f"features must be the customer_features Ibis table (or a pandas DataFrame), got "
        f"{type(features).__name__}"
    )


def _profile(
    frame: pd.DataFrame,
    transform: FittedTransform,
    model: ClusterModel,
    labels: np.ndarray,
    names: dict[int, str],
) -> pd.DataFrame:
    """Size, share and centroid (original units; categories: most common value) per cluster."""
    k = model.k
    centers = getattr(model, "centers", None)
    if centers is None:
        centers = model.means  # type: ignore[attr-defined]
    sizes = np.bincount(labels, minlength=k)
    rows = []
    for c in range(k):
        row: dict[str, Any] = {
            "cluster": c,
            "name": names[c],
            "size": int(sizes[c]),
            "share": float(sizes[c] / len(labels)),
        }
        for j, s in enumerate(transform.numeric):
            row[s.column] = float(s.inverse(centers[c, j])) + 0.0  # no -0.0
        for s in transform.categorical:
            vals = frame.loc[labels == c, s.column].dropna()
            row[s.column] = None if vals.empty else str(vals.value_counts().index[0])
        rows.append(row)
    out = pd.DataFrame(rows).set_index("cluster")
    return out
