"""SegmentProfile JSON and compare(), on the tiny store's profiles."""

from __future__ import annotations

import json
import math

import pytest

from custseg.exceptions import UsageError
from custseg.profiles import SegmentProfile, compare
from custseg.profiles.model import (
    PROFILE_VERSION,
    CategoryShare,
    Distribution,
    FeatureStat,
    as_profiles,
)

#: The documented top-level keys of SegmentProfile.to_dict() (docs/profiles.md).
TOP_KEYS = [
    "version",
    "name",
    "size",
    "population_size",
    "share_of_customers",
    "revenue",
    "population_revenue",
    "share_of_revenue",
    "clv_column",
    "clv",
    "population_clv",
    "share_of_clv",
    "as_of",
    "features",
    "distinguishing",
    "distributions",
    "items",
    "clv_histogram",
]


def _leaves(obj):
    if isinstance(obj, dict):
        assert all(isinstance(k, str) for k in obj)
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def test_to_dict_is_plain_json_with_the_documented_keys(tiny_profiles):
    d = tiny_profiles["A"].to_dict()
    assert list(d) == TOP_KEYS
    assert d["version"] == PROFILE_VERSION
    for leaf in _leaves(d):
        assert leaf is None or type(leaf) in (str, int, float, bool), (leaf, type(leaf))
    text = json.dumps(d, allow_nan=False)  # no NaN or infinity
    assert json.loads(text) == d
    assert list(d["features"][0]) == [
        "feature",
        "family",
        "segment_mean",
        "segment_median",
        "segment_count",
        "population_mean",
        "population_median",
        "population_std",
        "population_count",
        "lift",
        "std_diff",
    ]
    assert list(d["items"]) == [
        "segment_units",
        "population_units",
        "categories",
        "products",
        "brands",
    ]
    assert d["distributions"]["country"]["rows"][0]["value"] == "US"


def test_nan_and_infinity_become_null():
    stat = FeatureStat("x", "other", math.nan, None, 0, math.inf, 1.0, None, 3, None, None)
    p = SegmentProfile(
        name="n",
        size=0,
        population_size=3,
        share_of_customers=0.0,
        revenue=None,
        population_revenue=None,
        share_of_revenue=None,
        clv_column=None,
        clv=None,
        population_clv=None,
        share_of_clv=None,
        as_of=None,
        features=(stat,),
    )
    f = p.to_dict()["features"][0]
    assert (f["segment_mean"], f["population_mean"], f["population_median"]) == (None, None, 1.0)


def test_from_dict_reads_to_dict_back(tiny_profiles):
    for p in tiny_profiles.values():
        again = SegmentProfile.from_dict(json.loads(json.dumps(p.to_dict())))
        assert again == p
    with pytest.raises(UsageError, match="version"):
        SegmentProfile.from_dict({**tiny_profiles["A"].to_dict(), "version": 99})
    with pytest.raises(UsageError, match="to_dict"):
        SegmentProfile.from_dict({"size": 1})


def test_lookups(tiny_profiles):
    a = tiny_profiles["A"]
    assert a.feature("number_of_orders").segment_mean == 4.0  # (2 + 4 + 6) / 3
    with pytest.raises(UsageError, match="amount_spent"):
        a.feature("nope")
    assert a.distribution("nope") is None
    d = Distribution("f", "other", (CategoryShare("x", 1, 0.5, 2, 0.25, 2.0),))
    assert d.row("x").lift == 2.0 and d.row("y") is None
    with pytest.raises(UsageError, match="item kinds"):
        a.items.of("colours")


def test_as_profiles_accepts_dicts_sequences_and_json(tiny_profiles):
    a = tiny_profiles["A"]
    assert as_profiles(tiny_profiles) == [tiny_profiles["B"], a]
    assert as_profiles(a) == [a]
    assert as_profiles(a.to_dict()) == [a]
    assert as_profiles([a.to_dict()]) == [a]
    with pytest.raises(UsageError, match="SegmentProfile"):
        as_profiles([42])


def test_compare_puts_segments_side_by_side(tiny_profiles):
    cmp = compare(tiny_profiles, ["A", "B"])
    json.dumps(cmp, allow_nan=False)
    assert cmp["segments"] == ["A", "B"]
    assert [s["size"] for s in cmp["summary"]] == [3, 4]
    assert cmp["summary"][1]["share_of_revenue"] == pytest.approx(0.4)
    keys = [f["key"] for f in cmp["features"]]
    # the union of both top-8 lists, each once, best score first: A's rfm_group = Champions
    # (1.291) and number_of_orders (0.966), then B's attr_interest = home (0.775)
    a_keys = {d.key for d in tiny_profiles["A"].distinguishing}
    b_keys = {d.key for d in tiny_profiles["B"].distinguishing}
    assert set(keys) == a_keys | b_keys and len(keys) == len(set(keys))
    assert keys[:3] == ["rfm_group = Champions", "number_of_orders", "attr_interest = home"]
    row = keys.index("number_of_orders")
    # number_of_orders: A mean 4, B mean (6 + 0 + 1 + 1) / 4 = 2, population 2
    assert cmp["lift"][row] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert cmp["value"][row] == [4.0, 2.0]
    assert cmp["std_diff"][row][1] == pytest.approx(0.0)
    row = keys.index("rfm_group = Champions")
    # Champions: A 3/3, B 1/4, population 3/8
    assert cmp["lift"][row] == [pytest.approx(8 / 3), pytest.approx((1 / 4) / (3 / 8))]
    assert cmp["std_diff"][row][1] == pytest.approx((1 / 4 - 3 / 8) / math.sqrt(3 / 8 * 5 / 8))


def test_compare_order_and_errors(tiny_profiles):
    assert compare(tiny_profiles)["segments"] == ["B", "A"]
    assert compare(list(tiny_profiles.values()), ["A"])["segments"] == ["A"]
    with pytest.raises(UsageError, match="unknown segment"):
        compare(tiny_profiles, ["A", "C"])
    with pytest.raises(UsageError, match="at least one"):
        compare({})
