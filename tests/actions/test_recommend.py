"""The recommender on a tiny hand-made store (below), every figure worked out by hand.

Settings unless a test says otherwise: top_n=2, min_support=2, customer baskets, 90-day range
and browsing windows, no lift smoothing (lift_prior=0), weights co-occurrence 0.5, segment
lift 0.3, browsing 0.2.

Co-occurrence (customer baskets of kept purchases: c1 {P1,P2,P3}, c2 {P1,P2},
c3 {P1,P3,P6}, c4 {P2}; n_P1 = 3, n_P2 = 3, n_P3 = 2, n_P6 = 1). Support: P1-P2 2 (c1,
c2), P1-P3 2 (c1, c3), P2-P3 1, P1-P6 1, P3-P6 1. With min_support 2 only P1-P2
(cosine 2/sqrt(3*3) = 2/3) and P1-P3 (2/sqrt(3*2)) remain, both ways.

Segment lift (prior 0): 9 kept customer-product pairs; p = P1 3/9, P2 3/9, P3 2/9, P6 1/9.
Segment A (c1, c2): P1 2, P2 2, P3 1 of 5 -> lift P1 = (2/5)/(3/9) = 1.2, P2 1.2,
P3 = (1/5)/(2/9) = 0.9, P4 = P5 = 0 (never kept: p = 0). Segment B (c3, c4): P1 1, P2 1,
P3 1, P6 1 of 4 -> P1 = (1/4)/(3/9) = 0.75, P2 0.75, P3 = (1/4)/(2/9) = 1.125, P4 = P5 = 0.

Per customer (candidates = in-range products not owned; components divided by their max
over the candidates; score = 0.5 c + 0.3 l + 0.2 b):

* c1, candidates P4, P5: co-occurrence 0, 0; lift (A) 0, 0; browsing bags 1/4 and hats
  3/4 -> P4 1/3, P5 1. Scores P5 0.2, P4 0.2/3. Ranking P5, P4.
* c2, candidates P3, P5 (P4 was returned: owned): co-occurrence P3 = sim(P1, P3) -> 1;
  lift (A) P3 0.9 -> 1, P5 0; browsing hats 1 -> P5 1. Scores P3 0.8, P5 0.2.
* c3 (segment B: "B" < "Z"), candidates P2, P4, P5: co-occurrence P2 = sim(P1, P2) -> 1;
  lift P2 0.75 -> 1, P4 = P5 = 0; browsing bags 1 -> P4 1. Scores P2 0.8, P4 0.2, P5 0.
* c4, candidates P1, P3, P4 (P5 returned: owned; P4 only in a cancelled order: not
  owned): co-occurrence P1 = sim(P2, P1) -> 1; lift P1 0.75, P3 1.125 -> 2/3, 1;
  browsing shoes 1 -> P1 1. Scores P1 0.5 + 0.2 + 0.2 = 0.9, P3 0.3, P4 0.
* c5, no purchase (cold start): browsing only, bags 2/3 -> 1, hats 1/3 -> 0.5. P3 and P4
  tie at 1; P3 is more popular (2 vs 0). Ranking P3, P4.
* c6, nothing at all: the two most popular, P1 and P2 (tie at 3, broken by SKU).

The tiny store
--------------
6 customers, 6 products (``tiny_tables``; the evaluation tests use it too). As of 2024-03-31 (``AS_OF``), 90-day range and browsing windows.

Products (category): P1, P2 shoes; P3, P4 bags; P5, P6 hats.

Orders (``*`` = after the as-of date, only the evaluation tests use them)::

    O1   c1 2024-02-10  P1, P2
    O2   c1 2024-03-01  P3
    O3   c2 2024-02-15  P1, P2, P4 and a return line P4 x -1 (P4 returned)
    O4   c3 2023-06-15  P6                     (P6's only sale: out of range)
    O5   c3 2024-03-10  P1, P3 (2 units, 1 returned: kept)
    O6   c4 2024-03-05  P2, P5 (returned_qty = quantity: returned)
    O7   c4 2024-03-20  P4, cancelled          (does not count)
    O8*  c2 2024-04-05  P3
    O9*  c4 2024-04-10  P4
    O10* c5 2024-04-12  P1
    O11* c1 2024-04-20  P1
    O12* c3 2024-08-01  P5                     (after a 90-day test window)

Owned (never recommended): c1 {P1, P2, P3}; c2 {P1, P2, P4}; c3 {P1, P3, P6};
c4 {P2, P5}; c5 and c6 nothing. Kept purchases: c1 {P1, P2, P3}, c2 {P1, P2},
c3 {P1, P3, P6}, c4 {P2}. Popularity (customers who kept it): P1 3, P2 3, P3 2, P6 1,
P4 0, P5 0. In range: P1-P5 (each sold in 2024-01-02..2024-03-31; returned sales count).

Product views in the 90 days up to as-of: c1 P5 x3, P3 x1 (hats 3/4, bags 1/4; a view of
the unknown PX is dropped); c2 P5 (hats 1: an anonymous view with c2's cookie a2); c3 P4 x3
(bags 1; one is an anonymous view with cookie a9, seen logged in with c3 and c4 once each:
the tie goes to c3); c4 P1 (shoes 1; its P3 view of 2023-10-01 is too old and its
add_to_cart does not count); c5 P4 x2, P5 x1 (bags 2/3, hats 1/3). Not counted: an
anonymous view without a cookie, c2's view after as-of.

Segments: c1, c2 "A"; c3 "B" (and "Z": the alphabetically first wins); c4 "B".
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest

from custseg.actions import Recommender, RecommenderConfig, popularity_baseline
from custseg.exceptions import NotFittedError, SchemaError, UsageError
from tests.features._tables import canonical, connect

AS_OF = date(2024, 3, 31)
CATEGORY = {"P1": "shoes", "P2": "shoes", "P3": "bags", "P4": "bags", "P5": "hats", "P6": "hats"}


def _ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


_ORDERS = [
    ("O1", "c1", _ts(2024, 2, 10), "placed"),
    ("O2", "c1", _ts(2024, 3, 1), "placed"),
    ("O3", "c2", _ts(2024, 2, 15), "returned"),
    ("O4", "c3", _ts(2023, 6, 15), "placed"),
    ("O5", "c3", _ts(2024, 3, 10), "returned"),
    ("O6", "c4", _ts(2024, 3, 5), "returned"),
    ("O7", "c4", _ts(2024, 3, 20), "cancelled"),
    ("O8", "c2", _ts(2024, 4, 5), "placed"),
    ("O9", "c4", _ts(2024, 4, 10), "placed"),
    ("O10", "c5", _ts(2024, 4, 12), "placed"),
    ("O11", "c1", _ts(2024, 4, 20), "placed"),
    ("O12", "c3", _ts(2024, 8, 1), "placed"),
]
# (order, line, sku, quantity, returned_qty)
_LINES = [
    ("O1", 1, "P1", 1, 0),
    ("O1", 2, "P2", 1, 0),
    ("O2", 1, "P3", 1, 0),
    ("O3", 1, "P1", 1, 0),
    ("O3", 2, "P2", 1, 0),
    ("O3", 3, "P4", 1, 0),
    ("O3", 4, "P4", -1, 0),
    ("O4", 1, "P6", 1, 0),
    ("O5", 1, "P1", 1, 0),
    ("O5", 2, "P3", 2, 1),
    ("O6", 1, "P2", 1, 0),
    ("O6", 2, "P5", 1, 1),
    ("O7", 1, "P4", 1, 0),
    ("O8", 1, "P3", 1, 0),
    ("O9", 1, "P4", 1, 0),
    ("O10", 1, "P1", 1, 0),
    ("O11", 1, "P1", 1, 0),
    ("O12", 1, "P5", 1, 0),
]
# (customer, product, type, date, cookie)
_EVENTS = [
    *[("c1", "P5", "product_view", _ts(2024, 3, d), None) for d in (2, 3, 4)],
    ("c1", "P3", "product_view", _ts(2024, 3, 5), None),
    ("c1", "PX", "product_view", _ts(2024, 3, 6), None),
    ("c3", "P4", "product_view", _ts(2024, 3, 11), None),
    ("c3", "P4", "product_view", _ts(2024, 3, 12), None),
    ("c4", "P1", "product_view", _ts(2024, 3, 15), None),
    ("c4", "P3", "product_view", _ts(2023, 10, 1), None),
    ("c4", "P4", "add_to_cart", _ts(2024, 3, 15), None),
    ("c5", "P4", "product_view", _ts(2024, 3, 20), None),
    ("c5", "P4", "product_view", _ts(2024, 3, 21), None),
    ("c5", "P5", "product_view", _ts(2024, 3, 22), None),
    (None, "P3", "product_view", _ts(2024, 3, 22), None),
    ("c2", "P3", "product_view", _ts(2024, 4, 2), None),
    # cookies: a2 is c2's; a9 is seen with c3 and c4 once each (c3 wins the tie)
    ("c2", None, "session", _ts(2024, 3, 1), "a2"),
    (None, "P5", "product_view", _ts(2024, 3, 2), "a2"),
    ("c3", None, "session", _ts(2024, 3, 1), "a9"),
    ("c4", None, "session", _ts(2024, 3, 2), "a9"),
    (None, "P4", "product_view", _ts(2024, 3, 13), "a9"),
]


def tiny_tables(con: Any | None = None) -> dict[str, ir.Table]:
    """The canonical tables of the tiny store in an in-memory DuckDB."""
    con = con or connect()
    orders = canonical(
        con,
        "orders",
        [
            {"order_id": o, "customer_id": c, "ordered_at": t, "status": s, "total": 10}
            for o, c, t, s in _ORDERS
        ],
    )
    lines = canonical(
        con,
        "order_lines",
        [
            {
                "order_id": o,
                "line_no": n,
                "sku": sku,
                "product_name": f"Product {sku}",
                "category": CATEGORY[sku],
                "quantity": q,
                "unit_price": 10,
                "returned_qty": r,
            }
            for o, n, sku, q, r in _LINES
        ],
    )
    events = canonical(
        con,
        "events",
        [
            {
                "event_id": f"E{i}",
                "customer_id": c,
                "anonymous_id": a,
                "product_id": p,
                "type": k,
                "ts": t,
            }
            for i, (c, p, k, t, a) in enumerate(_EVENTS)
        ],
    )
    customers = canonical(con, "customers", [{"customer_id": f"c{i}"} for i in range(1, 7)])
    return {"orders": orders, "order_lines": lines, "events": events, "customers": customers}


def tiny_segments() -> ir.Table:
    return ibis.memtable(
        {
            "customer_id": ["c1", "c2", "c3", "c3", "c4"],
            "segment": ["A", "A", "Z", "B", "B"],
        }
    )


def by_customer(table: ir.Table) -> dict[str, list[dict[str, Any]]]:
    """Rows of a recommendation table grouped by customer, in rank order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in table.order_by("customer_id", "rank").to_pyarrow().to_pylist():
        out.setdefault(r["customer_id"], []).append(r)
    return out


