"""profile_segments on the tiny store: every number worked out by hand.

Population (8 customers): amount_spent = [100, 200, 300, 0, 50, 50, 0, 300], total 1000,
mean 125; A = {c1, c2, c3}, B = {c3, c4, c5, c6}.
"""

from __future__ import annotations

import math
from datetime import date

import ibis
import pytest

from custseg.exceptions import DataError, SchemaError, UsageError
from custseg.profiles import profile_segment, profile_segments
from custseg.profiles.stats import categorical_columns, clv_column, numeric_columns
from tests.profiles.conftest import FEATURES

# sample std of amount_spent: squared deviations from 125 are
# 625 + 5625 + 30625 + 15625 + 5625 + 5625 + 15625 + 30625 = 110000; / 7
STD_AMOUNT = math.sqrt(110000 / 7)
# a 0/1 indicator with population share p has sd sqrt(p (1 - p)); p = 3/8
SD_3_8 = math.sqrt(3 / 8 * 5 / 8)


def test_segments_are_ordered_by_size_and_sized_by_distinct_known_members(tiny_profiles):
    # B has 4 members; A has c1, c2, c3 (the duplicate c1 row counts once, zz is unknown)
    assert list(tiny_profiles) == ["B", "A"]
    a, b = tiny_profiles["A"], tiny_profiles["B"]
    assert (a.size, b.size) == (3, 4)
    assert a.population_size == b.population_size == 8
    assert a.share_of_customers == pytest.approx(3 / 8)
    assert b.share_of_customers == pytest.approx(4 / 8)


def test_revenue_and_clv_shares(tiny_profiles):
    a, b = tiny_profiles["A"], tiny_profiles["B"]
    # A: 100 + 200 + 300 = 600 of 1000; B: 300 + 0 + 50 + 50 = 400 of 1000
    assert (a.revenue, a.population_revenue) == (600.0, 1000.0)
    assert a.share_of_revenue == pytest.approx(0.6)
    assert b.share_of_revenue == pytest.approx(0.4)
    # clv_365d (nulls skipped): total 10 + 20 + 30 + 5 + 5 + 30 = 100; A 60; B 30 + 5 + 5 = 40
    assert a.clv_column == "clv_365d"
    assert a.share_of_clv == pytest.approx(0.6)
    assert b.share_of_clv == pytest.approx(0.4)


def test_numeric_means_medians_lift_and_standardized_difference(tiny_profiles):
    a = tiny_profiles["A"].feature("amount_spent")
    assert a.family == "behavior"
    assert (a.segment_mean, a.segment_median) == (200.0, 200.0)
    # population sorted [0, 0, 50, 50, 100, 200, 300, 300]: median (50 + 100) / 2
    assert (a.population_mean, a.population_median) == (125.0, 75.0)
    assert a.population_std == pytest.approx(STD_AMOUNT)
    assert a.lift == pytest.approx(200 / 125)
    assert a.std_diff == pytest.approx(75 / STD_AMOUNT)
    b = tiny_profiles["B"].feature("amount_spent")
    # B: [300, 0, 50, 50] -> mean 100, median 50
    assert (b.segment_mean, b.segment_median) == (100.0, 50.0)
    assert b.lift == pytest.approx(0.8)
    assert b.std_diff == pytest.approx(-25 / STD_AMOUNT)


def test_nulls_are_skipped_and_counted(tiny_profiles):
    a = tiny_profiles["A"].feature("avg_order_value")
    # population values [50, 50, 50, 50, 50, 150] (c4, c7 null): mean 400 / 6
    assert (a.segment_count, a.population_count) == (3, 6)
    assert a.population_mean == pytest.approx(400 / 6)
    assert a.lift == pytest.approx(50 / (400 / 6))
    # squared deviations 5 * (50/3)^2 + (250/3)^2 = 75000/9; / 5 -> var 15000/9
    assert a.std_diff == pytest.approx((50 - 400 / 6) / math.sqrt(15000 / 9))


def test_booleans_are_shares_of_true(tiny_profiles):
    # population (c6 null): 4 True of 7; A: 2 of 3; B: c3 F, c4 F, c5 T -> 1 of 3
    a = tiny_profiles["A"].feature("accepts_email_marketing")
    b = tiny_profiles["B"].feature("accepts_email_marketing")
    assert a.population_mean == pytest.approx(4 / 7)
    assert a.segment_mean == pytest.approx(2 / 3)
    assert b.segment_mean == pytest.approx(1 / 3)
    assert a.lift == pytest.approx((2 / 3) / (4 / 7))


