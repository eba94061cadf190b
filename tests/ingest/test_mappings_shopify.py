"""Built-in Shopify mappings on the hand-written samples of tests/data/formats.

Every expected value is taken from tests/data/formats/README.md (worked out by hand there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from .conftest import FORMATS, by_key, fetch, load, one, qrows

D = Decimal
FX = "[ingest.fx_rates]\nEUR = 1.08\n"


def utc(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def customers_by_email(ws) -> dict:
    return by_key(ws, "customers", "email")


# --------------------------------------------------------------------------- customers

# (email, phone, first, last, country, postal_code, accepts_email, accepts_sms, tags)
V1 = [
    (
        "ada.lovelace@example.com",
        "+14155550101",
        "Ada",
        "Lovelace",
        "US",
        "94110",
        True,
        None,
        "vip, newsletter",
    ),
    (
        "grace.hopper@example.com",
        "+16175550102",
        "Grace",
        "Hopper",
        "US",
        "02134",
        False,
        None,
        "wholesale",
    ),
    (
        "jose.mueller@example.com",
        "+493055501010",
        "José",
        "Müller",
        "DE",
        "10115",
        True,
        None,
        None,
    ),
    (None, "+15035550123", "Tom", "Kilburn", "US", "97201", False, None, None),
    ("newsletter.fan@example.com", None, None, None, None, None, True, None, "newsletter"),
    (
        "alan.turing@example.com",
        "+447700900123",
        "Alan",
        "Turing",
        "GB",
        "SW1A 1AA",
        False,
        None,
        None,
    ),
    (
        "katherine.johnson@example.com",
        "+17575550104",
        "Katherine",
        "Johnson",
        "US",
        "23666",
        True,
        None,
        "vip",
    ),
]
V2 = [
    (
        "ada.lovelace@example.com",
        "+14155550101",
        "Ada",
        "Lovelace",
        "US",
        "94110",
        True,
        True,
        "vip, newsletter",
    ),
    (
        "hedy.lamarr@example.com",
        "+431555010101",
        "Hedy",
        "Lamarr",
        "AT",
        "1010",
        False,
        False,
        None,
    ),
    (None, "+15035550123", "Tom", "Kilburn", "US", "97201", False, True, None),
    ("signup.only@example.com", None, None, None, None, None, True, False, "newsletter"),
    (
        "mary.jackson@example.com",
        "+19735550105",
        "Mary",
        "Jackson",
        "US",
        "07102",
        True,
        True,
        "vip, newsletter",
    ),
    ("soren.orsted@example.com", None, "Søren", "Ørsted", "DK", "1165", False, False, None),
    (
        "grace.hopper@example.com",
        "+16175550102",
        "Grace",
        "Hopper",
        "US",
        "02134",
        False,
        False,
        "wholesale",
    ),
]
# customer_id first for V4
V4 = [
    (
        "7985351721238",
        "ada.lovelace@example.com",
        "+14155550101",
        "Ada",
        "Lovelace",
        "US",
        "94110",
        True,
        True,
        "vip, newsletter",
    ),
    (
        "7985351721239",
        "grace.hopper@example.com",
        "+16175550199",
        "Grace",
        "Hopper",
        "US",
        "02134",
        False,
        False,
        "wholesale",
    ),
    (
        "7985351721240",
        "jose.mueller@example.com",
        "+493055501010",
        "José",
        "Müller",
        "DE",
        "10115",
        True,
        True,
        "newsletter",
    ),
    (
        "7985351721241",
        "newsletter.fan@example.com",
        None,
        None,
        None,
        None,
        None,
        True,
        False,
        "newsletter",
    ),
    (
        "7985351721242",
        "alan.turing@example.com",
        "+447700900123",
        "Alan",
        "Turing",
        "GB",
        "SW1A 1AA",
        False,
        False,
        None,
    ),
    (
        "7985351721243",
        "katherine.johnson@example.com",
        None,
        "Katherine",
        "Johnson",
        "US",
        "23666",
        True,
        False,
        "vip",
    ),
    (
        "7985351721244",
        "mary.jackson@example.com",
        "+19735550105",
        "Mary",
        "Jackson",
        "US",
        "07102",
        True,
        True,
        "vip, newsletter",
    ),
    (
        "7985351721245",
        "hedy.lamarr@example.com",
        "+431555010101",
        "Hedy",
        "Lamarr",
        "AT",
        "1010",
        False,
        False,
        None,
    ),
]
COLS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "country",
    "postal_code",
    "accepts_email_marketing",
    "accepts_sms_marketing",
    "tags",
)


@pytest.mark.parametrize(
    ("fname", "variant", "expected"),
    [("shopify_customers_v1.csv", "v1", V1), ("shopify_customers_v2.csv", "v2", V2)],
)
def test_customers_v1_v2_values(ws, fname, variant, expected):
    rep = load(ws, FORMATS / fname, mapping="shopify_customers")
    assert rep.variant == variant
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (7, 7, 0)
    got = fetch(ws, f"SELECT {', '.join(COLS)} FROM customers")
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert one(ws, "SELECT count(*) FROM customers WHERE is_stub") == 0


@pytest.mark.parametrize(
    ("fname", "ids"),
    [
        (
            "shopify_customers_v1.csv",
            {
                "email:ada.lovelace@example.com",
                "email:grace.hopper@example.com",
                "email:jose.mueller@example.com",
                "phone:+15035550123",
                "email:newsletter.fan@example.com",
                "email:alan.turing@example.com",
                "email:katherine.johnson@example.com",
            },
        ),
        (
            "shopify_customers_v2.csv",
            {
                "email:ada.lovelace@example.com",
                "email:hedy.lamarr@example.com",
                "phone:+15035550123",
                "email:signup.only@example.com",
                "email:mary.jackson@example.com",
                "email:soren.orsted@example.com",
                "email:grace.hopper@example.com",
            },
        ),
    ],
)
def test_customers_v1_v2_ids_are_the_email_or_the_phone(ws, fname, ids):
    """V1/V2 have no Customer ID: the key is 'email:' + the lower-cased Email, and the
    phone-only row 'phone:' + its digits (docs/ingestion.md; the prefixes keep the two
    namespaces and numeric ids apart)."""
    load(ws, FORMATS / fname, mapping="shopify_customers")
    assert {r[0] for r in fetch(ws, "SELECT customer_id FROM customers")} == ids


def test_customers_v1_source_email_is_lower_cased(ws):
    load(ws, FORMATS / "shopify_customers_v1.csv", mapping="shopify_customers")
    # source Ada.Lovelace@Example.com
    assert "ada.lovelace@example.com" in customers_by_email(ws)
    assert one(ws, "SELECT count(*) FROM customers WHERE email <> lower(email)") == 0


def test_customers_v3_bom_and_lost_id(ws):
    rep = load(ws, FORMATS / "shopify_customers_v3.csv", mapping="shopify_customers")
    assert rep.variant == "v3"  # the BOM did not hide "Customer ID"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (7, 6, 1)
    assert rep.quarantined == {"lost_id": 1}
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == [
        "7022551000001",
        "7022551000002",
        "7022551000004",
        "7022551000005",
        "7022551000006",
        "7022551000007",
    ]
    assert (
        c["7022551000001"]["email"],
        c["7022551000001"]["country"],
        c["7022551000001"]["postal_code"],
    ) == ("ada.lovelace@example.com", "US", "94110")
    zoe = c["7022551000004"]
    assert (
        zoe["first_name"],
        zoe["last_name"],
        zoe["email"],
        zoe["country"],
        zoe["postal_code"],
        zoe["city"],
    ) == ("Zoë", "Ångström", "zoe.angstrom@example.com", "SE", "75310", "Uppsala")
    assert (c["7022551000005"]["email"], c["7022551000005"]["first_name"]) == (
        "just.emails@example.com",
        None,
    )
    assert (c["7022551000006"]["last_name"], c["7022551000006"]["postal_code"]) == (
        "Jackson",
        "07102",
    )
    assert (c["7022551000007"]["first_name"], c["7022551000007"]["phone"]) == ("Katherine", None)
    # the lost id is not replaced by the e-mail
    assert "alan.turing@example.com" not in customers_by_email(ws)
    (q,) = qrows(ws)
    assert q["position"] == 3 and q["rule"] == "lost_id"
    assert "7.02255e+12" in q["reason"].lower()
    assert q["raw_json"]["Email"] == "alan.turing@example.com"
    assert q["raw_json"]["Customer ID"] == "7.02255E+12"


def test_customers_v4_values(ws):
    rep = load(ws, FORMATS / "shopify_customers_v4.csv", mapping="shopify_customers")
    assert rep.variant == "v4"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (8, 8, 0)
    got = fetch(ws, f"SELECT customer_id, {', '.join(COLS)} FROM customers")
    assert sorted(got) == sorted(V4)
    c = by_key(ws, "customers", "customer_id")
    assert (c["7985351721238"]["city"], c["7985351721238"]["region"]) == ("San Francisco", "CA")
    assert c["7985351721242"]["region"] is None
    assert {v["is_stub"] for v in c.values()} == {False}


# --------------------------------------------------------------------------- orders

# order_id: (customer_id, ordered_at, subtotal, discount, shipping, tax, total, refunded, status,
#            items_count, ship_country, ship_postal_code, lines)
O79 = {
    "#1001": (
        "7985351721238",
        "2024-06-01 06:06:04",
        "78.75",
        "8.75",
        "5.00",
        "5.71",
        "89.46",
        "0.00",
        "placed",
        4,
        "US",
        "94110",
        3,
    ),
    "#1002": (
        "7985351721239",
        "2024-06-03 16:15:30",
        "65.00",
        "0.00",
        "0.00",
        "4.06",
        "69.06",
        "0.00",
        "placed",
        4,
        "US",
        "02134",
        2,
    ),
    # EUR at 1.08: 50.00 -> 54.00, 4.10 -> 4.43, 54.10 -> 58.43, 10.00 -> 10.80
    "#1003": (
        "7985351721240",
        "2024-06-10 21:02:11",
        "54.00",
        "0.00",
        "4.43",
        "0.00",
        "58.43",
        "10.80",
        "placed",
        2,
        "DE",
        "10115",
        2,
    ),
    "#1004": (
        "7985351721243",
        "2024-06-12 15:30:00",
        "118.00",
        "0.00",
        "0.00",
        "6.25",
        "124.25",
        "124.25",
        "cancelled",
        2,
        "US",
        "23666",
        2,
    ),
}
O75 = {
    "#1101": (
        "7985351721244",
        "2021-05-14 18:20:00",
        "33.00",
        "5.00",
        "4.90",
        "2.19",
        "40.09",
        "0.00",
        "placed",
        3,
        "US",
        "07102",
        2,
    ),
    "#1102": (
        "7985351721242",
        "2021-07-04 10:15:00",
        "85.00",
        "0.00",
        "15.00",
        "0.00",
        "100.00",
        "0.00",
        "placed",
        1,
        "GB",
        "SW1A 1AA",
        1,
    ),
    "#1103": (
        "7985351721245",
        "2021-11-02 23:45:00",
        "94.00",
        "0.00",
        "0.00",
        "0.00",
        "94.00",
        "0.00",
        "cancelled",
        3,
        "AT",
        "1010",
        2,
    ),
    "#1104": (
        None,
        "2021-12-21 03:05:33",
        "54.00",
        "0.00",
        "5.00",
        "3.92",
        "62.92",
        "0.00",
        "placed",
        3,
        "US",
        "90012",
        3,
    ),
}
LINES_79 = [
    ("#1001", 1, "SOCK-WL-M", 2, "12.00", "2.40", "Acme Knits"),
    ("#1001", 2, "SHIRT-LN-L", 1, "45.00", "4.50", "Field & Loom"),
    ("#1001", 3, "TOTE-CV", 1, "18.50", "1.85", "Field & Loom"),
    ("#1002", 1, "HAT-MR", 1, "29.00", "0.00", "Acme Knits"),
    ("#1002", 2, "SOCK-WL-M", 3, "12.00", "0.00", "Acme Knits"),
    ("#1003", 1, "SHIRT-LN-M", 1, "42.12", "0.00", "Field & Loom"),  # 39.00 EUR x 1.08
    ("#1003", 2, "SOCK-WL-M", 1, "11.88", "0.00", "Acme Knits"),  # 11.00 EUR x 1.08
    ("#1004", 1, "JKT-RN-M", 1, "89.00", "0.00", "Northwind Outdoor"),
    ("#1004", 2, "HAT-MR", 1, "29.00", "0.00", "Acme Knits"),
    ("#1005", 1, "TOTE-CV", 2, "18.50", "0.00", "Field & Loom"),
]
LINES_75 = [
    ("#1101", 1, "SOCK-WL-M", 2, "11.00", "2.89"),
    ("#1101", 2, "TOTE-CV", 1, "16.00", "2.11"),
    ("#1102", 1, "JKT-RN-M", 1, "85.00", "0.00"),
    ("#1103", 1, "HAT-MR", 2, "27.00", "0.00"),
    ("#1103", 2, "SHIRT-LN-M", 1, "40.00", "0.00"),
    ("#1104", 1, "SOCK-WL-M", 1, "11.00", "0.00"),
    ("#1104", 2, "HAT-MR", 1, "27.00", "0.00"),
    ("#1104", 3, "TOTE-CV", 1, "16.00", "0.00"),
]
ORDER_COLS = (
    "customer_id, ordered_at, subtotal, discount, shipping, tax, total, refunded, "
    "status, items_count, ship_country, ship_postal_code"
)


def _orders(ws) -> dict:
    rows = fetch(
        ws,
        f"SELECT order_id, {ORDER_COLS}, "
        "(SELECT count(*) FROM order_lines l WHERE l.order_id = o.order_id) "
        "FROM orders o",
    )
    return {r[0]: r[1:] for r in rows}


def _expected(spec: dict, stub_ids: dict | None = None) -> dict:
    out = {}
    for k, v in spec.items():
        cid, at, *money, status, items, country, zip_, lines = v
        if cid is None and stub_ids and k in stub_ids:
            cid = stub_ids[k]
        out[k] = (cid, utc(at), *[D(m) for m in money], status, items, country, zip_, lines)
    return out


@pytest.fixture
def v4(make_ws):
    def _make(toml: str = ""):
        ws = make_ws(toml)
        load(ws, FORMATS / "shopify_customers_v4.csv", mapping="shopify_customers")
        return ws

    return _make


def test_orders_79_with_fx(v4):
    ws = v4(FX)
    rep = load(ws, FORMATS / "shopify_orders_79.csv", mapping="shopify_orders")
    assert rep.variant == "79 cols" and rep.table == "order_lines"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (10, 10, 0)
    assert rep.tables["orders"]["inserted"] == 5 and rep.tables["order_lines"]["inserted"] == 10
    assert rep.repaired.get("guest_identified") == 4
    assert rep.repaired.get("currency_converted") == 1
    assert rep.kept.get("cancelled_order") == 1
    got = _orders(ws)
    assert sorted(got) == ["#1001", "#1002", "#1003", "#1004", "#1005"]
    exp = _expected(O79)
    for k in O79:
        assert got[k] == exp[k], k
    o = by_key(ws, "orders", "order_id")
    assert (o["#1003"]["original_currency"], o["#1003"]["fx_rate"], o["#1003"]["currency"]) == (
        "EUR",
        1.08,
        "USD",
    )
    assert o["#1001"]["original_currency"] == "USD" and o["#1001"]["fx_rate"] == 1.0
    assert o["#1005"]["ordered_at"] == utc("2024-07-01 05:45:10")  # crosses into July in UTC
    assert (o["#1005"]["total"], o["#1005"]["ship_postal_code"]) == (D("45.68"), "94607")
    lines = fetch(
        ws,
        "SELECT order_id, line_no, sku, quantity, unit_price, discount, brand "
        "FROM order_lines ORDER BY order_id, line_no",
    )
    assert lines == [(a, b, c, d, D(e), D(f), g) for a, b, c, d, e, f, g in LINES_79]
    # README totals: USD non-cancelled 204.20, with #1004 328.45; 14 units on all lines
    assert one(
        ws,
        "SELECT sum(total) FROM orders WHERE original_currency = 'USD' AND status <> 'cancelled'",
    ) == D("204.20")
    assert one(ws, "SELECT sum(total) FROM orders WHERE original_currency = 'USD'") == D("328.45")
    assert one(
        ws,
        "SELECT sum(total - refunded) FROM orders WHERE original_currency = 'USD' "
        "AND status <> 'cancelled'",
    ) == D("204.20")
    assert one(ws, "SELECT sum(quantity) FROM order_lines") == 14


def test_orders_are_guests_at_source(v4):
    """README: customer_id is never in the order export: every order has is_guest = true."""
    ws = v4(FX)
    load(ws, FORMATS / "shopify_orders_79.csv", mapping="shopify_orders")
    assert dict(fetch(ws, "SELECT order_id, is_guest FROM orders")) == {
        "#1001": True,
        "#1002": True,
        "#1003": True,
        "#1004": True,
        "#1005": True,
    }


def test_order_without_email_is_an_anonymous_guest(v4):
    """README: #1005 has no e-mail (only a phone that matches no customer): customer 'none'.
    It loads with a null customer_id, counted as guest_anonymous, and no stub is created."""
    ws = v4(FX)
    rep = load(ws, FORMATS / "shopify_orders_79.csv", mapping="shopify_orders")
    o = by_key(ws, "orders", "order_id")["#1005"]
    assert (o["customer_id"], o["email"], o["is_guest"]) == (None, None, True)
    assert rep.kept.get("guest_anonymous") == 1
    assert one(ws, "SELECT count(*) FROM customers WHERE is_stub") == 0


def test_orders_79_without_fx_quarantines_the_eur_order(v4):
    ws = v4()
    rep = load(ws, FORMATS / "shopify_orders_79.csv", mapping="shopify_orders")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (10, 8, 2)
    assert rep.quarantined == {"unknown_currency": 2}
    assert sorted(by_key(ws, "orders", "order_id")) == ["#1001", "#1002", "#1004", "#1005"]
    q = qrows(ws)
    assert [r["position"] for r in q] == [6, 7]  # the two line rows of #1003
    assert all(
        r["rule"] == "unknown_currency" and "EUR" in r["reason"] and "#1003" in r["reason"]
        for r in q
    )
    assert [r["raw_json"]["Lineitem sku"] for r in q] == ["SHIRT-LN-M", "SOCK-WL-M"]
    assert one(ws, "SELECT count(*) FROM order_lines WHERE order_id = '#1003'") == 0


def test_orders_79_free_text_with_newlines_does_not_break_rows(v4):
    ws = v4(FX)
    load(ws, FORMATS / "shopify_orders_79.csv", mapping="shopify_orders")
    # #1005's Notes and Note Attributes hold newlines: still 1 order with 1 line
    assert fetch(ws, "SELECT sku, quantity FROM order_lines WHERE order_id = '#1005'") == [
        ("TOTE-CV", 2)
    ]


def test_orders_75(v4):
    ws = v4()
    rep = load(ws, FORMATS / "shopify_orders_75.csv", mapping="shopify_orders")
    assert rep.variant == "75 cols"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (8, 8, 0)
    assert rep.repaired.get("guest_identified") == 3 and rep.repaired.get("guest_stub") == 1
    assert rep.kept.get("cancelled_order") == 1
    got = _orders(ws)
    stub = one(ws, "SELECT customer_id FROM customers WHERE email = 'new.buyer@example.com'")
    exp = _expected(O75, {"#1104": stub})
    assert got == exp
    assert one(ws, "SELECT is_stub FROM customers WHERE customer_id = ?", [stub]) is True
    o = by_key(ws, "orders", "order_id")
    assert o["#1104"]["channel"] == "app"  # Source iphone
    assert o["#1101"]["channel"] == "web"
    assert o["#1103"]["status"] == "cancelled"  # voided
    lines = fetch(
        ws,
        "SELECT order_id, line_no, sku, quantity, unit_price, discount "
        "FROM order_lines ORDER BY order_id, line_no",
    )
    assert lines == [(a, b, c, d, D(e), D(f)) for a, b, c, d, e, f in LINES_75]
    assert one(ws, "SELECT sum(total) FROM orders WHERE status <> 'cancelled'") == D("203.01")


SUBSET = {
    # order_id: (customer, ordered_at, total, items_count, lines)
    "#1201": ("7985351721238", "2025-01-15 18:00:00", "83.29", 3, 2),
    "#1202": ("7985351721239", "2025-02-02 21:45:00", "65.34", 3, 3),
    "#1203": ("guest.shopper@example.com", "2025-03-09 14:30:00", "98.67", 1, 1),
    "#1204": ("7985351721240", "2025-04-02 01:20:00", "77.65", 3, 2),  # 71.90 EUR x 1.08
    "#1205": ("7985351721243", "2025-04-20 19:00:00", "63.18", 2, 1),
}


def test_orders_subset_core_values(v4):
    ws = v4(FX)
    rep = load(ws, FORMATS / "shopify_orders_subset.csv", mapping="shopify_orders")
    assert rep.variant == "subset"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (9, 9, 0)
    stub = one(ws, "SELECT customer_id FROM customers WHERE email = 'guest.shopper@example.com'")
    got = {
        r[0]: r[1:]
        for r in fetch(
            ws,
            "SELECT order_id, customer_id, ordered_at, total, items_count, "
            "(SELECT count(*) FROM order_lines l WHERE l.order_id = o.order_id), status "
            "FROM orders o",
        )
    }
    exp = {
        k: (stub if "@" in c else c, utc(at), D(t), n, ln, "placed")
        for k, (c, at, t, n, ln) in SUBSET.items()
    }
    assert got == exp
    assert one(ws, "SELECT original_currency FROM orders WHERE order_id = '#1204'") == "EUR"
    assert one(ws, "SELECT sum(total) FROM orders WHERE original_currency = 'USD'") == D("310.48")
    assert fetch(
        ws,
        "SELECT line_no, sku, quantity, unit_price FROM order_lines "
        "WHERE order_id = '#1202' ORDER BY line_no",
    ) == [
        (1, "HAT-MR", 1, D("30.00")),
        (2, "SOCK-WL-M", 1, D("12.50")),
        (3, "TOTE-CV", 1, D("19.00")),
    ]
    assert one(ws, "SELECT count(*) FROM order_lines WHERE discount IS NOT NULL") == 0


def test_orders_subset_absent_money_columns_stay_null(v4):
    """README: the subset has no Subtotal/Discount/Shipping/Taxes/Refunded columns, so these
    are null in orders (only Total is given)."""
    ws = v4(FX)
    load(ws, FORMATS / "shopify_orders_subset.csv", mapping="shopify_orders")
    assert fetch(
        ws,
        "SELECT count(*) FILTER (WHERE subtotal IS NOT NULL), "
        "count(*) FILTER (WHERE discount IS NOT NULL), "
        "count(*) FILTER (WHERE shipping IS NOT NULL), "
        "count(*) FILTER (WHERE tax IS NOT NULL), "
        "count(*) FILTER (WHERE refunded IS NOT NULL) FROM orders",
    ) == [(0, 0, 0, 0, 0)]


def test_orders_subset_without_fx_quarantines_eur(v4):
    ws = v4()
    rep = load(ws, FORMATS / "shopify_orders_subset.csv", mapping="shopify_orders")
    assert (rep.rows_loaded, rep.rows_quarantined) == (7, 2)
    assert rep.quarantined == {"unknown_currency": 2}
    assert "#1204" not in by_key(ws, "orders", "order_id")


def test_all_order_files_identify_guests_by_email(v4):
    ws = v4(FX)
    for f in ("shopify_orders_79.csv", "shopify_orders_75.csv", "shopify_orders_subset.csv"):
        load(ws, FORMATS / f, mapping="shopify_orders")
    assert one(ws, "SELECT count(*) FROM orders") == 14
    assert one(ws, "SELECT count(*) FROM order_lines") == 27
    # README: the e-mails in V4 link 11 orders to 7 distinct V4 customers
    linked = fetch(
        ws,
        "SELECT count(*), count(DISTINCT o.customer_id) FROM orders o "
        "JOIN customers c USING (customer_id) WHERE NOT c.is_stub",
    )
    assert linked == [(11, 7)]
    assert {
        r[0]
        for r in fetch(
            ws,
            "SELECT c.first_name FROM orders o JOIN customers c "
            "USING (customer_id) WHERE NOT c.is_stub",
        )
    } == {"Ada", "Grace", "José", "Katherine", "Mary", "Alan", "Hedy"}
    # two e-mails are not in V4 and get stubs
    assert sorted(
        r[0] for r in fetch(ws, "SELECT email FROM customers WHERE is_stub AND email IS NOT NULL")
    ) == ["guest.shopper@example.com", "new.buyer@example.com"]
    # mixed-case e-mail in V4 (Mary.Jackson@Example.com) still matches #1101
    assert one(ws, "SELECT customer_id FROM orders WHERE order_id = '#1101'") == "7985351721244"


def test_orders_loaded_before_customers_get_email_stubs(make_ws):
    """Orders loaded first: all four e-mails get stubs; the V4 customers still load after."""
    ws = make_ws(FX)
    load(ws, FORMATS / "shopify_orders_75.csv", mapping="shopify_orders")
    assert one(ws, "SELECT count(*) FROM customers WHERE is_stub") == 4
    rep = load(ws, FORMATS / "shopify_customers_v4.csv", mapping="shopify_customers")
    assert rep.rows_loaded == 8
    assert one(ws, "SELECT count(*) FROM customers WHERE NOT is_stub") == 8
