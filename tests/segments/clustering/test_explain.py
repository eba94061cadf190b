"""Explaining rules: thresholds, null semantics, text, and trees turned into rules."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from custseg.segments.clustering._explain import (
    Condition,
    _simplify,
    evaluate_paths,
    explain_clusters,
    format_number,
    nice_threshold,
    rule_text,
)


def sql_count(frame: pd.DataFrame, where: str) -> int:
    """Rows of ``frame`` matching ``where``, counted by DuckDB (SQL null semantics)."""
    con = duckdb.connect()
    con.register("frame", frame)
    return int(con.execute(f"SELECT count(*) FROM frame WHERE {where}").fetchone()[0])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1300.0, "1300"),
        (0.44, "0.44"),
        (1.2e-05, "0.000012"),
        (7, "7"),
        (-0.0, "0"),
        (np.int64(3), "3"),
        (123456789.5, "123456789.5"),
    ],
)
def test_numbers_are_plain_decimals(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("t", "below", "above", "integer", "expected"),
    [
        (5.5, 5, 6, True, 5),
        (131.5, 123, 140, True, 130),
        (0.5, 0, 1, True, 0),
        (95.0, 60, 130, True, 100),
        (1253.5, 1180.0, 1310.0, False, 1300.0),  # 1200 and 1300 fit: closer to t
        (1203.5, 1180.0, 1310.0, False, 1200.0),
        (0.455, 0.41, 0.5, False, 0.45),  # 0.41 ... 0.49 fit: the closest to t
        (0.43725, 0.4372, 0.4373, False, 0.44),  # no round value in the gap: 2 digits of t
        (-0.05, -0.3, 0.2, False, 0.0),
    ],
)
def test_nice_thresholds(
    t: float, below: float, above: float, integer: bool, expected: float
) -> None:
    r = nice_threshold(t, below, above, integer=integer)
    assert r == pytest.approx(expected)
    assert isinstance(r, int) is integer


def test_conditions_follow_sql_null_semantics() -> None:
    frame = pd.DataFrame(
        {"x": [1.0, None, 5.0, float("nan")], "d": pd.Series(["a", None, "b", "a"], dtype=object)}
    )
    for op in ("=", "!=", ">", ">=", "<", "<="):
        cond = Condition("x", op, 1.0)
        assert cond.mask(frame).sum() == sql_count(frame, cond.text()), op
    assert Condition("x", "<=", 5).mask(frame).tolist() == [True, False, True, False]
    assert Condition("d", "=", "a").mask(frame).tolist() == [True, False, False, True]
    assert Condition("d", "!=", "a").mask(frame).tolist() == [False, False, True, False]
    assert sql_count(frame, Condition("d", "!=", "a").text()) == 1


def test_text_quotes_strings() -> None:
    assert Condition("city", "=", "O'Brien").text() == "city = 'O''Brien'"
    a, b = Condition("x", ">", 1.5), Condition("d", "=", "m")
    assert rule_text([(a, b)]) == "x > 1.5 AND d = 'm'"
    assert rule_text([(a, b), (Condition("y", "<=", 3),)]) == "(x > 1.5 AND d = 'm') OR y <= 3"


def test_paths_are_simplified() -> None:
    path = [
        Condition("x", ">", 1.0),
        Condition("y", "<=", 9),
        Condition("x", ">", 4.0),
        Condition("y", "<=", 5),
        Condition("d", "!=", "a"),
        Condition("d", "=", "b"),
    ]
    assert _simplify(path) == (
        Condition("x", ">", 4.0),
        Condition("y", "<=", 5),
        Condition("d", "=", "b"),
    )
    assert _simplify([Condition("x", ">=", 5), Condition("x", "<=", 5)]) is not None
    assert _simplify([Condition("x", ">", 5.0), Condition("x", "<=", 5.0)]) is None
    assert _simplify([Condition("d", "=", "a"), Condition("d", "!=", "a")]) is None
    assert _simplify([Condition("d", "=", "a"), Condition("d", "=", "b")]) is None


def test_or_of_paths_is_evaluated_like_sql() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, None, 8.0], "d": ["a", None, "b", "a"]})
    paths = [(Condition("x", "<=", 1.0),), (Condition("d", "=", "a"), Condition("x", ">", 5.0))]
    mask = evaluate_paths(paths, frame)
    assert mask.tolist() == [True, False, False, True]
    assert sql_count(frame, rule_text(paths)) == mask.sum()


def _tiny(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    return pd.DataFrame(
        {
            "orders": rng.integers(1, 30, n),
            "spend": np.round(rng.uniform(10, 5000, n), 2),
            "device": rng.choice(np.array(["mobile", "desktop", "tablet"], dtype=object), n),
        }
    )


def test_planted_rule_is_recovered_exactly() -> None:
    frame = _tiny()
    target = (frame.orders.to_numpy() >= 12) & (frame.device.to_numpy() == "mobile")
    labels = np.where(target, 1, 0)
    rules = explain_clusters(
        frame,
        numeric=["orders", "spend"],
        integer=frozenset({"orders"}),
        one_hot=[("device", "mobile"), ("device", "desktop")],
        labels=labels,
        k=2,
        fit_rows=np.arange(len(frame)),
    )
    r = rules[1]
    assert (r.precision, r.recall, r.support) == (1.0, 1.0, int(target.sum()))
    assert "device = 'mobile'" in r.rule and "orders >=" in r.rule
    # the text, run by DuckDB, selects exactly the cluster
    assert sql_count(frame, r.rule) == target.sum()
    assert sql_count(frame.assign(t=target), f"({r.rule}) AND t") == target.sum()
    r0 = rules[0]
    assert sql_count(frame, r0.rule) == r0.support
    hit0 = sql_count(frame.assign(t=~target), f"({r0.rule}) AND t")
    assert r0.precision == pytest.approx(hit0 / r0.support)
    assert r0.recall == pytest.approx(hit0 / (~target).sum())


def test_thresholds_round_inside_the_gap_and_measures_use_every_row() -> None:
    frame = _tiny(1)
    target = frame.spend.to_numpy() > 2500.0
    fit = np.arange(0, len(frame), 2)  # trees see half the rows
    rules = explain_clusters(
        frame,
        numeric=["spend"],
        integer=frozenset(),
        one_hot=[],
        labels=target.astype(int),
        k=2,
        fit_rows=fit,
    )
    rule = rules[1].rule
    assert rule.startswith("spend > ")
    cut = float(rule.split("> ")[1])
    fitted = frame.spend.to_numpy()[fit]
    below, above = fitted[fitted <= 2500].max(), fitted[fitted > 2500].min()
    assert below <= cut < above  # same split of the fitted rows, a rounder number
    hit = frame.spend.to_numpy() > cut
    assert rules[1].support == hit.sum()
    assert rules[1].recall == pytest.approx((hit & target).sum() / target.sum())
    assert rules[1].precision == pytest.approx((hit & target).sum() / hit.sum())


def test_null_values_lower_precision_and_recall_honestly() -> None:
    frame = pd.DataFrame({"x": [1.0] * 20 + [None] * 5 + [9.0] * 20})
    labels = np.array([0] * 25 + [1] * 20)  # nulls belong to cluster 0
    rules = explain_clusters(
        frame,
        numeric=["x"],
        integer=frozenset(),
        one_hot=[],
        labels=labels,
        k=2,
        fit_rows=np.arange(45),
    )
    # "x <= ..." cannot select the null rows, whichever side the tree sent them
    assert rules[0].recall == pytest.approx(20 / 25)
    assert rules[1].precision == 1.0 and rules[1].recall == 1.0
