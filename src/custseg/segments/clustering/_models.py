"""Fitted cluster models as plain numbers, with their numpy scoring.

Each model turns the transformed inputs into one score per cluster: k-means and
k-prototypes a cost to minimize, Gaussian mixtures a log-density to maximize. The same
formulas are written as Ibis expressions in :mod:`._assign`; both read only the arrays
held here, which is also what is saved.

``Design`` holds the inputs: ``num`` (scaled numerics, plus one-hots for k-means and
mixtures) and ``cat`` (raw categories, k-prototypes only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "CentroidModel",
    "ClusterModel",
    "Design",
    "GaussianModel",
    "PrototypeModel",
    "model_from_dict",
]

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Design:
    """Model inputs for n customers: numeric matrix (n, d) and categorical objects (n, c)."""

    num: np.ndarray
    cat: np.ndarray

    def __len__(self) -> int:
        return self.num.shape[0]

    def rows(self, idx: np.ndarray) -> Design:
        """The rows ``idx``."""
        return Design(self.num[idx], self.cat[idx])


class ClusterModel:
    """Interface of the fitted models."""

    kind: ClassVar[str] = ""
    #: True when the best cluster has the lowest score (a cost), False for the highest.
    minimize: ClassVar[bool] = True

    @property
    def k(self) -> int:
        raise NotImplementedError

    def scores(self, x: Design) -> np.ndarray:
        """One score per customer and cluster, shape (n, k)."""
        raise NotImplementedError

    def squared_distances(self, x: Design) -> np.ndarray:
        """The squared distance to each cluster, shape (n, k) (see each model)."""
        raise NotImplementedError

    def permuted(self, order: np.ndarray) -> ClusterModel:
        """The same model with clusters renumbered: new cluster i is old ``order[i]``."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def predict(self, x: Design) -> np.ndarray:
        """The best cluster of each customer (first one on ties)."""
        s = self.scores(x)
        return (np.argmin(s, axis=1) if self.minimize else np.argmax(s, axis=1)).astype(np.int64)

    def distance(self, x: Design, labels: np.ndarray) -> np.ndarray:
        """The distance of each customer to its cluster: sqrt of the squared distance."""
        d2 = self.squared_distances(x)[np.arange(len(x)), labels]
        return np.sqrt(np.maximum(d2, 0.0))


@dataclass(frozen=True)
class CentroidModel(ClusterModel):
    """k-means: squared Euclidean distance to each center, lowest wins.

    Attributes
    ----------
    centers : ndarray of shape (k, d)
    """

    centers: np.ndarray
    kind: ClassVar[str] = "centroids"

    @property
    def k(self) -> int:
        return self.centers.shape[0]

    def scores(self, x: Design) -> np.ndarray:
        return self.squared_distances(x)

    def squared_distances(self, x: Design) -> np.ndarray:
        out = np.zeros((len(x), self.k))
        for j in range(self.centers.shape[1]):
            diff = x.num[:, j, None] - self.centers[None, :, j]
            out += diff * diff
        return out

    def permuted(self, order: np.ndarray) -> CentroidModel:
        return CentroidModel(self.centers[order])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "centers": self.centers.tolist()}


