"""Tiny canonical tables for the feature tests, in an in-memory DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from custseg.schema import TABLES, ibis_schema


def ts(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    """A UTC timestamp (noon by default)."""
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def canonical(con: Any, name: str, rows: list[dict[str, Any]]) -> ir.Table:
    """Create canonical table ``name`` from ``rows`` (missing columns are null)."""
    schema = ibis_schema(name).to_pyarrow()
    cols = {c: [r.get(c) for r in rows] for c in TABLES[name].names}
    table = pa.table({c: pa.array(v, type=schema.field(c).type) for c, v in cols.items()})
    return con.create_table(name, table, overwrite=True)


def connect() -> Any:
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def one(table: ir.Table, customer_id: str) -> dict[str, Any]:
    """The row of ``customer_id`` as a dict (fails unless exactly one)."""
    rows = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
    assert len(rows) == 1, rows
    return rows[0]


AS_OF = date(2024, 3, 31)
