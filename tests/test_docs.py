"""The generated docs match the code they are generated from."""

from __future__ import annotations

from pathlib import Path

from custseg.docs import data_model_page
from custseg.ingest.report import RULES

DOCS = Path(__file__).parent.parent / "docs"


def test_data_model_page_is_up_to_date() -> None:
    on_disk = (DOCS / "data-model.md").read_text(encoding="utf-8")
    assert on_disk == data_model_page(), "docs/data-model.md is stale: run 'make docs'"


def test_every_rule_is_documented_with_its_action() -> None:
    text = (DOCS / "ingestion.md").read_text(encoding="utf-8")
    for rule, (action, meaning) in RULES.items():
        assert f"| `{rule}` | {action} | {meaning} |" in text, rule
