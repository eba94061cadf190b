"""Engine assignment equals the numpy models, for every kind of model."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from custseg.segments.clustering import FeatureSet
from custseg.segments.clustering._assign import assign_expr
from custseg.segments.clustering._models import (
    CentroidModel,
    ClusterModel,
    Design,
    GaussianModel,
    PrototypeModel,
)
from custseg.segments.clustering._transform import FittedTransform


def _frame(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "spend": np.round(np.exp(rng.normal(3 + 2 * group, 0.5)), 2),
            "orders": (1 + rng.poisson(2 + 5 * group)).astype("int64"),
            "share": rng.uniform(0, 1, n),
            "device": np.array(["mobile", "desktop", "tablet"], dtype=object)[group],
        }
    )
    frame.loc[::9, "share"] = np.nan
    frame.loc[::13, "device"] = None
    return frame


FS = FeatureSet(numeric=("spend", "orders", "share"), categorical=("device",))
NAMES = {0: "zero", 1: "one", 2: "two"}


def _engine(frame: pd.DataFrame, model: ClusterModel, tr: FittedTransform) -> pd.DataFrame:
    out = assign_expr(ibis.memtable(frame), model=model, transform=tr, names=NAMES)
    return out.execute().set_index("customer_id").loc[frame.customer_id]


def test_kmeans_engine_equals_sklearn() -> None:
    frame = _frame()
    tr = FittedTransform.fit(frame, FS)
    x = tr.matrix(frame)
    km = KMeans(3, n_init=2, random_state=0).fit(x)
    out = _engine(frame, CentroidModel(km.cluster_centers_), tr)
    np.testing.assert_array_equal(out.cluster.to_numpy(), km.predict(x))
    assert out.cluster_name.tolist() == [NAMES[c] for c in km.predict(x)]
    dist = np.sqrt(((x - km.cluster_centers_[km.predict(x)]) ** 2).sum(axis=1))
    np.testing.assert_allclose(out.distance.to_numpy(), dist)
    assert str(out.cluster.dtype) == "int64"


@pytest.mark.parametrize("covariance_type", ["diag", "full", "tied", "spherical"])
def test_gaussian_engine_equals_sklearn(covariance_type: str) -> None:
    frame = _frame(seed=1)
    tr = FittedTransform.fit(frame, FS)
    x = tr.matrix(frame)
    gm = GaussianMixture(3, covariance_type=covariance_type, reg_covar=1e-3, random_state=0)
    gm.fit(x)
    model = GaussianModel.from_sklearn(gm)
    out = _engine(frame, model, tr)
    np.testing.assert_array_equal(out.cluster.to_numpy(), gm.predict(x))
    lab = gm.predict(x)
    np.testing.assert_allclose(
        out.distance.to_numpy(), model.distance(Design(x, np.empty((len(x), 0))), lab)
    )


def test_prototypes_engine_equals_numpy_with_missing_modes() -> None:
    frame = _frame(seed=2)
    tr = FittedTransform.fit(frame, FS)
    num, cat = tr.numeric_matrix(frame), tr.categorical_matrix(frame)
    rng = np.random.default_rng(0)
    centers = num[rng.choice(len(num), 3, replace=False)]
    model = PrototypeModel(centers, np.array([["mobile"], [None], ["tablet"]], dtype=object), 0.8)
    out = _engine(frame, model, tr)
    expected = model.predict(Design(num, cat))
    np.testing.assert_array_equal(out.cluster.to_numpy(), expected)
    np.testing.assert_allclose(out.distance.to_numpy(), model.distance(Design(num, cat), expected))


def test_distance_by_hand_and_first_cluster_wins_ties() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b"], "x": [0.0, 3.0]})
    tr = FittedTransform.fit(frame, FeatureSet(numeric=("x",)))
    # scaled: median 1.5, IQR 1.5 -> z = -1 and 1; centers at -1 and 3 (z units)
    out = _engine(frame, CentroidModel(np.array([[-1.0], [3.0]])), tr)
    assert out.cluster.tolist() == [0, 0]
    assert out.distance.tolist() == [0.0, 2.0]
    tie = _engine(frame.iloc[[1]], CentroidModel(np.array([[0.0], [2.0]])), tr)
    assert tie.cluster.tolist() == [0]  # z = 1 is 1 from both centers


def test_assignment_and_sample_compile_for_pyspark() -> None:
    pytest.importorskip("pyspark")
    assert ibis.pyspark.name == "pyspark"  # loading the backend registers its options
    from custseg.segments.clustering._sample import population_filter

    frame = _frame()
    t = ibis.memtable(frame.assign(is_stub=False, number_of_orders=frame.orders))
    tr = FittedTransform.fit(frame, FS)
    x, num, cat = tr.matrix(frame), tr.numeric_matrix(frame), tr.categorical_matrix(frame)
    models = [
        CentroidModel(KMeans(3, n_init=1, random_state=0).fit(x).cluster_centers_),
        GaussianModel.from_sklearn(
            GaussianMixture(3, covariance_type="full", random_state=0).fit(x)
        ),
        PrototypeModel(num[:3], cat[:3], 0.5),
    ]
    for model in models:
        sql = ibis.to_sql(assign_expr(t, model=model, transform=tr, names=NAMES), dialect="pyspark")
        assert "LEAST" in sql or "GREATEST" in sql
    pop = population_filter(t, None)
    key = (pop.customer_id.cast("string") + "|0").hash()
    sql = ibis.to_sql(pop.select("customer_id", _k=key).order_by("_k").limit(5), dialect="pyspark")
    assert "HASH(" in sql
