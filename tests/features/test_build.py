"""build / materialize: one row per customer, prospects kept, as-of honoured."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import custseg.features as features
from custseg.demo import write_demo_config
from custseg.ingest import ingest_sources
from custseg.schema import TABLES
from custseg.synth import generate
from custseg.workspace import open_workspace

from ._tables import AS_OF, canonical, connect, ts


def test_public_names() -> None:
    assert features.__all__ == sorted(features.__all__)
    for name in features.__all__:
        assert getattr(features, name) is not None


def test_prospect_and_stub_rows() -> None:
    con = connect()
    tables = {n: canonical(con, n, []) for n in TABLES}
    tables["customers"] = canonical(
        con,
        "customers",
        [{"customer_id": "A"}, {"customer_id": "P"}, {"customer_id": "S", "is_stub": True}],
    )
    tables["orders"] = canonical(
        con,
        "orders",
        [{"order_id": "1", "customer_id": "A", "ordered_at": ts(2024, 3, 1),
          "total": Decimal("10"), "status": "placed"},
         {"order_id": "2", "customer_id": "S", "ordered_at": ts(2024, 3, 2),
          "total": Decimal("5"), "status": "placed"}],
    )  # fmt: skip
    # compile once: the whole expression is large, its SQL takes ~1 s to generate
    rows = {r["customer_id"]: r for r in features.build_from_tables(tables, as_of=AS_OF)
            .to_pyarrow().to_pylist()}  # fmt: skip
    assert sorted(rows) == ["A", "P", "S"]
    p = rows["P"]
    # prospect: counts and sums are 0, everything else is null
    assert p["number_of_orders"] == 0 and p["amount_spent"] == 0.0 and p["spend_365d"] == 0.0
    assert p["sessions"] == 0 and p["shipping_destinations"] == 0
    for col in (
        "days_since_last_order",
        "first_order_date",
        "avg_order_value",
        "clv_T",
        "clv_monetary",
        "return_rate",
        "main_channel",
        "age",
        "units_per_order",
    ):
        assert p[col] is None, col  # fmt: skip
    assert rows["S"]["is_stub"] is True and rows["S"]["amount_spent"] == 5.0
    assert rows["A"]["days_since_last_order"] == 30
    assert p["as_of"] == AS_OF


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("features_demo")
    manifest = generate(root / "data", customers=1500, seed=7)
    write_demo_config(root, manifest)
    ws = open_workspace(root)
    ingest_sources(ws)
    yield ws
    ws.close()


def test_end_to_end_one_row_per_customer(store) -> None:
    con = store.connect()
    n_customers = con.table("customers").count().to_pyarrow().as_py()
    t = features.build(store)
    out = t.to_pyarrow()
    assert out.num_rows == n_customers
    ids = out.column("customer_id").to_pylist()
    assert len(set(ids)) == len(ids)
    nums = out.column("number_of_orders").to_pylist()
    assert 0 in nums  # prospects present, with 0 orders
    assert all(n >= 0 for n in nums)
    schema = t.schema()
    assert schema["amount_spent"].is_floating() and schema["number_of_orders"].is_integer()
    assert schema["first_order_date"].is_date() and schema["age"].is_integer()
    rr = [x for x in out.column("return_rate").to_pylist() if x is not None]
    assert rr and all(0 <= x <= 1 for x in rr)
    ages = [x for x in out.column("age").to_pylist() if x is not None]
    assert ages and all(0 <= x < 130 for x in ages)
    rec = [(r, t_) for r, t_ in zip(out.column("clv_recency").to_pylist(),
                                   out.column("clv_T").to_pylist(), strict=True)
           if r is not None]  # fmt: skip
    assert all(r <= t_ for r, t_ in rec)


def test_earlier_as_of_gives_fewer_orders(store) -> None:
    cols = ["number_of_orders", "last_order_date"]
    late = features.build(store).select(*cols).to_pyarrow()
    early = features.build(store, as_of=date(2024, 6, 30)).select(*cols).to_pyarrow()
    assert early.num_rows == late.num_rows
    n_late = sum(late.column("number_of_orders").to_pylist())
    assert sum(early.column("number_of_orders").to_pylist()) < n_late
    assert max(d for d in early.column("last_order_date").to_pylist() if d) <= date(2024, 6, 30)


def test_materialize(store) -> None:
    n = features.materialize(store, as_of=date(2025, 1, 31))
    con = store.connect()
    assert n == con.table("customers").count().to_pyarrow().as_py()
    assert con.table("customer_features").count().to_pyarrow().as_py() == n
