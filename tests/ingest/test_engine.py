"""The validation rules of custseg.ingest.engine, one tiny hand-built input each.

Every expected value below is worked out by hand from the fixture text in the test.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from custseg.ingest import ingest_sources
from custseg.ingest.report import RULES

from .conftest import by_key, fetch, load, one, qrows, reopen, write


def ts(s: str) -> datetime:
    """An aware UTC datetime from 'YYYY-mm-dd HH:MM:SS[.f]'."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in s else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(s, fmt).replace(tzinfo=UTC)


# --------------------------------------------------------------------------- malformed_row


def test_malformed_row_short_and_long_rows_quarantined_with_line_and_raw(ws, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "customer_id,email,first_name\n"  # line 1
        "c1,a@x.com,Ann\n"  # line 2
        "c2,b@x.com\n"  # line 3: 2 fields
        "c3,c@x.com,Cat,extra\n"  # line 4: 4 fields
        "c4,d@x.com,Dan\n",  # line 5
    )
    rep = load(ws, f, table="customers")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (4, 2, 2)
    assert rep.quarantined == {"malformed_row": 2}
    assert sorted(by_key(ws, "customers", "customer_id")) == ["c1", "c4"]
    q = qrows(ws)
    assert [(r["position"], r["position_kind"], r["rule"]) for r in q] == [
        (3, "line", "malformed_row"),
        (4, "line", "malformed_row"),
    ]
    assert q[0]["raw"] == "c2,b@x.com"
    assert q[1]["raw"] == "c3,c@x.com,Cat,extra"
    assert all("malformed_row" in r["reason"] for r in q)
    assert all(r["table"] == "customers" for r in q)


def test_row_positions_after_a_malformed_row_still_point_at_the_source_record(ws, tmp_path):
    """A rule-quarantined row after a rejected record must be located in the source.

    Records: c1 (1st, line 2), c2 short (2nd, line 3), empty id (3rd, line 4), c4 (4th).
    The missing id is the 3rd record / line 4, whatever the earlier reject.
    """
    f = write(
        tmp_path / "c.csv",
        "customer_id,email\nc1,a@x.com\nc2\n,c@x.com\nc4,d@x.com\n",
    )
    load(ws, f, table="customers")
    miss = [r for r in qrows(ws) if r["rule"] == "missing_value"]
    assert len(miss) == 1
    assert miss[0]["raw_json"]["email"] == "c@x.com"
    assert (miss[0]["position_kind"], miss[0]["position"]) in (("row", 3), ("line", 4))


# --------------------------------------------------------------------------- invalid_encoding


def test_invalid_encoding_ndjson_line_quarantined(ws, tmp_path):
    f = write(
        tmp_path / "e.ndjson",
        b'{"event_id":"e1","ts":"2024-01-01T10:00:00Z","type":"page_view"}\n'
        b'{"event_id":"e2","ts":"2024-01-01T10:00:00Z","type":"caf\xe9"}\n'
        b'{"event_id":"e3","ts":"2024-01-01T11:00:00Z","type":"search"}\n',
    )
    rep = load(ws, f, table="events")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (3, 2, 1)
    assert rep.quarantined == {"invalid_encoding": 1}
    assert sorted(by_key(ws, "events", "event_id")) == ["e1", "e3"]
    (q,) = qrows(ws)
    assert (q["position"], q["position_kind"], q["rule"]) == (2, "line", "invalid_encoding")
    assert "e2" in q["raw"]


def test_invalid_encoding_csv_record_after_the_sniffed_head_is_quarantined(ws, tmp_path):
    # 5000 valid records (about 80 KB, beyond the reader's 64 KB header sniff), then one
    # record with a Latin-1 byte, then one more valid record.
    good = "".join(f"c{i:05d},u{i:05d}@x.com\n" for i in range(5000))
    body = b"customer_id,email\n" + good.encode() + b"cbad,caf\xe9@x.com\n" + b"clast,z@x.com\n"
    f = write(tmp_path / "big.csv", body)
    rep = load(ws, f, table="customers")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (5002, 5001, 1)
    assert rep.quarantined == {"invalid_encoding": 1}
    (q,) = qrows(ws)
    # header is line 1, the 5000 good records are lines 2..5001
    assert (q["position"], q["position_kind"], q["rule"]) == (5002, "line", "invalid_encoding")
    assert "cbad" in q["raw"]
    assert one(ws, "SELECT count(*) FROM customers WHERE customer_id = 'clast'") == 1


