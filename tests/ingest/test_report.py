"""SourceReport / LoadReport: rows in = rows loaded + rows quarantined, for every input."""

from __future__ import annotations

import json

import pytest

from custseg.ingest import validate_sources
from custseg.ingest.report import RULES, LoadReport, SourceReport

from .conftest import FORMATS, load, one, write

#: (id, file name, content or a formats sample, ingest_file kwargs, target table, fx toml)
CASES = [
    (
        "customers_ok",
        "c.csv",
        "customer_id,email\nc1,a@x.com\nc2,b@x.com\n",
        {"table": "customers"},
    ),
    ("malformed", "c.csv", "customer_id,email\nc1,a\nc2\nc3,c,x\nc4,d\n", {"table": "customers"}),
    (
        "missing_ids",
        "c.csv",
        "customer_id,email\n,a\nnan,b\nNone,c\nc4,d\n",
        {"table": "customers"},
    ),
    (
        "lost_and_dupes",
        "c.csv",
        "customer_id,email\n7.1E+12,a\nc1,b\nc1,c\nc1,d\n",
        {"table": "customers"},
    ),
    (
        "unparseable",
        "o.csv",
        "order_id,customer_id,ordered_at,total\no1,c,2024-13-45,1\no2,c,2024-01-01,12abc\n"
        "o3,c,2024-01-01,1e400\no4,c,2024-01-01,1.00\n",
        {"table": "orders"},
    ),
    (
        "orders_mixed",
        "o.csv",
        "order_id,customer_id,email,ordered_at,currency,status\n"
        "o1,,a@x.com,2024-01-01,USD,voided\no2,,,2024-01-01,EUR,paid\no3,c1,,2999-01-01,USD,\n"
        "o4,c1,,2024-01-01,USD,refunded\no4,c2,,2024-01-02,USD,paid\n",
        {"table": "orders"},
    ),
    (
        "lines_no_orders",
        "l.csv",
        "order_id,line_no,quantity,unit_price\no1,1,1,1.00\no1,2,1,-1.00\n",
        {"table": "order_lines"},
    ),
    (
        "events_no_id",
        "e.csv",
        "anonymous_id,ts,type\na,2024-01-01 00:00:00,x\na,2024-01-01 00:00:00,x\nb,,y\n",
        {"table": "events"},
    ),
    (
        "ndjson_broken",
        "e.ndjson",
        '{"event_id":"e1","ts":"2024-01-01T00:00:00Z","type":"x"}\n{"event_id":"e2",\n'
        '[1,2]\n{"event_id":"e4","ts":"2024-01-01T00:00:00Z","type":"y"}\n',
        {"table": "events"},
    ),
    ("header_only", "c.csv", "customer_id,email\n", {"table": "customers"}),
    ("shopify_v1", "shopify_customers_v1.csv", None, {"mapping": "shopify_customers"}),
    ("shopify_v2", "shopify_customers_v2.csv", None, {"mapping": "shopify_customers"}),
    ("shopify_v3", "shopify_customers_v3.csv", None, {"mapping": "shopify_customers"}),
    ("shopify_v4", "shopify_customers_v4.csv", None, {"mapping": "shopify_customers"}),
    ("shopify_79", "shopify_orders_79.csv", None, {"mapping": "shopify_orders"}),
    ("shopify_75", "shopify_orders_75.csv", None, {"mapping": "shopify_orders"}),
    ("shopify_subset", "shopify_orders_subset.csv", None, {"mapping": "shopify_orders"}),
    ("ga4", "ga4_events.ndjson", None, {"mapping": "ga4_events"}),
    ("crm", "crm_contacts.csv", None, {"mapping": "crm_contacts"}),
]

TARGET = {
    "customers": "SELECT count(*) FROM customers WHERE NOT is_stub",
    "shopify_customers": "SELECT count(*) FROM customers WHERE NOT is_stub",
    "crm_contacts": "SELECT count(*) FROM customers WHERE NOT is_stub",
    "orders": "SELECT count(*) FROM orders",
    "order_lines": "SELECT count(*) FROM order_lines",
    "shopify_orders": "SELECT count(*) FROM order_lines",
    "events": "SELECT count(*) FROM events",
    "ga4_events": "SELECT count(*) FROM events",
}


