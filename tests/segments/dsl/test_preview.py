"""preview(): count, share and sample, against hand counts and an independent pandas run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from custseg.exceptions import DataError, UsageError
from custseg.segments.dsl import PreviewResult, RuleContext, RuleError, preview
from custseg.workspace import Workspace, open_workspace

from ._store import AS_OF, features_table


def test_count_share_and_sample_on_the_tiny_store(ctx: RuleContext) -> None:
    # amounts >= 500: A 1200, D 750, F 500 -> 3 of 6; the first two ids are A and D
    res = preview(ctx, "amount_spent >= 500 AND country IS NOT NULL", sample=2)
    assert isinstance(res, PreviewResult)
    assert (res.count, res.total, res.share, res.as_of) == (3, 6, 0.5, AS_OF)
    assert res.sample.column_names == ["customer_id", "amount_spent", "country"]
    assert res.sample.to_pylist() == [
        {"customer_id": "A", "amount_spent": 1200.0, "country": "US"},
        {"customer_id": "D", "amount_spent": 750.0, "country": "US"},
    ]


def test_sample_size_zero_and_no_members(ctx: RuleContext) -> None:
    res = preview(ctx, "amount_spent >= 500", sample=0)
    assert res.count == 3 and res.sample.num_rows == 0
    assert res.sample.column_names == ["customer_id", "amount_spent"]
    none = preview(ctx, "amount_spent > 1000000")
    assert (none.count, none.share, none.sample.num_rows) == (0, 0.0, 0)


def test_sample_columns_follow_the_rule(ctx: RuleContext) -> None:
    res = preview(ctx, "products_purchased MATCHES (category = 'footwear')")
    assert res.sample.column_names == ["customer_id"]
    assert res.sample.column("customer_id").to_pylist() == ["A", "B", "E"]
    res = preview(ctx, "within_distance(lat = 40.71, lon = -74.01, km = 50)")
    assert res.sample.column_names == ["customer_id", "latitude", "longitude"]
    assert res.sample.column("customer_id").to_pylist() == ["A", "D"]
    res = preview(ctx, "customer_id = 'C'")
    assert res.sample.column_names == ["customer_id"] and res.count == 1


def test_to_dict_is_json_ready(ctx: RuleContext) -> None:
    d = preview(ctx, "last_order_date >= -3m", sample=5).to_dict()
    assert json.loads(json.dumps(d)) == d
    # A 06-20, D 03-31, F 06-30 are on or after 2025-03-30
    assert d == {
        "rule": "last_order_date >= -3m",
        "as_of": "2025-06-30",
        "count": 3,
        "total": 6,
        "share": 0.5,
        "sample": [
            {"customer_id": "A", "last_order_date": "2025-06-20"},
            {"customer_id": "D", "last_order_date": "2025-03-31"},
            {"customer_id": "F", "last_order_date": "2025-06-30"},
        ],
    }


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
def test_bad_sample_size(ctx: RuleContext, bad: object) -> None:
    with pytest.raises(UsageError, match="sample must be a whole number"):
        preview(ctx, "amount_spent > 1", sample=bad)  # type: ignore[arg-type]


def test_rule_errors_pass_through(ctx: RuleContext) -> None:
    with pytest.raises(RuleError, match="unknown field 'amount_spnt'"):
        preview(ctx, "amount_spnt > 1")


def test_context_needs_features_with_ids_and_one_as_of() -> None:
    t = features_table()
    with pytest.raises(UsageError, match="no customer_id"):
        RuleContext(features=t.drop("customer_id"), as_of=AS_OF)
    with pytest.raises(UsageError, match="no as_of column"):
        RuleContext(features=t.drop("as_of"))
    two = t.mutate(as_of=(t.customer_id == "A").ifelse(date(2025, 1, 1), AS_OF))
    with pytest.raises(DataError, match="several as_of dates"):
        RuleContext(features=two)
    with pytest.raises(UsageError, match="needs an Ibis table"):
        RuleContext(features=t.to_pandas())  # type: ignore[arg-type]


def test_workspace_without_features(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="custseg features"):
        RuleContext.from_workspace(ws)


# ---------------------------------------------------------------- demo store vs pandas


@pytest.fixture(scope="module")
def demo(demo_store: Path):
    ws = open_workspace(demo_store)
    ws.connect(read_only=True)
    ctx = RuleContext.from_workspace(ws)
    yield ctx, ctx.features.to_pandas()
    ws.close()


@pytest.mark.parametrize(
    ("rule", "mask", "fields"),
    [
        (
            "amount_spent > 500 AND number_of_orders >= 3",
            lambda f: (f.amount_spent > 500) & (f.number_of_orders >= 3),
            ["amount_spent", "number_of_orders"],
        ),
        (
            "rfm_group IN ('Champions', 'Loyal Customers') OR p_alive < 0.1",
            lambda f: (
                f.rfm_group.isin(["Champions", "Loyal Customers"]) | (f.p_alive < 0.1).fillna(False)
            ),
            ["rfm_group", "p_alive"],
        ),
        ("country IS NULL", lambda f: f.country.isna(), ["country"]),
    ],
)
def test_demo_preview_matches_pandas(demo, rule, mask, fields) -> None:
    ctx, f = demo
    assert ctx.as_of == pd.Timestamp(f.as_of.iloc[0]).date()
    expected = f[mask(f).fillna(False).astype(bool)].sort_values("customer_id")
    res = preview(ctx, rule, sample=10)
    assert res.total == len(f)
    assert res.count == len(expected)
    assert res.share == pytest.approx(len(expected) / len(f))
    got = res.sample.to_pandas()
    assert list(got.columns) == ["customer_id", *fields]
    want = expected[["customer_id", *fields]].head(10).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