def test_profiled_columns():
    f = ibis.memtable(FEATURES)
    # identity (customer_id, is_stub, as_of), coordinates and RFM scores are left out
    assert numeric_columns(f) == [
        "amount_spent",
        "number_of_orders",
        "avg_order_value",
        "accepts_email_marketing",
        "clv_365d",
    ]
    # city is near-unique per customer: left out
    assert categorical_columns(f) == [
        "country",
        "main_device",
        "age_band",
        "attr_interest",
        "rfm_group",
    ]
    assert clv_column(["clv_90d", "clv_365d", "clv_T", "clv_monetary"]) == "clv_90d"
    assert clv_column(["clv_T", "clv_recency"]) is None


def test_distributions_have_shares_of_all_members_and_lift(tiny_profiles):
    d = tiny_profiles["A"].distribution("country")
    assert d.family == "geo"
    rows = {r.value: r for r in d.rows}
    # A: US 2, DE 1 of 3. Population: US 3, DE 2, FR 2, missing 1 of 8
    assert set(rows) == {"US", "DE", "FR", None}
    assert (rows["US"].segment_count, rows["US"].population_count) == (2, 3)
    assert rows["US"].segment_share == pytest.approx(2 / 3)
    assert rows["US"].lift == pytest.approx((2 / 3) / (3 / 8))
    assert rows["DE"].lift == pytest.approx((1 / 3) / (2 / 8))
    assert rows["FR"].segment_share == 0.0
    assert rows[None].population_share == pytest.approx(1 / 8)
    assert d.other is None
    # the missing value comes last; otherwise by population count
    assert [r.value for r in d.rows] == ["US", "DE", "FR", None]


def test_age_bands_and_rfm_groups_keep_their_natural_order(tiny_profiles):
    b = tiny_profiles["B"]
    ages = [r.value for r in b.distribution("age_band").rows]
    assert ages == ["18-24", "25-34", "35-44", "65+", None]
    rfm = b.distribution("rfm_group")
    assert [r.value for r in rfm.rows] == ["Champions", "Loyal Customers", "Lost", "Prospects"]
    # B: Champions c3, Prospects c4, Lost c5 and c6
    assert [r.segment_count for r in rfm.rows] == [1, 0, 2, 1]
    assert sum(r.segment_share for r in rfm.rows) == pytest.approx(1.0)


def test_rare_values_are_summed_as_other(tiny):
    # with min_category_share 0.3 and top_n 1, A keeps its top country (US, 2 members),
    # values held by >= 30% of customers (US 3/8) and the missing value; DE and FR go to other
    p = profile_segments(
        tiny["features"], tiny["memberships"], segments=["A"], top_n=1, min_category_share=0.3
    )["A"]
    d = p.distribution("country")
    assert [r.value for r in d.rows] == ["US", None]
    # other: DE (A 1, population 2) + FR (A 0, population 2)
    assert (d.other.segment_count, d.other.population_count) == (1, 4)
    assert d.other.segment_share == pytest.approx(1 / 3)


def test_distinguishing_features_rank_numeric_and_categorical_together(tiny_profiles):
    a = tiny_profiles["A"]
    got = [(d.rank, d.key, d.kind) for d in a.distinguishing]
    # scores: rfm_group = Champions (1 - 3/8) / SD_3_8 = 1.291; number_of_orders mean 4 vs 2,
    # sd sqrt(30/7) -> 0.966; age_band = 25-34, attr_interest = tech and country = US are all
    # (2/3 - 3/8) / SD_3_8 = 0.6025 (ties by feature name); amount_spent 75 / 125.36 =
    # 0.598; avg_order_value 0.408; main_device = mobile (2/3 - 1/2) / 0.5 = 0.333.
    # Left out: clv_365d (0.285) and accepts_email_marketing (0.178).
    assert got == [
        (1, "rfm_group = Champions", "categorical"),
        (2, "number_of_orders", "numeric"),
        (3, "age_band = 25-34", "categorical"),
        (4, "attr_interest = tech", "categorical"),
        (5, "country = US", "categorical"),
        (6, "amount_spent", "numeric"),
        (7, "avg_order_value", "numeric"),
        (8, "main_device = mobile", "categorical"),
    ]
    top = a.distinguishing[0]
    assert top.score == pytest.approx((1 - 3 / 8) / SD_3_8)
    assert top.lift == pytest.approx(1 / (3 / 8))
    assert (top.segment_value, top.population_value) == (1.0, pytest.approx(3 / 8))
    assert a.distinguishing[1].std_diff == pytest.approx(2 / math.sqrt(30 / 7))
    assert a.distinguishing[6].direction == "lower"


