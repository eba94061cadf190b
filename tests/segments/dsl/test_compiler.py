"""Compiling to Ibis: member sets counted by hand on the tiny store (see ``_store.py``),
and member counts on the demo store recomputed with plain pandas."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest

from custseg.segments.dsl import RuleContext, compile_rule
from custseg.workspace import open_workspace

from ._store import ALL, AS_OF, make_ctx, members

# ---------------------------------------------------------------- fields

FIELD_CASES = [
    # amounts: A 1200, B 300, C 0, D 750, E null, F 500
    ("amount_spent > 500", "AD"),  # F = 500 is not > 500; E is null
    ("amount_spent >= 500", "ADF"),
    ("amount_spent = 300", "B"),
    ("amount_spent != 300", "ACDF"),  # a comparison on null (E) is false
    ("amount_spent < 300", "C"),
    ("amount_spent <= 300", "BC"),
    ("amount_spent > -1.5", "ABCDF"),
    ("amount_spent BETWEEN 300 AND 750", "BDF"),  # inclusive at both ends
    ("number_of_orders IN (0, 3)", "CD"),
    ("p_alive BETWEEN 0.2 AND 0.6", "BDEF"),  # E = 0.2 and F = 0.6 are the ends
    # text: exact, case-sensitive
    ("country = 'US'", "ADF"),
    ("country = 'us'", ""),
    ("country != 'US'", "BC"),  # E has no country
    ("country IN ('US', 'CA')", "ABDF"),
    ("rfm_group IN ('Champions', 'Loyal Customers')", "AB"),
    # CONTAINS on tags: a whole tag, any case, spaces trimmed ('vipish' is not 'vip')
    ("tags CONTAINS 'vip'", "ABE"),
    ("tags CONTAINS ' VIP '", "ABE"),
    ("tags CONTAINS 'wholesale'", "E"),
    ("tags CONTAINS 'newsletter'", "AD"),
    ("tags CONTAINS 'vipis'", ""),
    # CONTAINS on other text: a substring, any case
    ("main_device CONTAINS 'OBI'", "ADF"),
    # booleans
    ("is_stub = true", "C"),
    ("is_stub = false", "ABDF"),
    ("is_stub != true", "ABDF"),  # E is null
    # nulls
    ("country IS NULL", "E"),
    ("country IS NOT NULL", "ABCDF"),
    ("created_at IS NULL", "E"),
    # dates (as of 2025-06-30): last orders A 06-20, B 02-01, D 03-31, E 2024-06-30, F 06-30
    ("last_order_date < -90d", "BDE"),  # before 2025-04-01
    ("last_order_date >= -3m", "ADF"),  # on or after 2025-03-30
    ("last_order_date >= -13w", "ADF"),  # 2025-03-31: D's day counts
    ("last_order_date > -13w", "AF"),
    ("last_order_date = today", "F"),
    ("last_order_date = 2025-06-20", "A"),
    ("last_order_date <= -1y", "E"),  # 2024-06-30 exactly
    ("last_order_date BETWEEN -1y AND -1w", "ABDE"),  # 2024-06-30 .. 2025-06-23
    ("last_order_date < +1d", "ABDEF"),
    # timestamps compare by their (UTC) date: C 2025-06-30 23:00, F 2025-01-01 00:00
    ("created_at >= 2025-01-01", "CF"),
    ("created_at = today", "C"),
    ("created_at < 2023-01-01", "D"),
    # logic: AND binds tighter than OR
    ("country = 'US' OR country = 'CA' AND amount_spent > 1000", "ADF"),
    ("(country = 'US' OR country = 'CA') AND amount_spent > 1000", "A"),
    ("amount_spent > 500 and not is_stub = true", "AD"),
    # NOT of a condition on null is true: NOT is not coalesce(x, false)
    ("NOT amount_spent > 500", "BCEF"),
    ("NOT country = 'US'", "BCE"),
    ("NOT NOT amount_spent > 500", "AD"),
    ("NOT (amount_spent > 500 OR country = 'CA')", "CEF"),
]


@pytest.mark.parametrize(("rule", "expected"), FIELD_CASES)
def test_fields(ctx: RuleContext, rule: str, expected: str) -> None:
    assert members(ctx, rule) == set(expected)


def test_rfm_contains_case(ctx: RuleContext) -> None:
    # hand check of the substring case above: 'o' in Champions, Loyal Customers, Prospects,
    # Lost, Other; not in 'At Risk'
    assert members(ctx, "rfm_group CONTAINS 'O'") == set("ABCEF")


# ---------------------------------------------------------------- functions

FUNCTION_CASES = [
    # footwear lines of counted orders: A (O1, O2, O3), B (O4; O5 is cancelled),
    # E (O10, refunded but not cancelled); D's O7 is after the as-of day
    ("products_purchased MATCHES (category = 'footwear')", "ABE"),
    ("products_purchased MATCHES (category = 'footwear', count >= 2)", "A"),  # A 3, B 1, E 1
    ("products_purchased MATCHES (category = 'footwear', count >= 2, date >= -12m)", "A"),
    # since 2025-05-30 only A's O1 has footwear: count 1
    ("products_purchased MATCHES (category = 'footwear', count >= 2, date >= -1m)", ""),
    # with no footwear order: C, D, F (count 0 satisfies count < 1)
    ("products_purchased MATCHES (category = 'footwear', count < 1)", "CDF"),
    ("NOT products_purchased MATCHES (category = 'footwear')", "CDF"),
    # S1 units: A 1 + 2 = 3; B 1 (the 5 of cancelled O5 do not count)
    ("products_purchased MATCHES (sku = 'S1', quantity >= 3)", "A"),
    ("products_purchased MATCHES (sku = 'S1', quantity >= 1, quantity <= 1)", "B"),
    # S3: A bought 1 (the -1 return line is not a purchase), E bought 1
    ("products_purchased MATCHES (sku = 'S3', quantity = 1)", "AE"),
    ("products_purchased MATCHES (brand IN ('Zed', 'Lux'))", "ADE"),
    ("products_purchased MATCHES (brand != 'Acme')", "ADE"),
    ("products_purchased MATCHES (product_name = 'product S4')", "D"),
    ("products_purchased MATCHES ()", "ABDEF"),
    # orders: net A 200/150/0, B 300, D 400, E 0, F 500 (O5 cancelled, O7 late, O9 guest)
    ("orders_placed MATCHES (date >= -7d)", "F"),  # F's O8 at 23:59 on the as-of day
    ("orders_placed MATCHES (amount >= 150)", "ABDF"),
    ("orders_placed MATCHES (count >= 2)", "A"),
    ("orders_placed MATCHES (sum >= 400)", "DF"),  # A: 200 + 150 + 0 = 350
    ("orders_placed MATCHES (count = 0)", "C"),
    ("orders_placed MATCHES (channel = 'web')", "ABE"),
    ("orders_placed MATCHES (channel IN ('app', 'store'), count >= 1)", "ADF"),
    ("orders_placed MATCHES (status = 'returned')", "A"),
    ("orders_placed MATCHES (status != 'placed')", "AE"),
    ("orders_placed MATCHES (date < 2024-12-31, sum < 1)", "ABCDEF"),  # nets A 0, E 0
    # events up to the as-of day: A 3 views (06-25..29), B 1 (the 07-01 view is late)
    ("events MATCHES (type = 'product_view', count >= 2, date >= -7d)", "A"),
    ("events MATCHES (type = 'product_view', date >= -7d)", "AB"),
    ("events MATCHES (type = 'email_open')", "C"),  # 23:00 on the as-of day counts
    ("events MATCHES (type IN ('product_view'), count <= 1)", "BCDEF"),  # 0 or 1 views
    ("events MATCHES (date >= -7d) AND NOT orders_placed MATCHES (date >= -7d)", "ABC"),
    # campaigns as of 2025-06-30: K2 starts 2025-07-15, so its rows do not count yet
    ("campaign MATCHES (campaign = 'K1')", "ABD"),
    ("campaign MATCHES ()", "ABD"),
    ("campaign MATCHES (campaign = 'K2')", ""),
    ("campaign MATCHES (received = true)", "AD"),
    ("campaign MATCHES (received = false)", "B"),
    ("campaign MATCHES (received != true)", "B"),
    ("campaign MATCHES (converted = true)", "AB"),
    ("campaign MATCHES (campaign = 'K1', received = true, converted = false)", "D"),
    ("NOT campaign MATCHES (received = true)", "BCEF"),
    # within 50 km of (40.71, -74.01): A ~4.7 km, D ~18 km; B (Toronto), E (LA) far away
    ("within_distance(lat = 40.71, lon = -74.01, km = 50)", "AD"),
    ("within_distance(lat = 40.71, lon = -74.01, km = 10)", "A"),
    ("NOT within_distance(lat = 40.71, lon = -74.01, km = 50)", "BCEF"),  # C, F: no coordinates
    (
        "within_distance(lat = 40.71, lon = -74.01, km = 50) AND main_device = 'mobile'",
        "AD",
    ),
]


@pytest.mark.parametrize(("rule", "expected"), FUNCTION_CASES)
def test_functions(ctx: RuleContext, rule: str, expected: str) -> None:
    assert members(ctx, rule) == set(expected)


def test_within_distance_agrees_with_a_direct_haversine(ctx: RuleContext) -> None:
    """Second method: the distances computed in Python with the haversine formula."""
    df = ctx.features.to_pandas()
    r = 6371.0088

    def dist(lat: float, lon: float) -> float:
        p1, p2 = math.radians(lat), math.radians(40.71)
        dp, dl = p2 - p1, math.radians(-74.01 - lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * r * math.asin(math.sqrt(a))

    for km in (5, 10, 20, 50, 600, 5000):
        expected = {
            row.customer_id
            for row in df.itertuples()
            if pd.notna(row.latitude) and dist(row.latitude, row.longitude) <= km
        }
        rule = f"within_distance(lat = 40.71, lon = -74.01, km = {km})"
        assert members(ctx, rule) == expected, km


def test_campaign_without_the_campaigns_table_uses_sent_at_only() -> None:
    # without campaign start dates, K2's control row (no sent_at) cannot be dated and counts
    ctx = make_ctx(campaigns=None)
    assert members(ctx, "campaign MATCHES (received = false)") == set("BC")
    assert members(ctx, "campaign MATCHES (received = true)") == set("AD")  # K2 A: sent late


# ---------------------------------------------------------------- as-of cutting


@pytest.mark.parametrize(
    ("as_of", "rule", "expected"),
    [
        # as of 2025-06-24 the last 7 days start 2025-06-17: A's O1 (06-20); F's O8 is later
        (date(2025, 6, 24), "orders_placed MATCHES (date >= -7d)", "A"),
        # as of 2025-05-01 A has O2 (that day, 12:00) and O3 with footwear: 2 orders
        (date(2025, 5, 1), "products_purchased MATCHES (category = 'footwear', count >= 2)", "A"),
        # one day earlier O2 is in the future: only O3
        (date(2025, 4, 30), "products_purchased MATCHES (category = 'footwear', count >= 2)", ""),
        # as of 2025-07-01 D's O7 (00:30) counts and B's late view (00:00:01) too
        (date(2025, 7, 1), "orders_placed MATCHES (date = today)", "D"),
        (date(2025, 7, 1), "events MATCHES (type = 'product_view', date = today)", "B"),
        # before K1 started (2025-04-01) nobody was in a campaign
        (date(2025, 3, 31), "campaign MATCHES ()", ""),
        # after K2 started, its rows count: A treated twice, C in K2's control
        (date(2025, 7, 31), "campaign MATCHES (campaign = 'K2', received = false)", "C"),
        (date(2025, 7, 31), "campaign MATCHES (campaign = 'K2', converted = true)", "A"),
        # relative dates move with the as-of date: 90 days before 2025-07-10 is 2025-04-11
        (date(2025, 7, 10), "last_order_date < -90d", "BDE"),
        (date(2025, 5, 1), "last_order_date >= -1m", "AF"),  # on or after 2025-04-01
    ],
)
def test_as_of_cuts_every_raw_table(as_of: date, rule: str, expected: str) -> None:
    assert members(make_ctx(as_of=as_of), rule) == set(expected)


# ---------------------------------------------------------------- the expression


def test_expression_is_a_never_null_boolean_over_the_features(ctx: RuleContext) -> None:
    expr = compile_rule("amount_spent > 500 OR country = 'CA'", ctx)
    assert expr.type().is_boolean()
    values = ctx.features.select(m=expr).m.to_pyarrow().to_pylist()
    assert None not in values and len(values) == len(ALL)


def test_long_and_chains_compile_shallow(ctx: RuleContext) -> None:
    # 1,000 conditions (the limit): a left-deep tree this deep would overflow the SQL compiler
    rule = " AND ".join(f"amount_spent > {i - 2000}" for i in range(1000))
    assert members(ctx, rule) == set("ABCDF")  # every non-null amount is > -1001


def test_in_list_with_many_values(ctx: RuleContext) -> None:
    rule = "country IN (" + ", ".join(f"'X{i}'" for i in range(5000)) + ", 'CA')"
    assert members(ctx, rule) == {"B"}


def test_quotes_and_sql_in_text_are_data(ctx: RuleContext) -> None:
    assert members(ctx, "country = '''; DROP TABLE customers; --'") == set()
    assert members(ctx, "tags CONTAINS '%'") == set()  # no LIKE wildcards
    assert members(ctx, "main_device CONTAINS '_'") == set()


def test_a_ctx_can_be_built_from_the_features_as_of() -> None:
    # the default as_of is the single value of features.as_of
    from ._store import features_table

    assert RuleContext(features=features_table()).as_of == AS_OF


# ---------------------------------------------------------------- the demo store, second method


@pytest.fixture(scope="module")
def demo(demo_store: Path):
    """The demo store's tables as pandas frames, and a rule context on its workspace."""
    ws = open_workspace(demo_store)
    con = ws.connect(read_only=True)
    ctx = RuleContext.from_workspace(ws)
    frames = {
        name: con.table(name).to_pandas()
        for name in ("customer_features", "orders", "order_lines", "events")
    }
    yield ctx, frames
    ws.close()


