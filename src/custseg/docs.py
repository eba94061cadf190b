"""Docs generated from the code, so they cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from custseg.ingest.report import RULES
from custseg.schema import data_model_markdown

__all__ = ["data_model_page", "rules_table", "write_data_model"]

_INTRO = """# Data model

custseg maps every source onto these canonical tables. This page is generated from
`src/custseg/schema.py` (`make docs`); a test checks it matches.

Conventions: ids are strings; money is `decimal(18,2)` in the workspace's base currency
(the original currency and the rate used are kept on `orders`); timestamps are UTC
(`TIMESTAMPTZ`); a column marked *set by custseg* is never mapped from a source.

"""


def rules_table() -> str:
    """The validation rules as a Markdown table."""
    lines = ["| rule | action | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{k}` | {a} | {m} |" for k, (a, m) in RULES.items()]
    return "\n".join(lines)


def data_model_page() -> str:
    """The full text of ``docs/data-model.md``."""
    return _INTRO + data_model_markdown()


def write_data_model(path: str | Path) -> None:
    """Write ``docs/data-model.md``."""
    Path(path).write_text(data_model_page(), encoding="utf-8")