def test_a_categorical_feature_is_represented_by_its_largest_lift(tiny_profiles):
    b = tiny_profiles["B"]
    by_feature = {d.feature: d for d in b.distinguishing}
    # B country: FR 2/4 vs 2/8 (lift 2), missing 1/4 vs 1/8 (lift 2, never a category),
    # DE 1/4 vs 2/8 (lift 1) -> FR
    assert by_feature["country"].category == "FR"
    assert by_feature["country"].std_diff == pytest.approx((0.5 - 0.25) / math.sqrt(0.25 * 0.75))
    # B age_band: 65+ 1/4 vs 1/8 (lift 2) beats 18-24 (1/4 vs 2/8, lift 1)
    assert by_feature["age_band"].category == "65+"
    # B attr_interest: home 3/4 vs 3/8 -> best of all: (0.75 - 0.375) / SD_3_8
    assert b.distinguishing[0].key == "attr_interest = home"
    assert b.distinguishing[0].score == pytest.approx(0.375 / SD_3_8)


def test_the_minimum_population_share_keeps_rare_categories_out_of_the_ranking(tiny):
    # at 20%, 65+ (1/8 of customers) is too rare: B's age_band falls back to 18-24 (lift 1,
    # score 0), which is not distinguishing at all
    p = profile_segments(tiny["features"], tiny["memberships"], min_category_share=0.2)["B"]
    assert "age_band" not in {d.feature for d in p.distinguishing}
    assert (
        profile_segments(tiny["features"], tiny["memberships"], n_distinguishing=3)["B"]
        .distinguishing[-1]
        .rank
        == 3
    )


def test_top_items_by_lift_of_unit_shares(tiny_profiles):
    # counted lines of the population (placed, by 2025-06-30, known customer, quantity > 0):
    # o1 shoes 10 + hats 2, o2 shoes 5, o3 hats 4, o6 kitchen 20 + hats 1, o8 (none) 6 +
    # hats 2 = 50 units: shoes 15, hats 9, kitchen 20, no category 6
    a = tiny_profiles["A"].items
    assert (a.segment_units, a.population_units) == (21, 50)  # A: o1, o2, o3
    cats = [(i.key, i.segment_units, i.population_units) for i in a.categories]
    assert cats == [("shoes", 15, 15), ("hats", 6, 9)]
    assert a.categories[0].segment_share == pytest.approx(15 / 21)
    assert a.categories[0].population_share == pytest.approx(15 / 50)
    assert a.categories[0].lift == pytest.approx((15 / 21) / (15 / 50))
    assert a.categories[1].lift == pytest.approx((6 / 21) / (9 / 50))
    # brands: Bolt (6/21) / (9/50) = 1.59 before Acme (15/21) / (35/50) = 1.02
    assert [(i.key, round(i.lift, 4)) for i in a.brands] == [("Bolt", 1.5873), ("Acme", 1.0204)]
    assert [(i.key, i.label) for i in a.products] == [("S1", "Shoe"), ("S2", "Hat")]


def test_items_skip_unknown_keys_but_count_their_units(tiny_profiles):
    # B: o3 (hats 4) and o8 (scarf without category 6, hats 2); o4 cancelled, o5 too late
    b = tiny_profiles["B"].items
    assert b.segment_units == 12
    assert [(i.key, i.segment_share) for i in b.categories] == [("hats", 0.5)]
    assert b.categories[0].lift == pytest.approx(0.5 / (9 / 50))
    # Cozy 6/12 vs 6/50 (lift 4.17) before Bolt 6/12 vs 9/50 (2.78)
    assert [i.key for i in b.brands] == ["Cozy", "Bolt"]
    assert [(i.key, i.label) for i in b.products] == [("S4", "Scarf"), ("S2", "Hat")]


def test_item_support_and_as_of(tiny):
    t = tiny
    p = profile_segments(
        t["features"],
        t["memberships"],
        orders=t["orders"],
        order_lines=t["order_lines"],
        min_item_units=7,
    )
    # A's hats (6 units) fall under 7 units
    assert [i.key for i in p["A"].items.categories] == ["shoes"]
    later = profile_segments(
        t["features"],
        t["memberships"],
        orders=t["orders"],
        order_lines=t["order_lines"],
        as_of=date(2025, 7, 31),
    )["B"]
    # o5 (c6, 2025-07-05, 30 mugs) now counts: B 12 + 30, population 50 + 30
    assert (later.items.segment_units, later.items.population_units) == (42, 80)
    # hats (6/42) / (9/80) = 1.27 now rank before kitchen (30/42) / (50/80) = 1.14
    cats = later.items.categories
    assert [c.key for c in cats] == ["hats", "kitchen"]
    assert cats[0].lift == pytest.approx((6 / 42) / (9 / 80))
    assert cats[1].lift == pytest.approx((30 / 42) / (50 / 80))
    assert later.as_of == "2025-07-31"


def test_top_n_limits_items(tiny):
    t = tiny
    p = profile_segments(
        t["features"], t["memberships"], orders=t["orders"], order_lines=t["order_lines"], top_n=1
    )
    assert [i.key for i in p["A"].items.products] == ["S1"]
    assert [i.key for i in p["B"].items.brands] == ["Cozy"]