# --------------------------------------------------------------------------- missing_value


def test_missing_value_empty_nan_none_ids(ws, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "customer_id,email\nc1,a@x.com\n,b@x.com\nnan,c@x.com\nNone,d@x.com\n"
        "  ,e@x.com\nc6,f@x.com\n",
    )
    rep = load(ws, f, table="customers")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (6, 2, 4)
    assert rep.quarantined == {"missing_value": 4}
    assert sorted(by_key(ws, "customers", "customer_id")) == ["c1", "c6"]
    q = qrows(ws)
    assert [(r["position"], r["position_kind"]) for r in q] == [
        (2, "row"),
        (3, "row"),
        (4, "row"),
        (5, "row"),
    ]
    assert all(r["rule"] == "missing_value" and "customer_id" in r["reason"] for r in q)
    assert [r["raw_json"]["email"] for r in q] == ["b@x.com", "c@x.com", "d@x.com", "e@x.com"]
    # the raw keeps the original text of the id
    assert q[1]["raw_json"]["customer_id"] == "nan"
    assert q[2]["raw_json"]["customer_id"] == "None"


def test_missing_required_order_date(ws, tmp_path):
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at\no1,c1,2024-01-05 10:00:00\no2,c1,\no3,c1,null\n",
    )
    rep = load(ws, f, table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 2)
    assert rep.quarantined == {"missing_value": 2}
    q = qrows(ws)
    assert [r["position"] for r in q] == [2, 3]
    assert all("ordered_at" in r["reason"] for r in q)
    assert [r["raw_json"]["order_id"] for r in q] == ["o2", "o3"]


# --------------------------------------------------------------------------- unparseable_value


def test_unparseable_values_bad_date_letters_in_number_huge_money(ws, tmp_path):
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at,total,items_count\n"
        "o1,c1,2024-01-05 10:00:00,10.00,1\n"
        "o2,c1,2024-13-45 10:00:00,10.00,1\n"
        "o3,c1,2024-01-05 10:00:00,10.00,12abc\n"
        "o4,c1,2024-01-05 10:00:00,1e400,1\n",
    )
    rep = load(ws, f, table="orders")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (4, 1, 3)
    assert rep.quarantined == {"unparseable_value": 3}
    assert list(by_key(ws, "orders", "order_id")) == ["o1"]
    q = qrows(ws)
    assert [r["position"] for r in q] == [2, 3, 4]
    assert all(r["rule"] == "unparseable_value" for r in q)
    assert "ordered_at" in q[0]["reason"] and "2024-13-45" in q[0]["reason"]
    assert "items_count" in q[1]["reason"] and "12abc" in q[1]["reason"]
    assert "total" in q[2]["reason"] and "1e400" in q[2]["reason"]
    assert q[2]["raw_json"]["total"] == "1e400"


def test_unparseable_float_and_bool(ws, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "customer_id,latitude,accepts_email_marketing\nc1,52.5,yes\nc2,north,no\nc3,1.0,maybe\n",
    )
    rep = load(ws, f, table="customers")
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 2)
    c = by_key(ws, "customers", "customer_id")
    assert c["c1"]["latitude"] == 52.5 and c["c1"]["accepts_email_marketing"] is True
    reasons = {r["raw_json"]["customer_id"]: r["reason"] for r in qrows(ws)}
    assert "latitude" in reasons["c2"] and "north" in reasons["c2"]
    assert "accepts_email_marketing" in reasons["c3"] and "maybe" in reasons["c3"]


# --------------------------------------------------------------------------- lost_id


def test_lost_id_scientific_notation(ws, tmp_path):
    f = write(tmp_path / "c.csv", "customer_id,email\n7.02255E+12,a@x.com\n7022551000002,b@x.com\n")
    rep = load(ws, f, table="customers")
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 1)
    assert rep.quarantined == {"lost_id": 1}
    assert list(by_key(ws, "customers", "customer_id")) == ["7022551000002"]
    (q,) = qrows(ws)
    assert q["rule"] == "lost_id" and q["position"] == 1
    assert "7.02255E+12" in q["reason"] and "scientific notation" in q["reason"]
    assert q["raw_json"] == {"customer_id": "7.02255E+12", "email": "a@x.com"}


# --------------------------------------------------------------------------- duplicate_key


