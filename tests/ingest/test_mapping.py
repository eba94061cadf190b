"""custseg.ingest.mapping: identity, [mappings.NAME], expressions, their safety, schema errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from custseg.config import SourceConfig
from custseg.exceptions import ConfigError, MappingError, SchemaError, UsageError
from custseg.ingest import ingest_sources
from custseg.ingest.mapping import compile_expr, find_mapping, resolve_mapping

from .conftest import by_key, load, one, snapshot, write

LEGACY_TOML = r"""
[mappings.legacy]
table = "orders"
[mappings.legacy.columns]
order_id = ["OrderNo", "Order Number"]
customer_id = "Cust"
ordered_at = { column = "When", format = "%d.%m.%Y %H:%M" }
total = { expr = 'CAST("Net" AS DECIMAL(18,2)) + CAST("VAT" AS DECIMAL(18,2))' }
tax = "VAT"
channel = { const = "store" }
ship_city = { expr = "upper(trim(\"Town\"))" }
"""

LEGACY_CSV = (
    "Order Number,Cust,When,Net,VAT,Town,Comment\n"
    "L-1,k1,05.03.2024 14:30,10.00,1.90, berlin ,first\n"
    "L-2,k2,31.12.2023 23:59,100.50,19.10,Hamburg,\n"
)


def test_custom_mapping_alternatives_expr_const_and_format(make_ws, tmp_path):
    ws = make_ws(LEGACY_TOML)
    rep = load(ws, write(tmp_path / "legacy.csv", LEGACY_CSV), mapping="legacy")
    assert rep.mapping == "legacy" and rep.table == "orders"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (2, 2, 0)
    o = by_key(ws, "orders", "order_id")
    assert sorted(o) == ["L-1", "L-2"]  # from the second alternative, "Order Number"
    assert o["L-1"]["ordered_at"] == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert o["L-2"]["ordered_at"] == datetime(2023, 12, 31, 23, 59, tzinfo=UTC)
    assert o["L-1"]["total"] == Decimal("11.90")  # 10.00 + 1.90
    assert o["L-2"]["total"] == Decimal("119.60")  # 100.50 + 19.10
    assert o["L-2"]["tax"] == Decimal("19.10")
    assert {v["channel"] for v in o.values()} == {"store"}
    assert o["L-1"]["ship_city"] == "BERLIN"
    assert o["L-1"]["customer_id"] == "k1"
    # the columns nothing maps are reported
    assert rep.unknown_columns == ["Comment"]


def test_first_alternative_present_wins(make_ws, tmp_path):
    ws = make_ws(LEGACY_TOML)
    text = "OrderNo,Order Number,Cust,When,Net,VAT,Town\nA,B,k1,05.03.2024 14:30,1,1,x\n"
    load(ws, write(tmp_path / "l.csv", text), mapping="legacy")
    assert one(ws, "SELECT order_id FROM orders") == "A"


def test_source_columns_override_the_mapping(make_ws):
    ws = make_ws(
        LEGACY_TOML
        + '\n[sources.shop]\npath = "l.csv"\nmapping = "legacy"\n'
        + '[sources.shop.columns]\nchannel = { const = "web" }\n'
    )
    write(ws.root / "l.csv", LEGACY_CSV)
    ingest_sources(ws)
    assert {r[0] for r in ws.connect().con.execute("SELECT channel FROM orders").fetchall()} == {
        "web"
    }


def test_identity_mapping_ignores_case_and_spaces(ws, tmp_path):
    f = write(tmp_path / "c.csv", "Customer ID,E-Mail,First Name,Shoe size\nc1,a@x.com,Ann,38\n")
    rep = load(ws, f, table="customers")
    c = by_key(ws, "customers", "customer_id")["c1"]
    assert c["first_name"] == "Ann"
    # "E-Mail" normalises to e_mail, not email: left unmapped and reported
    assert c["email"] is None
    assert set(rep.unknown_columns) == {"E-Mail", "Shoe size"}


@pytest.mark.parametrize(
    "expr",
    [
        "1; DROP TABLE orders",
        '"Net"; SELECT 1',
        "(SELECT max(total) FROM orders)",
        '"Net" + (SELECT 1)',
        "read_csv('/etc/passwd')",
        "getenv('HOME')",
        'nosuchfunction("Net")',
    ],
)
def test_unsafe_or_unknown_expressions_are_mapping_errors(make_ws, tmp_path, expr):
    toml = LEGACY_TOML.replace(
        """{ expr = 'CAST("Net" AS DECIMAL(18,2)) + CAST("VAT" AS DECIMAL(18,2))' }""",
        "{ expr = '''" + expr + "''' }",
    )
    assert expr in toml
    ws = make_ws(toml)
    load(ws, write(tmp_path / "c.csv", "customer_id\nc1\n"), table="customers")
    before = snapshot(ws)
    with pytest.raises(MappingError) as e:
        load(ws, write(tmp_path / "l.csv", LEGACY_CSV), mapping="legacy")
    assert isinstance(e.value, ConfigError)
    assert "total" in str(e.value)
    assert snapshot(ws) == before


def test_expression_naming_a_missing_column(make_ws, tmp_path):
    ws = make_ws(LEGACY_TOML.replace('CAST("VAT" AS', 'CAST("Refund" AS'))
    with pytest.raises(MappingError) as e:
        load(ws, write(tmp_path / "l.csv", LEGACY_CSV), mapping="legacy")
    msg = str(e.value)
    assert "Refund" in msg and "Net" in msg  # the missing one and the columns found


def test_semicolon_inside_a_string_literal_is_allowed():
    sql = compile_expr("split_part(\"a\", ';', 1)", header=["a"], target="x", source="s")
    assert "split_part" in sql.lower()


def test_missing_required_column_is_a_schema_error_listing_missing_and_found(ws, tmp_path):
    f = write(tmp_path / "o.csv", "order_id,customer_id,total\no1,c1,5\n")
    load(ws, write(tmp_path / "c.csv", "customer_id\nc1\n"), table="customers")
    before = snapshot(ws)
    with pytest.raises(SchemaError) as e:
        load(ws, f, table="orders")
    msg = str(e.value)
    assert "ordered_at" in msg
    assert "Columns found: order_id, customer_id, total" in msg
    assert snapshot(ws) == before


def test_missing_required_column_of_a_builtin_names_its_source_column(ws, tmp_path):
    f = write(tmp_path / "o.csv", "Name,Created at,Lineitem quantity\n#1,2024-01-01,1\n")
    with pytest.raises(SchemaError) as e:
        load(ws, f, mapping="shopify_orders")
    msg = str(e.value)
    assert "unit_price" in msg and "Lineitem price" in msg
    assert "Name, Created at, Lineitem quantity" in msg


def test_unknown_target_column_is_a_mapping_error(make_ws, tmp_path):
    ws = make_ws(LEGACY_TOML + 'order_total = "Net"\n')
    with pytest.raises(MappingError, match="order_total"):
        load(ws, write(tmp_path / "l.csv", LEGACY_CSV), mapping="legacy")


def test_unknown_mapping_name_suggests_the_close_one(ws):
    with pytest.raises(MappingError) as e:
        find_mapping("shopfy_orders", ws.config)
    assert "shopify_orders" in str(e.value)


def test_mapping_for_another_table_is_refused_as_a_usage_or_mapping_error(ws, tmp_path):
    """--table orders --mapping shopify_customers: the mapping fills customers, not orders.
    This is a usage/config error (exit 2), not a data error about missing columns."""
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at\no1,c1,2024-01-01\n")
    with pytest.raises((MappingError, UsageError)) as e:
        load(ws, f, table="orders", mapping="shopify_customers")
    assert e.value.exit_code == 2
    assert "shopify_customers" in str(e.value) and "orders" in str(e.value)


def test_resolve_mapping_reports_variant_and_unknown_columns():
    header = ["Customer ID", "Email", "Accepts Email Marketing", "Zip", "Favourite colour"]
    src = SourceConfig(path="x.csv", mapping="shopify_customers")
    rm = resolve_mapping(src, table="customers", header=header, source_name="x", config=None)
    assert rm.variant == "v3"
    assert rm.unknown_columns == ["Favourite colour"]
    assert rm.exprs["customer_id"] == '"Customer ID"'
    assert rm.strip_apostrophe is True


def test_order_level_columns_only_for_order_lines(make_ws):
    ws = make_ws(
        '[sources.x]\npath = "x.csv"\ntable = "orders"\n[sources.x.orders]\ncustomer_id = "Kunde"\n'
    )
    write(ws.root / "x.csv", "order_id,ordered_at,Kunde\no1,2024-01-01,k\n")
    with pytest.raises(MappingError, match="order_lines"):
        ingest_sources(ws)


def test_documented_arithmetic_expression_works_on_csv_text_columns(make_ws, tmp_path):
    """config.ColumnSpec.expr documents '"Lineitem price" * 2' as an example expression.
    CSV columns are staged as text, so the example must still work on a CSV source."""
    ws = make_ws(
        '[mappings.m]\ntable = "order_lines"\n[mappings.m.columns]\n'
        'order_id = "Name"\nquantity = "Lineitem quantity"\n'
        "unit_price = { expr = '\"Lineitem price\" * 2' }\n"
    )
    load(
        ws,
        write(tmp_path / "o.csv", "order_id,customer_id,ordered_at\n#1,c1,2024-01-01\n"),
        table="orders",
    )
    f = write(tmp_path / "l.csv", "Name,Lineitem quantity,Lineitem price\n#1,1,4.25\n")
    rep = load(ws, f, mapping="m")
    assert rep.rows_loaded == 1
    assert one(ws, "SELECT unit_price FROM order_lines") == Decimal("8.50")
