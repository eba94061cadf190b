"""Opportunity sizing on a hand-checked table; objective presets are valid rules."""

from __future__ import annotations

import ibis
import pytest

from custseg.exceptions import UsageError
from custseg.segments.objectives import OBJECTIVES, opportunity


@pytest.fixture
def frame():
    # 6 customers; a and b are the top CLV tier (mean CLV 1000)
    return ibis.memtable(
        {
            "customer_id": list("abcdef"),
            "amount_spent": [500.0, 700.0, 100.0, 50.0, 0.0, 300.0],
            "clv_365d": [900.0, 1100.0, 200.0, 100.0, None, 600.0],
            "p_alive": [0.9, 0.8, 0.7, 0.2, None, 0.4],
            "churn_probability": [0.1, 0.2, 0.3, 0.8, None, 0.6],
            "spend_365d": [100.0, 200.0, 50.0, 40.0, 0.0, 10.0],
            "clv_tier": ["top", "top", "rest", "rest", None, "next"],
        }
    )


def test_opportunity_by_hand(frame):
    members = ibis.memtable(
        {
            "customer_id": ["a", "b", "c", "d", "c", "f"],
            "segment": ["s1", "s1", "s2", "s2", "s3", "s3"],
        }
    )
    got = {o.name: o for o in opportunity(frame, members)}
    s1, s2, s3 = got["s1"], got["s2"], got["s3"]
    assert (s1.size, s2.size, s3.size) == (2, 2, 2)
    assert s1.share == pytest.approx(2 / 6)
    assert s2.historic_value == pytest.approx(150.0)
    assert s2.historic_value_per_customer == pytest.approx(75.0)
    assert s2.predicted_value == pytest.approx(300.0)
    # headroom = (top mean 1000 - segment mean) x size
    assert s1.headroom == pytest.approx(0.0)
    assert s2.headroom == pytest.approx((1000 - 150) * 2)
    assert s3.headroom == pytest.approx((1000 - 400) * 2)
    # value at risk = sum(spend_365d x churn_probability)
    assert s2.value_at_risk == pytest.approx(50 * 0.3 + 40 * 0.8)
    # underserved: mean p_alive >= 0.5 and mean CLV < 500
    assert s2.mean_p_alive == pytest.approx(0.45)
    assert not s2.underserved  # p_alive 0.45
    assert s3.mean_p_alive == pytest.approx(0.55)
    assert s3.underserved  # alive enough and 400 < 500
    assert not s1.underserved


def test_every_objective_has_candidates_with_unique_names():
    assert set(OBJECTIVES) == {"retention", "upsell", "win-back", "acquisition-lookalike"}
    for obj in OBJECTIVES.values():
        names = [c.name for c in obj.candidates]
        assert len(names) == len(set(names)) >= 3
        assert obj.order_by in {
            "value_at_risk",
            "headroom",
            "historic_value",
            "predicted_value_per_customer",
        }


def test_unknown_objective_is_a_usage_error():
    from custseg.segments.objectives import suggest

    with pytest.raises(UsageError, match="retention"):
        suggest(None, "retain")
