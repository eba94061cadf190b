"""RFM scoring and groups on hand-built tables, with the expected scores worked out by hand.

The quantile rule under test (docs/rfm.md): among the n customers with orders, a block of
``eq`` equal values with ``below`` customers strictly under it scores
``1 + floor(5 * (below + eq / 2) / n)``; the smallest value scores 1, the largest 5; if
all values are equal everyone scores 3. Recency is scored as ``-recency``.
"""

from __future__ import annotations

import doctest
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custseg.exceptions import ConfigError, DataError, SchemaError, UsageError
from custseg.segments import (
    PROSPECTS,
    RFM_GROUPS,
    IncompleteGroupsError,
    RfmGroup,
    natural_breaks,
    rfm_group_counts,
    rfm_segments,
    score_rfm,
)
from custseg.segments import rfm as rfm_mod

R, F, M = "days_since_last_order", "number_of_orders", "amount_spent"

MakeTable = Callable[..., ir.Table]


@pytest.fixture(scope="module", params=["duckdb", "sqlite"])
def make_table(request: pytest.FixtureRequest) -> MakeTable:
    """Build a customer table on an in-memory backend from column lists."""
    con = getattr(ibis, request.param).connect()
    counter = itertools.count()

    def make(
        recency: Sequence[Any] | None = None,
        frequency: Sequence[Any] | None = None,
        monetary: Sequence[Any] | None = None,
    ) -> ir.Table:
        n = len(next(c for c in (recency, frequency, monetary) if c is not None))
        data = pa.table(
            {
                "customer_id": pa.array(range(1, n + 1), pa.int64()),
                R: pa.array(recency if recency is not None else [10] * n, pa.int64()),
                F: pa.array(frequency if frequency is not None else [1] * n, pa.int64()),
                M: pa.array(monetary if monetary is not None else [1.0] * n, pa.float64()),
            }
        )
        return con.create_table(f"t{next(counter)}", data, temp=True)

    return make


def scores(table: ir.Table, column: str, **kwargs: Any) -> list[Any]:
    """One output column, in customer_id order, with nulls as None."""
    out = score_rfm(table, **kwargs).order_by("customer_id").to_pyarrow()
    return out.column(column).to_pylist()


# ----------------------------------------------------------------------- quantiles


def test_ten_distinct_values_two_per_quintile(make_table: MakeTable) -> None:
    # value i (1..10): below = i - 1, eq = 1, n = 10; 5 * (i - 0.5) / 10 = 0.25, 0.75,
    # 1.25, ..., 4.75 -> floor 0,0,1,1,2,2,3,3,4,4 -> scores 1,1,2,2,3,3,4,4,5,5
    t = make_table(frequency=list(range(1, 11)), monetary=[float(v) for v in range(10, 0, -1)])
    assert scores(t, "f_score") == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores(t, "m_score") == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_at_the_bottom_share_score_one(make_table: MakeTable) -> None:
    # [1,1,1,1,2,3,4,5,6,7]: the block of 1s is the smallest value -> 1 (its mid-point
    # 0.2 alone would give 2). 2: (4 + .5)/10 -> 5 * .45 = 2.25 -> 3; 3: .55 -> 2.75 -> 3;
    # 4: .65 -> 3.25 -> 4; 5: .75 -> 3.75 -> 4; 6: .85 -> 4.25 -> 5; 7 is the largest -> 5.
    t = make_table(frequency=[1, 1, 1, 1, 2, 3, 4, 5, 6, 7])
    assert scores(t, "f_score") == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]


def test_tie_block_in_the_middle_on_a_boundary_takes_the_upper_bin(
    make_table: MakeTable,
) -> None:
    # [1,2,3,3,3,3,4,5,6,7]: the 3s have below = 2, eq = 4: mid-point (2 + 2)/10 = 0.4,
    # exactly the 2|3 quintile boundary -> 1 + floor(2.0) = 3. 2: .15 -> 0.75 -> 1.
    t = make_table(frequency=[1, 2, 3, 3, 3, 3, 4, 5, 6, 7])
    assert scores(t, "f_score") == [1, 1, 3, 3, 3, 3, 4, 4, 5, 5]


def test_one_customer_scores_the_middle_and_gets_a_group(make_table: MakeTable) -> None:
    # one value: min == max -> (5 + 1) // 2 = 3 on every metric; (3, 3) -> Need Attention
    t = make_table(recency=[12], frequency=[2], monetary=[40.0])
    out = score_rfm(t).to_pyarrow().to_pylist()[0]
    assert (out["r_score"], out["f_score"], out["m_score"]) == (3, 3, 3)
    assert out["rfm_score"] == "333"
    assert out["rfm_group"] == "Need Attention"


