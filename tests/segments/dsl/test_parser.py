"""Parsing: text → typed, positioned syntax tree; syntax errors with positions."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import pytest

from custseg.exceptions import UsageError
from custseg.segments.dsl import RuleError, parse_rule, rule_fields
from custseg.segments.dsl import nodes as n
from custseg.segments.dsl.parser import MAX_DEPTH, MAX_RULE_CHARS

DOCS = Path(__file__).parents[3] / "docs" / "segment-language.md"
GRAMMAR = Path(__file__).parents[3] / "src" / "custseg" / "segments" / "dsl" / "grammar.lark"

#: The six rules of the issue: all must parse.
ISSUE_RULES = [
    "amount_spent > 500 AND number_of_orders >= 3 AND country IN ('US', 'CA')",
    "last_order_date < -90d AND p_alive BETWEEN 0.2 AND 0.6",
    "products_purchased MATCHES (category = 'Shoes', count >= 2, date >= -12m)",
    "events MATCHES (type = 'product_view', count >= 5, date >= -7d) AND NOT orders_placed "
    "MATCHES (date >= -7d)",
    "within_distance(lat = 40.71, lon = -74.01, km = 50) AND main_device = 'mobile'",
    "tags CONTAINS 'vip' OR rfm_group IN ('Champions', 'Loyal Customers')",
]


@pytest.mark.parametrize("rule", ISSUE_RULES)
def test_the_issue_rules_parse(rule: str) -> None:
    node = parse_rule(rule)
    # every node's span is inside the rule and starts on a non-space character
    for x in n.walk(node):
        assert 0 <= x.pos < x.end <= len(rule)
        assert not rule[x.pos].isspace()


def test_comparison_tree_and_positions() -> None:
    rule = "amount_spent >= 500"
    node = parse_rule(rule)
    assert node == n.Compare(
        n.Field("amount_spent", 0, 12), ">=", n.Number(500, "500", 16, 19), 0, 19
    )


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    a = parse_rule("x = 1 OR y = 2 AND z = 3")
    assert isinstance(a, n.Or)
    assert isinstance(a.operands[0], n.Compare)
    assert isinstance(a.operands[1], n.And)
    b = parse_rule("(x = 1 OR y = 2) AND z = 3")
    assert isinstance(b, n.And)
    assert isinstance(b.operands[0], n.Or)


def test_and_chains_are_flat() -> None:
    node = parse_rule("a = 1 AND b = 2 AND c = 3 AND d = 4")
    assert isinstance(node, n.And)
    assert [o.field.name for o in node.operands] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "rule",
    [
        "a = 1 and not b = 2 or c = 3",
        "a = 1 AND NOT b = 2 OR c = 3",
        "a = 1 AnD nOt b = 2 oR c = 3",
    ],
)
def test_keywords_are_case_insensitive(rule: str) -> None:
    node = parse_rule(rule)
    assert isinstance(node, n.Or)
    assert isinstance(node.operands[0], n.And)
    assert isinstance(node.operands[0].operands[1], n.Not)


def test_field_names_are_case_sensitive_and_may_start_like_keywords() -> None:
    # 'android', 'notes', 'index', 'today_x' start with keywords but are names
    node = parse_rule("android = 1 OR notes = 2 OR index = 3 OR Amount = 4 OR today_x = today")
    assert [o.field.name for o in node.operands] == [
        "android",
        "notes",
        "index",
        "Amount",
        "today_x",
    ]


def test_literals() -> None:
    node = parse_rule(
        "a = 'it''s' AND b = -74.01 AND c = true AND d = FALSE AND e = 2025-02-28 "
        "AND f = -7d AND g = +2W AND h = today AND i = .5 AND j = 12"
    )
    values = [o.value for o in node.operands]
    assert values[0] == n.Text("it's", "'it''s'", 4, 11)
    assert values[1].value == -74.01
    assert values[2].value is True and values[3].value is False
    assert values[4].value == date(2025, 2, 28)
    assert (values[5].amount, values[5].unit) == (-7, "d")
    assert (values[6].amount, values[6].unit) == (2, "w")
    assert isinstance(values[7], n.Today)
    assert values[8].value == 0.5
    assert values[9].value == 12 and isinstance(values[9].value, int)


def test_unicode_text_is_kept() -> None:
    node = parse_rule("city = 'München' OR city = '東京'")
    assert [o.value.value for o in node.operands] == ["München", "東京"]


def test_conditions_of_every_kind() -> None:
    node = parse_rule(
        "a BETWEEN 1 AND 2 AND b IN ('x', 'y') AND c CONTAINS 'v' AND d IS NULL "
        "AND e IS NOT NULL AND f MATCHES (g = 1, h IN ('k')) AND m(n = 2)"
    )
    kinds = [type(o) for o in node.operands]
    assert kinds == [n.Between, n.InList, n.Contains, n.IsNull, n.IsNull, n.Call, n.Call]
    between, in_list, _, is_null, not_null, match, call = node.operands
    assert (between.low.value, between.high.value) == (1, 2)
    assert [v.value for v in in_list.values] == ["x", "y"]
    assert (is_null.negated, not_null.negated) == (False, True)
    assert match.matches and not call.matches
    assert [(a.name, a.op) for a in match.args] == [("g", "="), ("h", "in")]
    assert match.args[1].values[0].value == "k"


def test_newlines_are_whitespace_and_positions_give_line_and_column() -> None:
    rule = "amount_spent > 500\n  AND nope >"
    with pytest.raises(RuleError) as e:
        parse_rule(rule)
    assert (e.value.line, e.value.column) == (2, 13)
    assert "at line 2, column 13" in e.value.message


def test_rule_error_format() -> None:
    with pytest.raises(RuleError) as e:
        parse_rule("amount_spent >> 500")
    err = e.value
    assert isinstance(err, UsageError)
    assert err.position == 14 and err.column == 15 and err.line == 1
    assert err.rule == "amount_spent >> 500"
    assert err.message.startswith("unexpected '>' at column 15; expected a value")
    # str(): the message, the rule, a caret under column 15
    lines = str(err).splitlines()
    assert lines[0] == err.message
    assert lines[1] == "  amount_spent >> 500"
    assert lines[2] == "  " + " " * 14 + "^"


def test_rule_error_pickles() -> None:
    with pytest.raises(RuleError) as e:
        parse_rule("x = 2025-02-30")
    back = pickle.loads(pickle.dumps(e.value))
    assert (back.message, back.position, back.suggestion) == (
        e.value.message,
        e.value.position,
        e.value.suggestion,
    )


def test_long_rules_show_a_window_around_the_error() -> None:
    rule = " AND ".join(["amount_spent > 1"] * 300) + " AND x >"
    with pytest.raises(RuleError) as e:
        parse_rule(rule)
    shown = str(e.value).splitlines()
    assert len(shown[1]) < 200
    assert shown[1].strip().startswith("…")
    # the caret points at the end of the line, where the value is missing
    assert shown[2].index("^") == len(shown[1].rstrip())


def test_size_limit() -> None:
    rule = "x = '" + "a" * MAX_RULE_CHARS + "'"
    with pytest.raises(RuleError) as e:
        parse_rule(rule)
    assert "limit is 100,000" in e.value.message
    assert e.value.position == MAX_RULE_CHARS


def test_depth_limit_counts_parentheses_and_nots() -> None:
    ok = "(" * MAX_DEPTH + "x = 1" + ")" * MAX_DEPTH
    assert isinstance(parse_rule(ok), n.Compare)
    with pytest.raises(RuleError) as e:
        parse_rule("(" * (MAX_DEPTH + 1) + "x = 1" + ")" * (MAX_DEPTH + 1))
    assert e.value.position == MAX_DEPTH  # the 101st '('
    with pytest.raises(RuleError) as e:
        parse_rule("NOT " * (MAX_DEPTH + 5) + "x = 1")
    assert "nested more than 100 levels" in e.value.message
    assert e.value.position == 4 * MAX_DEPTH  # the 101st NOT


def test_parse_is_cached_and_returns_immutable_nodes() -> None:
    rule = "amount_spent > 1 AND country = 'US'"
    assert parse_rule(rule) is parse_rule(rule)
    with pytest.raises(AttributeError):
        parse_rule(rule).pos = 3  # type: ignore[misc]


def test_non_text_rule_is_a_rule_error() -> None:
    with pytest.raises(RuleError):
        parse_rule(None)  # type: ignore[arg-type]


def test_rule_fields() -> None:
    assert rule_fields(ISSUE_RULES[0]) == ["amount_spent", "number_of_orders", "country"]
    assert rule_fields(ISSUE_RULES[2]) == []
    assert rule_fields(ISSUE_RULES[4]) == ["latitude", "longitude", "main_device"]
    assert rule_fields("NOT (a IS NULL OR b BETWEEN 1 AND 2) AND a = 3 AND c CONTAINS 'x'") == [
        "a",
        "b",
        "c",
    ]


def test_the_docs_show_the_actual_grammar() -> None:
    grammar = GRAMMAR.read_text(encoding="utf-8").strip()
    assert grammar in DOCS.read_text(encoding="utf-8"), (
        "docs/segment-language.md must contain grammar.lark verbatim"
    )