# --------------------------------------------------------------------------- tests

W = {"cooccurrence": 0.5, "segment_lift": 0.3, "browsing": 0.2}
CFG = RecommenderConfig(
    top_n=2, min_support=2, weights=W, range_days=90, browse_days=90, lift_prior=0.0
)
S13 = 2 / math.sqrt(6)  # cosine of P1 and P3

EXPECTED = {
    "c1": [("P5", 0.2, 0.0, 0.0, 1.0), ("P4", 0.2 / 3, 0.0, 0.0, 1 / 3)],
    "c2": [("P3", 0.8, 1.0, 1.0, 0.0), ("P5", 0.2, 0.0, 0.0, 1.0)],
    "c3": [("P2", 0.8, 1.0, 1.0, 0.0), ("P4", 0.2, 0.0, 0.0, 1.0)],
    "c4": [("P1", 0.9, 1.0, 2 / 3, 1.0), ("P3", 0.3, 0.0, 1.0, 0.0)],
    "c5": [("P3", 1.0, 0.0, 0.0, 1.0), ("P4", 1.0, 0.0, 0.0, 1.0)],
    "c6": [("P1", 0.0, 0.0, 0.0, 0.0), ("P2", 0.0, 0.0, 0.0, 0.0)],
}


@pytest.fixture(scope="module")
def tables():
    return tiny_tables()


