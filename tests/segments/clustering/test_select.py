"""Choosing k, the mixed-distance silhouette, and bootstrap stability."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from custseg.segments.clustering._models import Design
from custseg.segments.clustering._select import adjusted_rand, choose_k, silhouette, stability


def test_choose_k_best_score_smallest_on_ties_and_nan_skipped() -> None:
    scores = {2: 0.3, 3: 0.7, 4: 0.7, 5: float("nan")}
    k, curve, fitted = choose_k(
        [2, 3, 4, 5], lambda k: k * 10, lambda c: scores[c // 10], minimize=False
    )
    assert k == 3
    assert curve[:3] == [(2, 0.3), (3, 0.7), (4, 0.7)] and np.isnan(curve[3][1])
    assert fitted == {2: 20, 3: 30, 4: 40, 5: 50}
    bic = {2: 100.0, 3: 50.0, 4: 80.0}
    assert choose_k([2, 3, 4], lambda k: k, bic.get, minimize=True)[0] == 3


def test_silhouette_plain_is_sklearn_on_the_rows() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(6, 1, (30, 2))])
    labels = np.repeat([0, 1], 30)
    rows = np.arange(0, 60, 2)
    d = Design(x, np.empty((60, 0), dtype=object))
    assert silhouette(d, labels, rows=rows) == silhouette_score(x[rows], labels[rows])
    assert np.isnan(silhouette(d, np.zeros(60, dtype=int), rows=rows))


def test_mixed_silhouette_is_euclidean_on_scaled_one_hots() -> None:
    rng = np.random.default_rng(1)
    num = rng.normal(size=(40, 2))
    cat = rng.choice(np.array(["a", "b", "c"], dtype=object), (40, 2))
    labels = rng.integers(0, 3, 40)
    gamma = 0.8
    # one-hot each category, scaled by sqrt(gamma / 2): a mismatch adds exactly gamma
    blocks = [num]
    for j in range(2):
        blocks.append(np.sqrt(gamma / 2) * (cat[:, j, None] == np.array(["a", "b", "c"])))
    embedded = np.hstack(blocks)
    rows = np.arange(40)
    got = silhouette(Design(num, cat), labels, rows=rows, gamma=gamma)
    assert np.isclose(got, silhouette_score(embedded, labels))


def test_stability_is_one_for_identical_refits_and_low_for_noise() -> None:
    truth = np.repeat([0, 1, 2], 50)
    same = stability(lambda idx, seed: truth, 150, n_bootstrap=4, random_state=0)
    assert same == 1.0
    noise = stability(
        lambda idx, seed: np.random.default_rng(seed).integers(0, 3, 150),
        150,
        n_bootstrap=6,
        random_state=0,
    )
    assert abs(noise) < 0.1


def test_stability_resamples_with_replacement_and_seeds_each_refit() -> None:
    seen: list[tuple[int, int, int]] = []

    def refit(idx: np.ndarray, seed: int) -> np.ndarray:
        seen.append((len(idx), len(np.unique(idx)), seed))
        return np.zeros(100, dtype=int)

    stability(refit, 100, n_bootstrap=3, random_state=5)
    assert [s[0] for s in seen] == [100, 100, 100]
    assert all(s[1] < 100 for s in seen)  # P(no repeat in 100 draws) is ~1e-42
    assert [s[2] for s in seen] == [6, 7, 8]


def test_adjusted_rand_equals_sklearn() -> None:
    rng = np.random.default_rng(7)
    for k1, k2, n in ((3, 3, 500), (2, 7, 300), (5, 1, 50)):
        a, b = rng.integers(0, k1, n), rng.integers(0, k2, n)
        b_near = np.where(rng.uniform(size=n) < 0.8, a, b)
        for x, y in ((a, b), (a, b_near), (a, a)):
            assert adjusted_rand(x, y) == pytest.approx(adjusted_rand_score(x, y))
    assert adjusted_rand(np.zeros(5, int), np.zeros(5, int)) == adjusted_rand_score(
        np.zeros(5, int), np.zeros(5, int)
    )
