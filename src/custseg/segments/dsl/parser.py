"""Rule text → typed syntax tree (:mod:`~custseg.segments.dsl.nodes`), or a :class:`RuleError`.

The grammar is ``grammar.lark`` (LALR(1), built once on first use). Before Lark runs, a
linear scan rejects empty and oversized rules and unbalanced or too deeply nested
parentheses, so no input can make the parser or the tree walk recurse without bound.
Every Lark exception becomes a :class:`RuleError` at the offending position.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from datetime import date
from importlib import resources

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from custseg.segments.dsl import nodes as n
from custseg.segments.dsl.errors import RuleError, close_match

__all__ = ["MAX_CONDITIONS", "MAX_DEPTH", "MAX_RULE_CHARS", "KEYWORDS", "parse_rule"]

log = logging.getLogger(__name__)

#: Longest rule accepted, in characters.
MAX_RULE_CHARS = 100_000
#: Deepest nesting of parentheses and NOTs accepted.
MAX_DEPTH = 100
#: Most conditions (comparisons, functions...) in one rule.
MAX_CONDITIONS = 1_000

KEYWORDS = (
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "CONTAINS",
    "IS",
    "NULL",
    "MATCHES",
    "TODAY",
    "TRUE",
    "FALSE",
)

_DESCRIBE = {
    "NAME": "a field name",
    "NUMBER": "a number",
    "STRING": "'text'",
    "DATE": "a date",
    "RELATIVE_DATE": "a relative date",
    "COMPARE": "an operator (= != > >= < <=)",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "the end of the rule",
}
_VALUE_TERMINALS = {"NUMBER", "STRING", "DATE", "RELATIVE_DATE", "TODAY", "TRUE", "FALSE"}
#: Characters people type from other languages or word processors, and what to write.
_LOOKALIKES = {
    '"': "write text in single quotes, e.g. 'US'",
    "‘": "write text in straight single quotes, e.g. 'US'",
    "’": "write text in straight single quotes, e.g. 'US'",
    "“": "write text in straight single quotes, e.g. 'US'",
    "”": "write text in straight single quotes, e.g. 'US'",
    "≥": "write >=",
    "≤": "write <=",
    "≠": "write !=",
    "&": "write AND",
    "|": "write OR",
    "!": "write != for 'not equal' or NOT before a condition",
    ";": "a rule is one condition, not a list of statements",
    "*": "a rule has no arithmetic; compare a field with a value",
    "/": "a rule has no arithmetic; dates are written yyyy-mm-dd",
    "+": "a rule has no arithmetic; compare a field with a value",
    "-": "a rule has no arithmetic; relative dates are written -7d, -2w, -3m, -1y",
}
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REL_RE = re.compile(r"([+-])([0-9]+)([dwmyDWMY])")
_NUM_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_INT64_MAX = 2**63 - 1
#: Rules up to this length are cached (the 512 most recent).
_CACHE_MAX_CHARS = 10_000


@functools.cache
def _lark() -> lark.Lark:
    text = resources.files("custseg.segments.dsl").joinpath("grammar.lark").read_text("utf-8")
    # the basic lexer: a keyword is always a keyword, even where only a name could follow
    return lark.Lark(
        text, parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=True
    )


def parse_rule(text: str) -> n.Node:
    """Parse a rule into its syntax tree.

    Parameters
    ----------
    text
        The rule, e.g. ``"amount_spent > 500 AND country IN ('US', 'CA')"``.

    Returns
    -------
    Node
        The root: :class:`~custseg.segments.dsl.nodes.And`, ``Or``, ``Not`` or a condition.
        Nodes are immutable and carry their position in ``text``.

    Raises
    ------
    RuleError
        Syntax errors, malformed literals (``2025-02-30``, ``7x``), empty or oversized
        rules, unbalanced or too deep parentheses; with the position and a hint.

    Examples
    --------
    >>> parse_rule("amount_spent > 500").op
    '>'
    """
    if not isinstance(text, str):
        raise RuleError(
            f"a rule must be text, got {type(text).__name__}",
            rule="",
            position=0,
            suggestion="pass the rule as a string",
        )
    return _parse_cached(text) if len(text) <= _CACHE_MAX_CHARS else _parse(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> n.Node:
    return _parse(text)


def _parse(text: str) -> n.Node:
    _prescan(text)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    except lark.exceptions.LarkError as e:  # pragma: no cover - any other Lark failure
        raise RuleError(f"cannot parse the rule ({e})", rule=text, position=0) from None
    _check_depth(text, tree)
    return _Build(text).node(tree)


# ---------------------------------------------------------------- before Lark


def _prescan(text: str) -> None:
    """Reject empty, oversized, unbalanced and too deeply nested rules in one pass."""
    if len(text) > MAX_RULE_CHARS:
        raise RuleError(
            f"the rule is {len(text):,} characters long; the limit is {MAX_RULE_CHARS:,}",
            rule=text,
            position=MAX_RULE_CHARS,
            suggestion="split it into several segments or use IN (...) lists",
        )
    if not text.strip():
        raise RuleError(
            "the rule is empty",
            rule=text,
            position=0,
            suggestion="write a condition such as amount_spent > 500",
        )
    opened: list[int] = []
    i, size = 0, len(text)
    while i < size:
        c = text[i]
        if c == "'":
            close = text.find("'", i + 1)
            while close >= 0 and text.startswith("''", close):
                close = text.find("'", close + 2)
            if close < 0:
                raise RuleError(
                    "unterminated text: this quote is never closed",
                    rule=text,
                    position=i,
                    suggestion="end the text with ' (write '' for a quote inside text)",
                )
            i = close + 1
            continue
        if c == "(":
            opened.append(i)
            if len(opened) > MAX_DEPTH:
                raise RuleError(
                    f"parentheses are nested more than {MAX_DEPTH} levels deep",
                    rule=text,
                    position=i,
                    suggestion="remove redundant parentheses or split the rule",
                )
        elif c == ")":
            if not opened:
                raise RuleError(
                    "unbalanced ')': there is no '(' for it to close",
                    rule=text,
                    position=i,
                    suggestion="remove it or add the missing '('",
                )
            opened.pop()
        i += 1
    if opened:
        raise RuleError(
            "unbalanced '(': it is never closed",
            rule=text,
            position=opened[-1],
            suggestion="add the missing ')'",
        )


def _check_depth(text: str, tree: lark.Tree) -> None:
    """Reject trees nested deeper than :data:`MAX_DEPTH` or with too many conditions."""
    conditions = 0
    stack: list[tuple[lark.Tree, int]] = [(tree, 1)]
    while stack:
        t, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RuleError(
                f"the rule is nested more than {MAX_DEPTH} levels deep",
                rule=text,
                position=t.meta.start_pos,
                suggestion="remove repeated NOTs and redundant parentheses",
            )
        if t.data in ("and_expr", "or_expr", "negation"):
            kids = [c for c in t.children if isinstance(c, lark.Tree)]
            stack.extend((c, depth + 1) for c in reversed(kids))  # left to right
        else:
            conditions += 1
            if conditions > MAX_CONDITIONS:
                raise RuleError(
                    f"the rule has more than {MAX_CONDITIONS:,} conditions",
                    rule=text,
                    position=t.meta.start_pos,
                    suggestion="use IN (...) lists or split it into several segments",
                )


# ---------------------------------------------------------------- Lark errors


def _describe(expected: set[str]) -> str:
    names = set(expected)
    parts = []
    if names >= _VALUE_TERMINALS:
        parts.append("a value (number, 'text', date, true or false)")
        names -= _VALUE_TERMINALS
    for name in sorted(names, key=lambda x: (x not in KEYWORDS, x)):
        parts.append(name if name in KEYWORDS else _DESCRIBE.get(name, name.lower()))
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _syntax_error(text: str, e: UnexpectedInput) -> RuleError:
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        char = text[pos] if pos < len(text) else ""
        hint = _LOOKALIKES.get(char)
        if hint is None and not char.isascii():
            hint = "names and operators are plain ASCII; only 'text' may hold other characters"
        return RuleError(f"unexpected character {char!r}", rule=text, position=pos, suggestion=hint)
    if isinstance(e, UnexpectedToken):
        expected = set(e.accepts or e.expected or ())
        tok = e.token
        want = f"expected {_describe(expected)}"
        if tok.type == "$END":
            return RuleError(
                "the rule ends too early", rule=text, position=len(text.rstrip()), suggestion=want
            )
        hint = _token_hint(text, tok, expected)
        return RuleError(
            f"unexpected {str(tok)!r}",
            rule=text,
            position=tok.start_pos if tok.start_pos is not None else 0,
            suggestion=f"{want}; {hint}" if hint else want,
        )
    return RuleError(  # pragma: no cover - UnexpectedEOF does not happen with LALR
        "the rule ends too early", rule=text, position=len(text)
    )


def _token_hint(text: str, tok: lark.Token, expected: set[str]) -> str | None:
    word = str(tok)
    before = text[: tok.start_pos].rstrip()
    if tok.type == "COMPARE" and before.endswith(("=", "<", ">", "!")):
        return {"=": "write = (a single =)", ">": "write != for 'not equal'"}.get(
            word, "write one operator: = != > >= < <="
        )
    if tok.type == "NULL":
        return "write field IS NULL or field IS NOT NULL"
    if tok.type == "NOT" and "COMPARE" in expected:
        return "put NOT before the whole condition, e.g. NOT country IN ('US')"
    if tok.type == "NAME":
        keywords = [k for k in expected if k in KEYWORDS]
        guess = close_match(word.upper(), keywords)
        if guess:
            return f"did you mean {guess}?"
        if "AND" in expected or "OR" in expected:
            return "join conditions with AND or OR"
        if _VALUE_TERMINALS & expected:
            return "write text in single quotes, e.g. 'US'"
    if tok.type in _VALUE_TERMINALS and "NAME" in expected:
        return "a condition starts with a field name, e.g. amount_spent > 500"
    return None


# ---------------------------------------------------------------- tree → nodes


class _Build:
    """Turns the Lark tree into :mod:`nodes`, validating every literal on the way."""

    def __init__(self, text: str) -> None:
        self.text = text

    def node(self, t: lark.Tree) -> n.Node:
        kind = t.data
        pos, end = t.meta.start_pos, t.meta.end_pos
        kids = [
            c for c in t.children if not (isinstance(c, lark.Token) and c.type in ("AND", "OR"))
        ]
        if kind in ("and_expr", "or_expr"):
            cls = n.And if kind == "and_expr" else n.Or
            return cls(tuple(self.node(c) for c in kids), pos, end)
        if kind == "negation":
            return n.Not(self.node(kids[1]), pos, end)
        return getattr(self, f"_{kind}")(kids, pos, end)

    def _field(self, tok: lark.Token) -> n.Field:
        return n.Field(str(tok), tok.start_pos, tok.end_pos)

    def _compare(self, kids: list, pos: int, end: int) -> n.Compare:
        name, op, value = kids
        return n.Compare(self._field(name), str(op), self.value(value), pos, end)

    def _between(self, kids: list, pos: int, end: int) -> n.Between:
        name, _, low, high = kids
        return n.Between(self._field(name), self.value(low), self.value(high), pos, end)

    def _in_list(self, kids: list, pos: int, end: int) -> n.InList:
        values = tuple(self.value(v) for v in kids[2:] if v is not None)
        return n.InList(self._field(kids[0]), values, pos, end)

    def _contains(self, kids: list, pos: int, end: int) -> n.Contains:
        return n.Contains(self._field(kids[0]), self.value(kids[2]), pos, end)

    def _is_null(self, kids: list, pos: int, end: int) -> n.IsNull:
        return n.IsNull(self._field(kids[0]), kids[2] is not None, pos, end)

    def _matches(self, kids: list, pos: int, end: int) -> n.Call:
        return n.Call(str(kids[0]), self._args(kids[2:]), True, pos, end)

    def _call(self, kids: list, pos: int, end: int) -> n.Call:
        return n.Call(str(kids[0]), self._args(kids[1:]), False, pos, end)

    def _args(self, items: list) -> tuple[n.Arg, ...]:
        out = []
        for a in items:
            if a is None:
                continue
            name, op, *rest = a.children
            if op.type == "IN":
                values = tuple(self.value(v) for v in rest if v is not None)
                out.append(n.Arg(str(name), "in", values, a.meta.start_pos, a.meta.end_pos))
            else:
                out.append(
                    n.Arg(
                        str(name),
                        str(op),
                        (self.value(rest[0]),),
                        a.meta.start_pos,
                        a.meta.end_pos,
                    )
                )
        return tuple(out)

    # -- literals

    def value(self, tok: lark.Token) -> n.Value:
        s, pos, end = str(tok), tok.start_pos, tok.end_pos
        kind = tok.type
        if kind == "STRING":
            return self._text(s, pos, end)
        if kind == "NUMBER":
            return self._number(s, pos, end)
        if kind == "DATE":
            return self._date(s, pos, end)
        if kind == "RELATIVE_DATE":
            return self._relative(s, pos, end)
        if kind == "TODAY":
            return n.Today(s, pos, end)
        return n.Boolean(kind == "TRUE", s, pos, end)

    def _error(self, problem: str, pos: int, hint: str | None = None) -> RuleError:
        return RuleError(problem, rule=self.text, position=pos, suggestion=hint)

    def _text(self, s: str, pos: int, end: int) -> n.Text:
        value = s[1:-1].replace("''", "'")
        bad = next((i for i, c in enumerate(s) if ord(c) < 32 and c not in "\t\n\r"), None)
        if bad is not None:
            raise self._error(
                f"text contains the control character {s[bad]!r}",
                pos + bad,
                "remove it; text may hold any printable character",
            )
        return n.Text(value, s, pos, end)

    def _number(self, s: str, pos: int, end: int) -> n.Number:
        if not _NUM_RE.fullmatch(s):
            m = re.fullmatch(r"[+-]?[0-9]+([dwmy])", s, flags=re.IGNORECASE)
            hint = (
                f"for a relative date write -{s.lstrip('+-')} (past) or +{s.lstrip('+-')} (future)"
                if m
                else "write a plain decimal number such as 500 or 0.25"
            )
            raise self._error(f"{s!r} is not a number", pos, hint)
        if "." in s:
            value = float(s)
            if not math.isfinite(value):
                raise self._error(f"the number {s} is too large", pos, "write a smaller number")
            return n.Number(value, s, pos, end)
        value = int(s)
        if abs(value) > _INT64_MAX:
            raise self._error(
                f"the number {s} is too large", pos, "numbers must fit in 64 bits (about 9.2e18)"
            )
        return n.Number(value, s, pos, end)

    def _date(self, s: str, pos: int, end: int) -> n.DateLiteral:
        if not _DATE_RE.fullmatch(s):
            raise self._error(
                f"{s!r} is not a date", pos, "write dates as yyyy-mm-dd, e.g. 2025-01-31"
            )
        try:
            return n.DateLiteral(date.fromisoformat(s), s, pos, end)
        except ValueError:
            raise self._error(
                f"{s!r} is not a real calendar date",
                pos,
                "check the month (01-12) and the day of that month",
            ) from None

    def _relative(self, s: str, pos: int, end: int) -> n.RelativeDate:
        m = _REL_RE.fullmatch(s)
        if not m:
            raise self._error(
                f"{s!r} is not a relative date",
                pos,
                "write a sign, a whole number and d, w, m or y: -7d, -2w, -3m, -1y, +14d",
            )
        sign, digits, unit = m.groups()
        amount = int(digits)
        if amount > 100_000:
            raise self._error(
                f"the offset {s} is too large", pos, "offsets are limited to 100,000 units"
            )
        return n.RelativeDate(-amount if sign == "-" else amount, unit.lower(), s, pos, end)