@pytest.fixture(scope="module")
def fitted(tables):
    return Recommender(CFG).fit(tables, as_of=AS_OF, segments=tiny_segments())


def _skus(rows):
    return [r["sku"] for r in rows]


def test_recommendations_match_the_hand_computation(fitted):
    got = by_customer(fitted.recommend())
    assert sorted(got) == sorted(EXPECTED)
    for cid, expected in EXPECTED.items():
        rows = got[cid]
        assert [r["rank"] for r in rows] == list(range(1, len(expected) + 1)), cid
        assert _skus(rows) == [e[0] for e in expected], cid
        for r, (_sku, score, cooc, lift, browse) in zip(rows, expected, strict=True):
            assert r["score"] == pytest.approx(score, abs=1e-9), (cid, r)
            assert r["cooccurrence"] == pytest.approx(cooc, abs=1e-9), (cid, r)
            assert r["segment_lift"] == pytest.approx(lift, abs=1e-9), (cid, r)
            assert r["browsing"] == pytest.approx(browse, abs=1e-9), (cid, r)


def test_output_columns_and_product_details(fitted):
    t = fitted.recommend(["c4"])
    assert t.columns == (
        "customer_id",
        "rank",
        "sku",
        "product_name",
        "category",
        "score",
        "cooccurrence",
        "segment_lift",
        "browsing",
    )
    rows = t.order_by("rank").to_pyarrow().to_pylist()
    assert [(r["product_name"], r["category"]) for r in rows] == [
        ("Product P1", "shoes"),
        ("Product P3", "bags"),
    ]