def test_clv_histogram_uses_population_decile_bins(tiny_profiles):
    # population clv sorted [5, 5, 10, 20, 30, 30]; linear deciles at (n - 1) q = 5q:
    # 5, 5, 7.5, 10, 15, 20, 25, 30, 30 -> edges 5, 7.5, 10, 15, 20, 25, 30 (8 bins)
    h = tiny_profiles["A"].clv_histogram
    assert h.column == "clv_365d"
    assert [b.high for b in h.bins] == [5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0, 30.0]
    assert [b.low for b in h.bins] == [5.0, 5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0]
    # population: <=5: c5, c6; (7.5, 10]: c1; (15, 20]: c2; (25, 30]: c3, c8
    assert [b.population_count for b in h.bins] == [2, 0, 1, 0, 1, 0, 2, 0]
    assert h.population_missing == 2
    # A: c1 (10), c2 (20), c3 (30)
    assert [b.segment_count for b in h.bins] == [0, 0, 1, 0, 1, 0, 1, 0]
    assert h.bins[2].segment_share == pytest.approx(1 / 3)
    hb = tiny_profiles["B"].clv_histogram
    # B: c3 (30), c5 (5), c6 (5), c4 none
    assert [b.segment_count for b in hb.bins] == [2, 0, 0, 0, 0, 0, 1, 0]
    assert hb.segment_missing == 1
    assert hb.bins[0].segment_share == pytest.approx(2 / 3)


def test_named_segments_keep_their_order_and_empty_ones_are_profiled(tiny):
    p = profile_segments(tiny["features"], tiny["memberships"], segments=["A", "nobody"])
    assert list(p) == ["A", "nobody"]
    empty = p["nobody"]
    assert (empty.size, empty.share_of_customers, empty.share_of_revenue) == (0, 0.0, 0.0)
    assert empty.distinguishing == ()
    assert empty.feature("amount_spent").segment_mean is None
    assert empty.feature("amount_spent").population_mean == 125.0
    assert all(r.segment_count == 0 for r in empty.distribution("country").rows)


def test_profile_segment_matches_profile_segments(tiny, tiny_profiles):
    members = tiny["features"].filter(tiny["features"].customer_id.isin(["c1", "c2", "c3"]))
    one = profile_segment(
        tiny["features"], members, name="A", orders=tiny["orders"], order_lines=tiny["order_lines"]
    )
    assert one == tiny_profiles["A"]
    nobody = profile_segment(tiny["features"], members.filter(ibis.literal(False)), name="x")
    assert (nobody.name, nobody.size) == ("x", 0)


def test_without_orders_there_are_no_items_and_as_of_comes_from_features(tiny):
    p = profile_segments(tiny["features"], tiny["memberships"])["A"]
    assert p.items is None
    assert p.as_of == "2025-06-30"


def test_minimal_features_table():
    f = ibis.memtable({"customer_id": [1, 2, 3], "x": [1.0, 2.0, 6.0]})
    m = ibis.memtable({"customer_id": ["3"], "segment": [7]})  # ids cast to the features' type
    p = profile_segments(f, m)["7"]
    assert p.size == 1
    assert (p.share_of_revenue, p.clv_histogram, p.as_of) == (None, None, None)
    assert p.feature("x").lift == pytest.approx(6 / 3)
    assert p.distributions == {}


def test_bad_inputs_raise_clear_errors(tiny):
    f, m = tiny["features"], tiny["memberships"]
    with pytest.raises(SchemaError, match="segment"):
        profile_segments(f, m.select("customer_id"))
    with pytest.raises(SchemaError, match="customer_id"):
        profile_segments(f.drop("customer_id"), m)
    with pytest.raises(UsageError, match="order_lines were given without orders"):
        profile_segments(f, m, order_lines=tiny["order_lines"])
    with pytest.raises(SchemaError, match="ordered_at"):
        profile_segments(
            f, m, orders=tiny["orders"].drop("ordered_at"), order_lines=tiny["order_lines"]
        )
    for bad in ({"top_n": 0}, {"top_n": True}, {"min_category_share": 1.5}, {"min_item_units": 0}):
        with pytest.raises(UsageError):
            profile_segments(f, m, **bad)
    with pytest.raises(UsageError, match="Ibis table"):
        profile_segments({"customer_id": []}, m)
    with pytest.raises(SchemaError, match="customer_id"):
        profile_segment(f, m.select("segment"))


def test_features_must_be_one_row_per_customer(tiny):
    f = tiny["features"]
    doubled = f.union(f.filter(f.customer_id == "c1"))
    with pytest.raises(DataError, match="one row per customer"):
        profile_segments(doubled, tiny["memberships"])
    with pytest.raises(DataError, match="no rows"):
        profile_segments(f.filter(ibis.literal(False)), tiny["memberships"])
