"""custseg.schema: the canonical tables are consistent, and the data-model doc matches them."""

from __future__ import annotations

import re
from pathlib import Path

import ibis.expr.datatypes as dt
import pytest

from custseg.exceptions import UsageError
from custseg.schema import (
    MONEY,
    TABLES,
    TIMESTAMP,
    data_model_markdown,
    ibis_schema,
    table_schema,
)

DOC = Path(__file__).parent.parent / "docs" / "data-model.md"

EXPECTED_TABLES = [
    "customers",
    "accounts",
    "orders",
    "order_lines",
    "events",
    "attributes",
    "campaigns",
    "campaign_exposures",
    "campaign_outcomes",
]


def test_the_nine_canonical_tables_in_load_order() -> None:
    # parents before children: ingest loads in this order
    assert list(TABLES) == EXPECTED_TABLES
    for name, t in TABLES.items():
        assert t.name == name


@pytest.mark.parametrize("name", EXPECTED_TABLES)
def test_key_columns_exist_and_are_required(name: str) -> None:
    t = TABLES[name]
    assert t.key, f"{name} has no key"
    for k in t.key:
        assert k in t.names, f"{name}: key column {k} is not a column"
        assert t.column(k).required, f"{name}: key column {k} is not required"
        assert not t.column(k).system


@pytest.mark.parametrize("name", EXPECTED_TABLES)
def test_columns_are_unique_and_well_formed(name: str) -> None:
    t = TABLES[name]
    assert len(t.names) == len(set(t.names)), f"{name}: duplicate column"
    assert t.description.strip()
    for c in t.columns:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", c.name), c.name
        assert c.description.strip(), f"{name}.{c.name} has no description"
        assert isinstance(c.dtype, dt.DataType)
        assert not (c.required and c.system), f"{name}.{c.name}: required and system"


@pytest.mark.parametrize("name", EXPECTED_TABLES)
def test_replace_by_and_survivor_columns_exist(name: str) -> None:
    t = TABLES[name]
    if t.replace_by is not None:
        assert t.replace_by in t.key
    for c in t.survivor_order:
        assert c in t.names


def test_required_lists_exactly_the_required_columns() -> None:
    assert TABLES["order_lines"].required == ["order_id", "line_no", "quantity", "unit_price"]
    assert TABLES["orders"].required == ["order_id", "ordered_at"]
    assert TABLES["events"].required == ["event_id", "ts", "type"]


def test_conventions_money_and_time() -> None:
    assert dt.Decimal(18, 2) == MONEY
    assert dt.Timestamp(timezone="UTC") == TIMESTAMP
    money = {"subtotal", "discount", "shipping", "tax", "total", "refunded"}
    for c in TABLES["orders"].columns:
        if c.name in money:
            assert c.dtype == MONEY, c.name
        if c.name.endswith("_at"):
            assert c.dtype == TIMESTAMP, c.name
    assert TABLES["order_lines"].column("unit_price").dtype == MONEY
    assert TABLES["customers"].column("birth_date").dtype == dt.date
    for t in TABLES.values():
        for c in t.columns:
            if c.name.endswith("_id"):
                assert c.dtype == dt.string, f"{t.name}.{c.name}: ids are strings"


def test_type_names() -> None:
    orders = TABLES["orders"]
    assert orders.column("total").type_name == "decimal(18,2)"
    assert orders.column("ordered_at").type_name == "timestamp (UTC)"
    assert orders.column("order_id").type_name == "string"
    assert orders.column("items_count").type_name == "int64"


def test_column_lookup_of_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        TABLES["orders"].column("nope")


def test_table_schema_unknown_name_lists_the_tables() -> None:
    assert table_schema("orders") is TABLES["orders"]
    with pytest.raises(UsageError) as exc:
        table_schema("ordrs")
    msg = str(exc.value)
    assert "'ordrs'" in msg
    for name in EXPECTED_TABLES:
        assert name in msg


@pytest.mark.parametrize("name", EXPECTED_TABLES)
def test_ibis_schema_matches(name: str) -> None:
    s = ibis_schema(name)
    assert list(s.names) == TABLES[name].names
    for c in TABLES[name].columns:
        assert s[c.name].nullable, f"{name}.{c.name}"
        assert s[c.name] == c.dtype


def test_markdown_has_a_section_and_a_row_per_column() -> None:
    md = data_model_markdown()
    for t in TABLES.values():
        assert f"## `{t.name}`" in md
        for c in t.columns:
            req = "yes" if c.required else ("set by custseg" if c.system else "no")
            assert f"| `{c.name}` | {c.type_name} | {req} | {c.description} |" in md
    assert "A load replaces all rows of each `order_id` it brings." in md


@pytest.mark.skipif(not DOC.exists(), reason="docs/data-model.md not written yet")
def test_data_model_doc_embeds_the_generated_markdown() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for t in TABLES.values():
        assert f"`{t.name}`" in doc, t.name
        for c in t.columns:
            assert f"`{c.name}`" in doc, f"{t.name}.{c.name}"
    assert data_model_markdown().strip() in doc, "docs/data-model.md is stale"