def test_cooccurrence_support_filter_and_cosine(fitted):
    nb = fitted.neighbours_.order_by("sku", "neighbour").to_pyarrow().to_pylist()
    got = [(r["sku"], r["neighbour"], r["support"], r["similarity"]) for r in nb]
    assert [g[:3] for g in got] == [
        ("P1", "P2", 2),
        ("P1", "P3", 2),
        ("P2", "P1", 2),
        ("P3", "P1", 2),
    ]
    assert [g[3] for g in got] == pytest.approx([2 / 3, S13, 2 / 3, S13])


def test_min_support_one_keeps_every_pair_with_an_in_range_neighbour(tables):
    # P2-P3 (1/sqrt(6)), and P6 -> P1 (1/sqrt(3)), P6 -> P3 (1/sqrt(2)): P6 is out of range,
    # so it can be a seed but never a neighbour.
    rec = Recommender(replace(CFG, min_support=1)).fit(tables, as_of=AS_OF)
    nb = rec.neighbours_.order_by("sku", "neighbour").to_pyarrow().to_pylist()
    got = {(r["sku"], r["neighbour"]): r["similarity"] for r in nb}
    expected = {
        ("P1", "P2"): 2 / 3,
        ("P2", "P1"): 2 / 3,
        ("P1", "P3"): S13,
        ("P3", "P1"): S13,
        ("P2", "P3"): 1 / math.sqrt(6),
        ("P3", "P2"): 1 / math.sqrt(6),
        ("P6", "P1"): 1 / math.sqrt(3),
        ("P6", "P3"): 1 / math.sqrt(2),
    }
    assert sorted(got) == sorted(expected)
    for k, v in expected.items():
        assert got[k] == pytest.approx(v), k


def test_neighbours_keeps_the_top_k_per_product(tables):
    # min_support 1: P1's neighbours by cosine are P3 (0.816), P2 (0.667); keep 1.
    rec = Recommender(replace(CFG, min_support=1, neighbours=1)).fit(tables, as_of=AS_OF)
    nb = rec.neighbours_.order_by("sku").to_pyarrow().to_pylist()
    assert [(r["sku"], r["neighbour"]) for r in nb] == [
        ("P1", "P3"),  # 2/sqrt(6) > 2/3
        ("P2", "P1"),  # 2/3 > 1/sqrt(6)
        ("P3", "P1"),  # 2/sqrt(6) > 1/sqrt(6)
        ("P6", "P3"),  # 1/sqrt(2) > 1/sqrt(3)
    ]