def test_duplicate_customers_newest_updated_at_survives(ws, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "customer_id,email,updated_at\n"
        "c1,old@x.com,2024-01-01 00:00:00\n"  # row 1
        "c1,new@x.com,2024-03-01 00:00:00\n"  # row 2: newest -> kept
        "c1,mid@x.com,2024-02-01 00:00:00\n"  # row 3
        "c2,a@x.com,2024-01-01 00:00:00\n",  # row 4
    )
    rep = load(ws, f, table="customers")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (4, 2, 2)
    assert rep.quarantined == {"duplicate_key": 2}
    c = by_key(ws, "customers", "customer_id")
    assert c["c1"]["email"] == "new@x.com"
    assert c["c1"]["updated_at"] == ts("2024-03-01 00:00:00")
    q = qrows(ws)
    assert [r["position"] for r in q] == [1, 3]
    assert [r["raw_json"]["email"] for r in q] == ["old@x.com", "mid@x.com"]
    for r in q:
        assert r["rule"] == "duplicate_key"
        assert "c1" in r["reason"] and "row 2" in r["reason"] and "kept" in r["reason"]


def test_duplicate_orders_last_row_survives(ws, tmp_path):
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at,total\n"
        "o1,c1,2024-01-02 00:00:00,20.00\n"  # row 1
        "o2,c1,2024-01-03 00:00:00,5.00\n"  # row 2
        "o1,c1,2024-01-01 00:00:00,10.00\n",  # row 3: last -> kept (orders have no survivor column)
    )
    rep = load(ws, f, table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 1)
    assert rep.quarantined == {"duplicate_key": 1}
    o = by_key(ws, "orders", "order_id")
    assert o["o1"]["total"] == Decimal("10.00")
    assert o["o1"]["ordered_at"] == ts("2024-01-01 00:00:00")
    (q,) = qrows(ws)
    assert q["position"] == 1 and q["raw_json"]["total"] == "20.00"
    assert "row 3" in q["reason"]


def test_duplicate_order_lines_by_composite_key(ws, tmp_path):
    load(
        ws,
        write(tmp_path / "o.csv", "order_id,customer_id,ordered_at\no1,c1,2024-01-01 00:00:00\n"),
        table="orders",
    )
    f = write(
        tmp_path / "l.csv",
        "order_id,line_no,sku,quantity,unit_price\n"
        "o1,1,A,1,1.00\n"
        "o1,2,B,1,2.00\n"
        "o1,1,C,3,3.00\n",  # same (o1, 1): last row wins
    )
    rep = load(ws, f, table="order_lines")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 1)
    assert rep.quarantined == {"duplicate_key": 1}
    assert sorted(fetch(ws, "SELECT line_no, sku, quantity FROM order_lines")) == [
        (1, "C", 3),
        (2, "B", 1),
    ]


def test_duplicate_attributes_newest_observed_at_survives(ws, tmp_path):
    f = write(
        tmp_path / "a.csv",
        "customer_id,key,value,source,observed_at\n"
        "c1,interest,hiking,survey,2024-05-01 00:00:00\n"
        "c1,interest,cooking,survey,2024-01-01 00:00:00\n"
        "c1,interest,reading,crm,2024-01-01 00:00:00\n",
    )
    rep = load(ws, f, table="attributes")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 1)
    assert sorted(fetch(ws, "SELECT source, value FROM attributes")) == [
        ("crm", "reading"),
        ("survey", "hiking"),
    ]
    (q,) = qrows(ws)
    assert q["rule"] == "duplicate_key" and q["position"] == 2 and "row 1" in q["reason"]


# --------------------------------------------------------------------------- future_date


def test_future_dates_quarantined_beyond_tolerance(ws, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    soon = (now + timedelta(hours=12)).strftime("%Y-%m-%d %H:%M:%S")  # within 1 day
    later = (now + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at\n"
        "o1,c1,2024-01-01 00:00:00\n"
        f"o2,c1,{soon}\n"
        f"o3,c1,{later}\n"
        "o4,c1,2999-01-01 00:00:00\n",
    )
    rep = load(ws, f, table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 2)
    assert rep.quarantined == {"future_date": 2}
    assert sorted(by_key(ws, "orders", "order_id")) == ["o1", "o2"]
    q = qrows(ws)
    assert [r["raw_json"]["order_id"] for r in q] == ["o3", "o4"]
    assert all(r["rule"] == "future_date" and "ordered_at" in r["reason"] for r in q)
    assert "2999-01-01" in q[1]["reason"]


def test_future_event_quarantined(ws, tmp_path):
    f = write(
        tmp_path / "e.csv",
        "event_id,ts,type\ne1,2024-01-01 00:00:00,page_view\ne2,2999-01-01 00:00:00,page_view\n",
    )
    rep = load(ws, f, table="events")
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 1)
    assert rep.quarantined == {"future_date": 1}
    (q,) = qrows(ws)
    assert q["position"] == 2 and q["raw_json"]["event_id"] == "e2"


