"""custseg.ingest.readers: CSV options, compression, Parquet, JSON, NDJSON, empty inputs."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custseg.config import CsvOptions
from custseg.exceptions import DataError, SchemaError, SourceReadError, UsageError
from custseg.ingest.readers import file_digest, infer_format

from .conftest import by_key, load, one, qrows, write


def test_semicolon_delimiter(ws, tmp_path):
    f = write(
        tmp_path / "c.csv", "customer_id;email;city\nc1;a@x.com;Köln\nc2;b@x.com;Bonn, Rhein\n"
    )
    rep = load(ws, f, table="customers", csv=CsvOptions(delimiter=";"))
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 0)
    c = by_key(ws, "customers", "customer_id")
    assert c["c1"]["city"] == "Köln"
    assert c["c2"]["city"] == "Bonn, Rhein"


def test_quoted_fields_with_newlines_delimiters_and_quotes(ws, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "customer_id,occupation,household,city\n"
        'c1,"Professor, Computer Science","two adults\nwith ""kids""",Boston\n'
        "c2,Analyst,single,Paris\n",
    )
    rep = load(ws, f, table="customers")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (2, 2, 0)
    c = by_key(ws, "customers", "customer_id")
    assert c["c1"]["occupation"] == "Professor, Computer Science"
    assert c["c1"]["household"] == 'two adults\nwith "kids"'
    assert c["c1"]["city"] == "Boston"
    assert c["c2"]["city"] == "Paris"


def test_crlf_line_ends(ws, tmp_path):
    f = write(tmp_path / "c.csv", "customer_id,city\r\nc1,Wien\r\nc2,Graz\r\n")
    load(ws, f, table="customers")
    assert sorted(
        by_key(ws, "customers", "customer_id", "customer_id, city").values(),
        key=lambda d: d["customer_id"],
    ) == [{"customer_id": "c1", "city": "Wien"}, {"customer_id": "c2", "city": "Graz"}]


def test_latin1_encoding_option(ws, tmp_path):
    f = write(tmp_path / "c.csv", "customer_id,first_name,city\nc1,José,Zürich\n".encode("latin-1"))
    rep = load(ws, f, table="customers", csv=CsvOptions(encoding="latin-1"))
    assert rep.rows_loaded == 1
    c = by_key(ws, "customers", "customer_id")["c1"]
    assert (c["first_name"], c["city"]) == ("José", "Zürich")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("customer_id,first_name\nc2,José\nc1,Ann\n", 2),  # bad byte mid-file
        ("customer_id,first_name\nc1,Ann\nc2,José\n", 3),  # bad byte in the last 4 bytes
    ],
    ids=["middle", "at_end"],
)
def test_latin1_bytes_in_a_small_utf8_file_are_refused_and_the_line_named(ws, tmp_path, text, line):
    """The whole file fits in the reader's sniff window, so a byte that is not UTF-8 is a
    wrong encoding, wherever it is (not a character cut by the window)."""
    f = write(tmp_path / "c.csv", text.encode("latin-1"))
    with pytest.raises(SourceReadError) as e:
        load(ws, f, table="customers")
    assert f"line {line}" in str(e.value) and "latin-1" in str(e.value)
    assert one(ws, "SELECT count(*) FROM customers") == 0


def test_utf8_bom_is_not_part_of_the_first_column(ws, tmp_path):
    f = write(tmp_path / "c.csv", "\ufeffcustomer_id,email\nc1,a@x.com\n".encode())
    rep = load(ws, f, table="customers")
    assert rep.rows_loaded == 1
    assert one(ws, "SELECT customer_id FROM customers") == "c1"


@pytest.mark.parametrize("name", ["c.csv.gz", "c.csv"])  # gzip detected by suffix and by magic
def test_gzip_csv(ws, tmp_path, name):
    f = write(tmp_path / name, gzip.compress(b"customer_id,email\nc1,A@X.com\nc2,b@x.com\n"))
    rep = load(ws, f, table="customers")
    assert (rep.rows_in, rep.rows_loaded) == (2, 2)
    assert by_key(ws, "customers", "customer_id")["c1"]["email"] == "a@x.com"


