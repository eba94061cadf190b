"""Quoting for the SQL the ingest layer writes (identifiers and literals, never raw text)."""

from __future__ import annotations

__all__ = ["q", "lit", "literal"]


def q(name: str) -> str:
    """Quote an identifier (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def literal(value: object) -> str:
    """A SQL literal for a constant from a mapping: booleans, numbers or text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return lit(str(value))
