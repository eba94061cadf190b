"""Type checking: every field exists, every value has the field's type, every call is valid.

Field types come from the Ibis schema of ``ctx.features``: numeric → ``number``,
string → ``text``, date and timestamp → ``date``, boolean → ``bool``.
"""

from __future__ import annotations

import re
from collections import Counter

import ibis.expr.datatypes as dt

from custseg.segments.dsl import nodes as n
from custseg.segments.dsl.context import RuleContext
from custseg.segments.dsl.dates import resolve_date
from custseg.segments.dsl.errors import RuleError, close_match
from custseg.segments.dsl.functions import FUNCTIONS, ArgSpec, FunctionSpec
from custseg.segments.dsl.parser import parse_rule

__all__ = ["TAGS_FIELD", "check_rule", "field_types", "kind_of", "rule_fields"]

#: The comma-separated list field whose CONTAINS matches whole tags.
TAGS_FIELD = "tags"
ORDERING = (">", ">=", "<", "<=")

_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[+-][0-9]+[dwmy]|today", re.IGNORECASE)
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DESC = {"number": "a number", "text": "text", "date": "a date", "bool": "true/false"}
_HOW = {
    "number": "write a number such as 500 or 0.25",
    "text": "write text in single quotes, e.g. 'US'",
    "date": "write a date: 2025-01-31, today, or an offset such as -90d, -3m, +14d",
    "bool": "write true or false",
}


def kind_of(dtype: dt.DataType) -> str | None:
    """The rule type of an Ibis type: ``number``, ``text``, ``date``, ``bool`` or None."""
    if dtype.is_boolean():
        return "bool"
    if dtype.is_numeric():
        return "number"
    if dtype.is_string():
        return "text"
    if dtype.is_date() or dtype.is_timestamp():
        return "date"
    return None


def field_types(ctx: RuleContext) -> dict[str, str]:
    """Every field a rule can use, with its type.

    Parameters
    ----------
    ctx
        The context; its ``features`` columns are the fields.

    Returns
    -------
    dict[str, str]
        Field name → ``"number"``, ``"text"``, ``"date"`` or ``"bool"``, in column order.
        Columns of other types (arrays, structs...) are left out.
    """
    out = {}
    for name, dtype in ctx.features.schema().items():
        kind = kind_of(dtype)
        if kind is not None:
            out[name] = kind
    return out


def check_rule(text: str, ctx: RuleContext) -> n.Node:
    """Parse and type-check a rule against a context.

    Parameters
    ----------
    text
        The rule.
    ctx
        The features (field types), raw tables (functions) and as-of date (relative dates).

    Returns
    -------
    Node
        The syntax tree, known to compile.

    Raises
    ------
    RuleError
        Syntax errors, unknown fields or functions, values of the wrong type, dates out of
        range, invalid function arguments, missing raw tables; with position and hint.
    """
    node = parse_rule(text)
    _Checker(text, ctx).check(node)
    return node


def _looks_like_date(v: n.Value) -> bool:
    return isinstance(v, n.Text) and bool(_DATE_TEXT.fullmatch(v.value.strip()))


def _hint(v: n.Value, want: str) -> str:
    if want == "date" and _looks_like_date(v):
        return f"write dates without quotes: {v.value.strip()}"  # type: ignore[union-attr]
    if want == "number" and isinstance(v, n.Text) and _NUMBER_TEXT.fullmatch(v.value.strip()):
        return f"write numbers without quotes: {v.value.strip()}"
    return _HOW[want]


