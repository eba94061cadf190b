"""The three segmenters: k-means, Gaussian mixtures and k-prototypes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from kmodes.kprototypes import KPrototypes
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from custseg.exceptions import UsageError
from custseg.segments.clustering._base import BaseSegmenter, _is_int
from custseg.segments.clustering._featureset import FeatureSet
from custseg.segments.clustering._kprototypes import (
    KPrototypesFit,
    fit_kprototypes,
    refine_kprototypes,
)
from custseg.segments.clustering._models import (
    CentroidModel,
    ClusterModel,
    Design,
    GaussianModel,
    PrototypeModel,
)
from custseg.segments.clustering._select import silhouette

__all__ = ["GaussianMixtureSegmenter", "KMeansSegmenter", "KPrototypesSegmenter"]

FeatureSpec = str | Sequence[str] | FeatureSet

#: How kmodes sees a missing category (it cannot sort None with strings).
MISSING = "\x00missing"

_COMMON_DOC = """
    features : str, list of str or FeatureSet, default="behavior"
        A family of :data:`custseg.features.catalog.FAMILIES`, a list of families and/or
        column names, or a :class:`FeatureSet`.
    k : "auto" or int, default="auto"
        The number of clusters, or ``"auto"`` to choose it over ``k_range``.
    k_range : tuple of (int, int), default=(2, 10)
        Inclusive range of k tried by ``"auto"``.
    sample_size : int, default=200_000
        Customers drawn (reproducibly, in the engine) from the population to fit on.
    n_bootstrap : int, default=10
        Bootstrap refits for :attr:`stability_`; 0 skips the check.
    population : Ibis boolean expression, default=None
        Which customers are clustered; ``None``: ``number_of_orders > 0`` and not
        ``is_stub``. A deferred expression (``ibis._.number_of_orders >= 2``) binds to any
        table; it is not saved by :meth:`save`.
    random_state : int, default=0
        Seed of the sample, the fits and the bootstrap.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    k_ : int
        The number of clusters.
    k_curve_ : list of (int, float)
        The criterion for each k tried; its name is in ``k_criterion_``.
    k_criterion_ : str
    stability_ : float or None
        Mean pairwise adjusted Rand index of the bootstrap refits (warns below 0.6).
    labels_ : ndarray of shape (n_sample,)
        Cluster of each sampled customer; ``sample_ids_`` holds their ids.
    names_ : dict of int to str
        A unique human name per cluster.
    rules_ : dict of int to ClusterRule
        A segment-language rule approximating each cluster.
    profile_ : pandas.DataFrame
        Per cluster: name, size, share and the centroid in original units.
    model_, transform_, feature_set_, estimator_
        The fitted model and transform as data; the fitted library estimator.
