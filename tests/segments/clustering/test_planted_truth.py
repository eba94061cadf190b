"""Planted truth: on the demo store, clustering recovers the generator's personas.

The demo store (seed 7, 3,000 customers) plants one persona per customer. The clustered
population is the customers with orders that are not stubs: every champion,
bargain_hunter, lapsed_loyal, one_time, new_customer and b2b_bulk customer, plus the 3%
of browsers that placed one order (15 here). The browsers without orders, and the stub
customers made from guest orders, are outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg.segments.clustering import (
    BaseSegmenter,
    GaussianMixtureSegmenter,
    KMeansSegmenter,
    KPrototypesSegmenter,
    load_segmenter,
)
from custseg.workspace import Workspace

from .test_explain import sql_count

pytestmark = pytest.mark.slow

EVERYONE = ibis._.customer_id.notnull()

#: Words the name of each persona's cluster must contain, from the persona's definition
#: in custseg.synth._personas (e.g. b2b_bulk buys case packs: big baskets).
PERSONA_WORDS = {
    "champion": "High spend",
    "bargain_hunter": "Deal seekers",
    "lapsed_loyal": "Frequent",
    "one_time": "Occasional",
    "new_customer": "New",
    "b2b_bulk": "Big baskets",
}


@pytest.fixture(scope="module")
def kmeans(demo_features: ir.Table) -> KMeansSegmenter:
    return KMeansSegmenter("behavior").fit(demo_features)


@pytest.fixture(scope="module")
def truth_of_sample(kmeans: KMeansSegmenter, demo_truth: pd.Series) -> np.ndarray:
    return demo_truth.reindex(kmeans.sample_ids_).to_numpy()


def test_population_is_every_customer_with_orders(
    kmeans: KMeansSegmenter, demo_features: ir.Table
) -> None:
    t = demo_features
    expected = t.filter((t.number_of_orders > 0) & ~t.is_stub).customer_id.execute()
    assert sorted(kmeans.sample_ids_) == sorted(expected)  # small enough to be all sampled


def test_kmeans_recovers_the_personas(kmeans: KMeansSegmenter, truth_of_sample: np.ndarray) -> None:
    assert not pd.isna(truth_of_sample).any()
    assert adjusted_rand_score(truth_of_sample, kmeans.labels_) >= 0.9
    assert kmeans.stability_ >= 0.8


def test_chosen_k_is_the_number_of_personas_present(
    kmeans: KMeansSegmenter, truth_of_sample: np.ndarray
) -> None:
    shares = pd.Series(truth_of_sample).value_counts(normalize=True)
    # The browsers with one order (under 1% of the population) look like one-time
    # buyers in behaviour: one small order, no discount, one category. They are not a
    # separable group, so k counts the personas holding at least 1% of the population.
    assert shares.get("browser", 0.0) < 0.01
    assert kmeans.k_ == int((shares >= 0.01).sum()) == 6
    assert kmeans.k_criterion_ == "silhouette"
    assert max(kmeans.k_curve_, key=lambda ks: ks[1])[0] == kmeans.k_


def test_names_describe_the_planted_personas(
    kmeans: KMeansSegmenter, truth_of_sample: np.ndarray
) -> None:
    table = pd.crosstab(truth_of_sample, kmeans.labels_)
    for persona, word in PERSONA_WORDS.items():
        cluster = int(table.loc[persona].idxmax())
        assert word in kmeans.names_[cluster], (persona, kmeans.names_[cluster])
    assert len(set(kmeans.names_.values())) == kmeans.k_


def test_rules_approximate_the_clusters(kmeans: KMeansSegmenter, demo_features: ir.Table) -> None:
    frame = demo_features.filter(demo_features.customer_id.isin(list(kmeans.sample_ids_)))
    frame = frame.execute().set_index("customer_id").loc[kmeans.sample_ids_]
    frame = frame.assign(member=kmeans.labels_)
    for c, rule in kmeans.rules_.items():
        assert rule.precision >= 0.9 and rule.recall >= 0.9, (c, rule)
        # DuckDB evaluates the text on the sample: same counts as the rule's own evaluator
        hit = sql_count(frame, rule.rule)
        tp = sql_count(frame, f"({rule.rule}) AND member = {c}")
        assert hit == rule.support
        assert tp / hit == pytest.approx(rule.precision)
        assert tp / (kmeans.labels_ == c).sum() == pytest.approx(rule.recall)


def test_rules_compile_in_the_segment_language(
    kmeans: KMeansSegmenter, demo_ws: Workspace, demo_features: ir.Table
) -> None:
    dsl = pytest.importorskip("custseg.segments.dsl")
    ctx = dsl.RuleContext.from_workspace(demo_ws)
    assigned = kmeans.assign(demo_features)
    t = ctx.features.inner_join(assigned, "customer_id")
    for c, rule in kmeans.rules_.items():
        selected = dsl.compile_rule(rule.rule, ctx)
        row = (
            t.aggregate(
                hit=selected.cast("int64").sum(),
                tp=(selected & (t.cluster == c)).cast("int64").sum(),
                n=(t.cluster == c).cast("int64").sum(),
            )
            .execute()
            .iloc[0]
        )
        assert row.hit == rule.support, rule.rule
        assert row.tp / row.hit == pytest.approx(rule.precision)
        assert row.tp / row.n == pytest.approx(rule.recall)


def test_engine_labels_equal_sklearn_for_every_customer(
    kmeans: KMeansSegmenter, demo_features: ir.Table
) -> None:
    everyone = load_segmenter(kmeans.to_dict(), population=EVERYONE)
    assigned = everyone.assign(demo_features).execute().set_index("customer_id")
    frame = demo_features.execute().set_index("customer_id").loc[assigned.index]
    assert len(frame) == demo_features.count().execute()  # prospects and stubs included
    expected = kmeans.estimator_.predict(kmeans.transform_.matrix(frame))
    np.testing.assert_array_equal(assigned.cluster.to_numpy(), expected)
    # and the population's assignment is the fit's labels
    own = kmeans.assign(demo_features).execute().set_index("customer_id")
    np.testing.assert_array_equal(own.cluster.loc[kmeans.sample_ids_], kmeans.labels_)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianMixtureSegmenter("behavior", n_bootstrap=0),
        lambda: KPrototypesSegmenter(["behavior", "main_device", "main_channel"], n_bootstrap=0),
    ],
    ids=["gaussian_mixture", "kprototypes"],
)
def test_other_models_assign_in_the_engine_like_numpy(
    make: Callable[[], BaseSegmenter], demo_features: ir.Table
) -> None:
    seg = make().fit(demo_features)
    seg.set_params(population=EVERYONE)
    assigned = seg.assign(demo_features).execute().set_index("customer_id")
    frame = demo_features.execute().set_index("customer_id").loc[assigned.index]
    if isinstance(seg, GaussianMixtureSegmenter):
        expected = seg.estimator_.predict(seg.transform_.matrix(frame))
    else:
        expected = seg.predict(frame)
    np.testing.assert_array_equal(assigned.cluster.to_numpy(), expected)


def test_saved_segmenter_assigns_identically(
    kmeans: KMeansSegmenter, demo_features: ir.Table, tmp_path: Path
) -> None:
    again = load_segmenter(kmeans.save(tmp_path / "kmeans.json"))
    a = kmeans.assign(demo_features).execute().sort_values("customer_id", ignore_index=True)
    b = again.assign(demo_features).execute().sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