class _Checker:
    def __init__(self, text: str, ctx: RuleContext) -> None:
        self.text = text
        self.ctx = ctx
        self.schema = ctx.features.schema()
        self.types = field_types(ctx)

    def error(self, problem: str, pos: int, hint: str | None = None) -> RuleError:
        return RuleError(problem, rule=self.text, position=pos, suggestion=hint)

    def check(self, root: n.Node) -> None:
        for node in n.walk(root):
            if isinstance(node, n.Compare):
                self._compare(node)
            elif isinstance(node, n.Between):
                self._between(node)
            elif isinstance(node, n.InList):
                self._in_list(node)
            elif isinstance(node, n.Contains):
                self._contains(node)
            elif isinstance(node, n.IsNull):
                self.field(node.field)
            elif isinstance(node, n.Call):
                self._call(node)

    # -- fields and values

    def field(self, f: n.Field) -> str:
        if f.name in self.types:
            return self.types[f.name]
        if f.name in self.schema:
            raise self.error(
                f"field '{f.name}' has type {self.schema[f.name]}, which rules cannot use",
                f.pos,
                "rules work on number, text, date and boolean fields",
            )
        if f.name in FUNCTIONS:
            raise self.error(
                f"'{f.name}' is a function, not a field",
                f.pos,
                f"write {FUNCTIONS[f.name].usage}",
            )
        guess = close_match(f.name, self.types)
        raise self.error(
            f"unknown field '{f.name}'",
            f.pos,
            f"did you mean '{guess}'?"
            if guess
            else "the fields are the columns of customer_features (see docs/features.md)",
        )

    def value(self, v: n.Value, want: str, subject: str) -> None:
        if v.kind != want:
            got = "text " + v.text if v.kind == "text" else f"{_DESC[v.kind]} ({v.text})"
            raise self.error(f"{subject} is {_DESC[want]}, got {got}", v.pos, _hint(v, want))
        if isinstance(v, n.RelativeDate):
            try:
                resolve_date(v, self.ctx.as_of)
            except (OverflowError, ValueError):
                raise self.error(
                    f"the date {v.text} is out of range (as of {self.ctx.as_of})",
                    v.pos,
                    "use an offset that lands between years 1 and 9999",
                ) from None

    def _ordered(self, low: n.Value, high: n.Value) -> bool:
        if isinstance(low, n.Number) and isinstance(high, n.Number):
            return low.value <= high.value
        if low.kind == "date" and high.kind == "date":
            as_of = self.ctx.as_of
            return resolve_date(low, as_of) <= resolve_date(high, as_of)  # type: ignore[arg-type]
        return True

    # -- conditions

    def _compare(self, c: n.Compare) -> None:
        name = c.field.name
        if c.op in ORDERING and c.value.kind in ("text", "bool"):
            raise self.error(
                f"'{c.op}' needs a number or date, got {c.value.text}",
                c.value.pos,
                _hint(c.value, "date")
                if _looks_like_date(c.value)
                else "compare text with =, !=, IN or CONTAINS",
            )
        ft = self.field(c.field)
        if c.op in ORDERING and ft in ("text", "bool"):
            raise self.error(
                f"'{c.op}' needs a number or date field, but '{name}' is {_DESC[ft]}",
                c.field.pos,
                "use = or != (and IN or CONTAINS for text)",
            )
        self.value(c.value, ft, f"'{name}'")

    def _between(self, c: n.Between) -> None:
        ft = self.field(c.field)
        if ft not in ("number", "date"):
            raise self.error(
                f"BETWEEN needs a number or date field, but '{c.field.name}' is {_DESC[ft]}",
                c.field.pos,
                "use = or IN (...) instead",
            )
        self.value(c.low, ft, f"'{c.field.name}'")
        self.value(c.high, ft, f"'{c.field.name}'")
        if not self._ordered(c.low, c.high):
            raise self.error(
                f"BETWEEN {c.low.text} AND {c.high.text} matches nothing: the low value comes first",
                c.low.pos,
                f"write BETWEEN {c.high.text} AND {c.low.text}",
            )

    def _in_list(self, c: n.InList) -> None:
        ft = self.field(c.field)
        if not c.values:
            raise self.error(
                "IN needs at least one value", c.end - 1, "e.g. country IN ('US', 'CA')"
            )
        for v in c.values:
            self.value(v, ft, f"'{c.field.name}'")

    def _contains(self, c: n.Contains) -> None:
        ft = self.field(c.field)
        if ft != "text":
            raise self.error(
                f"CONTAINS needs a text field, but '{c.field.name}' is {_DESC[ft]}",
                c.field.pos,
                "use =, BETWEEN or IN for other types",
            )
        self.value(c.value, "text", "CONTAINS")
        if c.field.name == TAGS_FIELD and "," in c.value.value:  # type: ignore[union-attr]
            raise self.error(
                "a tag cannot contain ','",
                c.value.pos,
                "test one tag at a time: tags CONTAINS 'a' OR tags CONTAINS 'b'",
            )

    # -- functions

    def _call(self, c: n.Call) -> None:
        spec = FUNCTIONS.get(c.name)
        if spec is None:
            raise self._unknown_function(c)
        if spec.matches != c.matches:
            how = "is used with MATCHES" if spec.matches else "is not used with MATCHES"
            raise self.error(f"'{c.name}' {how}", c.pos, f"write {spec.usage}")
        for table in spec.tables:
            self._need_table(table, c)
        if c.name == "within_distance":
            for col in ("latitude", "longitude"):
                if self.types.get(col) != "number":
                    raise self.error(
                        f"within_distance needs the number field '{col}', which the features "
                        "do not have",
                        c.pos,
                        "rebuild customer_features with 'custseg features'",
                    )
        seen: Counter[str] = Counter()
        for a in c.args:
            aspec = spec.arg(a.name)
            if aspec is None:
                guess = close_match(a.name, [x.name for x in spec.args])
                raise self.error(
                    f"{c.name} has no argument '{a.name}'",
                    a.pos,
                    f"did you mean '{guess}'?"
                    if guess
                    else "its arguments are " + ", ".join(x.name for x in spec.args),
                )
            seen[a.name] += 1
            self._arg(c, spec, aspec, a, seen[a.name])
        for aspec in spec.args:
            if aspec.required and not seen[aspec.name]:
                raise self.error(
                    f"{c.name} needs the argument '{aspec.name}'",
                    c.end - 1,
                    f"write {spec.usage}",
                )

    def _arg(self, c: n.Call, spec: FunctionSpec, aspec: ArgSpec, a: n.Arg, times: int) -> None:
        if aspec.once and times > 1:
            raise self.error(f"'{a.name}' is given twice", a.pos, "give it once")
        if a.op not in aspec.ops:
            op_pos = a.pos + len(a.name)
            while op_pos < len(self.text) and self.text[op_pos].isspace():
                op_pos += 1
            allowed = ", ".join("IN (...)" if o == "in" else o for o in aspec.ops)
            shown = "IN" if a.op == "in" else a.op
            raise self.error(f"'{a.name}' cannot be used with {shown}", op_pos, f"use {allowed}")
        if a.op == "in" and not a.values:
            raise self.error(
                "IN needs at least one value", a.end - 1, f"e.g. {a.name} IN ('a', 'b')"
            )
        for v in a.values:
            if a.op in ORDERING and v.kind in ("text", "bool"):
                raise self.error(
                    f"'{a.op}' needs a number or date, got {v.text}",
                    v.pos,
                    f"'{a.name}' is {_DESC[aspec.type]}",
                )
            self.value(v, aspec.type, f"'{a.name}'")
            if aspec.bounds and isinstance(v, n.Number):
                lo, hi = aspec.bounds
                if (lo is not None and v.value < lo) or (hi is not None and v.value > hi):
                    rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
                    raise self.error(f"'{a.name}' must be {rng}, got {v.text}", v.pos)
            if (
                (c.name, a.name) == ("orders_placed", "status")
                and isinstance(v, n.Text)
                and v.value.strip().lower() == "cancelled"
            ):
                raise self.error(
                    "cancelled orders never count as placed orders",
                    v.pos,
                    "the statuses of counted orders are placed, returned and refunded",
                )
        for table in aspec.tables:
            self._need_table(table, c, a)

    def _need_table(self, table: str, c: n.Call, a: n.Arg | None = None) -> None:
        if self.ctx.table(table) is not None:
            return
        what = f"{c.name} with '{a.name}'" if a else c.name
        raise self.error(
            f"{what} needs the {table} table, which is not available",
            a.pos if a else c.pos,
            f"load {table} into the workspace with 'custseg ingest'",
        )

    def _unknown_function(self, c: n.Call) -> RuleError:
        if c.name in self.types:
            if c.matches:
                names = ", ".join(k for k, f in FUNCTIONS.items() if f.matches)
                hint = f"MATCHES works with {names}"
            else:
                hint = f"compare it instead, e.g. {c.name} = ..."
            return self.error(f"'{c.name}' is a field, not a function", c.pos, hint)
        guess = close_match(c.name, FUNCTIONS)
        return self.error(
            f"unknown function '{c.name}'",
            c.pos,
            f"did you mean '{guess}'?" if guess else "the functions are " + ", ".join(FUNCTIONS),
        )


def rule_fields(text: str) -> list[str]:
    """The ``customer_features`` fields a rule refers to, in order of first use.

    ``within_distance(...)`` uses ``latitude`` and ``longitude``; the other functions read
    raw tables, not fields. Only parses (no context needed).

    Raises
    ------
    RuleError
        If the rule does not parse.

    Examples
    --------
    >>> rule_fields("amount_spent > 5 OR (country = 'US' AND amount_spent < 1)")
    ['amount_spent', 'country']
    """
    names: list[str] = []
    for node in n.walk(parse_rule(text)):
        if isinstance(node, n.Compare | n.Between | n.InList | n.Contains | n.IsNull):
            names.append(node.field.name)
        elif isinstance(node, n.Call) and node.name == "within_distance":
            names.extend(("latitude", "longitude"))
    return list(dict.fromkeys(names))