@dataclass(frozen=True)
class GaussianModel(ClusterModel):
    """A Gaussian mixture: the highest weighted log-density wins.

    ``log p_k(z) = log w_k + sum_j log P_k[j, j] - ||(z - mu_k) P_k||^2 / 2 - d log(2 pi) / 2``
    with ``P_k`` the Cholesky factor of the precision (scikit-learn's
    ``precisions_cholesky_``, written as a full matrix whatever the covariance type).
    The distance is the Mahalanobis distance ``||(z - mu_k) P_k||``.

    Attributes
    ----------
    weights : ndarray of shape (k,)
    means : ndarray of shape (k, d)
    precisions_cholesky : ndarray of shape (k, d, d)
    covariance_type : str
    """

    weights: np.ndarray
    means: np.ndarray
    precisions_cholesky: np.ndarray
    covariance_type: str = "diag"
    kind: ClassVar[str] = "gaussian"
    minimize: ClassVar[bool] = False

    @property
    def k(self) -> int:
        return self.means.shape[0]

    def log_norm(self) -> np.ndarray:
        """The constant part of each component's log-density, shape (k,)."""
        d = self.means.shape[1]
        logdet = np.log(np.diagonal(self.precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
        return np.log(self.weights) + logdet - 0.5 * d * _LOG_2PI

    def scores(self, x: Design) -> np.ndarray:
        return self.log_norm()[None, :] - 0.5 * self.squared_distances(x)

    def squared_distances(self, x: Design) -> np.ndarray:
        # explicit loops, in the order the engine adds the terms (see _assign._whiten)
        d = self.means.shape[1]
        out = np.zeros((len(x), self.k))
        for c in range(self.k):
            p = self.precisions_cholesky[c]
            centered = x.num - self.means[c]
            for j in range(d):
                y = np.zeros(len(x))
                for i in np.flatnonzero(p[:, j]):
                    y = y + centered[:, i] * p[i, j]
                out[:, c] += y * y
        return out

    def permuted(self, order: np.ndarray) -> GaussianModel:
        return GaussianModel(
            self.weights[order],
            self.means[order],
            self.precisions_cholesky[order],
            self.covariance_type,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "covariance_type": self.covariance_type,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "precisions_cholesky": self.precisions_cholesky.tolist(),
        }

    @classmethod
    def from_sklearn(cls, gm: Any) -> GaussianModel:
        """From a fitted :class:`sklearn.mixture.GaussianMixture`."""
        k, d = gm.means_.shape
        pc = np.asarray(gm.precisions_cholesky_, dtype=float)
        if gm.covariance_type == "full":
            full = pc.copy()
        elif gm.covariance_type == "tied":
            full = np.repeat(pc[None, :, :], k, axis=0)
        elif gm.covariance_type == "diag":
            full = np.stack([np.diag(pc[c]) for c in range(k)])
        else:  # spherical
            full = np.stack([pc[c] * np.eye(d) for c in range(k)])
        return cls(
            np.asarray(gm.weights_, dtype=float),
            np.asarray(gm.means_, dtype=float),
            full,
            gm.covariance_type,
        )


@dataclass(frozen=True)
class PrototypeModel(ClusterModel):
    """k-prototypes: squared Euclidean distance on numerics + gamma x category mismatches.

    A missing category never matches (unless the prototype's category is missing too).

    Attributes
    ----------
    centers : ndarray of shape (k, d)
    modes : ndarray of object of shape (k, c)
    gamma : float
    """

    centers: np.ndarray
    modes: np.ndarray
    gamma: float
    kind: ClassVar[str] = "prototypes"

    @property
    def k(self) -> int:
        return self.centers.shape[0]

    def scores(self, x: Design) -> np.ndarray:
        return self.squared_distances(x)

    def squared_distances(self, x: Design) -> np.ndarray:
        out = CentroidModel(self.centers).squared_distances(x)
        mismatches = np.zeros_like(out)
        for j in range(self.modes.shape[1]):
            for c in range(self.k):
                mismatches[:, c] += x.cat[:, j] != self.modes[c, j]
        return out + self.gamma * mismatches

    def permuted(self, order: np.ndarray) -> PrototypeModel:
        return PrototypeModel(self.centers[order], self.modes[order], self.gamma)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "centers": self.centers.tolist(),
            "modes": self.modes.tolist(),
            "gamma": self.gamma,
        }


def model_from_dict(d: Mapping[str, Any]) -> ClusterModel:
    """Rebuild any model from its ``to_dict`` output."""
    kind = d.get("kind")
    if kind == CentroidModel.kind:
        return CentroidModel(np.asarray(d["centers"], dtype=float))
    if kind == GaussianModel.kind:
        return GaussianModel(
            np.asarray(d["weights"], dtype=float),
            np.asarray(d["means"], dtype=float),
            np.asarray(d["precisions_cholesky"], dtype=float),
            str(d["covariance_type"]),
        )
    if kind == PrototypeModel.kind:
        modes = np.array(d["modes"], dtype=object)
        if modes.ndim == 1:
            modes = modes.reshape(len(d["centers"]), 0)
        return PrototypeModel(np.asarray(d["centers"], dtype=float), modes, float(d["gamma"]))
    raise ValueError(f"unknown cluster model kind {kind!r}")
