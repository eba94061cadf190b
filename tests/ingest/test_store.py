"""custseg.ingest.store: idempotent loads, upserts, child rows, stubs, quarantine, dry runs."""

from __future__ import annotations

from decimal import Decimal

from custseg.ingest import ingest_file, ingest_sources, validate_sources
from custseg.ingest.store import SYSTEM_TABLES, ensure_tables, last_fingerprint

from .conftest import CANONICAL, FORMATS, by_key, content, fetch, load, one, qrows, snapshot, write

SRC = '[sources.c]\npath = "c.csv"\ntable = "customers"\n'


def test_same_file_twice_is_skipped_and_changes_nothing(ws):
    f = FORMATS / "shopify_orders_79.csv"
    first = load(ws, f, mapping="shopify_orders")
    assert not first.skipped
    before = snapshot(ws)
    second = load(ws, f, mapping="shopify_orders")
    assert second.skipped
    assert (second.rows_in, second.rows_loaded, second.rows_quarantined) == (0, 0, 0)
    assert snapshot(ws) == before  # nothing at all, not even the load log


def test_forced_reload_gives_identical_content(ws):
    for name in ("shopify_customers_v4.csv",):
        load(ws, FORMATS / name, mapping="shopify_customers")
    f = FORMATS / "shopify_orders_79.csv"
    load(ws, f, mapping="shopify_orders")
    before = content(ws)
    q_before = [(r["position"], r["rule"], r["reason"], r["raw"]) for r in qrows(ws)]
    rep = load(ws, f, mapping="shopify_orders", force=True)
    assert not rep.skipped
    # every key already existed: all updates, no inserts, no new stub
    assert rep.tables["orders"] == {"inserted": 0, "updated": 4}
    assert rep.tables["order_lines"] == {"inserted": 0, "updated": 8}
    assert content(ws) == before
    assert [(r["position"], r["rule"], r["reason"], r["raw"]) for r in qrows(ws)] == q_before
    assert one(ws, "SELECT count(*) FROM _loads") == 3


def test_changed_config_reloads_an_unchanged_file(make_ws):
    ws = make_ws(SRC)
    write(ws.root / "c.csv", "customer_id,email\nc1,a@x.com\n")
    ingest_sources(ws)
    fp = last_fingerprint(ws.connect().con, "c")
    assert fp
    ws.close()
    from custseg.workspace import open_workspace

    (ws.root / "custseg.toml").write_text(SRC + 'timezone = "Europe/Berlin"\n')
    ws2 = open_workspace(ws.root)
    try:
        assert not ingest_sources(ws2).sources[0].skipped
        assert last_fingerprint(ws2.connect().con, "c") != fp
    finally:
        ws2.close()


def test_incremental_upsert_updates_and_inserts(make_ws):
    ws = make_ws(SRC)
    write(ws.root / "c.csv", "customer_id,email,first_name\nc1,a@x.com,Ann\nc2,b@x.com,Bob\n")
    rep1 = ingest_sources(ws).sources[0]
    assert rep1.tables["customers"] == {"inserted": 2, "updated": 0}
    write(ws.root / "c.csv", "customer_id,email,first_name\nc2,bob@new.com,Robert\nc3,c@x.com,Cy\n")
    rep2 = ingest_sources(ws).sources[0]
    assert not rep2.skipped
    assert rep2.tables["customers"] == {"inserted": 1, "updated": 1}
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == ["c1", "c2", "c3"]  # c1 kept although absent from the new file
    assert (c["c2"]["email"], c["c2"]["first_name"]) == ("bob@new.com", "Robert")
    assert one(ws, "SELECT count(*) FROM customers WHERE email = 'b@x.com'") == 0


def test_upsert_replaces_the_whole_row(make_ws):
    """A newer export without a column replaces the old value with null (the row is replaced)."""
    ws = make_ws(SRC)
    write(ws.root / "c.csv", "customer_id,email,city\nc1,a@x.com,Paris\n")
    ingest_sources(ws)
    write(ws.root / "c.csv", "customer_id,email\nc1,a2@x.com\n")
    ingest_sources(ws)
    c = by_key(ws, "customers", "customer_id")["c1"]
    assert (c["email"], c["city"]) == ("a2@x.com", None)


ERP = """
[sources.erp]
path = "erp.csv"
table = "order_lines"
[sources.erp.columns]
order_id = "Beleg"
sku = "Artikel"
quantity = "Menge"
unit_price = "Preis"
[sources.erp.orders]
customer_id = "Kunde"
ordered_at = "Datum"
"""
HEAD = "Beleg,Kunde,Datum,Artikel,Menge,Preis\n"