def test_all_equal_values_all_score_three(make_table: MakeTable) -> None:
    t = make_table(recency=[7] * 6, frequency=[1] * 6, monetary=[9.5] * 6)
    assert scores(t, "rfm_score") == ["333"] * 6


def test_heavy_ties_at_zero(make_table: MakeTable) -> None:
    # 80% zeros: smallest value -> 1. 10: below 8 -> (8 + .5)/10 -> 4.25 -> 5; 20 largest -> 5.
    # The spenders are the top quintile, so they share 5: that is what a quintile means.
    t = make_table(monetary=[0.0] * 8 + [10.0, 20.0])
    assert scores(t, "m_score") == [1] * 8 + [5, 5]
    # 50% zeros, the rest spread: 10: 5.5/10 -> 2.75 -> 3; 20: 6.5 -> 3.25 -> 4;
    # 30: 7.5 -> 3.75 -> 4; 40: 8.5 -> 4.25 -> 5; 50 largest -> 5
    t = make_table(monetary=[0.0] * 5 + [10.0, 20.0, 30.0, 40.0, 50.0])
    assert scores(t, "m_score") == [1] * 5 + [3, 4, 4, 5, 5]


def test_recency_is_inverted(make_table: MakeTable) -> None:
    # scored as -days: 1 day is the largest -> 5, 10 days the smallest -> 1
    t = make_table(recency=list(range(1, 11)))
    assert scores(t, "r_score") == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_recency_boundary_tie_takes_the_better_score(make_table: MakeTable) -> None:
    # days [1,2,3,3,3,3,4,5,6,7] -> x = -days. The 3-day block has below = 4 (the -7..-4
    # values), eq = 4: mid (4 + 2)/10 = 0.6, exactly a boundary -> 1 + floor(3.0) = 4.
    # -6: 1.5/10 -> .75 -> 1; -5: 2.5/10 -> 1.25 -> 2; -4: 3.5/10 -> 1.75 -> 2;
    # -2: 8.5/10 -> 4.25 -> 5; -1 largest -> 5; -7 smallest -> 1.
    t = make_table(recency=[1, 2, 3, 3, 3, 3, 4, 5, 6, 7])
    assert scores(t, "r_score") == [5, 5, 4, 4, 4, 4, 2, 2, 1, 1]


def test_customers_without_orders_are_prospects_and_do_not_shift_ranks(
    make_table: MakeTable,
) -> None:
    # the same ten distinct frequencies as above plus three prospects (null recency, 0
    # orders); prospects are ranked apart, so the ten keep 1,1,2,2,...,5,5
    t = make_table(
        recency=[5] * 10 + [None] * 3,
        frequency=list(range(1, 11)) + [0, 0, 0],
        monetary=[1.0] * 10 + [0.0] * 3,
    )
    out = score_rfm(t).order_by("customer_id").to_pyarrow().to_pydict()
    assert out["f_score"] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, None, None, None]
    for col in ("r_score", "m_score", "rfm_score"):
        assert out[col][10:] == [None] * 3
    assert out["rfm_group"][10:] == [PROSPECTS] * 3
    assert PROSPECTS not in out["rfm_group"][:10]


def test_every_customer_with_orders_gets_one_group(make_table: MakeTable) -> None:
    t = make_table(
        recency=[1, 5, 9, 30, 60, 90, 200, 300, 400, 500],
        frequency=[9, 1, 3, 1, 4, 2, 8, 1, 2, 1],
        monetary=[900.0, 10.0, 50.0, 5.0, 80.0, 30.0, 700.0, 20.0, 0.0, 15.0],
    )
    groups = scores(t, "rfm_group")
    names = {g.name for g in RFM_GROUPS}
    assert all(g in names for g in groups)


# ----------------------------------------------------------------------- fixed thresholds


def test_fixed_thresholds_boundaries(make_table: MakeTable) -> None:
    cuts = {"recency": [30, 90, 180, 365], "frequency": [2, 3, 5, 10], "monetary": [1, 2, 3, 4]}
    # recency: a cut point belongs to the more recent (better) side: <= 30 -> 5, ..., > 365 -> 1
    t = make_table(recency=[0, 30, 31, 90, 91, 180, 181, 365, 366])
    assert scores(t, "r_score", method="fixed", thresholds=cuts) == [5, 5, 4, 4, 3, 3, 2, 2, 1]
    # frequency: a cut point is a lower bound: < 2 -> 1, 2 -> 2, 3..4 -> 3, 5..9 -> 4, >= 10 -> 5
    t = make_table(frequency=[1, 2, 3, 4, 5, 9, 10, 11])
    assert scores(t, "f_score", method="fixed", thresholds=cuts) == [1, 2, 3, 3, 4, 4, 5, 5]


