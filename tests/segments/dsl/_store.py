"""A tiny store where every rule's members can be counted by hand.

As of 2025-06-30. Six customers A-F (features below), ten orders, a few lines, events
and one campaign. Every row that should NOT count is marked with why.

features::

    id  amount  orders country tags                 last_order  p_alive stub  created_at (UTC)   device   lat,lon
    A   1200.0  5      US      'vip, newsletter'    2025-06-20  0.9     False 2023-01-05 10:00   mobile   40.75,-73.99  (NYC)
    B    300.0  2      CA      'VIP'                2025-02-01  0.5     False 2024-03-01 00:00   desktop  43.65,-79.38  (Toronto)
    C      0.0  0      DE      null                 null        null    True  2025-06-30 23:00   null     null
    D    750.0  3      US      'newsletter, vipish' 2025-03-31  0.3     False 2022-12-31 12:00   mobile   40.65,-74.20  (Newark)
    E     null  1      null    ' Vip ,wholesale'    2024-06-30  0.2     null  null               tablet   34.05,-118.24 (LA)
    F    500.0  1      US      ''                   2025-06-30  0.6     False 2025-01-01 00:00   mobile   null

orders (net = total - refunded)::

    O1  A 2025-06-20 10:00  200   placed    web
    O2  A 2025-05-01 12:00  150   placed    app
    O3  A 2024-01-10 09:00  100   returned  web   refunded 100 -> net 0
    O4  B 2025-02-01 08:00  300   placed    web
    O5  B 2025-06-25 08:00   80   cancelled web   never counts (cancelled)
    O6  D 2025-03-31 15:00  400   placed    store
    O7  D 2025-07-01 00:30   90   placed    web   never counts (after the as-of day)
    O8  F 2025-06-30 23:59  500   placed    app   counts (end of the as-of day)
    O9  - 2025-06-01 10:00   50   placed    web   never counts (guest, no customer)
    O10 E 2024-06-30 10:00   60   refunded  web   refunded 60 -> net 0

order_lines (sku, category, brand, quantity)::

    O1: S1 footwear Acme 1 | S2 apparel Acme 3
    O2: S1 footwear Acme 2
    O3: S3 footwear Zed 1  | S3 footwear Zed -1 (a return line: not a purchase)
    O4: S1 footwear Acme 1
    O5: S1 footwear Acme 5   (cancelled order)
    O6: S4 home Lux 2
    O7: S1 footwear Acme 1   (after as-of)
    O8: S2 apparel Acme 10
    O10: S3 footwear Zed 1

events::

    E1-E3 A product_view 2025-06-25, -26, -29
    E4 B product_view 2025-06-28
    E5 B product_view 2025-07-01 00:00:01  (after as-of)
    E6 anonymous product_view 2025-06-28    (no customer)
    E7 C email_open 2025-06-30 23:00
    E8 D product_view 2025-05-01

campaigns K1 (started 2025-04-01) and K2 (started 2025-07-15, after as-of)::

    exposures: K1 A treatment sent 2025-04-01 | K1 B control | K1 D treatment sent 2025-04-01
               K2 A treatment sent 2025-07-15 (after) | K2 C control (K2 starts after as-of)
    outcomes:  K1 A converted | K1 B converted | K1 D not converted | K2 A converted (2025-07-20)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import ibis
import pyarrow as pa

from custseg.schema import ibis_schema
from custseg.segments.dsl import RuleContext

AS_OF = date(2025, 6, 30)
ALL = frozenset("ABCDEF")


def ts(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s).replace(tzinfo=UTC)


def _table(name: str, rows: list[dict]) -> ibis.Table:
    """A memtable with the canonical schema of ``name`` (missing columns are null)."""
    schema = ibis_schema(name).to_pyarrow()
    data = {c: [r.get(c) for r in rows] for c in schema.names}
    return ibis.memtable(pa.table(data, schema=schema))


def features_table() -> ibis.Table:
    cols = {
        "customer_id": list("ABCDEF"),
        "amount_spent": [1200.0, 300.0, 0.0, 750.0, None, 500.0],
        "number_of_orders": [5, 2, 0, 3, 1, 1],
        "country": ["US", "CA", "DE", "US", None, "US"],
        "tags": ["vip, newsletter", "VIP", None, "newsletter, vipish", " Vip ,wholesale", ""],
        "last_order_date": [
            date(2025, 6, 20),
            date(2025, 2, 1),
            None,
            date(2025, 3, 31),
            date(2024, 6, 30),
            date(2025, 6, 30),
        ],
        "p_alive": [0.9, 0.5, None, 0.3, 0.2, 0.6],
        "is_stub": [False, False, True, False, None, False],
        "created_at": [
            ts("2023-01-05T10:00"),
            ts("2024-03-01T00:00"),
            ts("2025-06-30T23:00"),
            ts("2022-12-31T12:00"),
            None,
            ts("2025-01-01T00:00"),
        ],
        "main_device": ["mobile", "desktop", None, "mobile", "tablet", "mobile"],
        "latitude": [40.75, 43.65, None, 40.65, 34.05, None],
        "longitude": [-73.99, -79.38, None, -74.20, -118.24, None],
        "rfm_group": ["Champions", "Loyal Customers", "Prospects", "At Risk", "Lost", "Other"],
        "as_of": [AS_OF] * 6,
    }
    schema = {
        "customer_id": "string",
        "amount_spent": "float64",
        "number_of_orders": "int64",
        "country": "string",
        "tags": "string",
        "last_order_date": "date",
        "p_alive": "float64",
        "is_stub": "boolean",
        "created_at": "timestamp('UTC')",
        "main_device": "string",
        "latitude": "float64",
        "longitude": "float64",
        "rfm_group": "string",
        "as_of": "date",
    }
    return ibis.memtable(cols, schema=schema)


def _order(oid, cid, when, total, status="placed", channel="web", refunded=None):
    return {
        "order_id": oid,
        "customer_id": cid,
        "ordered_at": ts(when),
        "total": Decimal(str(total)),
        "refunded": None if refunded is None else Decimal(str(refunded)),
        "status": status,
        "channel": channel,
    }


def raw_tables() -> dict[str, ibis.Table]:
    orders = [
        _order("O1", "A", "2025-06-20T10:00", 200),
        _order("O2", "A", "2025-05-01T12:00", 150, channel="app"),
        _order("O3", "A", "2024-01-10T09:00", 100, status="returned", refunded=100),
        _order("O4", "B", "2025-02-01T08:00", 300),
        _order("O5", "B", "2025-06-25T08:00", 80, status="cancelled"),
        _order("O6", "D", "2025-03-31T15:00", 400, channel="store"),
        _order("O7", "D", "2025-07-01T00:30", 90),
        _order("O8", "F", "2025-06-30T23:59:00", 500, channel="app"),
        _order("O9", None, "2025-06-01T10:00", 50),
        _order("O10", "E", "2024-06-30T10:00", 60, status="refunded", refunded=60),
    ]

    def line(oid, no, sku, cat, brand, qty):
        return {
            "order_id": oid,
            "line_no": no,
            "sku": sku,
            "product_name": f"product {sku}",
            "category": cat,
            "brand": brand,
            "quantity": qty,
            "unit_price": Decimal("10.00"),
        }

    lines = [
        line("O1", 1, "S1", "footwear", "Acme", 1),
        line("O1", 2, "S2", "apparel", "Acme", 3),
        line("O2", 1, "S1", "footwear", "Acme", 2),
        line("O3", 1, "S3", "footwear", "Zed", 1),
        line("O3", 2, "S3", "footwear", "Zed", -1),
        line("O4", 1, "S1", "footwear", "Acme", 1),
        line("O5", 1, "S1", "footwear", "Acme", 5),
        line("O6", 1, "S4", "home", "Lux", 2),
        line("O7", 1, "S1", "footwear", "Acme", 1),
        line("O8", 1, "S2", "apparel", "Acme", 10),
        line("O10", 1, "S3", "footwear", "Zed", 1),
    ]
    events = [
        {"event_id": f"E{i}", "customer_id": c, "ts": ts(t), "type": typ}
        for i, (c, t, typ) in enumerate(
            [
                ("A", "2025-06-25T10:00", "product_view"),
                ("A", "2025-06-26T10:00", "product_view"),
                ("A", "2025-06-29T10:00", "product_view"),
                ("B", "2025-06-28T10:00", "product_view"),
                ("B", "2025-07-01T00:00:01", "product_view"),
                (None, "2025-06-28T10:00", "product_view"),
                ("C", "2025-06-30T23:00", "email_open"),
                ("D", "2025-05-01T10:00", "product_view"),
            ],
            start=1,
        )
    ]
    campaigns = [
        {"campaign_id": "K1", "started_at": ts("2025-04-01T09:00")},
        {"campaign_id": "K2", "started_at": ts("2025-07-15T09:00")},
    ]
    exposures = [
        {
            "campaign_id": "K1",
            "customer_id": "A",
            "arm": "treatment",
            "sent_at": ts("2025-04-01T09:00"),
        },
        {"campaign_id": "K1", "customer_id": "B", "arm": "control"},
        {
            "campaign_id": "K1",
            "customer_id": "D",
            "arm": "treatment",
            "sent_at": ts("2025-04-01T09:00"),
        },
        {
            "campaign_id": "K2",
            "customer_id": "A",
            "arm": "treatment",
            "sent_at": ts("2025-07-15T09:00"),
        },
        {"campaign_id": "K2", "customer_id": "C", "arm": "control"},
    ]
    outcomes = [
        {
            "campaign_id": "K1",
            "customer_id": "A",
            "converted": True,
            "observed_at": ts("2025-04-20T00:00"),
        },
        {
            "campaign_id": "K1",
            "customer_id": "B",
            "converted": True,
            "observed_at": ts("2025-04-20T00:00"),
        },
        {
            "campaign_id": "K1",
            "customer_id": "D",
            "converted": False,
            "observed_at": ts("2025-04-20T00:00"),
        },
        {
            "campaign_id": "K2",
            "customer_id": "A",
            "converted": True,
            "observed_at": ts("2025-07-20T00:00"),
        },
    ]
    return {
        "orders": _table("orders", orders),
        "order_lines": _table("order_lines", lines),
        "events": _table("events", events),
        "campaigns": _table("campaigns", campaigns),
        "campaign_exposures": _table("campaign_exposures", exposures),
        "campaign_outcomes": _table("campaign_outcomes", outcomes),
    }


def make_ctx(as_of: date = AS_OF, **override) -> RuleContext:
    tables = raw_tables()
    tables.update(override)
    return RuleContext(features=features_table(), as_of=as_of, **tables)


def members(ctx: RuleContext, rule: str) -> set[str]:
    """The customer ids a rule selects on a context (compiled and run)."""
    from custseg.segments.dsl import compile_rule

    t = ctx.features
    return set(t.filter(compile_rule(rule, ctx)).customer_id.to_pyarrow().to_pylist())