# --------------------------------------------------------------------------- unknown_currency

ORDERS_FX = (
    "order_id,customer_id,ordered_at,currency,subtotal,total,refunded\n"
    "o1,c1,2024-01-01 00:00:00,EUR,10.00,10.00,2.50\n"
    "o2,c1,2024-01-01 00:00:00,USD,7.00,7.00,0.00\n"
    "o3,c1,2024-01-01 00:00:00,usd,3.00,3.00,0.00\n"
)


def test_unknown_currency_quarantined_without_rate(ws, tmp_path):
    rep = load(ws, write(tmp_path / "o.csv", ORDERS_FX), table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 1)
    assert rep.quarantined == {"unknown_currency": 1}
    assert sorted(by_key(ws, "orders", "order_id")) == ["o2", "o3"]
    (q,) = qrows(ws)
    assert q["rule"] == "unknown_currency" and q["position"] == 1
    assert "EUR" in q["reason"] and q["raw_json"]["currency"] == "EUR"


def test_currency_converted_with_fx_rate(make_ws, tmp_path):
    ws = make_ws("[ingest.fx_rates]\nEUR = 1.08\n")
    rep = load(ws, write(tmp_path / "o.csv", ORDERS_FX), table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (3, 0)
    assert rep.repaired.get("currency_converted") == 1
    o = by_key(ws, "orders", "order_id")
    # 10.00 EUR x 1.08 = 10.80 USD; 2.50 x 1.08 = 2.70
    assert o["o1"]["total"] == Decimal("10.80")
    assert o["o1"]["subtotal"] == Decimal("10.80")
    assert o["o1"]["refunded"] == Decimal("2.70")
    assert (o["o1"]["currency"], o["o1"]["original_currency"], o["o1"]["fx_rate"]) == (
        "USD",
        "EUR",
        1.08,
    )
    assert (o["o2"]["total"], o["o2"]["original_currency"], o["o2"]["fx_rate"]) == (
        Decimal("7.00"),
        "USD",
        1.0,
    )
    assert o["o3"]["original_currency"] == "USD"


def test_source_currency_applies_when_file_has_no_currency_column(make_ws, tmp_path):
    ws = make_ws("[ingest.fx_rates]\nGBP = 1.25\n")
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at,total\no1,c1,2024-01-01 00:00:00,8.00\n",
    )
    load(ws, f, table="orders", currency="GBP")
    o = by_key(ws, "orders", "order_id")["o1"]
    assert (o["total"], o["original_currency"], o["fx_rate"]) == (Decimal("10.00"), "GBP", 1.25)


# --------------------------------------------------------------------------- order lines

ONE_ORDER = "order_id,customer_id,ordered_at\no1,c1,2024-01-01 00:00:00\n"


def test_negative_price_quarantined_return_line_kept(ws, tmp_path):
    load(ws, write(tmp_path / "o.csv", ONE_ORDER), table="orders")
    f = write(
        tmp_path / "l.csv",
        "order_id,line_no,sku,quantity,unit_price\n"
        "o1,1,A,2,5.00\n"
        "o1,2,B,1,-5.00\n"
        "o1,3,C,-1,5.00\n"
        "o1,4,D,1,0.00\n",
    )
    rep = load(ws, f, table="order_lines")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (4, 3, 1)
    assert rep.quarantined == {"negative_price": 1}
    assert rep.kept == {"return_line": 1}
    assert sorted(fetch(ws, "SELECT line_no, quantity, unit_price FROM order_lines")) == [
        (1, 2, Decimal("5.00")),
        (3, -1, Decimal("5.00")),
        (4, 1, Decimal("0.00")),
    ]
    (q,) = qrows(ws)
    assert (q["position"], q["rule"]) == (2, "negative_price")
    assert "-5.00" in q["reason"] and q["raw_json"]["sku"] == "B"