@pytest.mark.parametrize(
    ("thresholds", "match"),
    [
        (None, "needs thresholds"),
        ({"recency": [1, 2, 3, 4], "frequency": [1, 2, 3, 4]}, "missing \\['monetary'\\]"),
        (
            {"recency": [1, 2, 3], "frequency": [1, 2, 3, 4], "monetary": [1, 2, 3, 4]},
            "thresholds\\['recency'\\] must be 4",
        ),
        (
            {"recency": [1, 2, 2, 4], "frequency": [1, 2, 3, 4], "monetary": [1, 2, 3, 4]},
            "strictly",
        ),
    ],
)
def test_bad_fixed_thresholds(make_table: MakeTable, thresholds: Any, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        score_rfm(make_table(frequency=[1, 2]), method="fixed", thresholds=thresholds)


# ----------------------------------------------------------------------- Jenks


def test_natural_breaks_finds_obvious_clusters() -> None:
    assert natural_breaks([1, 2, 3, 50, 51, 52, 100, 101], 3) == [50.0, 100.0]
    assert natural_breaks([5, 5, 5], 3) == []  # one distinct value: one class
    assert natural_breaks([1, 1, 9, 9, 9], 5) == [9.0]  # two distinct values: two classes
    # weights matter: the cheaper split of [0 x 50, 10, 11, 12] in two is {0} | {10, 11, 12}
    assert natural_breaks([0] * 50 + [10, 11, 12], 2) == [10.0]


def test_natural_breaks_with_chunking_matches_exact_on_clusters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # three tight, far apart clusters survive merging values into chunks
    values = [v + i * 0.001 for v in (0.0, 100.0, 1000.0) for i in range(300)]
    exact = natural_breaks(values, 3)
    monkeypatch.setattr(rfm_mod, "_JENKS_MAX_POINTS", 50)
    assert natural_breaks(values, 3) == exact == [100.0, 1000.0]


def test_jenks_scores(make_table: MakeTable) -> None:
    clusters = [1.0, 2.0, 3.0, 50.0, 51.0, 52.0, 100.0, 101.0]
    grid3 = [RfmGroup("All", r=(1, 3), f=(1, 3))]
    t = make_table(monetary=clusters)
    assert scores(t, "m_score", method="jenks", bins=3, groups=grid3) == [1, 1, 1, 2, 2, 2, 3, 3]
    # recency clusters, inverted: the 1-3 day cluster is the most recent -> 3
    t = make_table(recency=[1, 2, 3, 50, 51, 52, 100, 101])
    assert scores(t, "r_score", method="jenks", bins=3, groups=grid3) == [3, 3, 3, 2, 2, 2, 1, 1]
    # two distinct values and five bins: the two classes spread to 1 and 5; one value -> 3
    t = make_table(frequency=[1, 1, 1, 4, 4], monetary=[7.0] * 5)
    assert scores(t, "f_score", method="jenks") == [1, 1, 1, 5, 5]
    assert scores(t, "m_score", method="jenks") == [3] * 5


def test_jenks_on_a_sample(make_table: MakeTable) -> None:
    # 60 rows, sample_size 20: step 3, the middle row of every 3 sorted rows is used.
    # Every customer is still scored, and the clusters (1-3 / 50-52 / 100-101) still
    # split in three; with bins=3 the classes score 1, 2, 3.
    values = [1.0, 2.0, 3.0] * 8 + [50.0, 51.0, 52.0] * 8 + [100.0, 101.0] * 6
    t = make_table(monetary=values)
    grid3 = [RfmGroup("All", r=(1, 3), f=(1, 3))]
    out = scores(t, "m_score", method="jenks", bins=3, groups=grid3, sample_size=20)
    assert out == [1] * 24 + [2] * 24 + [3] * 12


# ----------------------------------------------------------------------- groups


EXPECTED_GRID = {
    # f:   1                 2                     3                     4                  5
    5: ["New Customers", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers",
        "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "Can't Lose Them", "Can't Lose Them"],
    1: ["Lost", "Hibernating", "At Risk", "Can't Lose Them", "Can't Lose Them"],
}  # fmt: skip


def first_match(groups: Sequence[RfmGroup], r: int, f: int, m: int = 3) -> str | None:
    return next((g.name for g in groups if g.matches(r, f, m)), None)


def test_default_groups_cover_the_grid_with_the_documented_precedence() -> None:
    assert len(RFM_GROUPS) == 11
    cells = {(r, f): first_match(RFM_GROUPS, r, f) for r in range(1, 6) for f in range(1, 6)}
    assert len(cells) == 25 and None not in cells.values()
    assert {rf: EXPECTED_GRID[rf[0]][rf[1] - 1] for rf in cells} == cells
    # every named group is reachable, and the grid does not depend on m
    assert {g.name for g in RFM_GROUPS} == set(cells.values())
    assert all(
        first_match(RFM_GROUPS, r, f, m) == cells[(r, f)]
        for r, f, m in itertools.product(range(1, 6), repeat=3)
    )


def test_precedence_matters() -> None:
    names = [g.name for g in RFM_GROUPS]
    assert names.index("Can't Lose Them") < names.index("At Risk")
    assert names.index("Lost") < names.index("Hibernating")
    # listed in the issue's order, New Customers would be unreachable
    issue_order = ["Champions", "Loyal Customers", "Potential Loyalist", "New Customers"]
    by_name = {g.name: g for g in RFM_GROUPS}
    reordered = [by_name[n] for n in issue_order] + [
        g for g in RFM_GROUPS if g.name not in issue_order
    ]
    reached = {first_match(reordered, r, f) for r in range(1, 6) for f in range(1, 6)}
    assert "New Customers" not in reached


def test_engine_groups_match_the_python_table(make_table: MakeTable) -> None:
    # all 25 (r, f) cells pushed through the engine's CASE expression
    rf = list(itertools.product(range(1, 6), repeat=2))
    t = make_table(frequency=[r for r, _ in rf], monetary=[float(f) for _, f in rf])
    t = t.mutate(
        r_score=t[F].cast("int8"), f_score=t[M].cast("int8"), m_score=ibis.literal(3, "int8")
    )
    got = t.mutate(g=rfm_mod._group_expr(t, RFM_GROUPS)).order_by("customer_id").to_pyarrow()
    assert got.column("g").to_pylist() == [EXPECTED_GRID[r][f - 1] for r, f in rf]


def test_custom_groups_with_a_gap_name_the_uncovered_cells(make_table: MakeTable) -> None:
    # without Lost, Hibernating and About To Sleep, (1, 1) and (2, 1) have no group;
    # (1, 2) and (2, 2) are still At Risk (r 1-2, f 2-5)
    dropped = ("Lost", "Hibernating", "About To Sleep")
    gap = [g for g in RFM_GROUPS if g.name not in dropped]
    with pytest.raises(IncompleteGroupsError) as info:
        score_rfm(make_table(frequency=[1, 2]), groups=gap)
    assert info.value.uncovered == ((1, 1), (2, 1))
    assert "2 score cell(s) without a group: (r=1, f=1), (r=2, f=1)." in str(info.value)
    assert isinstance(info.value, ConfigError)
    # a monetary range leaves (r, f, m) triples
    partial = [RfmGroup("Big", r=(1, 5), f=(1, 5), m=(2, 5))]
    with pytest.raises(IncompleteGroupsError, match=r"\(r=1, f=1, m=1\)") as info:
        score_rfm(make_table(frequency=[1, 2]), groups=partial)
    assert len(info.value.uncovered) == 25


def test_custom_groups_with_monetary_ranges(make_table: MakeTable) -> None:
    groups = [
        RfmGroup("Big spenders", r=(1, 5), f=(1, 5), m=(4, 5)),
        RfmGroup("Everyone else", r=(1, 5), f=(1, 5)),
    ]
    t = make_table(monetary=[float(v) for v in range(1, 11)])
    assert scores(t, "rfm_group", groups=groups) == ["Everyone else"] * 6 + ["Big spenders"] * 4


@pytest.mark.parametrize(
    ("groups", "error", "match"),
    [
        ([], ConfigError, "empty"),
        ([RfmGroup("A", r=(1, 5), f=(1, 5))] * 2, ConfigError, "unique"),
        ([RfmGroup(PROSPECTS, r=(1, 5), f=(1, 5))], ConfigError, "reserved"),
        ([RfmGroup("A", r=(0, 5), f=(1, 5))], ConfigError, "1 <= low <= high <= 5"),
    ],
)
def test_malformed_groups(
    make_table: MakeTable, groups: list[RfmGroup], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        score_rfm(make_table(frequency=[1, 2]), groups=groups)


def test_other_bins_need_their_own_groups(make_table: MakeTable) -> None:
    t = make_table(frequency=[1, 2, 3, 4])
    with pytest.raises(UsageError, match="bins=3"):
        score_rfm(t, bins=3)
    # values 1..4, n = 4, bins 3: 2 -> 3 * 1.5/4 = 1.125 -> 2; 3 -> 3 * 2.5/4 = 1.875 -> 2
    out = scores(t, "f_score", bins=3, groups=[RfmGroup("All", r=(1, 3), f=(1, 3))])
    assert out == [1, 2, 2, 3]


# ----------------------------------------------------------------------- API and checks


def test_rfm_segments_and_group_counts(make_table: MakeTable) -> None:
    # recency 3/40/200/400 -> R 5,4,2,1; frequency 6/3/2/1 -> F 5,4,2,1 (same ranks)
    t = make_table(
        recency=[3, 40, 200, 400, None],
        frequency=[6, 3, 2, 1, 0],
        monetary=[500.0, 120.0, 80.0, 20.0, 0.0],
    )
    seg = rfm_segments(t)
    assert seg.columns == (
        "customer_id", R, F, M, "r_score", "f_score", "m_score", "rfm_score", "rfm_group",
    )  # fmt: skip
    got = seg.order_by("customer_id").to_pyarrow().column("rfm_group").to_pylist()
    assert got == ["Champions", "Champions", "Hibernating", "Lost", PROSPECTS]
    counts = rfm_group_counts(seg)
    assert list(counts)[: len(RFM_GROUPS)] == [g.name for g in RFM_GROUPS]
    assert counts["Champions"] == 2 and counts["Lost"] == 1 and counts[PROSPECTS] == 1
    assert sum(counts.values()) == 5 and counts["At Risk"] == 0


def test_missing_or_non_numeric_columns(make_table: MakeTable) -> None:
    t = make_table(frequency=[1, 2])
    with pytest.raises(SchemaError, match="recency='days'"):
        score_rfm(t, recency="days")
    with pytest.raises(SchemaError, match="must be numeric"):
        score_rfm(t.mutate(**{F: t[F].cast("string")}))
    with pytest.raises(SchemaError, match="customer_id='id'"):
        rfm_segments(t, customer_id="id")
    with pytest.raises(SchemaError, match="score_rfm"):
        rfm_group_counts(t)


def test_bad_options(make_table: MakeTable) -> None:
    t = make_table(frequency=[1, 2])
    with pytest.raises(UsageError, match=r"\['quantile', 'fixed', 'jenks'\], got: 'ntile'"):
        score_rfm(t, method="ntile")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="bins"):
        score_rfm(t, bins=12)
    with pytest.raises(UsageError, match="only used with method='fixed'"):
        score_rfm(t, thresholds={"recency": [1, 2, 3, 4]})


def test_null_frequency_for_a_customer_with_orders_is_a_data_error(
    make_table: MakeTable,
) -> None:
    with pytest.raises(DataError, match="null 'number_of_orders'"):
        score_rfm(make_table(recency=[1, 2], frequency=[1, None]))


def test_duplicate_customer_ids(make_table: MakeTable) -> None:
    t = make_table(frequency=[1, 2])
    doubled = t.union(t)
    with pytest.raises(DataError, match="must be unique"):
        rfm_segments(doubled)


def test_docstring_examples() -> None:
    result = doctest.testmod(rfm_mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


# ----------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 30),  # recency
            st.integers(1, 6),  # frequency: few values, many ties
            st.integers(0, 1000),  # monetary
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["quantile", "jenks"]),
)
def test_scores_are_bounded_tie_consistent_and_monotone(
    rows: list[tuple[int, int, int]], method: str
) -> None:
    df = pd.DataFrame(rows, columns=[R, F, M])
    out = score_rfm(ibis.memtable(df), method=method).to_pyarrow().to_pydict()  # type: ignore[arg-type]
    assert len(out[R]) == len(rows)
    for col, score, sign in ((R, "r_score", -1), (F, "f_score", 1), (M, "m_score", 1)):
        by_value: dict[int, int] = {}
        for v, s in zip(out[col], out[score], strict=True):
            assert s is not None and 1 <= s <= 5
            assert by_value.setdefault(v, s) == s  # ties share a score
        ordered = [by_value[v] for v in sorted(by_value, key=lambda v: sign * v)]
        assert ordered == sorted(ordered)  # monotone in the (oriented) value
        if len(by_value) > 1:  # extremes anchor at 1 and 5 under quantiles
            if method == "quantile":
                assert ordered[0] == 1 and ordered[-1] == 5
        else:
            assert ordered == [3]
    assert None not in out["rfm_group"] and PROSPECTS not in out["rfm_group"]
