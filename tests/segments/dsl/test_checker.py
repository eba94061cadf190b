"""Type checking: fields and their types, values, functions and their arguments."""

from __future__ import annotations

from datetime import date

import ibis
import pytest

from custseg.segments.dsl import RuleContext, RuleError, check_rule, field_types
from custseg.segments.dsl import nodes as n

from ._store import AS_OF, features_table, make_ctx


def error(rule: str, ctx: RuleContext) -> RuleError:
    with pytest.raises(RuleError) as e:
        check_rule(rule, ctx)
    return e.value


def test_field_types_map_the_ibis_schema(ctx: RuleContext) -> None:
    assert field_types(ctx) == {
        "customer_id": "text",
        "amount_spent": "number",
        "number_of_orders": "number",
        "country": "text",
        "tags": "text",
        "last_order_date": "date",
        "p_alive": "number",
        "is_stub": "bool",
        "created_at": "date",  # a timestamp compares by its date
        "main_device": "text",
        "latitude": "number",
        "longitude": "number",
        "rfm_group": "text",
        "as_of": "date",
    }


def test_decimal_and_small_ints_are_numbers_and_arrays_are_left_out() -> None:
    t = ibis.memtable(
        {"customer_id": ["a"], "m": [1], "s": [1], "l": [[1, 2]]},
        schema={"customer_id": "string", "m": "decimal(18,2)", "s": "int8", "l": "array<int64>"},
    )
    ctx = RuleContext(features=t, as_of=AS_OF)
    assert field_types(ctx) == {"customer_id": "text", "m": "number", "s": "number"}
    e = error("l = 1", ctx)
    assert "has type array<int64>" in e.message and e.position == 0


def test_valid_rules_return_the_tree(ctx: RuleContext) -> None:
    node = check_rule("amount_spent > 500 AND created_at >= -1y", ctx)
    assert isinstance(node, n.And)


def test_unknown_field_with_suggestion(ctx: RuleContext) -> None:
    e = error("amount_spnt > 500", ctx)
    assert e.message == "unknown field 'amount_spnt' at column 1; did you mean 'amount_spent'?"
    assert e.suggestion == "did you mean 'amount_spent'?"
    e = error("country = 'US' AND Amount_Spent > 5", ctx)
    assert e.column == 20 and "did you mean 'amount_spent'?" in e.message
    e = error("zzzzzz = 1", ctx)
    assert e.suggestion is not None and "customer_features" in e.suggestion


def test_the_issue_type_error(ctx: RuleContext) -> None:
    e = error("amount_spent > 'abc'", ctx)
    assert e.message.startswith("'>' needs a number or date, got 'abc' at column 16")


@pytest.mark.parametrize(
    ("rule", "column", "words"),
    [
        ("country > 5", 1, ["'>' needs a number or date field", "'country' is text"]),
        ("is_stub < true", 11, ["'<' needs a number or date, got true"]),
        ("amount_spent = 'x'", 16, ["'amount_spent' is a number, got text 'x'"]),
        ("country = 5", 11, ["'country' is text, got a number (5)"]),
        ("last_order_date < 5", 19, ["'last_order_date' is a date, got a number (5)"]),
        ("amount_spent = -7d", 16, ["'amount_spent' is a number, got a date (-7d)"]),
        ("is_stub = 1", 11, ["'is_stub' is true/false, got a number (1)"]),
        ("country = true", 11, ["'country' is text, got true/false (true)"]),
        ("country BETWEEN 'a' AND 'b'", 1, ["BETWEEN needs a number or date field"]),
        ("amount_spent BETWEEN 1 AND 'b'", 28, ["'amount_spent' is a number, got text 'b'"]),
        ("amount_spent BETWEEN 10 AND 1", 22, ["matches nothing", "low value comes first"]),
        ("last_order_date BETWEEN -1w AND -1y", 25, ["matches nothing"]),
        ("country IN ('US', 3)", 19, ["'country' is text, got a number (3)"]),
        ("country IN ()", 13, ["IN needs at least one value"]),
        ("amount_spent CONTAINS 'x'", 1, ["CONTAINS needs a text field"]),
        ("country CONTAINS 5", 18, ["CONTAINS is text, got a number (5)"]),
        ("tags CONTAINS 'vip, x'", 15, ["a tag cannot contain ','"]),
        ("nope IS NULL", 1, ["unknown field 'nope'"]),
        ("last_order_date > -100000y", 19, ["out of range"]),
    ],
)
def test_type_errors(ctx: RuleContext, rule: str, column: int, words: list[str]) -> None:
    e = error(rule, ctx)
    assert e.column == column, e.message
    for w in words:
        assert w in e.message