def test_unknown_order_lines_quarantined(ws, tmp_path):
    load(ws, write(tmp_path / "o.csv", ONE_ORDER), table="orders")
    f = write(
        tmp_path / "l.csv",
        "order_id,line_no,sku,quantity,unit_price\no1,1,A,1,1.00\no9,1,B,1,2.00\no9,2,C,1,3.00\n",
    )
    rep = load(ws, f, table="order_lines")
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 2)
    assert rep.quarantined == {"unknown_order": 2}
    assert fetch(ws, "SELECT order_id, sku FROM order_lines") == [("o1", "A")]
    q = qrows(ws)
    assert [r["position"] for r in q] == [2, 3]
    assert all(r["rule"] == "unknown_order" and "o9" in r["reason"] for r in q)


def test_lines_follow_the_currency_of_their_order(make_ws, tmp_path):
    ws = make_ws("[ingest.fx_rates]\nEUR = 1.5\n")
    load(
        ws,
        write(
            tmp_path / "o.csv",
            "order_id,customer_id,ordered_at,currency\no1,c1,2024-01-01 00:00:00,EUR\n",
        ),
        table="orders",
    )
    load(
        ws,
        write(tmp_path / "l.csv", "order_id,line_no,quantity,unit_price\no1,1,1,4.00\n"),
        table="order_lines",
    )
    # 4.00 EUR x 1.5 = 6.00 USD
    assert one(ws, "SELECT unit_price FROM order_lines") == Decimal("6.00")


# --------------------------------------------------------------------------- customers of orders


