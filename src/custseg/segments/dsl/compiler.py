"""Checked syntax tree → one Ibis boolean column over ``ctx.features``.

Values become Ibis literals (never SQL text). Each condition is ``coalesce(cond, false)``,
so a comparison on a null is false and ``NOT`` of it is true; ``AND``/``OR`` chains are
combined as balanced trees so long rules stay shallow.
"""

from __future__ import annotations

import operator

import ibis
import ibis.expr.types as ir

from custseg.segments.dsl import nodes as n
from custseg.segments.dsl._exprs import balanced, compare, literal
from custseg.segments.dsl.checker import TAGS_FIELD, check_rule
from custseg.segments.dsl.context import RuleContext
from custseg.segments.dsl.matchers import compile_call

__all__ = ["compile_rule"]


def compile_rule(text: str, ctx: RuleContext) -> ir.BooleanColumn:
    """Parse, check and compile a rule to an Ibis boolean column.

    Parameters
    ----------
    text
        The rule, e.g. ``"amount_spent > 500 AND tags CONTAINS 'vip'"``.
    ctx
        The features, raw tables and as-of date.

    Returns
    -------
    ir.BooleanColumn
        True for the customers the rule selects, never null; filter with it:
        ``ctx.features.filter(expr)``.

    Raises
    ------
    RuleError
        Anything :func:`~custseg.segments.dsl.check_rule` rejects.

    Examples
    --------
    >>> import ibis
    >>> from datetime import date
    >>> t = ibis.memtable({"customer_id": ["a", "b"], "amount_spent": [900.0, None]})
    >>> ctx = RuleContext(features=t, as_of=date(2025, 6, 30))
    >>> t.filter(compile_rule("NOT amount_spent > 500", ctx)).customer_id.to_list()
    ['b']
    """
    node = check_rule(text, ctx)
    return _Compiler(ctx).node(node)


class _Compiler:
    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.f = ctx.features
        self.as_of = ctx.as_of

    def node(self, x: n.Node) -> ir.BooleanValue:
        if isinstance(x, n.And):
            return balanced(operator.and_, [self.node(o) for o in x.operands])
        if isinstance(x, n.Or):
            return balanced(operator.or_, [self.node(o) for o in x.operands])
        if isinstance(x, n.Not):
            return ~self.node(x.operand)
        return self.condition(x).fill_null(False)

    def column(self, f: n.Field) -> ir.Value:
        col = self.f[f.name]
        return col.date() if col.type().is_timestamp() else col

    def condition(self, x: n.Condition) -> ir.BooleanValue:
        if isinstance(x, n.Compare):
            return compare(self.column(x.field), x.op, literal(x.value, self.as_of))
        if isinstance(x, n.Between):
            low, high = literal(x.low, self.as_of), literal(x.high, self.as_of)
            return self.column(x.field).between(low, high)
        if isinstance(x, n.InList):
            return self.column(x.field).isin([literal(v, self.as_of) for v in x.values])
        if isinstance(x, n.IsNull):
            col = self.f[x.field.name]
            return col.notnull() if x.negated else col.isnull()
        if isinstance(x, n.Contains):
            return self._contains(x)
        return compile_call(x, self.ctx)

    def _contains(self, x: n.Contains) -> ir.BooleanValue:
        col = self.f[x.field.name]
        text: str = x.value.value  # type: ignore[union-attr, assignment]
        if x.field.name == TAGS_FIELD:
            # ',vip,newsletter,' contains ',vip,': whole tags, case-insensitive, trimmed
            tags = col.lower().strip().re_replace(r"\s*,\s*", ",")
            needle = ibis.literal(text.strip(), type="string").lower()
            return (ibis.literal(",") + tags + ",").contains(ibis.literal(",") + needle + ",")
        return col.lower().contains(ibis.literal(text, type="string").lower())