#: the inputs with EUR money run a second time with an EUR rate configured
FX_CASES = [c for c in CASES if c[0] in ("orders_mixed", "shopify_79", "shopify_subset")]
PARAMS = [pytest.param(*c, False, id=c[0]) for c in CASES] + [
    pytest.param(*c, True, id=c[0] + "-eur_fx") for c in FX_CASES
]


@pytest.mark.parametrize(("name", "fname", "text", "kw", "fx"), PARAMS)
def test_rows_in_equals_loaded_plus_quarantined(make_ws, tmp_path, name, fname, text, kw, fx):
    ws = make_ws("[ingest.fx_rates]\nEUR = 1.08\n" if fx else "")
    path = FORMATS / fname if text is None else write(tmp_path / fname, text)
    rep = load(ws, path, **kw)
    assert rep.balanced
    assert rep.rows_in == rep.rows_loaded + rep.rows_quarantined
    # every quarantined row is counted under exactly one quarantine rule
    assert sum(rep.quarantined.values()) == rep.rows_quarantined
    assert one(ws, "SELECT count(*) FROM _quarantine WHERE source = ?", [rep.source]) == (
        rep.rows_quarantined
    )
    # no row is quarantined twice
    assert (
        one(ws, "SELECT count(*) - count(DISTINCT (position, position_kind)) FROM _quarantine") == 0
    )
    # the target table was empty: it now holds exactly the rows loaded
    assert one(ws, TARGET[kw.get("mapping") or kw["table"]]) == rep.rows_loaded
    # the load log agrees with the report
    log = (
        ws.connect()
        .con.execute(
            "SELECT rows_in, rows_loaded, rows_quarantined FROM _loads WHERE source = ?",
            [rep.source],
        )
        .fetchall()
    )
    assert log == [(rep.rows_in, rep.rows_loaded, rep.rows_quarantined)]


def test_dry_run_report_is_balanced_too(make_ws):
    ws = make_ws('[sources.c]\npath = "c.csv"\ntable = "customers"\n')
    write(ws.root / "c.csv", "customer_id,email\nc1,a\nc1,b\n,c\nc4\n")
    rep = validate_sources(ws)
    (s,) = rep.sources
    assert s.dry_run
    # 4 records: c4 is short (malformed), the empty id is missing, c1 twice (1 duplicate)
    assert (s.rows_in, s.rows_loaded, s.rows_quarantined) == (4, 1, 3)
    assert s.quarantined == {"malformed_row": 1, "missing_value": 1, "duplicate_key": 1}
    assert s.balanced


def test_add_buckets_by_action():
    r = SourceReport(source="s", file="f", table="orders", mapping="identity")
    r.add("missing_value", 2)
    r.add("missing_value", 1)
    r.add("stub_customer", 4)
    r.add("return_line", 1)
    r.add("lost_id", 0)  # zero counts leave no key
    assert r.quarantined == {"missing_value": 3}
    assert r.repaired == {"stub_customer": 4}
    assert r.kept == {"return_line": 1}
    for rule in RULES:
        SourceReport(source="s", file="f", table="t", mapping="m").add(rule, 1)


def test_balanced_and_totals():
    a = SourceReport(
        "a", "f", "customers", "identity", rows_in=5, rows_loaded=3, rows_quarantined=2
    )
    b = SourceReport("b", "f", "orders", "identity", rows_in=4, rows_loaded=4, rows_quarantined=1)
    assert a.balanced and not b.balanced
    b.skipped = True
    assert b.balanced  # a skipped source loaded nothing new
    a.add("missing_value", 2)
    b.add("missing_value", 1)
    b.add("lost_id", 1)
    lr = LoadReport([a, b])
    assert (lr.rows_in, lr.rows_loaded, lr.rows_quarantined) == (9, 7, 3)
    assert lr.totals("quarantined") == {"missing_value": 3, "lost_id": 1}
    d = json.loads(lr.to_json())
    assert d["rows_in"] == 9 and [s["source"] for s in d["sources"]] == ["a", "b"]
