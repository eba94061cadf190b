"""The time-split evaluation: metric code by hand, the split on the tiny store, the demo store."""

from __future__ import annotations

import gc
import random
from datetime import date

import ibis
import pytest

from custseg.actions import Recommender, RecommenderConfig, evaluate_time_split
from custseg.actions._recommend_eval import ranking_metrics
from custseg.exceptions import UsageError
from tests.actions.test_recommend import AS_OF, CFG, by_customer, tiny_segments, tiny_tables


def test_ranking_metrics_by_hand():
    # k = 2. a: recs X, Y, (Z); truth Y, W -> hit, recall 1/2.
    #        b: recs X, Y; truth Z -> miss, 0.
    #        c: recs W, Z, (Y); truth W, Z, Y, V -> hit, 2/4 (Y is ranked 3rd: not counted).
    #        d: no recs; truth X -> miss, 0.  e: recs but not evaluated -> ignored.
    recs = ibis.memtable(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "c", "e"],
            "rank": [1, 2, 3, 1, 2, 1, 2, 3, 1],
            "sku": ["X", "Y", "Z", "X", "Y", "W", "Z", "Y", "X"],
        }
    )
    truth = ibis.memtable(
        {
            "customer_id": ["a", "a", "b", "c", "c", "c", "c", "d", "e"],
            "sku": ["Y", "W", "Z", "W", "Z", "Y", "V", "X", "X"],
        }
    )
    customers = ibis.memtable({"customer_id": ["a", "b", "c", "d"]})
    got = ranking_metrics(recs, truth, customers, k=2)
    assert got["customers"] == 4
    assert got["hit_rate"] == pytest.approx(2 / 4)
    assert got["recall"] == pytest.approx((0.5 + 0 + 0.5 + 0) / 4)
    # at k = 3 Y counts for c: recall (1/2 + 0 + 3/4 + 0) / 4
    got3 = ranking_metrics(recs, truth, customers, k=3)
    assert got3["recall"] == pytest.approx((0.5 + 0.75) / 4)
    assert got3["hit_rate"] == pytest.approx(2 / 4)


def test_time_split_on_the_tiny_store():
    # Split at AS_OF, 90-day window (to 2024-06-29). After the split: c2 buys P3 (new),
    # c4 buys P4 (new: only in a cancelled order before), c5 buys P1 (no order before:
    # not evaluated), c1 re-buys P1 (owned: no test item), c3's order is after the window.
    # Customers with orders on both sides: c1, c2, c4; evaluated (a new item): c2, c4.
    # custseg (hand ranking of test_recommend): c2 [P3, P5] hit, c4 [P1, P3] miss.
    # popularity: c2 [P3, P6] hit, c4 [P1, P3] miss.
    res = evaluate_time_split(tiny_tables(), AS_OF, k=2, config=CFG, segments=tiny_segments())
    assert res["split_date"] == "2024-03-31"
    assert res["customers_with_orders_before_and_after"] == 3
    assert res["customers_evaluated"] == 2
    assert res["custseg"] == {"hit_rate@2": 0.5, "recall@2": 0.5}
    assert res["popularity"] == {"hit_rate@2": 0.5, "recall@2": 0.5}


def test_time_split_recommends_k_products():
    # k = 1 replaces top_n: c2 [P3] hit, c4 [P1] miss; popularity c2 [P3], c4 [P1].
    res = evaluate_time_split(tiny_tables(), AS_OF, k=1, config=CFG, segments=tiny_segments())
    assert res["custseg"] == {"hit_rate@1": 0.5, "recall@1": 0.5}
    assert res["k"] == 1


def test_time_split_checks_its_arguments():
    t = tiny_tables()
    with pytest.raises(UsageError, match="k must"):
        evaluate_time_split(t, AS_OF, k=0)
    with pytest.raises(UsageError, match="test_days"):
        evaluate_time_split(t, AS_OF, test_days=0)
    with pytest.raises(UsageError, match="split_date"):
        evaluate_time_split(t, "2024-03-31")


def test_engine_sql_compiles_for_spark():
    # Portable operations only: the ranking query also compiles to Spark SQL.
    pytest.importorskip("pyspark")
    assert ibis.pyspark.name == "pyspark"  # loading the backend registers its options
    rec = Recommender(CFG).fit(tiny_tables(), as_of=AS_OF, segments=tiny_segments())
    sql = ibis.to_sql(rec.recommend(), dialect="pyspark")
    assert "ROW_NUMBER()" in sql.upper()


# --------------------------------------------------------------------------- demo store


@pytest.fixture(scope="module")
def demo_tables(demo_store):
    from custseg.workspace import open_workspace

    ws = open_workspace(demo_store)
    con = ws.connect(read_only=True)
    yield {n: con.table(n) for n in ("orders", "order_lines", "events", "customers")}
    gc.collect()  # drop the tests' cached tables while the connection is still open
    ws.close()


@pytest.mark.slow
def test_custseg_beats_popularity_on_the_demo_store(demo_tables):
    # The demo ends 2025-06-30: split 90 days before, defaults, both methods in one run.
    res = evaluate_time_split(demo_tables, date(2025, 4, 1))
    assert res["customers_evaluated"] > 100
    assert res["customers_evaluated"] <= res["customers_with_orders_before_and_after"]
    ours, pop = res["custseg"], res["popularity"]
    assert ours["hit_rate@10"] > pop["hit_rate@10"]
    assert ours["recall@10"] > pop["recall@10"]


@pytest.mark.slow
def test_recommend_one_equals_recommend_on_the_demo_store(demo_tables):
    rec = Recommender(RecommenderConfig()).fit(demo_tables, as_of=date(2025, 6, 30))
    ids = sorted(
        r["customer_id"]
        for r in demo_tables["customers"].select("customer_id").to_pyarrow().to_pylist()
    )
    sample = random.Random(3).sample(ids, 40) + ["not-a-customer"]
    everyone = by_customer(rec.recommend(sample))
    for cid in sample:
        one = rec.recommend_one(cid)
        assert one == everyone[cid], cid
        assert len(one) == 10
        owned = rec.owned_.filter(rec.owned_.customer_id == cid).sku.to_pyarrow().to_pylist()
        assert not set(owned) & {r["sku"] for r in one}, cid
