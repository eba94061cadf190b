"""Small Ibis helpers shared by the compiler and the function compilers."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.segments.dsl import nodes as n
from custseg.segments.dsl.dates import resolve_date

__all__ = ["OPS", "balanced", "compare", "literal", "matches_arg"]

#: The comparison operators of the language, as Python operators (work on Ibis and numbers).
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def literal(value: n.Value, as_of: date) -> Any:
    """The Ibis literal of a rule value; dates are resolved against ``as_of``."""
    if isinstance(value, n.Text):
        return ibis.literal(value.value, type="string")
    if isinstance(value, n.DateLiteral | n.RelativeDate | n.Today):
        return ibis.date(resolve_date(value, as_of))
    if isinstance(value, n.Boolean):
        return ibis.literal(value.value, type="boolean")
    return ibis.literal(value.value)


def compare(column: ir.Value, op: str, value: Any) -> ir.BooleanValue:
    """``column op value`` for an operator of :data:`OPS`."""
    return OPS[op](column, value)


def matches_arg(column: ir.Value, arg: n.Arg, as_of: date) -> ir.BooleanValue:
    """The row filter of one function argument: ``column op value`` or ``column IN (...)``."""
    if arg.op == "in":
        return column.isin([literal(v, as_of) for v in arg.values])
    return compare(column, arg.op, literal(arg.value, as_of))


def balanced(op: Callable[[Any, Any], Any], items: Sequence[Any]) -> Any:
    """Combine ``items`` with a binary ``op`` as a balanced tree (depth log2 n, not n)."""
    level = list(items)
    while len(level) > 1:
        nxt = [op(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
