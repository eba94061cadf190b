"""The segment rule language (``custseg.segments.dsl``): text rules → Ibis filters.

A rule such as ``amount_spent > 500 AND country IN ('US', 'CA')`` is parsed with a Lark
grammar (``grammar.lark``) into a typed syntax tree (:func:`parse_rule`), type-checked
against the columns of ``customer_features`` (:func:`check_rule`) and compiled to an
Ibis boolean column (:func:`compile_rule`); nothing is ever pasted into SQL.
:func:`preview` counts the members and returns a sample. Every problem is a
:class:`RuleError` with the position and a hint. The language is described in
``docs/segment-language.md``.

>>> import ibis
>>> from datetime import date
>>> t = ibis.memtable({"customer_id": ["a", "b"], "amount_spent": [900.0, 20.0]})
>>> ctx = RuleContext(features=t, as_of=date(2025, 6, 30))
>>> t.filter(compile_rule("amount_spent > 500", ctx)).customer_id.to_list()
['a']
"""

from __future__ import annotations

from custseg.segments.dsl.checker import check_rule, field_types, rule_fields
from custseg.segments.dsl.compiler import compile_rule
from custseg.segments.dsl.context import RuleContext
from custseg.segments.dsl.errors import RuleError
from custseg.segments.dsl.functions import FUNCTIONS
from custseg.segments.dsl.parser import parse_rule
from custseg.segments.dsl.preview import PreviewResult, preview

__all__ = [
    "FUNCTIONS",
    "PreviewResult",
    "RuleContext",
    "RuleError",
    "check_rule",
    "compile_rule",
    "field_types",
    "parse_rule",
    "preview",
    "rule_fields",
]