@pytest.mark.parametrize(
    ("rule", "column", "words"),
    [
        ("product_purchased MATCHES (count >= 1)", 1, ["unknown function", "'products_purchased'"]),
        ("frobnicate(a = 1)", 1, ["unknown function 'frobnicate'", "the functions are"]),
        ("amount_spent MATCHES (count >= 1)", 1, ["'amount_spent' is a field, not a function"]),
        ("events(type = 'x')", 1, ["'events' is used with MATCHES", "events MATCHES (type"]),
        ("within_distance MATCHES (km = 1)", 1, ["'within_distance' is not used with MATCHES"]),
        ("events > 3", 1, ["'events' is a function, not a field"]),
        (
            "events MATCHES (typ = 'x')",
            17,
            ["events has no argument 'typ'", "did you mean 'type'?"],
        ),
        ("events MATCHES (colour = 'x')", 17, ["no argument 'colour'", "its arguments are type"]),
        ("events MATCHES (type > 'x')", 22, ["'type' cannot be used with >"]),
        ("events MATCHES (type > 3)", 22, ["'type' cannot be used with >", "use =, !=, IN (...)"]),
        ("events MATCHES (count IN (1, 2))", 23, ["'count' cannot be used with IN"]),
        ("events MATCHES (count >= 'many')", 26, ["'>=' needs a number or date, got 'many'"]),
        ("events MATCHES (count >= 2025-01-01)", 26, ["'count' is a number, got a date"]),
        ("events MATCHES (date >= 5)", 25, ["'date' is a date, got a number (5)"]),
        ("events MATCHES (type IN ())", 26, ["IN needs at least one value"]),
        ("campaign MATCHES (received = 1)", 30, ["'received' is true/false"]),
        ("campaign MATCHES (received = true, received = false)", 36, ["given twice"]),
        ("orders_placed MATCHES (status = 'Cancelled')", 33, ["cancelled orders never count"]),
        ("within_distance(lat = 40, lon = 1)", 34, ["needs the argument 'km'"]),
        ("within_distance(lat = 91, lon = 1, km = 5)", 23, ["'lat' must be between -90 and 90"]),
        ("within_distance(lat = 1, lon = 1, km = -5)", 40, ["'km' must be at least 0"]),
        ("within_distance(lat = 1, lon = 1, km > 5)", 38, ["'km' cannot be used with >"]),
        ("within_distance(lat = 1, lat = 2, lon = 1, km = 5)", 26, ["given twice"]),
    ],
)
def test_function_errors(ctx: RuleContext, rule: str, column: int, words: list[str]) -> None:
    e = error(rule, ctx)
    assert e.column == column, e.message
    for w in words:
        assert w in e.message, e.message


@pytest.mark.parametrize(
    ("rule", "missing", "column"),
    [
        ("products_purchased MATCHES (count >= 1)", "order_lines", 1),
        ("orders_placed MATCHES (count >= 1)", "orders", 1),
        ("events MATCHES (type = 'x')", "events", 1),
        ("campaign MATCHES (received = true)", "campaign_exposures", 1),
    ],
)
def test_missing_raw_tables_are_named(rule: str, missing: str, column: int) -> None:
    ctx = make_ctx(**{missing: None})
    e = error(rule, ctx)
    assert f"needs the {missing} table" in e.message and e.column == column


def test_converted_needs_the_outcomes_table_only_when_used() -> None:
    ctx = make_ctx(campaign_outcomes=None)
    check_rule("campaign MATCHES (received = true)", ctx)
    e = error("campaign MATCHES (received = true, converted = true)", ctx)
    assert "needs the campaign_outcomes table" in e.message and e.column == 36


def test_within_distance_needs_coordinates() -> None:
    ctx = RuleContext(features=features_table().drop("latitude"), as_of=AS_OF)
    e = error("within_distance(lat = 1, lon = 1, km = 5)", ctx)
    assert "needs the number field 'latitude'" in e.message


def test_relative_dates_are_checked_against_the_context_as_of() -> None:
    # -3000y from 2025 is year -975: out of range; from year 9000 it would be fine
    with pytest.raises(RuleError):
        check_rule("last_order_date > -3000y", make_ctx())
    check_rule("last_order_date > -3000y", make_ctx(as_of=date(9000, 1, 1)))


def test_every_function_and_argument_is_documented() -> None:
    from pathlib import Path

    from custseg.segments.dsl import FUNCTIONS

    text = (Path(__file__).parents[3] / "docs" / "segment-language.md").read_text("utf-8")
    for name, spec in FUNCTIONS.items():
        heading = f"### `{name} MATCHES (...)`" if spec.matches else f"### `{name}("
        assert heading in text, name
        section = text.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        for arg in spec.args:
            if spec.matches:
                ops = " ".join("IN" if o == "in" else o for o in arg.ops)
                assert f"| `{arg.name}` | {arg.type} | `{ops}` |" in section, (name, arg.name)
            else:
                assert f"`{arg.name}`" in section, (name, arg.name)
