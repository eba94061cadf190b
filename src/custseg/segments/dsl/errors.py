"""The error every problem with a rule raises: :class:`RuleError`, with position and hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from custseg.exceptions import UsageError

__all__ = ["RuleError", "close_match", "line_col"]

#: Characters of the rule shown around the error position when its line is long.
_WINDOW = 60


def line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of the 0-based ``position`` in ``text``."""
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return line, column


def close_match(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (``difflib``), or None when none is close."""
    pool = list(dict.fromkeys(candidates))
    hits = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not hits:
        by_lower = {c.lower(): c for c in pool}
        hits = [by_lower[h] for h in difflib.get_close_matches(word.lower(), by_lower, n=1)]
    return hits[0] if hits else None


def _excerpt(text: str, position: int) -> str:
    """The line of ``text`` holding ``position`` and a caret under it (long lines cut)."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : len(text) if end < 0 else end]
    col = position - start
    prefix = suffix = ""
    if len(line) > 2 * _WINDOW:
        lo = max(0, col - _WINDOW)
        hi = min(len(line), col + _WINDOW)
        prefix = "…" if lo > 0 else ""
        suffix = "…" if hi < len(line) else ""
        line, col = line[lo:hi], col - lo
    shown = "".join(c if c.isprintable() else " " for c in line)
    return f"  {prefix}{shown}{suffix}\n  {' ' * (len(prefix) + col)}^"


class RuleError(UsageError):
    """A segment rule that cannot be parsed, type-checked or compiled.

    Parameters
    ----------
    problem
        What is wrong, without the position, e.g. ``"unknown field 'amount_spnt'"``.
    rule
        The whole rule text.
    position
        0-based offset of the offending character (clamped into ``[0, len(rule)]``).
    suggestion
        A hint on how to fix it, e.g. ``"did you mean 'amount_spent'?"``, or None.

    Attributes
    ----------
    rule, position, suggestion, problem
        As given.
    line, column
        1-based line and column of ``position``.
    message
        One line: the problem, its position and the suggestion, e.g.
        ``unknown field 'amount_spnt' at column 1; did you mean 'amount_spent'?``.
        ``str(err)`` adds the rule's line with a caret under the position.
    """

    def __init__(
        self, problem: str, *, rule: str, position: int, suggestion: str | None = None
    ) -> None:
        self.rule = rule
        self.problem = problem
        self.position = max(0, min(int(position), len(rule)))
        self.suggestion = suggestion
        self.line, self.column = line_col(rule, self.position)
        where = (
            f"at line {self.line}, column {self.column}"
            if "\n" in rule
            else f"at column {self.column}"
        )
        self.message = f"{problem} {where}" + (f"; {suggestion}" if suggestion else "")
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message}\n{_excerpt(self.rule, self.position)}"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.problem, self.rule, self.position, self.suggestion))


def _rebuild(problem: str, rule: str, position: int, suggestion: str | None) -> RuleError:
    return RuleError(problem, rule=rule, position=position, suggestion=suggestion)
