"""The numpy scoring of the models agrees with scikit-learn and kmodes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kmodes.kprototypes import labels_cost
from kmodes.util.dissim import euclidean_dissim, matching_dissim
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from custseg.segments.clustering._models import (
    CentroidModel,
    Design,
    GaussianModel,
    PrototypeModel,
    model_from_dict,
)


def _data(n: int = 400, d: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (4, d))
    return centers[rng.integers(0, 4, n)] + rng.normal(0, 1, (n, d))


def _design(x: np.ndarray) -> Design:
    return Design(x, np.empty((len(x), 0), dtype=object))


def test_centroids_match_sklearn_predict() -> None:
    x = _data()
    km = KMeans(4, n_init=2, random_state=0).fit(x)
    model = CentroidModel(km.cluster_centers_)
    np.testing.assert_array_equal(model.predict(_design(x)), km.predict(x))
    expected = np.sqrt(((x - km.cluster_centers_[km.predict(x)]) ** 2).sum(axis=1))
    np.testing.assert_allclose(model.distance(_design(x), model.predict(_design(x))), expected)


@pytest.mark.parametrize("covariance_type", ["diag", "full", "tied", "spherical"])
def test_gaussian_matches_sklearn(covariance_type: str) -> None:
    x = _data(seed=1)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(x)
    model = GaussianModel.from_sklearn(gm)
    np.testing.assert_allclose(model.scores(_design(x)), gm._estimate_weighted_log_prob(x))
    np.testing.assert_array_equal(model.predict(_design(x)), gm.predict(x))


def test_gaussian_distance_is_mahalanobis() -> None:
    x = _data(seed=2)
    gm = GaussianMixture(2, covariance_type="full", random_state=0).fit(x)
    model = GaussianModel.from_sklearn(gm)
    lab = model.predict(_design(x))
    inv = np.linalg.inv(gm.covariances_)
    diff = x - gm.means_[lab]
    expected = np.sqrt(np.einsum("ni,nij,nj->n", diff, inv[lab], diff))
    np.testing.assert_allclose(model.distance(_design(x), lab), expected)


def test_prototypes_match_kmodes_cost() -> None:
    rng = np.random.default_rng(4)
    num = rng.normal(size=(200, 2))
    cat = rng.choice(np.array(["a", "b", "c"], dtype=object), (200, 2))
    centers = rng.normal(size=(3, 2))
    modes = np.array([["a", "b"], ["c", "c"], ["b", "a"]], dtype=object)
    model = PrototypeModel(centers, modes, gamma=0.7)
    # kmodes works on integer codes
    codes = {"a": 0, "b": 1, "c": 2}
    enc = np.vectorize(codes.get)(cat)
    enc_modes = np.vectorize(codes.get)(modes)
    labels, _ = labels_cost(num, enc, [centers, enc_modes], euclidean_dissim, matching_dissim, 0.7)
    np.testing.assert_array_equal(model.predict(Design(num, cat)), labels)
    by_hand = ((num[:, None, :] - centers[None]) ** 2).sum(-1) + 0.7 * (
        cat[:, None, :] != modes[None]
    ).sum(-1)
    np.testing.assert_allclose(model.scores(Design(num, cat)), by_hand)


def test_missing_category_matches_only_a_missing_mode() -> None:
    model = PrototypeModel(np.zeros((2, 1)), np.array([["a"], [None]], dtype=object), 1.0)
    x = Design(np.zeros((2, 1)), np.array([["a"], [None]], dtype=object))
    np.testing.assert_array_equal(model.scores(x), [[0.0, 1.0], [1.0, 0.0]])


def test_permuted_and_round_trip() -> None:
    x = _data(seed=5)
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(x)
    model = GaussianModel.from_sklearn(gm)
    order = np.array([2, 0, 1])
    perm = model.permuted(order)
    np.testing.assert_array_equal(perm.scores(_design(x)), model.scores(_design(x))[:, order])
    xc = Design(x, np.array([["a"]] * len(x), dtype=object))
    modes = np.array([["a"], [None], ["b"]], dtype=object)
    for m in (model, CentroidModel(gm.means_), PrototypeModel(gm.means_, modes, 0.5)):
        again = model_from_dict(json.loads(json.dumps(m.to_dict())))
        np.testing.assert_array_equal(again.scores(xc), m.scores(xc))
    with pytest.raises(ValueError, match="unknown cluster model"):
        model_from_dict({"kind": "nope"})
