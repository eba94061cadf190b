"""A corpus of malformed rules: each gets a clean RuleError with its position, never a
traceback or an injection."""

from __future__ import annotations

import pytest

from custseg.segments.dsl import RuleContext, RuleError, compile_rule
from custseg.workspace import Workspace

#: (rule, expected 1-based column or None, words the message must hold)
CORPUS: list[tuple[str, int | None, list[str]]] = [
    # unbalanced parentheses
    ("(amount_spent > 500", 1, ["unbalanced '('"]),
    ("amount_spent > 500)", 19, ["unbalanced ')'"]),
    ("((amount_spent > 500) AND (country = 'US')", 1, ["unbalanced '('"]),
    (")(", 1, ["unbalanced ')'"]),
    ("country IN ('US', 'CA'", 12, ["unbalanced '('"]),
    ("products_purchased MATCHES (count >= 1", 28, ["unbalanced '('"]),
    ("within_distance(lat = 1, lon = 1, km = 5", 16, ["unbalanced '('"]),
    ("()", 2, ["unexpected ')'"]),
    # unknown fields
    ("amount_spnt > 500", 1, ["unknown field 'amount_spnt'", "did you mean 'amount_spent'?"]),
    ("country = 'US' AND contry = 'CA'", 20, ["unknown field 'contry'", "'country'"]),
    ("AMOUNT_SPENT > 5", 1, ["unknown field", "did you mean 'amount_spent'?"]),
    ("foo IS NULL", 1, ["unknown field 'foo'"]),
    # wrong types
    ("amount_spent > 'abc'", 16, ["'>' needs a number or date, got 'abc'"]),
    ("country > 5", 1, ["'>' needs a number or date field"]),
    ("last_order_date < 5", 19, ["is a date, got a number"]),
    ("is_stub = 'yes'", 11, ["'is_stub' is true/false, got text 'yes'"]),
    ("amount_spent = true", 16, ["'amount_spent' is a number"]),
    ("country CONTAINS 5", 18, ["CONTAINS is text"]),
    ("amount_spent BETWEEN 'a' AND 'b'", 22, ["is a number, got text 'a'"]),
    ("p_alive IN (0.5, 'x')", 18, ["'p_alive' is a number, got text 'x'"]),
    ("last_order_date > '2025-01-01'", 19, ["'>' needs a number or date", "without quotes"]),
    ("last_order_date = '2025-01-01'", 19, ["is a date, got text", "without quotes: 2025-01-01"]),
    ("amount_spent = '500'", 16, ["is a number, got text '500'", "without quotes: 500"]),
    # bad dates
    ("last_order_date > 2025-02-30", 19, ["not a real calendar date"]),
    ("last_order_date > 2025-13-01", 19, ["not a real calendar date"]),
    ("last_order_date > 2025-1-5", 19, ["not a date", "yyyy-mm-dd"]),
    ("last_order_date > 25-01-01", 19, ["not a date"]),
    ("last_order_date > 2025/01/01", 23, ["unexpected character '/'"]),
    ("last_order_date > -7x", 19, ["not a relative date"]),
    ("last_order_date > 7d", 19, ["not a number", "-7d"]),
    ("last_order_date > -1.5m", 19, ["not a number"]),
    ("last_order_date > -100000y", 19, ["out of range"]),
    ("last_order_date > -1000000d", 19, ["too large"]),
    ("orders_placed MATCHES (date >= 2025-02-29)", 32, ["not a real calendar date"]),
    # empty and incomplete
    ("", 1, ["empty"]),
    ("   \n\t ", 1, ["empty"]),
    ("amount_spent > ", 15, ["ends too early", "expected a value"]),
    ("amount_spent > 500 AND", 23, ["ends too early"]),
    ("NOT", 4, ["ends too early"]),
    # syntax
    ("amount_spent 500", 14, ["unexpected '500'"]),
    ("amount_spent == 500", 15, ["write = (a single =)"]),
    ("amount_spent <> 500", 15, ["!="]),
    ("AND amount_spent > 500", 1, ["unexpected 'AND'"]),
    ("amount_spent > 500 OR OR country = 'US'", 23, ["unexpected 'OR'"]),
    ('country = "US"', 11, ["single quotes"]),
    ("country = 'US", 11, ["unterminated text"]),
    ("country IN ()", 13, ["at least one value"]),
    ("country NOT IN ('US')", 9, ["put NOT before the whole condition"]),
    ("amount_spent BETWEN 1 AND 5", 14, ["did you mean BETWEEN?"]),
    ("amount_spent IS NUL", 17, ["did you mean NULL?"]),
    ("country = null", 11, ["IS NULL"]),
    ("amount_spent > 1e5", 16, ["not a number"]),
    ("amount_spent > 99999999999999999999", 16, ["too large"]),
    ("amount_spent > 500 country = 'US'", 20, ["AND or OR"]),
    ("amount_spent > (1)", 16, ["unexpected '('"]),
    ("events MATCHES type = 'x'", 16, ["unexpected 'type'", "'('"]),
    ("campaign MATCHES (received = yes)", 30, ["unexpected 'yes'"]),
    # functions
    ("products_purchased MATCHES (colour = 'red')", 29, ["no argument 'colour'"]),
    ("product_purchased MATCHES (count >= 1)", 1, ["unknown function", "products_purchased"]),
    ("within_distance(lat = 40, lon = -74)", 36, ["needs the argument 'km'"]),
    ("within_distance(lat = 400, lon = 0, km = 1)", 23, ["must be between -90 and 90"]),
    ("events MATCHES (count >= 'five')", 26, ["'>=' needs a number or date, got 'five'"]),
    # too deep, too long, too many
    ("(" * 1000 + "amount_spent > 1" + ")" * 1000, 101, ["nested more than 100 levels"]),
    ("NOT " * 1000 + "amount_spent > 1", 401, ["nested more than 100 levels"]),
    ("amount_spent > 1 AND " * 50_000 + "amount_spent > 1", 100_001, ["limit is 100,000"]),
    ("country = '" + "x" * 1_048_576 + "'", 100_001, ["limit is 100,000"]),
    (" OR ".join(["amount_spent > 1"] * 1001), 20_001, ["more than 1,000 conditions"]),
    # SQL fragments
    ("'; DROP TABLE customers; --", 1, ["unterminated text"]),
    ("country = 'US'; DROP TABLE customers; --", 15, ["unexpected character ';'"]),
    ("country = 'US' OR 1=1", 19, ["unexpected '1'", "field name"]),
    ("country = 'US' -- comment", 16, ["unexpected character '-'"]),
    ("amount_spent > 0 UNION SELECT * FROM customers", 18, ["unexpected 'UNION'"]),
    ("customer_id = '' OR ''=''", 21, ["unexpected \"''\""]),
    ("country = 'US'/* x */", 15, ["unexpected character '/'"]),
    ("amount_spent; DELETE FROM orders", 13, ["unexpected character ';'"]),
    ("amount_spent > 0) OR (1 = 1", 17, ["unbalanced ')'"]),
    # unicode
    ("amount_spent ≥ 500", 14, ["write >="]),
    ("country = ‘US’", 11, ["straight single quotes"]),
    ("país = 'ES'", 3, ["unexpected character 'í'", "ASCII"]),
    ("amount_spent > ５００", 16, ["unexpected character '５'"]),
    ("🙂", 1, ["unexpected character"]),
    ("amount_spent > 500 AND \x00", 24, ["unexpected character"]),
    ("country = 'a\x00b'", 13, ["control character"]),
]


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 50
    assert len({r for r, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(
    ("rule", "column", "words"), CORPUS, ids=[f"{i:02d}" for i in range(len(CORPUS))]
)
def test_bad_rule_gives_a_clean_error(
    ctx: RuleContext, rule: str, column: int | None, words: list[str]
) -> None:
    with pytest.raises(RuleError) as e:
        compile_rule(rule, ctx)
    err = e.value
    assert 0 <= err.position <= len(rule)
    assert err.message.strip() and err.problem.strip()
    assert f"column {err.column}" in err.message
    if column is not None:
        assert err.column == column, err.message
    for w in words:
        assert w in err.message, err.message
    # str() is the message, the line of the rule (cut when long) and a caret
    shown = str(err).splitlines()
    assert shown[0] == err.message and shown[-1].strip() == "^"
    assert len(shown[-2]) < 200


def _counts(ws: Workspace) -> dict[str, int]:
    con = ws.connect().con
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


INJECTIONS_AS_DATA = [
    "country = '''; DROP TABLE customers; --'",
    "customer_id = 'x'' OR ''1''=''1'",
    "tags CONTAINS '%'' OR 1=1 --'",
    "products_purchased MATCHES (category = '''); DELETE FROM orders; --')",
    "events MATCHES (type IN ('x''); DROP TABLE events; --'))",
    "campaign MATCHES (campaign = '\\''; DROP TABLE campaigns; --')",  # a backslash is data
]


def test_injection_attempts_change_nothing(demo_copy: Workspace) -> None:
    """SQL in text is data (no member matches); SQL outside text is a syntax error."""
    before = _counts(demo_copy)
    assert {"customers", "orders", "events", "campaigns"} <= set(before)
    ctx = RuleContext.from_workspace(demo_copy)
    for rule in INJECTIONS_AS_DATA:
        expr = compile_rule(rule, ctx)
        assert ctx.features.filter(expr).count().to_pyarrow().as_py() == 0, rule
    for rule, _, _ in CORPUS:
        if "DROP" in rule or "DELETE" in rule or "UNION" in rule:
            with pytest.raises(RuleError):
                compile_rule(rule, ctx)
    assert _counts(demo_copy) == before


def _documented_errors() -> list[tuple[str, str]]:
    """(rule, message) rows of the error table in docs/segment-language.md."""
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "segment-language.md").read_text("utf-8")
    section = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `") or line.startswith("| (empty)"):
            rule_cell, message_cell = [c.strip() for c in line.strip("|").split(" | ")]
            rule = "" if rule_cell == "(empty)" else rule_cell.split("`")[1]
            rows.append((rule, message_cell.strip("`")))
    return rows


def test_the_documented_messages_are_the_real_ones(ctx: RuleContext) -> None:
    from ._store import make_ctx

    rows = _documented_errors()
    assert len(rows) >= 15
    no_lines = make_ctx(order_lines=None)
    for rule, message in rows:
        use = no_lines if "order_lines table" in message else ctx
        with pytest.raises(RuleError) as e:
            compile_rule(rule, use)
        if "..." in message:  # the long list of expected tokens is elided in the docs
            head, tail = message.split("...", 1)
            assert e.value.message.startswith(head) and e.value.message.endswith(tail), rule
        else:
            assert e.value.message == message, rule
