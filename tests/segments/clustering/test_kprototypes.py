"""The vectorized k-prototypes: a fixed point of its own updates, as good as kmodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from kmodes.kprototypes import KPrototypes

from custseg.segments.clustering._kprototypes import (
    encode_categories,
    fit_kprototypes,
    refine_kprototypes,
)
from custseg.segments.clustering._models import Design


def _mixed(n_per: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    devices = np.array(["mobile", "desktop", "tablet"], dtype=object)
    truth = np.repeat(np.arange(3), n_per)
    num = centers[truth] + rng.normal(0, 0.5, (len(truth), 2))
    cat = np.column_stack(
        [devices[truth], rng.choice(np.array(["x", "y"], dtype=object), len(truth))]
    )
    cat[::17, 0] = None
    return num, cat, truth


def test_fit_is_a_fixed_point_of_means_modes_and_nearest_prototype() -> None:
    num, cat, _ = _mixed()
    fit = fit_kprototypes(num, cat, 3, n_init=2, random_state=0)
    model = fit.model
    np.testing.assert_array_equal(model.predict(Design(num, cat)), fit.labels)
    for c in range(3):
        members = fit.labels == c
        np.testing.assert_allclose(model.centers[c], num[members].mean(axis=0))
        for j in range(cat.shape[1]):
            counts = pd.Series(cat[members, j]).value_counts(dropna=False)
            assert counts[model.modes[c, j]] == counts.max()
    expected_gamma = 0.5 * num.std(axis=0).mean()
    assert model.gamma == expected_gamma
    assert fit.cost == model.squared_distances(Design(num, cat)).min(axis=1).sum()


def test_recovers_planted_groups_and_costs_no_more_than_kmodes() -> None:
    num, cat, truth = _mixed(seed=1)
    fit = fit_kprototypes(num, cat, 3, n_init=3, random_state=0)
    assert pd.crosstab(truth, fit.labels).max(axis=1).tolist() == [60, 60, 60]
    data = np.column_stack([num, np.where(cat == None, "?", cat)]).astype(object)  # noqa: E711
    km = KPrototypes(3, init="Cao", n_init=1, random_state=0, gamma=fit.model.gamma).fit(
        data, categorical=[2, 3]
    )
    ours = fit_kprototypes(num, np.where(cat == None, "?", cat), 3, random_state=0)  # noqa: E711
    assert ours.cost <= km.cost_ * (1 + 1e-9)


def test_refine_continues_on_new_rows() -> None:
    num, cat, truth = _mixed(seed=2)
    first = fit_kprototypes(num[::3], cat[::3], 3, random_state=0)
    refined = refine_kprototypes(first.model, num, cat)
    assert refined.model.gamma == first.model.gamma
    assert pd.crosstab(truth, refined.labels).max(axis=1).tolist() == [60, 60, 60]
    for c in range(3):
        np.testing.assert_allclose(refined.model.centers[c], num[refined.labels == c].mean(axis=0))


def test_encoding_puts_missing_last() -> None:
    codes, values = encode_categories(np.array([["b"], [None], ["a"]], dtype=object))
    assert codes[:, 0].tolist() == [1, 2, 0]
    assert values == [["a", "b", None]]