def test_stub_customer_created_for_unknown_customer(ws, tmp_path):
    load(ws, write(tmp_path / "c.csv", "customer_id,email\nc1,a@x.com\n"), table="customers")
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at\n"
        "o1,c1,2024-01-01 00:00:00\n"
        "o2,c9,2024-02-01 10:00:00\n"
        "o3,c9,2024-01-15 08:00:00\n",
    )
    rep = load(ws, f, table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (3, 0)
    assert rep.repaired == {"stub_customer": 2}  # two orders of the unknown customer
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == ["c1", "c9"]
    assert c["c1"]["is_stub"] is False
    assert c["c9"]["is_stub"] is True
    assert c["c9"]["created_at"] == ts("2024-01-15 08:00:00")  # its first order
    o = by_key(ws, "orders", "order_id")
    assert o["o2"]["customer_id"] == "c9" and o["o2"]["is_guest"] is False
    assert rep.tables["customers"]["inserted"] == 1


def test_unknown_customer_quarantined_by_policy(ws, tmp_path):
    load(ws, write(tmp_path / "c.csv", "customer_id,email\nc1,a@x.com\n"), table="customers")
    ws = reopen(ws, '[ingest]\non_unknown_customer = "quarantine"\n')
    try:
        f = write(
            tmp_path / "o.csv",
            "order_id,customer_id,ordered_at\n"
            "o1,c1,2024-01-01 00:00:00\no2,c9,2024-02-01 00:00:00\n",
        )
        rep = load(ws, f, table="orders")
        assert (rep.rows_loaded, rep.rows_quarantined) == (1, 1)
        assert rep.quarantined == {"unknown_customer": 1}
        assert "stub_customer" not in rep.repaired
        assert list(by_key(ws, "orders", "order_id")) == ["o1"]
        assert list(by_key(ws, "customers", "customer_id")) == ["c1"]
        (q,) = qrows(ws)
        assert (q["position"], q["rule"]) == (2, "unknown_customer")
        assert "c9" in q["reason"] and q["raw_json"]["order_id"] == "o2"
    finally:
        ws.close()


GUEST_ORDERS = (
    "order_id,customer_id,email,ordered_at\n"
    "o1,, ANN@x.com ,2024-01-01 00:00:00\n"  # guest, e-mail matches c1 (case-insensitive)
    "o2,,zed@x.com,2024-01-02 00:00:00\n"  # guest, e-mail unknown -> stub
    "o3,,,2024-01-03 00:00:00\n"  # guest, no e-mail -> anonymous
    "o4,c1,,2024-01-04 00:00:00\n"  # known customer
)


def test_guest_orders_identified_stubbed_or_anonymous(ws, tmp_path):
    load(ws, write(tmp_path / "c.csv", "customer_id,email\nc1,Ann@X.com\n"), table="customers")
    rep = load(ws, write(tmp_path / "o.csv", GUEST_ORDERS), table="orders")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (4, 4, 0)
    assert rep.repaired == {"guest_identified": 1, "guest_stub": 1}
    assert rep.kept == {"guest_anonymous": 1}
    o = by_key(ws, "orders", "order_id")
    stub_id = "guest-" + hashlib.sha256(b"zed@x.com").hexdigest()[:16]
    assert (o["o1"]["customer_id"], o["o1"]["is_guest"], o["o1"]["email"]) == (
        "c1",
        True,
        "ann@x.com",
    )
    assert (o["o2"]["customer_id"], o["o2"]["is_guest"]) == (stub_id, True)
    assert (o["o3"]["customer_id"], o["o3"]["is_guest"]) == (None, True)
    assert (o["o4"]["customer_id"], o["o4"]["is_guest"]) == ("c1", False)
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == sorted(["c1", stub_id])
    assert (c[stub_id]["email"], c[stub_id]["is_stub"]) == ("zed@x.com", True)
    assert c[stub_id]["created_at"] == ts("2024-01-02 00:00:00")
    assert c["c1"]["is_stub"] is False


# --------------------------------------------------------------------------- statuses


def test_cancelled_and_refunded_statuses(ws, tmp_path):
    f = write(
        tmp_path / "o.csv",
        "order_id,customer_id,ordered_at,status,total,refunded\n"
        "o1,c1,2024-01-01 00:00:00,voided,5.00,0.00\n"
        "o2,c1,2024-01-01 00:00:00,Canceled,5.00,0.00\n"
        "o3,c1,2024-01-01 00:00:00,refunded,5.00,5.00\n"
        "o4,c1,2024-01-01 00:00:00,returned,5.00,5.00\n"
        "o5,c1,2024-01-01 00:00:00,paid,5.00,0.00\n"
        "o6,c1,2024-01-01 00:00:00,,5.00,0.00\n"
        "o7,c1,2024-01-01 00:00:00,cancelled,5.00,0.00\n",
    )
    rep = load(ws, f, table="orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (7, 0)
    assert rep.kept == {"cancelled_order": 3, "refunded_order": 2}
    status = {k: v["status"] for k, v in by_key(ws, "orders", "order_id").items()}
    assert status == {
        "o1": "cancelled",
        "o2": "cancelled",
        "o3": "refunded",
        "o4": "returned",
        "o5": "placed",
        "o6": "placed",
        "o7": "cancelled",
    }


# --------------------------------------------------------------------------- line-level exports

ERP_TOML = """
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


def test_totals_derived_for_line_level_export(make_ws):
    ws = make_ws(ERP_TOML)
    write(
        ws.root / "erp.csv",
        "Beleg,Kunde,Datum,Artikel,Menge,Preis\n"
        "B1,K1,2024-02-01 10:00:00,A,2,10.00\n"
        "B1,K1,2024-02-01 10:00:00,B,1,5.50\n"
        "B2,K2,2024-02-02 11:00:00,C,3,1.25\n",
    )
    rep = ingest_sources(ws).sources[0]
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (3, 3, 0)
    assert rep.repaired == {"totals_derived": 2, "stub_customer": 2}
    o = by_key(ws, "orders", "order_id")
    # B1: 2 x 10.00 + 1 x 5.50 = 25.50, 3 units; B2: 3 x 1.25 = 3.75, 3 units
    assert (o["B1"]["subtotal"], o["B1"]["total"], o["B1"]["items_count"]) == (
        Decimal("25.50"),
        Decimal("25.50"),
        3,
    )
    assert (o["B2"]["subtotal"], o["B2"]["total"], o["B2"]["items_count"]) == (
        Decimal("3.75"),
        Decimal("3.75"),
        3,
    )
    assert o["B1"]["customer_id"] == "K1" and o["B1"]["ordered_at"] == ts("2024-02-01 10:00:00")
    assert sorted(fetch(ws, "SELECT order_id, line_no, sku FROM order_lines")) == [
        ("B1", 1, "A"),
        ("B1", 2, "B"),
        ("B2", 1, "C"),
    ]
    assert rep.tables["orders"] == {"inserted": 2, "updated": 0}
    assert rep.tables["order_lines"] == {"inserted": 3, "updated": 0}


def test_line_level_bad_order_takes_its_lines_along(make_ws):
    ws = make_ws(ERP_TOML)
    write(
        ws.root / "erp.csv",
        "Beleg,Kunde,Datum,Artikel,Menge,Preis\n"
        "B1,K1,2024-02-01 10:00:00,A,2,10.00\n"
        "B2,K2,not a date,C,3,1.25\n"
        "B2,K2,,D,1,1.00\n",
    )
    rep = ingest_sources(ws).sources[0]
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (3, 1, 2)
    assert rep.quarantined == {"unparseable_value": 2}
    assert list(by_key(ws, "orders", "order_id")) == ["B1"]
    q = qrows(ws)
    assert [r["position"] for r in q] == [2, 3]
    assert all("B2" in r["reason"] and "not a date" in r["reason"] for r in q)


# --------------------------------------------------------------------------- events


def test_event_id_derived_and_stable(ws, tmp_path):
    f = write(
        tmp_path / "e.csv",
        "anonymous_id,ts,type,url\n"
        "a1,2024-01-01 10:00:00,page_view,/home\n"
        "a1,2024-01-01 10:00:05,page_view,/cart\n",
    )
    rep = load(ws, f, table="events")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 0)
    assert rep.repaired == {"event_id_derived": 2}
    ids = dict(fetch(ws, "SELECT url, event_id FROM events"))
    assert len(set(ids.values())) == 2 and all(ids.values())
    # loading again derives the same ids: nothing is added
    load(ws, f, table="events", force=True)
    assert dict(fetch(ws, "SELECT url, event_id FROM events")) == ids


def test_identical_events_without_id_are_duplicates(ws, tmp_path):
    f = write(
        tmp_path / "e.csv",
        "anonymous_id,ts,type\n"
        "a1,2024-01-01 10:00:00,page_view\na1,2024-01-01 10:00:00,page_view\n",
    )
    rep = load(ws, f, table="events")
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 1)
    assert rep.quarantined == {"duplicate_key": 1}
    assert one(ws, "SELECT count(*) FROM events") == 1


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2024-01-15 10:00:00", "Europe/Berlin", "2024-01-15 09:00:00"),  # CET, +01:00
        ("2024-07-15 10:00:00", "Europe/Berlin", "2024-07-15 08:00:00"),  # CEST, +02:00
        ("2024-01-15 10:00:00", "UTC", "2024-01-15 10:00:00"),
        ("2024-03-09 07:30:00", "America/Los_Angeles", "2024-03-09 15:30:00"),  # PST
        ("2024-05-31 23:06:04 -0700", "Europe/Berlin", "2024-06-01 06:06:04"),  # offset wins
        ("2024-05-31T23:06:04-07:00", "UTC", "2024-06-01 06:06:04"),
        ("2024-05-31T23:06:04Z", "Europe/Berlin", "2024-05-31 23:06:04"),
        ("2024-12-31 23:30:00 +0530", "UTC", "2024-12-31 18:00:00"),
        ("2024-05-31T23:06:04.5-07:00", "UTC", "2024-06-01 06:06:04.5"),
        # BigQuery writes TIMESTAMP columns with a zone name: the name wins over the default
        ("2024-05-31 23:06:04 UTC", "Europe/Berlin", "2024-05-31 23:06:04"),
    ],
)
def test_timestamps_to_utc(ws, tmp_path, value, tz, expected):
    f = write(tmp_path / "o.csv", f"order_id,customer_id,ordered_at\no1,c1,{value}\n")
    rep = load(ws, f, table="orders", timezone=tz)
    assert rep.rows_loaded == 1, qrows(ws)
    assert one(ws, "SELECT ordered_at FROM orders") == ts(expected)


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("UTC", "2024-03-05 00:00:00"), ("Europe/Berlin", "2024-03-04 23:00:00")],
)
def test_explicit_format_on_a_configured_source(make_ws, tz, expected):
    ws = make_ws(
        "[sources.shop]\n"
        'path = "o.csv"\n'
        'table = "orders"\n'
        f'timezone = "{tz}"\n'
        'columns = { order_id = "No", customer_id = "Cust", '
        'ordered_at = { column = "Date", format = "%d/%m/%Y" } }\n'
    )
    write(ws.root / "o.csv", "No,Cust,Date\nA1,c1,05/03/2024\nA2,c1,31/02/2024\n")
    rep = ingest_sources(ws).sources[0]
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 1)
    assert by_key(ws, "orders", "order_id")["A1"]["ordered_at"] == ts(expected)
    (q,) = qrows(ws)
    assert q["rule"] == "unparseable_value" and "31/02/2024" in q["reason"]


def test_date_column_with_format(make_ws):
    ws = make_ws(
        "[sources.crm]\n"
        'path = "c.csv"\n'
        'table = "customers"\n'
        'date_format = "%d.%m.%Y"\n'
        'columns = { customer_id = "Id", birth_date = "Geburtstag" }\n'
    )
    write(ws.root / "c.csv", "Id,Geburtstag\nk1,07.11.1985\n")
    ingest_sources(ws)
    from datetime import date

    assert one(ws, "SELECT birth_date FROM customers") == date(1985, 11, 7)


# --------------------------------------------------------------------------- RULES catalogue


def test_every_rule_has_a_known_action_and_a_description():
    assert set(RULES) >= {
        "malformed_row",
        "invalid_encoding",
        "missing_value",
        "unparseable_value",
        "lost_id",
        "duplicate_key",
        "future_date",
        "unknown_currency",
        "negative_price",
        "unknown_customer",
        "unknown_order",
        "stub_customer",
        "guest_identified",
        "guest_stub",
        "currency_converted",
        "totals_derived",
        "event_id_derived",
        "guest_anonymous",
        "return_line",
        "cancelled_order",
        "refunded_order",
    }
    for rule, (action, text) in RULES.items():
        assert action in ("quarantine", "repair", "kept"), rule
        assert text.strip(), rule


@pytest.mark.parametrize(
    ("first_line", "rule"),
    [
        ("B1,K1,2024-02-01 10:00:00,A,1,2,-10.00", "negative_price"),
        ("B1,K1,2024-02-01 10:00:00,A,2,2,10.00", "duplicate_key"),
    ],
)
def test_line_level_unknown_customer_counts_each_row_once(make_ws, first_line, rule):
    """Order B1 (customer K1 unknown, policy quarantine) has 3 line rows; row 1 already
    fails a line rule. Each row must be quarantined exactly once: 3 in, 0 loaded, 3 out."""
    ws = make_ws(
        '[ingest]\non_unknown_customer = "quarantine"\n'
        + ERP_TOML.replace('sku = "Artikel"', 'sku = "Artikel"\nline_no = "Pos"')
    )
    write(
        ws.root / "erp.csv",
        "Beleg,Kunde,Datum,Artikel,Pos,Menge,Preis\n"
        f"{first_line}\n"
        "B1,K1,2024-02-01 10:00:00,B,1,1,5.50\n"
        "B1,K1,2024-02-01 10:00:00,C,2,1,1.00\n",
    )
    rep = ingest_sources(ws).sources[0]
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (3, 0, 3)
    q = qrows(ws)
    assert [r["position"] for r in q] == [1, 2, 3]
    assert q[0]["rule"] == rule
    assert one(ws, "SELECT count(*) FROM orders") == 0


def test_guest_email_prefers_the_real_customer_over_an_earlier_stub(ws, tmp_path):
    """o1 (guest, ann@x.com) arrives before Ann is known: a guest stub is created. Ann (u1)
    is loaded afterwards. A new guest order with her e-mail belongs to u1, not to the stub."""
    load(
        ws,
        write(
            tmp_path / "o1.csv", "order_id,customer_id,email,ordered_at\no1,,ann@x.com,2024-01-01\n"
        ),
        table="orders",
    )
    load(ws, write(tmp_path / "c.csv", "customer_id,email\nu1,Ann@x.com\n"), table="customers")
    rep = load(
        ws,
        write(
            tmp_path / "o2.csv", "order_id,customer_id,email,ordered_at\no2,,ann@x.com,2024-01-02\n"
        ),
        table="orders",
    )
    assert rep.repaired == {"guest_identified": 1}
    assert one(ws, "SELECT customer_id FROM orders WHERE order_id = 'o2'") == "u1"


def test_line_level_order_date_with_format_and_timezone(make_ws):
    ws = make_ws(
        ERP_TOML.replace(
            'ordered_at = "Datum"', 'ordered_at = { column = "Datum", format = "%d.%m.%Y" }'
        ).replace('table = "order_lines"', 'table = "order_lines"\ntimezone = "Europe/Berlin"')
    )
    write(ws.root / "erp.csv", "Beleg,Kunde,Datum,Artikel,Menge,Preis\nB1,K1,01.02.2024,A,1,1.00\n")
    rep = ingest_sources(ws).sources[0]
    assert rep.rows_loaded == 1, qrows(ws)
    # midnight in Berlin (CET, +01:00) is 23:00 UTC the day before
    assert one(ws, "SELECT ordered_at FROM orders") == ts("2024-01-31 23:00:00")
