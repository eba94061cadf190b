"""SQL database sources (url + query_table): a SQLite file and a second DuckDB file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from custseg.exceptions import SourceReadError
from custseg.ingest import ingest_sources

from .conftest import by_key, fetch, one, qrows


def _sqlite(path):
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE customers (customer_id TEXT, email TEXT, first_name TEXT, postal_code TEXT,
                                created_at TEXT);
        INSERT INTO customers VALUES
            ('s1', 'Ann@X.com', 'Ann', '02134', '2024-01-02 03:04:05'),
            ('s2', 'bob@x.com', 'Bob', NULL, NULL),
            (NULL, 'nobody@x.com', 'No', NULL, NULL);
        CREATE TABLE orders (order_id TEXT, customer_id TEXT, ordered_at TEXT, total REAL);
        INSERT INTO orders VALUES ('so1', 's1', '2024-02-01 10:00:00', 12.5),
                                  ('so2', 's9', '2024-02-02 10:00:00', 3.0);
        """
    )
    con.commit()
    con.close()


def _duckdb(path):
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES "
        "('d1', 'dee@x.com', 'Dee', TIMESTAMPTZ '2024-03-01 12:00:00+02:00'), "
        "('d2', 'eve@x.com', 'Eve', NULL)) t(customer_id, email, first_name, created_at)"
    )
    con.execute(
        "CREATE TABLE sales AS SELECT 'do1' AS order_id, 'd1' AS customer_id, "
        "TIMESTAMP '2024-04-01 08:00:00' AS ordered_at, CAST(19.99 AS DECIMAL(10,2)) AS total"
    )
    con.close()


def test_sqlite_and_duckdb_sources(make_ws, tmp_path):
    _sqlite(tmp_path / "legacy.db")
    _duckdb(tmp_path / "other.duckdb")
    ws = make_ws(
        "[sources.legacy]\n"
        f'url = "sqlite:///{tmp_path / "legacy.db"}"\n'
        'query_table = "customers"\n'
        'table = "customers"\n'
        "[sources.legacy_orders]\n"
        f'url = "sqlite:///{tmp_path / "legacy.db"}"\n'
        'query_table = "orders"\n'
        'table = "orders"\n'
        "[sources.other]\n"
        f'url = "duckdb://{tmp_path / "other.duckdb"}"\n'
        'query_table = "customers"\n'
        'table = "customers"\n'
        "[sources.other_sales]\n"
        f'url = "duckdb://{tmp_path / "other.duckdb"}"\n'
        'query_table = "sales"\n'
        'table = "orders"\n'
    )
    rep = ingest_sources(ws)
    by_name = {s.source: s for s in rep.sources}
    # parents first: both customers sources load before the orders sources
    assert [s.table for s in rep.sources][:2] == ["customers", "customers"]
    assert (
        by_name["legacy"].rows_in,
        by_name["legacy"].rows_loaded,
        by_name["legacy"].rows_quarantined,
    ) == (3, 2, 1)
    assert (by_name["other"].rows_in, by_name["other"].rows_loaded) == (2, 2)
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == ["d1", "d2", "s1", "s2", "s9"]
    assert (c["s1"]["email"], c["s1"]["postal_code"], c["s1"]["created_at"]) == (
        "ann@x.com",
        "02134",
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert c["d1"]["created_at"] == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert c["s9"]["is_stub"] is True and c["s1"]["is_stub"] is False
    o = by_key(ws, "orders", "order_id")
    assert (o["so1"]["total"], o["so1"]["customer_id"]) == (Decimal("12.50"), "s1")
    assert (o["do1"]["total"], o["do1"]["ordered_at"]) == (
        Decimal("19.99"),
        datetime(2024, 4, 1, 8, 0, tzinfo=UTC),
    )
    (q,) = qrows(ws, source="legacy")
    assert (q["position"], q["position_kind"], q["rule"]) == (3, "record", "missing_value")
    assert q["raw_json"]["email"] == "nobody@x.com"


def test_database_sources_are_always_reloaded(make_ws, tmp_path):
    _sqlite(tmp_path / "legacy.db")
    ws = make_ws(
        f'[sources.legacy]\nurl = "sqlite:///{tmp_path / "legacy.db"}"\n'
        'query_table = "customers"\ntable = "customers"\n'
    )
    ingest_sources(ws)
    con = sqlite3.connect(tmp_path / "legacy.db")
    con.execute("UPDATE customers SET first_name = 'Annie' WHERE customer_id = 's1'")
    con.commit()
    con.close()
    rep = ingest_sources(ws).sources[0]
    assert not rep.skipped
    assert rep.tables["customers"] == {"inserted": 0, "updated": 2}
    assert one(ws, "SELECT first_name FROM customers WHERE customer_id = 's1'") == "Annie"
    assert fetch(ws, "SELECT count(*) FROM _loads WHERE source = 'legacy'") == [(2,)]


def test_unknown_table_in_database(make_ws, tmp_path):
    _sqlite(tmp_path / "legacy.db")
    ws = make_ws(
        f'[sources.legacy]\nurl = "sqlite:///{tmp_path / "legacy.db"}"\n'
        'query_table = "clients"\ntable = "customers"\n'
    )
    with pytest.raises(SourceReadError) as e:
        ingest_sources(ws)
    assert "clients" in str(e.value) and "customers" in str(e.value)