def test_order_scope_counts_pairs_within_orders(tables):
    # Kept order baskets: O1 {P1,P2}, O2 {P3}, O3 {P1,P2} (P4 returned), O4 {P6},
    # O5 {P1,P3}, O6 {P2}: P1-P2 in 2 orders (n_P1 = n_P2 = 3), P1-P3 in 1 only.
    rec = Recommender(replace(CFG, scope="order")).fit(tables, as_of=AS_OF)
    nb = rec.neighbours_.order_by("sku").to_pyarrow().to_pylist()
    assert [(r["sku"], r["neighbour"], r["support"]) for r in nb] == [
        ("P1", "P2", 2),
        ("P2", "P1", 2),
    ]
    assert [r["similarity"] for r in nb] == pytest.approx([2 / 3, 2 / 3])


def test_max_basket_keeps_the_most_recent_purchases(tables):
    # One product per customer basket: no pair at all, so no co-occurrence score.
    rec = Recommender(replace(CFG, max_basket=1, min_support=1)).fit(tables, as_of=AS_OF)
    assert rec.neighbours_.count().to_pyarrow().as_py() == 0
    # c1's most recent kept purchase is P3 (O2, 2024-03-01)
    seeds = rec._fitted.seeds
    got = seeds.filter(seeds.customer_id == "c1").to_pyarrow().to_pylist()
    assert [r["sku"] for r in got] == ["P3"]


def test_segment_lift_by_hand(fitted):
    lift = fitted.lift_.to_pyarrow().to_pylist()
    got = {(r["segment"], r["sku"]): r["lift"] for r in lift}
    expected = {
        ("A", "P1"): 1.2,
        ("A", "P2"): 1.2,
        ("A", "P3"): 0.9,
        ("A", "P4"): 0.0,
        ("A", "P5"): 0.0,
        ("B", "P1"): 0.75,
        ("B", "P2"): 0.75,
        ("B", "P3"): 1.125,
        ("B", "P4"): 0.0,
        ("B", "P5"): 0.0,
    }
    assert sorted(got) == sorted(expected)  # "Z" lost to "B"; P6 is out of range
    for k, v in expected.items():
        assert got[k] == pytest.approx(v), k


def test_lift_prior_pulls_small_segments_towards_one(tables):
    # prior m = 9: lift = ((n_sj + 9 p_j) / (N_s + 9)) / p_j. Segment A, P1:
    # ((2 + 3) / (5 + 9)) / (3/9) = 45/42; P4 (p = 0) stays 0.
    rec = Recommender(replace(CFG, lift_prior=9.0)).fit(
        tables, as_of=AS_OF, segments=tiny_segments()
    )
    lift = rec.lift_.to_pyarrow().to_pylist()
    got = {(r["segment"], r["sku"]): r["lift"] for r in lift}
    assert got[("A", "P1")] == pytest.approx(45 / 42)
    assert got[("B", "P3")] == pytest.approx(((1 + 2) / (4 + 9)) / (2 / 9))
    assert got[("A", "P4")] == 0.0


def test_browsing_affinity_by_hand(fitted):
    aff = fitted.affinity_.to_pyarrow().to_pylist()
    got = {(r["customer_id"], r["category"]): (r["views"], r["affinity"]) for r in aff}
    assert got == {
        ("c1", "hats"): (3, 0.75),
        ("c1", "bags"): (1, 0.25),
        ("c2", "hats"): (1, 1.0),
        ("c3", "bags"): (3, 1.0),
        ("c4", "shoes"): (1, 1.0),
        ("c5", "bags"): (2, pytest.approx(2 / 3)),
        ("c5", "hats"): (1, pytest.approx(1 / 3)),
    }