def test_order_lines_replaced_per_order_when_reexported_with_fewer_lines(make_ws):
    ws = make_ws(ERP)
    write(
        ws.root / "erp.csv",
        HEAD
        + "B1,K1,2024-02-01 10:00:00,A,1,1.00\n"
        + "B1,K1,2024-02-01 10:00:00,B,1,2.00\n"
        + "B1,K1,2024-02-01 10:00:00,C,1,3.00\n"
        + "B2,K1,2024-02-02 10:00:00,D,1,4.00\n",
    )
    ingest_sources(ws)
    assert one(ws, "SELECT count(*) FROM order_lines") == 4
    # B1 is exported again with 2 lines (C removed); B2 is not in the new file
    write(
        ws.root / "erp.csv",
        HEAD + "B1,K1,2024-02-01 10:00:00,A,1,1.00\n" + "B1,K1,2024-02-01 10:00:00,B,2,2.00\n",
    )
    rep = ingest_sources(ws).sources[0]
    assert sorted(fetch(ws, "SELECT order_id, line_no, sku, quantity FROM order_lines")) == [
        ("B1", 1, "A", 1),
        ("B1", 2, "B", 2),
        ("B2", 1, "D", 1),
    ]
    assert rep.tables["order_lines"]["updated"] == 2
    # B1's derived totals follow the new lines: 1 x 1.00 + 2 x 2.00 = 5.00
    assert one(ws, "SELECT total FROM orders WHERE order_id = 'B1'") == Decimal("5.00")
    assert one(ws, "SELECT total FROM orders WHERE order_id = 'B2'") == Decimal("4.00")


def test_line_file_replaces_lines_of_the_orders_it_brings(ws, tmp_path):
    load(
        ws,
        write(
            tmp_path / "o.csv",
            "order_id,customer_id,ordered_at\no1,c1,2024-01-01\no2,c1,2024-01-01\n",
        ),
        table="orders",
    )
    load(
        ws,
        write(
            tmp_path / "l1.csv",
            "order_id,line_no,quantity,unit_price\no1,1,1,1.00\no1,2,1,2.00\no2,1,1,3.00\n",
        ),
        table="order_lines",
    )
    load(
        ws,
        write(tmp_path / "l2.csv", "order_id,line_no,quantity,unit_price\no1,1,5,1.00\n"),
        table="order_lines",
    )
    assert sorted(fetch(ws, "SELECT order_id, line_no, quantity FROM order_lines")) == [
        ("o1", 1, 5),
        ("o2", 1, 1),
    ]


def test_stub_never_overwrites_a_real_customer_and_is_replaced_by_one(ws, tmp_path):
    load(
        ws,
        write(tmp_path / "c1.csv", "customer_id,email,first_name\nc1,ann@x.com,Ann\n"),
        table="customers",
    )
    orders = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at\no1,c1,2024-01-01 00:00:00\no2,c2,2024-01-05 00:00:00\n",
    )
    load(ws, orders, table="orders")
    c = by_key(ws, "customers", "customer_id")
    assert (c["c1"]["first_name"], c["c1"]["is_stub"], c["c1"]["email"]) == (
        "Ann",
        False,
        "ann@x.com",
    )
    assert (c["c2"]["is_stub"], c["c2"]["first_name"]) == (True, None)
    # the real c2 arrives later and replaces the stub
    rep = load(
        ws,
        write(tmp_path / "c2.csv", "customer_id,email,first_name\nc2,bo@x.com,Bo\n"),
        table="customers",
    )
    assert rep.tables["customers"] == {"inserted": 0, "updated": 1}
    c = by_key(ws, "customers", "customer_id")
    assert (c["c2"]["is_stub"], c["c2"]["first_name"], c["c2"]["email"]) == (
        False,
        "Bo",
        "bo@x.com",
    )
    # reloading the orders does not bring the stub back over the real customers
    rep = load(ws, orders, table="orders", force=True)
    assert "stub_customer" not in rep.repaired
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == ["c1", "c2"]
    assert (c["c1"]["first_name"], c["c2"]["first_name"]) == ("Ann", "Bo")
    assert {v["is_stub"] for v in c.values()} == {False}