"""


class KMeansSegmenter(BaseSegmenter):
    __doc__ = f"""Customer segments by k-means on the transformed features.

    k is chosen by the highest silhouette, computed on ``silhouette_size`` customers of
    candidates fitted on ``search_size`` customers; the chosen k is then refitted on the
    whole sample (warm started). Clusters are numbered by size, largest first.

    Parameters
    ----------{_COMMON_DOC}
    n_init : int, default=3
        k-means restarts per fit.
    search_size : int, default=20_000
        Sample rows used to choose k, to measure stability and to fit the explaining trees.
    silhouette_size : int, default=2_000
        Rows the silhouette is computed on (its cost grows with the square).
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> seg = KMeansSegmenter("behavior").fit(features)  # doctest: +SKIP
    >>> seg.assign(features).group_by("cluster_name").count()  # doctest: +SKIP
    """

    _criterion = "silhouette"
    _minimize = False

    def __init__(
        self,
        features: FeatureSpec = "behavior",
        *,
        k: int | str = "auto",
        k_range: tuple[int, int] = (2, 10),
        sample_size: int = 200_000,
        n_bootstrap: int = 10,
        population: Any = None,
        random_state: int = 0,
        n_init: int = 3,
        search_size: int = 20_000,
        silhouette_size: int = 2_000,
    ) -> None:
        self.features = features
        self.k = k
        self.k_range = k_range
        self.sample_size = sample_size
        self.n_bootstrap = n_bootstrap
        self.population = population
        self.random_state = random_state
        self.n_init = n_init
        self.search_size = search_size
        self.silhouette_size = silhouette_size

    def _check_extra_params(self) -> None:
        for name in ("n_init", "silhouette_size"):
            if not _is_int(getattr(self, name), 1 if name == "n_init" else 3):
                raise UsageError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    def _fit_candidate(self, x: Design, k: int, seed: int) -> KMeans:
        return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(x.num)

    def _criterion_value(self, est: KMeans, x: Design, rows: np.ndarray) -> float:
        return silhouette(x, est.labels_, rows=rows)

    def _refit(self, est: KMeans, x: Design, k: int) -> KMeans:
        return KMeans(
            n_clusters=k, init=est.cluster_centers_, n_init=1, random_state=self.random_state
        ).fit(x.num)

    def _to_model(self, est: KMeans) -> ClusterModel:
        return CentroidModel(np.asarray(est.cluster_centers_, dtype=float))

    def _permute_estimator(self, est: KMeans, order: np.ndarray) -> KMeans:
        est.cluster_centers_ = est.cluster_centers_[order]
        est.labels_ = _renumber(est.labels_, order, est.n_clusters)
        est.n_clusters = len(order)
        return est


class GaussianMixtureSegmenter(BaseSegmenter):
    __doc__ = f"""Customer segments by a Gaussian mixture on the transformed features.

    k is chosen by the lowest BIC of candidates fitted on ``search_size`` customers; the
    chosen k is refitted on the whole sample (warm started). A customer goes to the
    component with the highest weighted log-density.

    Parameters
    ----------{_COMMON_DOC}
    covariance_type : {{"diag", "full", "tied", "spherical"}}, default="diag"
        As in :class:`sklearn.mixture.GaussianMixture`; every type is assigned in the engine.
    reg_covar : float, default=0.1
        Added to the variances, in scaled units (where the IQR is 1): no component is
        narrower than about a third of an IQR, so components do not collapse onto the
        repeated values of counts and shares (with scikit-learn's 1e-6, BIC keeps
        improving up to the largest k on the demo store).
    n_init : int, default=1
        EM restarts per fit.
    search_size : int, default=20_000
        Sample rows used to choose k, to measure stability and to fit the explaining trees.
    {_ATTRIBUTES_DOC}"""

    _criterion = "bic"
    _minimize = True

    def __init__(
        self,
        features: FeatureSpec = "behavior",
        *,
        k: int | str = "auto",
        k_range: tuple[int, int] = (2, 10),
        sample_size: int = 200_000,
        n_bootstrap: int = 10,
        population: Any = None,
        random_state: int = 0,
        covariance_type: str = "diag",
        reg_covar: float = 0.1,
        n_init: int = 1,
        search_size: int = 20_000,
    ) -> None:
        self.features = features
        self.k = k
        self.k_range = k_range
        self.sample_size = sample_size
        self.n_bootstrap = n_bootstrap
        self.population = population
        self.random_state = random_state
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.search_size = search_size

    def _check_extra_params(self) -> None:
        types = ("diag", "full", "tied", "spherical")
        if self.covariance_type not in types:
            raise UsageError(
                f"covariance_type options are {list(types)}, got: {self.covariance_type!r}"
            )
        if not _is_int(self.n_init, 1):
            raise UsageError(f"n_init must be a positive integer, got {self.n_init!r}")
        rc = self.reg_covar
        if isinstance(rc, bool) or not isinstance(rc, int | float) or not rc >= 0:
            raise UsageError(f"reg_covar must be a number >= 0, got {rc!r}")

    def _mixture(self, k: int, seed: int, **init: Any) -> GaussianMixture:
        return GaussianMixture(
            n_components=k,
            covariance_type=self.covariance_type,
            reg_covar=float(self.reg_covar),
            n_init=self.n_init if not init else 1,
            random_state=seed,
            **init,
        )

    def _fit_candidate(self, x: Design, k: int, seed: int) -> GaussianMixture:
        return self._mixture(k, seed).fit(x.num)

    def _criterion_value(self, est: GaussianMixture, x: Design, rows: np.ndarray) -> float:
        return float(est.bic(x.num))

    def _refit(self, est: GaussianMixture, x: Design, k: int) -> GaussianMixture:
        init = {
            "weights_init": est.weights_,
            "means_init": est.means_,
            "precisions_init": est.precisions_,
        }
        return self._mixture(k, self.random_state, **init).fit(x.num)

    def _to_model(self, est: GaussianMixture) -> ClusterModel:
        return GaussianModel.from_sklearn(est)

    def _permute_estimator(self, est: GaussianMixture, order: np.ndarray) -> GaussianMixture:
        est.weights_ = est.weights_[order]
        est.means_ = est.means_[order]
        if est.covariance_type != "tied":
            est.covariances_ = est.covariances_[order]
            est.precisions_ = est.precisions_[order]
            est.precisions_cholesky_ = est.precisions_cholesky_[order]
        est.n_components = len(order)
        return est


class KPrototypesSegmenter(BaseSegmenter):
    __doc__ = f"""Customer segments of mixed numeric and text features by k-prototypes.

    The cost of a customer to a prototype is the squared Euclidean distance of the scaled
    numerics plus ``gamma`` times the number of text features that differ from the
    prototype's (Huang 1997, as in kmodes). k is chosen by the highest silhouette on the
    matching distance ``sqrt(cost)``, for candidates fitted on ``search_size`` customers;
    the chosen k is refitted on the whole sample (warm started).

    Parameters
    ----------{_COMMON_DOC}
    gamma : float, default=None
        Weight of one category mismatch; ``None``: half the mean standard deviation of the
        scaled numerics (kmodes' default), learned on the fit rows.
    n_init : int, default=3
        Restarts per fit (k-means++ seeding on the mixed cost).
    solver : {{"numpy", "kmodes"}}, default="numpy"
        ``"numpy"``: vectorized batch iterations (see ``_kprototypes``). ``"kmodes"``:
        ``kmodes.kprototypes.KPrototypes`` (Cao initialisation, one point at a time in
        Python: slow, use a small ``search_size``); its prototypes are not refitted on the
        whole sample.
    search_size : int, default=20_000
        Sample rows used to choose k, to measure stability and to fit the explaining trees.
    silhouette_size : int, default=2_000
        Rows the silhouette is computed on (a full distance matrix).
    {_ATTRIBUTES_DOC}"""

    _criterion = "silhouette"
    _minimize = False
    _one_hot = False

    def __init__(
        self,
        features: FeatureSpec = "behavior",
        *,
        k: int | str = "auto",
        k_range: tuple[int, int] = (2, 10),
        sample_size: int = 200_000,
        n_bootstrap: int = 10,
        population: Any = None,
        random_state: int = 0,
        gamma: float | None = None,
        n_init: int = 3,
        solver: str = "numpy",
        search_size: int = 20_000,
        silhouette_size: int = 2_000,
    ) -> None:
        self.features = features
        self.k = k
        self.k_range = k_range
        self.sample_size = sample_size
        self.n_bootstrap = n_bootstrap
        self.population = population
        self.random_state = random_state
        self.gamma = gamma
        self.n_init = n_init
        self.solver = solver
        self.search_size = search_size
        self.silhouette_size = silhouette_size

    def _check_extra_params(self) -> None:
        g = self.gamma
        if g is not None and (isinstance(g, bool) or not isinstance(g, int | float) or g < 0):
            raise UsageError(f"gamma must be None or a number >= 0, got {g!r}")
        if self.solver not in ("numpy", "kmodes"):
            raise UsageError(f"solver options are ['numpy', 'kmodes'], got: {self.solver!r}")
        for name in ("n_init", "silhouette_size"):
            if not _is_int(getattr(self, name), 1 if name == "n_init" else 3):
                raise UsageError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    def _check_features(self, fs: FeatureSet) -> None:
        if not fs.numeric or not fs.categorical:
            raise UsageError(
                "k-prototypes needs numeric and text features; got "
                f"{len(fs.numeric)} numeric and {len(fs.categorical)} text column(s). Add a "
                "text column (e.g. 'main_device') or use KMeansSegmenter."
            )

    def _gamma(self) -> float | None:
        return None if self.gamma is None else float(self.gamma)

    def _fit_candidate(self, x: Design, k: int, seed: int) -> KPrototypesFit | KPrototypes:
        if self.solver == "numpy":
            return fit_kprototypes(
                x.num, x.cat, k, gamma=self._gamma(), n_init=self.n_init, random_state=seed
            )
        cat = np.where(x.cat == None, MISSING, x.cat)  # noqa: E711 - elementwise
        data = np.empty((len(x), x.num.shape[1] + cat.shape[1]), dtype=object)
        data[:, : x.num.shape[1]] = x.num
        data[:, x.num.shape[1] :] = cat
        categorical = list(range(x.num.shape[1], data.shape[1]))
        est = KPrototypes(
            n_clusters=k,
            n_init=self.n_init,
            gamma=self._gamma(),
            init="Cao",
            random_state=seed,
            n_jobs=1,
        )
        return est.fit(data, categorical=categorical)

    def _criterion_value(self, est: Any, x: Design, rows: np.ndarray) -> float:
        model = self._to_model(est)
        return silhouette(x, model.predict(x), rows=rows, gamma=model.gamma)

    def _refit(self, est: Any, x: Design, k: int) -> Any:
        if isinstance(est, KPrototypesFit):
            return refine_kprototypes(est.model, x.num, x.cat)
        return est

    def _to_model(self, est: Any) -> PrototypeModel:
        if isinstance(est, KPrototypesFit):
            return est.model
        num, cat = est._enc_cluster_centroids
        modes = np.empty(cat.shape, dtype=object)
        for j, mapping in enumerate(est._enc_map):
            decode = {code: value for value, code in mapping.items()}
            for c in range(cat.shape[0]):
                v = decode[int(cat[c, j])]
                modes[c, j] = None if v == MISSING else v
        return PrototypeModel(np.asarray(num, dtype=float), modes, float(est.gamma))

    def _permute_estimator(self, est: Any, order: np.ndarray) -> Any:
        if isinstance(est, KPrototypesFit):
            k = est.model.k
            return KPrototypesFit(
                est.model.permuted(order), _renumber(est.labels, order, k), est.cost, est.n_iter
            )
        num, cat = est._enc_cluster_centroids
        est._enc_cluster_centroids = [num[order], cat[order]]
        est.labels_ = _renumber(est.labels_, order, est.n_clusters)
        est.n_clusters = len(order)
        return est


def _renumber(labels: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    inverse = np.full(max(k, int(np.max(labels)) + 1), -1, dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return inverse[np.asarray(labels, dtype=np.int64)]
