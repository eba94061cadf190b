"""Built-in ga4_events mapping on tests/data/formats/ga4_events.ndjson (values from its README)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from custseg.workspace import init_workspace, open_workspace

from .conftest import FORMATS, fetch, load, one, qrows, write

GA4 = FORMATS / "ga4_events.ndjson"


@pytest.fixture(scope="module")
def ga4_ws(tmp_path_factory):
    """One workspace with the GA4 sample loaded, shared by the read-only tests below."""
    root = tmp_path_factory.mktemp("ga4") / "ws"
    init_workspace(root)
    ws = open_workspace(root)
    rep = load(ws, GA4, mapping="ga4_events")
    yield ws, rep
    ws.close()


def test_counts_and_ids(ga4_ws):
    ws, rep = ga4_ws
    assert rep.table == "events" and rep.mapping == "ga4_events"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (25, 25, 0)
    assert rep.repaired == {"event_id_derived": 25}
    assert one(ws, "SELECT count(DISTINCT event_id) FROM events") == 25
    assert fetch(
        ws,
        "SELECT count(customer_id), count(*) - count(customer_id), "
        "count(DISTINCT anonymous_id) FROM events",
    ) == [(15, 10, 4)]


def test_event_types(ga4_ws):
    ws, _ = ga4_ws
    assert dict(fetch(ws, "SELECT type, count(*) FROM events GROUP BY type")) == {
        "session": 5,
        "page_view": 5,
        "product_view": 4,
        "add_to_cart": 3,
        "checkout": 2,
        "purchase": 2,
        "search": 1,
        "user_engagement": 3,
    }


def test_devices_and_visitors(ga4_ws):
    ws, _ = ga4_ws
    assert dict(fetch(ws, "SELECT device, count(*) FROM events GROUP BY device")) == {
        "desktop": 11,
        "mobile": 8,
        "tablet": 6,
    }
    visitors = fetch(
        ws,
        "SELECT anonymous_id, any_value(customer_id), count(*), "
        "list(DISTINCT device), list(DISTINCT os), list(DISTINCT browser), "
        "list(DISTINCT source), list(DISTINCT medium) FROM events GROUP BY anonymous_id",
    )
    assert sorted(visitors, key=lambda r: r[0]) == sorted(
        [
            (
                "2083749261.1717200000",
                "7985351721238",
                7,
                ["desktop"],
                ["Macintosh"],
                ["Chrome"],
                ["google"],
                ["organic"],
            ),
            (
                "1739471022.1717400000",
                "7985351721239",
                8,
                ["mobile"],
                ["iOS"],
                ["Safari"],
                ["newsletter"],
                ["email"],
            ),
            (
                "955201384.1717990000",
                None,
                4,
                ["desktop"],
                ["Windows"],
                ["Edge"],
                ["(direct)"],
                ["(none)"],
            ),
            (
                "310984527.1718300000",
                None,
                6,
                ["tablet"],
                ["Android"],
                ["Chrome"],
                ["example.org"],
                ["referral"],
            ),
        ],
        key=lambda r: r[0],
    )


def test_timestamps_are_utc_from_event_timestamp(ga4_ws):
    ws, _ = ga4_ws
    first, last = fetch(ws, "SELECT min(ts), max(ts) FROM events")[0]
    assert first == datetime(2024, 6, 1, 5, 58, 10, 100000, tzinfo=UTC)  # 1717221490100000 µs
    assert last == datetime(2024, 6, 15, 19, 0, 0, 300000, tzinfo=UTC)  # 1718478000300000 µs
    # Ada's 7 events have event_date 20240531 but fall on 2024-06-01 in UTC
    assert fetch(
        ws, "SELECT DISTINCT CAST(ts AS DATE) FROM events WHERE customer_id = '7985351721238'"
    ) == [(date(2024, 6, 1),)]
    # London's first 4 events fall on 2024-06-14 in UTC
    london = [
        r[0]
        for r in fetch(
            ws,
            "SELECT CAST(ts AS DATE) FROM events WHERE anonymous_id = "
            "'310984527.1718300000' ORDER BY ts",
        )
    ]
    assert london[:4] == [date(2024, 6, 14)] * 4


def test_product_ids_of_single_item_events(ga4_ws):
    ws, _ = ga4_ws
    views = dict(
        fetch(ws, "SELECT anonymous_id, product_id FROM events WHERE type = 'product_view'")
    )
    assert views == {
        "2083749261.1717200000": "SOCK-WL-M",
        "1739471022.1717400000": "HAT-MR",
        "955201384.1717990000": "SHIRT-LN-M",
        "310984527.1718300000": "JKT-RN-M",
    }
    assert sorted(
        r[0] for r in fetch(ws, "SELECT product_id FROM events WHERE type = 'add_to_cart'")
    ) == ["HAT-MR", "JKT-RN-M", "SOCK-WL-M"]


def test_url_from_page_location(ga4_ws):
    ws, _ = ga4_ws
    assert fetch(ws, "SELECT url FROM events WHERE type = 'search'") == [
        ("https://shop.example.com/search?q=beanie",)
    ]
    assert one(ws, "SELECT count(*) FROM events WHERE url IS NULL") == 0


def test_timestamp_as_string_or_int_gives_the_same_ts(ws, tmp_path):
    """event_timestamp is a JSON string in some GA4 rows and an int in others."""
    f = write(
        tmp_path / "g.ndjson",
        '{"event_timestamp":"1717221490100000","event_name":"page_view","user_pseudo_id":"a"}\n'
        '{"event_timestamp":1717221490200000,"event_name":"page_view","user_pseudo_id":"a"}\n',
    )
    rep = load(ws, f, mapping="ga4_events")
    assert rep.rows_loaded == 2
    assert [r[0] for r in fetch(ws, "SELECT ts FROM events ORDER BY ts")] == [
        datetime(2024, 6, 1, 5, 58, 10, 100000, tzinfo=UTC),
        datetime(2024, 6, 1, 5, 58, 10, 200000, tzinfo=UTC),
    ]


def test_ga4_broken_line_quarantined_others_loaded(ws, tmp_path):
    lines = GA4.read_text(encoding="utf-8").splitlines()[:5]
    lines[2] = lines[2][: len(lines[2]) // 2]  # cut line 3 in the middle of the object
    f = write(tmp_path / "g.ndjson", "\n".join(lines) + "\n")
    rep = load(ws, f, mapping="ga4_events")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (5, 4, 1)
    (q,) = qrows(ws)
    assert (q["position"], q["position_kind"], q["rule"]) == (3, "line", "malformed_row")
    assert q["raw"] == lines[2]