def test_browsing_without_stitching_ignores_anonymous_views(tables):
    rec = Recommender(replace(CFG, stitch_anonymous=False)).fit(tables, as_of=AS_OF)
    aff = rec.affinity_.to_pyarrow().to_pylist()
    got = {(r["customer_id"], r["category"]): r["views"] for r in aff}
    assert ("c2", "hats") not in got
    assert got[("c3", "bags")] == 2


def test_catalogue_popularity_and_range(fitted):
    cat = fitted.catalog_.order_by("sku").to_pyarrow().to_pylist()
    got = {r["sku"]: (r["category"], r["popularity"], r["in_range"]) for r in cat}
    assert got == {
        "P1": ("shoes", 3, True),
        "P2": ("shoes", 3, True),
        "P3": ("bags", 2, True),
        "P4": ("bags", 0, True),  # sold in O3 (returned): a sale still puts it in range
        "P5": ("hats", 0, True),
        "P6": ("hats", 1, False),  # last sale 2023-06-15
    }


def test_owned_products_exclude_cancelled_and_after_as_of(fitted):
    owned = fitted.owned_.to_pyarrow().to_pylist()
    got = {(r["customer_id"], r["sku"]): r["kept"] for r in owned}
    assert got == {
        ("c1", "P1"): True,
        ("c1", "P2"): True,
        ("c1", "P3"): True,
        ("c2", "P1"): True,
        ("c2", "P2"): True,
        ("c2", "P4"): False,  # return line
        ("c3", "P1"): True,
        ("c3", "P3"): True,  # 1 of 2 units returned: kept
        ("c3", "P6"): True,
        ("c4", "P2"): True,
        ("c4", "P5"): False,  # returned_qty = quantity
    }


def test_a_longer_range_lets_the_old_product_back_in(tables):
    # range 400 days: P6 (sold 2023-06-15) is in range. c1's candidates P4, P5, P6 score
    # 0.2/3, 0.2, 0.2 (P6 is a hat, like P5); P6 wins the tie on popularity (1 vs 0).
    rec = Recommender(replace(CFG, range_days=400)).fit(
        tables, as_of=AS_OF, segments=tiny_segments()
    )
    assert _skus(rec.recommend_one("c1")) == ["P6", "P5"]
    assert _skus(rec.recommend_one("c3")) == ["P2", "P4"]  # c3 owns P6


def test_inactive_products_are_never_recommended(tables):
    # With P5 inactive, c1 has one candidate left (P4) and gets one row.
    products = ibis.memtable(
        {"sku": ["P1", "P2", "P3", "P4", "P5"], "active": [True, True, None, True, False]}
    )
    t = {**tables, "products": products}
    rec = Recommender(CFG).fit(t, as_of=AS_OF, segments=tiny_segments())
    got = by_customer(rec.recommend())
    assert _skus(got["c1"]) == ["P4"]
    assert all(r["sku"] != "P5" for rows in got.values() for r in rows)
    assert _skus(got["c5"]) == ["P3", "P4"]  # an unknown (null) flag counts as active


def test_products_table_names_and_categories_win(tables):
    products = ibis.memtable({"sku": ["P3"], "product_name": ["Tote"], "category": ["totes"]})
    rec = Recommender(CFG).fit({**tables, "products": products}, as_of=AS_OF)
    rows = rec.recommend(["c2"]).order_by("rank").to_pyarrow().to_pylist()
    assert (rows[0]["sku"], rows[0]["product_name"], rows[0]["category"]) == (
        "P3",
        "Tote",
        "totes",
    )


def test_zero_weight_switches_a_component_off(tables):
    # Co-occurrence and browsing only (0.5 / 0.2): c4's P1 = (0.5 + 0.2) / 0.7 = 1,
    # P3 = 0, P4 = 0 -> P3 wins the tie on popularity (2 vs 0).
    w = {"cooccurrence": 0.5, "browsing": 0.2}
    rec = Recommender(replace(CFG, weights=w)).fit(tables, as_of=AS_OF)
    assert rec.lift_ is None and rec.segments_ is None
    rows = rec.recommend_one("c4")
    assert _skus(rows) == ["P1", "P3"]
    assert [r["score"] for r in rows] == pytest.approx([1.0, 0.0])
    assert [r["segment_lift"] for r in rows] == [0.0, 0.0]