def test_quarantine_of_a_source_is_replaced_on_reload(make_ws):
    ws = make_ws(SRC + '[sources.o]\npath = "o.csv"\ntable = "orders"\n')
    write(ws.root / "c.csv", "customer_id,email\nc1,a@x.com\n,b@x.com\nnan,c@x.com\n")
    write(ws.root / "o.csv", "order_id,customer_id,ordered_at\no1,c1,2024-13-01\n")
    ingest_sources(ws)
    assert len(qrows(ws, source="c")) == 2 and len(qrows(ws, source="o")) == 1
    write(ws.root / "c.csv", "customer_id,email\nc1,a@x.com\nc2,b@x.com\n,c@x.com\n")
    rep = ingest_sources(ws, ["c"]).sources[0]
    assert rep.rows_quarantined == 1
    (q,) = qrows(ws, source="c")
    assert (q["position"], q["raw_json"]["email"]) == (3, "c@x.com")
    assert len(qrows(ws, source="o")) == 1  # another source's quarantine is untouched
    write(ws.root / "c.csv", "customer_id,email\nc1,a@x.com\n")
    ingest_sources(ws, ["c"])
    assert qrows(ws, source="c") == []


def test_validate_sources_writes_nothing(make_ws):
    ws = make_ws(SRC + '[sources.o]\npath = "o.csv"\ntable = "orders"\n')
    write(ws.root / "c.csv", "customer_id,email\nc1,a@x.com\n")
    write(ws.root / "o.csv", "order_id,customer_id,ordered_at\no1,c1,2024-01-01\n")
    ingest_sources(ws)
    before = snapshot(ws)
    write(ws.root / "c.csv", "customer_id,email\nc1,new@x.com\nc2,b@x.com\n,x\n")
    write(ws.root / "o.csv", "order_id,customer_id,ordered_at\no1,c9,2024-01-01\no2,,2024-01-02\n")
    rep = validate_sources(ws)
    by = {s.source: s for s in rep.sources}
    assert all(s.dry_run and not s.skipped for s in rep.sources)
    assert (by["c"].rows_in, by["c"].rows_loaded, by["c"].rows_quarantined) == (3, 2, 1)
    assert by["o"].repaired == {"stub_customer": 1}
    assert by["o"].kept == {"guest_anonymous": 1}
    assert snapshot(ws) == before
    # no temporary staging table is left behind either
    assert one(ws, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%stg%'") == 0


def test_validate_on_a_fresh_workspace_creates_no_table(make_ws):
    ws = make_ws(SRC)
    write(ws.root / "c.csv", "customer_id\nc1\n")
    tables = ws.tables()
    validate_sources(ws)
    assert ws.tables() == tables


def test_dry_run_file_writes_nothing(ws, tmp_path):
    load(ws, write(tmp_path / "a.csv", "customer_id\nc0\n"), table="customers")
    before = snapshot(ws)
    rep = ingest_file(
        ws, write(tmp_path / "b.csv", "customer_id\nc1\nc2\n"), table="customers", dry_run=True
    )
    assert rep.rows_loaded == 2
    assert snapshot(ws) == before


def test_ensure_tables_creates_every_table_once(ws):
    con = ws.connect().con
    ensure_tables(con)
    ensure_tables(con)  # idempotent
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert names >= set(CANONICAL) | set(SYSTEM_TABLES)
    assert (
        one(
            ws,
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' "
            "AND column_name = 'total'",
        )
        == "DECIMAL(18,2)"
    )
    assert (
        one(
            ws,
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' "
            "AND column_name = 'ordered_at'",
        )
        == "TIMESTAMP WITH TIME ZONE"
    )


def test_load_log_records_each_load(ws, tmp_path):
    f = write(tmp_path / "c.csv", "customer_id\nc1\n")
    rep = load(ws, f, table="customers")
    log = fetch(
        ws,
        "SELECT source, table_name, rows_in, rows_loaded, rows_quarantined, "
        "fingerprint IS NOT NULL, finished_at >= started_at FROM _loads",
    )
    assert log == [(rep.source, "customers", 1, 1, 0, True, True)]


def test_quarantine_api_newest_load_first_and_limit(make_ws):
    ws = make_ws(SRC + '[sources.o]\npath = "o.csv"\ntable = "orders"\n')
    write(ws.root / "c.csv", "customer_id\nc1\nnan\nNone\n")
    ingest_sources(ws, ["c"])
    write(ws.root / "o.csv", "order_id,customer_id,ordered_at\no1,c1,bad\n")
    ingest_sources(ws, ["o"])
    from custseg.ingest import quarantine

    rows = quarantine(ws)
    assert [r["source"] for r in rows] == ["o", "c", "c"]
    assert [r["position"] for r in rows if r["source"] == "c"] == [2, 3]
    assert [r["source"] for r in quarantine(ws, limit=1)] == ["o"]
    assert {r["table"] for r in quarantine(ws, source="c")} == {"customers"}
