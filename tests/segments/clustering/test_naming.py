"""Cluster names from the most distinguishing features."""

from __future__ import annotations

import numpy as np

from custseg.segments.clustering._naming import feature_word, name_clusters


def test_vocabulary_and_fallbacks() -> None:
    assert feature_word("number_of_orders", None, True) == ("Frequent", "frequency")
    assert feature_word("days_since_last_order", None, False) == ("Recent", "recency")
    assert feature_word("mobile_session_share", None, False) == ("Desktop", "device")
    assert feature_word("clv_365d", None, True) == ("High value", "value")
    assert feature_word("share_home_garden", None, True) == (
        "Home garden lovers",
        "share_home_garden",
    )
    assert feature_word("share_home_garden", None, False) is None
    assert feature_word("main_device", "mobile", True) == ("Mobile", "main_device")
    assert feature_word("main_device", "mobile", False) is None
    assert feature_word("bulk_order_share", None, False) is None
    assert feature_word("units_sold", None, True) == ("High units sold", "units_sold")


def _z(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    z = np.vstack(groups)
    labels = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
    return z, labels


def test_names_follow_the_planted_directions() -> None:
    cols = [
        ("amount_spent", None),
        ("number_of_orders", None),
        ("days_since_last_order", None),
        ("main_device", "mobile"),
    ]
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.05, (30, 4))
    big = base + [3.0, 2.0, 0.0, 1.0]  # high spend, frequent, mobile
    lapsed = base + [0.0, 0.0, 3.0, 0.0]  # long since last order
    rest = base + [0.0, 0.0, 0.0, 0.0]
    z, labels = _z([big, lapsed, rest])
    names = name_clusters(z, cols, labels, 3)
    assert names[0].startswith("High spend · Frequent")
    assert names[1].startswith("Lapsed")
    assert len(set(names.values())) == 3


def test_concepts_are_not_repeated_and_weak_third_words_dropped() -> None:
    cols = [
        ("discount_share", None),
        ("full_price_share", None),
        ("sessions", None),
        ("brand_loyalty", None),
    ]
    rng = np.random.default_rng(1)
    a = rng.normal(0, 0.1, (50, 4)) + [2.0, -2.0, 1.0, 0.0]
    b = rng.normal(0, 0.1, (50, 4)) + [-2.0, 2.0, -1.0, 0.0]
    z, labels = _z([a, b])
    names = name_clusters(z, cols, labels, 2)
    # full_price_share says the same as discount_share; brand loyalty does not differ
    assert names == {0: "Deal seekers · Frequent visitors", 1: "Full price · Rare visitors"}


def test_clashing_names_get_more_words_then_numbers() -> None:
    cols = [("amount_spent", None), ("number_of_orders", None), ("age", None)]
    swing = np.tile([1.0, -1.0], 10)  # mean 0, so the age shifts below stay small effects
    hi = np.full(20, 3.0)
    groups = [
        np.column_stack([hi, hi, 0.3 + swing]),
        np.column_stack([hi, hi, -0.3 + swing]),
        np.column_stack([-hi, -hi, np.zeros(20)]),
        np.column_stack([-hi, -hi, np.zeros(20)]),
    ]
    z, labels = _z(groups)
    names = name_clusters(z, cols, labels, 4)
    # age's effect (0.3 / 0.74) is below 0.5: it only appears to tell 0 and 1 apart
    assert names[0] == "High spend · Frequent · Older"
    assert names[1] == "High spend · Frequent · Younger"
    assert [names[2], names[3]] == ["Low spend · Occasional (1)", "Low spend · Occasional (2)"]