def test_skip_rows_option(ws, tmp_path):
    f = write(tmp_path / "c.csv", "Export of 2024-06-01\ncustomer_id,email\nc1,a@x.com\n")
    rep = load(ws, f, table="customers", csv=CsvOptions(skip_rows=1))
    assert rep.rows_loaded == 1
    assert one(ws, "SELECT email FROM customers WHERE customer_id = 'c1'") == "a@x.com"


def test_parquet_typed_columns(ws, tmp_path):
    t = pa.table(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c2", None],
            "ordered_at": pa.array(
                [
                    datetime(2024, 1, 1, 10, tzinfo=UTC),
                    datetime(2024, 1, 2, 11, tzinfo=UTC),
                    datetime(2024, 1, 3, 12, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "total": pa.array(
                [Decimal("10.50"), Decimal("0.01"), Decimal("3.00")], pa.decimal128(10, 2)
            ),
            "items_count": pa.array([1, 2, 3], pa.int32()),
        }
    )
    f = tmp_path / "o.parquet"
    pq.write_table(t, f)
    rep = load(ws, f, table="orders")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (3, 3, 0)
    o = by_key(ws, "orders", "order_id")
    assert o["o1"]["ordered_at"] == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert o["o2"]["total"] == Decimal("0.01")
    assert o["o3"]["items_count"] == 3
    assert o["o3"]["customer_id"] is None and o["o3"]["is_guest"] is True


def test_parquet_naive_timestamps_use_the_source_timezone(ws, tmp_path):
    t = pa.table(
        {
            "event_id": ["e1"],
            "ts": pa.array([datetime(2024, 1, 15, 10, 0)], pa.timestamp("us")),
            "type": ["page_view"],
        }
    )
    pq.write_table(t, tmp_path / "e.parquet")
    load(ws, tmp_path / "e.parquet", table="events", timezone="Europe/Berlin")
    assert one(ws, "SELECT ts FROM events") == datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


def test_parquet_missing_id_position_is_the_record_number(ws, tmp_path):
    pq.write_table(
        pa.table({"customer_id": ["c1", None, "c3"], "email": ["a", "b", "c"]}),
        tmp_path / "c.parquet",
    )
    rep = load(ws, tmp_path / "c.parquet", table="customers")
    assert (rep.rows_loaded, rep.rows_quarantined) == (2, 1)
    (q,) = qrows(ws)
    assert (q["position"], q["position_kind"], q["rule"]) == (2, "record", "missing_value")
    assert q["raw_json"] == {"customer_id": None, "email": "b"}


def test_json_array(ws, tmp_path):
    recs = [
        {"event_id": "e1", "ts": "2024-01-01T10:00:00Z", "type": "page_view", "url": "/a"},
        {"event_id": "e2", "ts": "2024-01-01T10:00:05+02:00", "type": "search"},
        {"event_id": None, "ts": "2024-01-01T10:00:06Z", "type": "search"},
    ]
    f = write(tmp_path / "e.json", json.dumps(recs))
    rep = load(ws, f, table="events")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (3, 2, 1)
    e = by_key(ws, "events", "event_id")
    assert e["e1"]["url"] == "/a"
    assert e["e2"]["ts"] == datetime(2024, 1, 1, 8, 0, 5, tzinfo=UTC)
    assert e["e2"]["url"] is None
    (q,) = qrows(ws)
    assert (q["position"], q["position_kind"], q["rule"]) == (3, "record", "missing_value")


def test_json_object_wrapping_a_list_of_rows(ws, tmp_path):
    f = write(
        tmp_path / "c.json", json.dumps({"rows": [{"customer_id": "c1"}, {"customer_id": "c2"}]})
    )
    rep = load(ws, f, table="customers")
    assert rep.rows_loaded == 2


def test_ndjson_broken_line_quarantined_with_line_number(ws, tmp_path):
    f = write(
        tmp_path / "e.ndjson",
        '{"event_id":"e1","ts":"2024-01-01T10:00:00Z","type":"a"}\n'
        '{"event_id":"e2","ts":"2024-01-01T10:00:01Z","ty\n'
        "\n"
        '{"event_id":"e4","ts":"2024-01-01T10:00:02Z","type":"b"}\n'
        '"just a string"\n'
        '{"event_id":"e6","ts":"2024-01-01T10:00:03Z","type":"c"}\n',
    )
    rep = load(ws, f, table="events")
    # 5 records (the blank line 3 is no record): 2 broken, 3 loaded
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (5, 3, 2)
    assert rep.quarantined == {"malformed_row": 2}
    assert sorted(by_key(ws, "events", "event_id")) == ["e1", "e4", "e6"]
    q = qrows(ws)
    assert [(r["position"], r["position_kind"], r["rule"]) for r in q] == [
        (2, "line", "malformed_row"),
        (5, "line", "malformed_row"),
    ]
    assert q[0]["raw"] == '{"event_id":"e2","ts":"2024-01-01T10:00:01Z","ty'
    assert q[1]["raw"] == '"just a string"'


def test_ndjson_rule_positions_are_line_numbers(ws, tmp_path):
    f = write(
        tmp_path / "e.ndjson",
        '{"event_id":"e1","ts":"2024-01-01T10:00:00Z","type":"a"}\n'
        "{broken\n"
        '{"event_id":"e3","ts":"2999-01-01T10:00:00Z","type":"a"}\n',
    )
    load(ws, f, table="events")
    q = {r["rule"]: r for r in qrows(ws)}
    assert (q["malformed_row"]["position"], q["malformed_row"]["position_kind"]) == (2, "line")
    assert (q["future_date"]["position"], q["future_date"]["position_kind"]) == (3, "line")
    assert q["future_date"]["raw_json"]["event_id"] == "e3"


@pytest.mark.parametrize(
    "text",
    ["customer_id,email\nc1,a\n\nc2,b\n\n", "customer_id\nc1\n\nc2\n\n"],
    ids=["two_columns", "one_column"],
)
def test_blank_lines_are_not_records(ws, tmp_path, text):
    """Blank lines are skipped, whatever the number of columns (they are for 2 columns)."""
    rep = load(ws, write(tmp_path / "c.csv", text), table="customers")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (2, 2, 0)


def test_header_only_file_is_zero_rows_not_an_error(ws, tmp_path):
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at\n")
    rep = load(ws, f, table="orders")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (0, 0, 0)
    assert one(ws, "SELECT count(*) FROM orders") == 0
    assert one(ws, "SELECT count(*) FROM _loads") == 1


def test_empty_file_is_a_source_read_error(ws, tmp_path):
    f = write(tmp_path / "o.csv", "")
    with pytest.raises(SourceReadError) as e:
        load(ws, f, table="orders")
    assert isinstance(e.value, DataError)
    assert "empty" in str(e.value)
    assert one(ws, "SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize("text", ["\n\n  \n", "   "])
def test_blank_file_is_a_source_read_error(ws, tmp_path, text):
    with pytest.raises(SourceReadError):
        load(ws, write(tmp_path / "o.csv", text), table="orders")


def test_missing_file_and_folder(ws, tmp_path):
    # a FILE argument that does not exist is bad usage (exit 2), not bad data
    with pytest.raises(UsageError, match="does not exist"):
        load(ws, tmp_path / "nope.csv", table="orders")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(SourceReadError, match="folder"):
        load(ws, tmp_path / "d.csv", table="orders")


def test_duplicate_header_is_a_schema_error(ws, tmp_path):
    with pytest.raises(SchemaError, match="total"):
        load(ws, write(tmp_path / "o.csv", "order_id,total,total\no1,1,2\n"), table="orders")


def test_binary_file_refused(ws, tmp_path):
    f = write(tmp_path / "o.csv", b"order_id\x00\x01\x02\x00\x00garbage\n")
    with pytest.raises(SourceReadError, match="binary"):
        load(ws, f, table="orders")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.CSV.GZ", "csv"),
        ("a.tsv", "csv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.json", "json"),
        ("a.ndjson", "ndjson"),
        ("a.jsonl.gz", "ndjson"),
    ],
)
def test_infer_format(name, fmt):
    assert infer_format(name) == fmt


def test_infer_format_unknown_suffix():
    with pytest.raises(UsageError, match="format"):
        infer_format("data.xlsx")


def test_file_digest_is_sha256_of_the_bytes(tmp_path):
    import hashlib

    f = write(tmp_path / "x.bin", b"abc" * 1000)
    assert file_digest(f) == hashlib.sha256(b"abc" * 1000).hexdigest()
