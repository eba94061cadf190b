"""Predictive tiers on a hand-checked table of 11 customers."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pytest

from custseg.config import TiersConfig
from custseg.exceptions import DataError
from custseg.segments.predictive import add_tiers, clv_column, tier_thresholds

AS_OF = date(2025, 7, 1)


@pytest.fixture
def table():
    # a..j bought once, with CLV 1..10; k is a prospect.
    return ibis.memtable(
        {
            "customer_id": list("abcdefghijk"),
            "number_of_orders": [1] * 10 + [0],
            "clv_365d": [float(i) for i in range(1, 11)] + [None],
            "p_alive": [0.1, 0.3, 0.5, 0.6, 0.9, None, 0.2, 0.7, 0.8, 0.95, None],
            "next_order_date": [date(2025, 7, i) for i in (1, 2, 3, 4, 5, 6, 7, 20, 8, 15)]
            + [None],
            "as_of": [AS_OF] * 11,
        }
    )


def test_clv_column_is_found_by_pattern(table):
    assert clv_column(table) == "clv_365d"
    assert clv_column(table.drop("clv_365d")) is None


def test_thresholds_are_the_quantiles_of_buyers(table):
    th = tier_thresholds(table)
    clv = np.arange(1.0, 11.0)
    assert th.top == pytest.approx(np.quantile(clv, 0.9))  # 9.1
    assert th.next == pytest.approx(np.quantile(clv, 0.7))  # 7.3


def test_tiers_by_hand(table):
    out = add_tiers(table).order_by("customer_id").execute()
    # CLV 10 >= 9.1 is top; 8 and 9 >= 7.3 are next; the prospect has no tier.
    assert out.clv_tier.tolist()[:10] == ["rest"] * 7 + ["next", "next", "top"]
    assert out.clv_tier.isna().tolist()[10]
    # p_alive < 0.3 high, < 0.6 medium, else low; missing stays missing
    risk = out.churn_risk.tolist()
    assert risk[:5] == ["high", "medium", "medium", "low", "low"]
    assert risk[5] is None or risk[5] != risk[5]
    assert risk[6:10] == ["high", "low", "low", "low"]
    # due: next order on 1..15 July and p_alive >= 0.5 -> c, d, e, i, j (h is 20 July)
    due = dict(zip(out.customer_id, out.due_soon, strict=True))
    assert {k for k, v in due.items() if v} == {"c", "d", "e", "i", "j"}


def test_boundaries_follow_the_config(table):
    cfg = TiersConfig(
        clv_top_share=0.5,
        clv_next_share=0.3,
        churn_high_below=0.5,
        churn_medium_below=0.9,
        due_within_days=3,
        due_min_p_alive=0.0,
    )
    out = add_tiers(table, cfg).order_by("customer_id").execute()
    # quantile 0.5 of 1..10 = 5.5 -> top is 6..10; quantile 0.2 = 2.8 -> next is 3..5
    assert out.clv_tier.tolist()[:10] == ["rest"] * 2 + ["next"] * 3 + ["top"] * 5
    assert out.churn_risk.tolist()[:5] == ["high", "high", "medium", "medium", "low"]
    # within 3 days: 1..4 July, any p_alive (f has none: not due)
    assert set(out.customer_id[out.due_soon]) == {"a", "b", "c", "d"}


def test_an_existing_tier_column_is_refused(table):
    with pytest.raises(DataError, match="clv_tier"):
        add_tiers(table.mutate(clv_tier=ibis.literal("x")))


def test_without_predictions_tiers_are_null_and_nobody_is_due(table):
    out = add_tiers(table.drop("clv_365d", "p_alive")).execute()
    assert out.clv_tier.isna().all()
    assert out.churn_risk.isna().all()
    assert not out.due_soon.any()


def test_config_rejects_overlapping_shares():
    with pytest.raises(ValueError, match="below 1"):
        TiersConfig(clv_top_share=0.6, clv_next_share=0.5)