def _count(ctx: RuleContext, rule: str) -> int:
    return int(ctx.features.filter(compile_rule(rule, ctx)).count().to_pyarrow().as_py())


def _counted_orders(frames: dict, as_of: date) -> pd.DataFrame:
    o = frames["orders"].copy()
    status = o.status.str.strip().str.lower()
    end = pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)
    o = o[o.customer_id.notna() & (o.ordered_at < end) & (status.isna() | (status != "cancelled"))]
    o = o.assign(
        net=o.total.astype(float).fillna(0) - o.refunded.astype(float).fillna(0),
        order_date=o.ordered_at.dt.tz_convert("UTC").dt.date,
    )
    return o


def test_demo_field_rules_match_pandas(demo) -> None:
    ctx, frames = demo
    f = frames["customer_features"]
    cases = {
        "amount_spent > 500 AND number_of_orders >= 3": (
            (f.amount_spent > 500) & (f.number_of_orders >= 3)
        ),
        "NOT amount_spent > 500": ~(f.amount_spent > 500).fillna(False),
        "p_alive BETWEEN 0.2 AND 0.6": f.p_alive.between(0.2, 0.6).fillna(False),
        "rfm_group IN ('Champions', 'Loyal Customers')": f.rfm_group.isin(
            ["Champions", "Loyal Customers"]
        ),
        "tags CONTAINS 'vip'": f.tags.fillna("").map(
            lambda s: "vip" in [t.strip().lower() for t in s.split(",")]
        ),
        "last_order_date < -90d": (
            pd.to_datetime(f.last_order_date) < pd.Timestamp(ctx.as_of) - pd.Timedelta(days=90)
        ),
        "country IS NULL OR main_device = 'mobile'": f.country.isna()
        | (f.main_device == "mobile").fillna(False),
    }
    for rule, mask in cases.items():
        assert _count(ctx, rule) == int(mask.fillna(False).sum()), rule