def test_default_segments_are_rfm_groups(tables):
    rec = Recommender(CFG).fit(tables, as_of=AS_OF)
    seg = rec.segments_.to_pyarrow().to_pylist()
    assert sorted(r["customer_id"] for r in seg) == ["c1", "c2", "c3", "c4"]
    from custseg.segments.rfm import RFM_GROUPS

    assert {r["segment"] for r in seg} <= {g.name for g in RFM_GROUPS}


def test_recommend_one_equals_the_rows_of_recommend(fitted):
    everyone = by_customer(fitted.recommend())
    for cid in ["c1", "c2", "c3", "c4", "c5", "c6"]:
        assert fitted.recommend_one(cid) == everyone[cid], cid
    # an unknown customer gets the cold-start list: the most popular products
    assert _skus(fitted.recommend_one("nobody")) == ["P1", "P2"]


def test_recommend_for_some_customers_and_unknown_ids(fitted):
    got = by_customer(fitted.recommend(["c4", "c5", "ghost"]))
    assert sorted(got) == ["c4", "c5", "ghost"]
    assert _skus(got["c4"]) == ["P1", "P3"]
    assert _skus(got["ghost"]) == ["P1", "P2"]
    ids = ibis.memtable({"customer_id": ["c2"]})
    assert _skus(by_customer(fitted.recommend(ids))["c2"]) == ["P3", "P5"]


def test_materialize_writes_the_table(fitted):
    con = ibis.duckdb.connect()
    out = fitted.materialize(con, table="recommendations")
    assert "recommendations" in con.list_tables()
    rows = out.order_by("customer_id", "rank").to_pyarrow().to_pylist()
    assert {r["as_of"] for r in rows} == {AS_OF}
    expected = by_customer(fitted.recommend())
    assert by_customer(out.drop("as_of")) == expected


def test_popularity_baseline_by_hand(tables):
    # Popularity P1 3, P2 3, P3 2, P6 1, P4 0, P5 0 (ties by SKU); owned are skipped.
    base = popularity_baseline(tables, as_of=AS_OF, k=2)
    got = {cid: _skus(rows) for cid, rows in by_customer(base).items()}
    assert got == {
        "c1": ["P6", "P4"],
        "c2": ["P3", "P6"],
        "c3": ["P2", "P4"],
        "c4": ["P1", "P3"],
    }


def test_not_fitted():
    with pytest.raises(NotFittedError, match="fit"):
        Recommender().recommend()
    with pytest.raises(NotFittedError):
        Recommender().recommend_one("c1")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"top_n": 0}, "top_n"),
        ({"min_support": 1.5}, "min_support"),
        ({"scope": "session"}, "scope"),
        ({"weights": {"cooccurrence": 1, "novelty": 1}}, "novelty"),
        ({"weights": {"cooccurrence": -1, "browsing": 2}}, ">= 0"),
        ({"weights": {"cooccurrence": 0}}, "positive sum"),
        ({"lift_prior": -1}, "lift_prior"),
        ({"stitch_anonymous": "yes"}, "stitch_anonymous"),
    ],
)
def test_bad_config(tables, change, match):
    with pytest.raises(UsageError, match=match):
        Recommender(replace(CFG, **change)).fit(tables, as_of=AS_OF)


def test_bad_tables(tables):
    with pytest.raises(UsageError, match="order_lines"):
        Recommender(CFG).fit({"orders": tables["orders"]}, as_of=AS_OF)
    lines = tables["order_lines"].drop("returned_qty")
    with pytest.raises(SchemaError, match="returned_qty"):
        Recommender(CFG).fit({**tables, "order_lines": lines}, as_of=AS_OF)
    with pytest.raises(SchemaError, match="segment"):
        Recommender(CFG).fit(tables, as_of=AS_OF, segments=ibis.memtable({"customer_id": ["c1"]}))


def test_bad_customer_ids(fitted):
    with pytest.raises(UsageError, match="recommend_one"):
        fitted.recommend("c1")
    with pytest.raises(UsageError, match="customer_id"):
        fitted.recommend_one("")
