"""The segmenters end to end on planted blobs: k, names, rules, engine assignment."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from kmodes.kprototypes import KPrototypes
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from custseg.exceptions import DataError, NotFittedError, UsageError
from custseg.segments.clustering import (
    BaseSegmenter,
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
    UnstableClusteringWarning,
)

from .conftest import BLOB_FEATURES
from .test_explain import sql_count

#: Words each planted blob's name must contain (from how the blob was made).
PLANTED_WORDS = {
    "big_frequent": ("High spend", "Frequent"),
    "lapsed": ("Lapsed",),
    "deal_seekers": ("Deal seekers",),
    "new_small": ("Occasional",),
}


def _engine_labels(seg: BaseSegmenter, table: ibis.Table, ids: np.ndarray) -> pd.DataFrame:
    return seg.assign(table).execute().set_index("customer_id").loc[ids]


def _check_blobs(seg: BaseSegmenter, blobs: pd.DataFrame, table: ibis.Table) -> None:
    truth = blobs.set_index("customer_id").truth.loc[seg.sample_ids_].to_numpy()
    assert seg.k_ == 4
    assert adjusted_rand_score(truth, seg.labels_) == 1.0
    assert seg.stability_ == pytest.approx(1.0)
    assert len(set(seg.names_.values())) == 4
    for c in range(4):
        planted = pd.Series(truth[seg.labels_ == c]).mode()[0]
        for word in PLANTED_WORDS[planted]:
            assert word in seg.names_[c], (planted, seg.names_[c])
        rule = seg.rules_[c]
        assert (rule.precision, rule.recall, rule.support) == (1.0, 1.0, 40)
        frame = blobs.set_index("customer_id").loc[seg.sample_ids_].assign(member=seg.labels_)
        assert sql_count(frame, rule.rule) == 40
        assert sql_count(frame, f"({rule.rule}) AND member = {c}") == 40
    out = _engine_labels(seg, table, seg.sample_ids_)
    np.testing.assert_array_equal(out.cluster.to_numpy(), seg.labels_)
    assert out.cluster_name.tolist() == [seg.names_[c] for c in seg.labels_]
    assert (seg.profile_["size"] == 40).all() and seg.profile_.share.sum() == pytest.approx(1.0)


def test_kmeans_recovers_blobs(blobs: pd.DataFrame, blobs_table: ibis.Table) -> None:
    seg = KMeansSegmenter(BLOB_FEATURES, n_bootstrap=4).fit(blobs_table)
    assert seg.k_criterion_ == "silhouette"
    assert [k for k, _ in seg.k_curve_] == list(range(2, 11))
    assert max(seg.k_curve_, key=lambda ks: ks[1])[0] == 4
    _check_blobs(seg, blobs, blobs_table)
    # the estimator agrees with the engine on the transformed matrix
    x = seg.transform_.matrix(blobs)
    np.testing.assert_array_equal(seg.estimator_.predict(x), seg.labels_)
    # profile centroids are back in original units, near the planted values
    big = seg.profile_.loc[seg.labels_[0]]
    assert 4200 < big.amount_spent < 5800 and 38 < big.number_of_orders < 42


def test_gaussian_mixture_recovers_blobs(blobs: pd.DataFrame, blobs_table: ibis.Table) -> None:
    seg = GaussianMixtureSegmenter(BLOB_FEATURES, n_bootstrap=3).fit(blobs_table)
    assert seg.k_criterion_ == "bic"
    assert min(seg.k_curve_, key=lambda ks: ks[1])[0] == 4
    _check_blobs(seg, blobs, blobs_table)
    np.testing.assert_array_equal(seg.estimator_.predict(seg.transform_.matrix(blobs)), seg.labels_)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "spherical"])
def test_other_covariances_assign_like_sklearn(
    blobs_table: ibis.Table, blobs: pd.DataFrame, covariance_type: str
) -> None:
    seg = GaussianMixtureSegmenter(
        BLOB_FEATURES, k=3, n_bootstrap=0, covariance_type=covariance_type
    ).fit(blobs_table)
    out = _engine_labels(seg, blobs_table, blobs.customer_id.to_numpy())
    expected = seg.estimator_.predict(seg.transform_.matrix(blobs))
    np.testing.assert_array_equal(out.cluster.to_numpy(), expected)


def test_kprototypes_recovers_blobs_with_a_category(
    blobs: pd.DataFrame, blobs_table: ibis.Table
) -> None:
    seg = KPrototypesSegmenter([*BLOB_FEATURES, "main_device"], n_bootstrap=3).fit(blobs_table)
    _check_blobs(seg, blobs, blobs_table)
    assert seg.model_.gamma > 0
    devices = set(seg.profile_.main_device)
    assert devices == {"mobile", "desktop", "tablet"}


def test_kprototypes_agrees_with_kmodes(blobs: pd.DataFrame, blobs_table: ibis.Table) -> None:
    cols = [*BLOB_FEATURES, "main_device"]
    ours = KPrototypesSegmenter(cols, k=4, n_bootstrap=0).fit(blobs_table)
    theirs = KPrototypesSegmenter(cols, k=4, n_bootstrap=0, solver="kmodes", n_init=1)
    theirs.fit(blobs_table)
    assert isinstance(theirs.estimator_, KPrototypes)
    assert adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    # kmodes' own predict, on its encoding, matches the engine for the kmodes fit
    num = theirs.transform_.numeric_matrix(blobs)
    data = np.column_stack([num, blobs.main_device.to_numpy(dtype=object)]).astype(object)
    out = _engine_labels(theirs, blobs_table, blobs.customer_id.to_numpy())
    np.testing.assert_array_equal(
        out.cluster.to_numpy(), theirs.estimator_.predict(data, categorical=[num.shape[1]])
    )


def test_kprototypes_needs_both_kinds(blobs_table: ibis.Table) -> None:
    with pytest.raises(UsageError, match="numeric and text"):
        KPrototypesSegmenter(BLOB_FEATURES).fit(blobs_table)


def test_unstable_clustering_warns() -> None:
    rng = np.random.default_rng(0)
    cols = [f"f{j}" for j in range(8)]
    frame = pd.DataFrame(rng.normal(size=(300, 8)), columns=cols)  # no structure at all
    frame.insert(0, "customer_id", [f"C{i}" for i in range(300)])
    with pytest.warns(UnstableClusteringWarning, match="stability"):
        seg = KMeansSegmenter(cols, k=4, n_bootstrap=5, n_init=1).fit(ibis.memtable(frame))
    assert seg.stability_ < 0.6


def test_explicit_k_and_no_bootstrap(blobs_table: ibis.Table) -> None:
    seg = KMeansSegmenter(BLOB_FEATURES, k=2, n_bootstrap=0).fit(blobs_table)
    assert seg.k_ == 2 and [k for k, _ in seg.k_curve_] == [2]
    assert seg.stability_ is None


def test_custom_population(blobs: pd.DataFrame, blobs_table: ibis.Table) -> None:
    seg = KMeansSegmenter(
        BLOB_FEATURES, k=2, n_bootstrap=0, population=ibis._.number_of_orders >= 2
    ).fit(blobs_table)
    expected = set(blobs.customer_id[blobs.number_of_orders >= 2])
    assert set(seg.sample_ids_) == expected
    assert set(seg.assign(blobs_table).execute().customer_id) == expected


def test_sample_size_limits_the_fit(blobs_table: ibis.Table) -> None:
    seg = KMeansSegmenter(BLOB_FEATURES, k=4, sample_size=100, n_bootstrap=0).fit(blobs_table)
    assert len(seg.labels_) == 100
    assert seg.assign(blobs_table).count().execute() == 160  # everyone is assigned


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"k": 1}, "k must be"),
        ({"k": "many"}, "k must be"),
        ({"k_range": (5, 3)}, "k_range"),
        ({"k_range": (1, 3)}, "k_range"),
        ({"n_bootstrap": 1}, "n_bootstrap"),
        ({"sample_size": 0}, "sample_size"),
        ({"random_state": -1}, "random_state"),
        ({"n_init": 0}, "n_init"),
    ],
)
def test_bad_parameters(blobs_table: ibis.Table, params: dict, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        KMeansSegmenter(BLOB_FEATURES, **params).fit(blobs_table)


def test_bad_mixture_and_prototype_parameters(blobs_table: ibis.Table) -> None:
    with pytest.raises(UsageError, match="covariance_type"):
        GaussianMixtureSegmenter(BLOB_FEATURES, covariance_type="round").fit(blobs_table)
    with pytest.raises(UsageError, match="solver"):
        KPrototypesSegmenter(BLOB_FEATURES, solver="fast").fit(blobs_table)
    with pytest.raises(UsageError, match="gamma"):
        KPrototypesSegmenter(BLOB_FEATURES, gamma=-1.0).fit(blobs_table)


def test_too_few_customers_for_k(blobs_table: ibis.Table) -> None:
    tiny = blobs_table.limit(3)
    with pytest.raises(DataError, match="too few"):
        KMeansSegmenter(BLOB_FEATURES, k=5).fit(tiny)


def test_use_before_fit_and_wrong_input() -> None:
    seg = KMeansSegmenter()
    with pytest.raises(NotFittedError, match="not fitted"):
        seg.assign(ibis.memtable({"customer_id": ["a"]}))
    with pytest.raises(UsageError, match="Ibis table"):
        seg.fit([1, 2, 3])  # type: ignore[arg-type]


def test_sklearn_protocol(blobs: pd.DataFrame) -> None:
    seg = KMeansSegmenter(BLOB_FEATURES, k=4, n_bootstrap=0)
    assert seg.get_params()["k"] == 4 and clone(seg).get_params() == seg.get_params()
    # a pandas frame is accepted (wrapped in a memtable) and fit returns self
    assert seg.fit(blobs.drop(columns="truth")) is seg
    np.testing.assert_array_equal(seg.predict(blobs), seg.labels_)


def test_deferred_population_survives_get_params_repr_and_clone() -> None:
    pop = ibis._.number_of_orders >= 2
    seg = KMeansSegmenter(BLOB_FEATURES, population=pop)
    assert seg.get_params()["population"] is pop
    assert "population=" in repr(seg)
    assert clone(seg).get_params()["population"] is pop