def test_demo_products_purchased_matches_pandas(demo) -> None:
    ctx, frames = demo
    orders = _counted_orders(frames, ctx.as_of)
    lines = frames["order_lines"]
    lines = lines[lines.quantity > 0].merge(orders[["order_id", "customer_id", "order_date"]])
    foot = lines[lines.category == "footwear"]
    per = foot.groupby("customer_id").order_id.nunique()
    assert _count(ctx, "products_purchased MATCHES (category = 'footwear', count >= 2)") == int(
        (per >= 2).sum()
    )
    since = foot[foot.order_date >= date(ctx.as_of.year - 1, ctx.as_of.month, ctx.as_of.day)]
    units = since.groupby("customer_id").quantity.sum()
    rule = "products_purchased MATCHES (category = 'footwear', quantity >= 3, date >= -12m)"
    assert _count(ctx, rule) == int((units >= 3).sum())


def test_demo_orders_and_events_match_pandas(demo) -> None:
    ctx, frames = demo
    orders = _counted_orders(frames, ctx.as_of)
    per = orders.groupby("customer_id").net.sum()
    n_customers = len(frames["customer_features"])
    # sum < 100 also holds for customers without orders (their sum is 0)
    buyers_ok = int((per < 100).sum())
    no_orders = n_customers - frames["customer_features"].customer_id.isin(per.index).sum()
    assert _count(ctx, "orders_placed MATCHES (sum < 100)") == buyers_ok + int(no_orders)

    web = orders[(orders.channel == "web") & (orders.net >= 50)]
    assert _count(ctx, "orders_placed MATCHES (channel = 'web', amount >= 50, count >= 3)") == int(
        (web.groupby("customer_id").size() >= 3).sum()
    )

    ev = frames["events"]
    end = pd.Timestamp(ctx.as_of, tz="UTC") + pd.Timedelta(days=1)
    start = pd.Timestamp(ctx.as_of, tz="UTC") - pd.Timedelta(days=30)
    views = ev[
        ev.customer_id.notna() & (ev.type == "product_view") & (ev.ts < end) & (ev.ts >= start)
    ]
    rule = "events MATCHES (type = 'product_view', count >= 2, date >= -30d)"
    assert _count(ctx, rule) == int((views.groupby("customer_id").size() >= 2).sum())


def test_compiled_rules_run_on_a_fresh_duckdb_backend() -> None:
    """The expression is portable Ibis: it runs on another backend's copies of the tables."""
    from ._store import features_table, raw_tables

    con = ibis.duckdb.connect()
    con.create_table("customer_features", features_table().to_pyarrow())
    for name, t in raw_tables().items():
        con.create_table(name, t.to_pyarrow())
    ctx = RuleContext(
        features=con.table("customer_features"),
        as_of=AS_OF,
        **{name: con.table(name) for name in raw_tables()},
    )
    rule = "products_purchased MATCHES (category = 'footwear', count >= 2) OR country = 'CA'"
    assert members(ctx, rule) == set("AB")
