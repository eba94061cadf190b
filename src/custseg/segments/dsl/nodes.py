"""The typed syntax tree of a rule: frozen dataclasses, each with its position in the text.

``pos`` is the 0-based offset of the node's first character and ``end`` the offset just
after its last one, so ``rule[node.pos:node.end]`` is the node's source text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "And",
    "Arg",
    "Between",
    "Boolean",
    "Call",
    "Compare",
    "Condition",
    "Contains",
    "DateLiteral",
    "Field",
    "InList",
    "IsNull",
    "Node",
    "Not",
    "Number",
    "Or",
    "RelativeDate",
    "Text",
    "Today",
    "Value",
    "walk",
]


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Number:
    """A number literal: ``500``, ``-74.01``."""

    value: int | float
    text: str
    pos: int
    end: int
    kind = "number"


@dataclass(frozen=True, slots=True)
class Text:
    """A text literal in single quotes (``value`` is unquoted, ``''`` already undone)."""

    value: str
    text: str
    pos: int
    end: int
    kind = "text"


@dataclass(frozen=True, slots=True)
class Boolean:
    """``true`` or ``false``."""

    value: bool
    text: str
    pos: int
    end: int
    kind = "bool"


@dataclass(frozen=True, slots=True)
class DateLiteral:
    """A calendar date written ``yyyy-mm-dd`` (already validated)."""

    value: date
    text: str
    pos: int
    end: int
    kind = "date"


@dataclass(frozen=True, slots=True)
class RelativeDate:
    """An offset from the as-of date: ``-7d``, ``+2w``, ``-3m``, ``-1y``."""

    amount: int
    unit: str  # one of "d", "w", "m", "y"
    text: str
    pos: int
    end: int
    kind = "date"


@dataclass(frozen=True, slots=True)
class Today:
    """``today``: the as-of date."""

    text: str
    pos: int
    end: int
    kind = "date"


Value = Number | Text | Boolean | DateLiteral | RelativeDate | Today


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Field:
    """A reference to a column of ``customer_features``."""

    name: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value`` with ``op`` one of ``= != > >= < <=``."""

    field: Field
    op: str
    value: Value
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Between:
    """``field BETWEEN low AND high`` (inclusive)."""

    field: Field
    low: Value
    high: Value
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class InList:
    """``field IN (v1, v2, ...)``; the checker rejects an empty list."""

    field: Field
    values: tuple[Value, ...]
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Contains:
    """``field CONTAINS 'text'``."""

    field: Field
    value: Value
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class IsNull:
    """``field IS NULL`` or, with ``negated``, ``field IS NOT NULL``."""

    field: Field
    negated: bool
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a function: ``name op value`` or ``name IN (values)`` (op ``"in"``)."""

    name: str
    op: str
    values: tuple[Value, ...]
    pos: int
    end: int

    @property
    def value(self) -> Value:
        """The single value of a comparison argument."""
        return self.values[0]


@dataclass(frozen=True, slots=True)
class Call:
    """A function: ``name MATCHES (args)`` (``matches=True``) or ``name(args)``."""

    name: str
    args: tuple[Arg, ...]
    matches: bool
    pos: int
    end: int


Condition = Compare | Between | InList | Contains | IsNull | Call


# ---------------------------------------------------------------- logic


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT operand``."""

    operand: Node
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class And:
    """``a AND b AND ...`` (two or more operands)."""

    operands: tuple[Node, ...]
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Or:
    """``a OR b OR ...`` (two or more operands)."""

    operands: tuple[Node, ...]
    pos: int
    end: int


Node = Condition | Not | And | Or


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children, left to right (no recursion)."""
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, Not):
            stack.append(n.operand)
        elif isinstance(n, And | Or):
            stack.extend(reversed(n.operands))
    return out
