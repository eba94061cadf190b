"""The customer lookup: its card layout, and rebuilding only when the source tables change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custseg.api.lookup import CACHE_FILE, CustomerLookup, Layout
from custseg.workspace import open_workspace
from tests.api._store import copy_store


def test_layout_puts_the_keys_back() -> None:
    layout = Layout(
        families=(("behavior", ("number_of_orders", "amount_spent")), ("geo", ("country",))),
        recommendation=("rank", "sku"),
        action=("segment", "offer"),
        shipping=("tier", "method"),
        packaging=("fragile",),
        titles={"rfm_lost": "Lost"},
        run_id="run-1",
    )
    card = [
        [3, 12.5, "DE"],
        False,
        "2025-06-30",
        [["rfm_lost", "rfm"], ["new_seg", "rule"]],
        [[1, "A-1"], [2, "B-2"]],
        ["rfm_lost", "win_back"],
        ["standard", "ground", True],
    ]
    assert layout.response("C1", card) == {
        "customer_id": "C1",
        "as_of": "2025-06-30",
        "run_id": "run-1",
        "is_stub": False,
        "features": {
            "behavior": {"number_of_orders": 3, "amount_spent": 12.5},
            "geo": {"country": "DE"},
        },
        "segments": [
            {"key": "rfm_lost", "title": "Lost", "family": "rfm"},
            {"key": "new_seg", "title": "new_seg", "family": "rule"},
        ],
        "recommendations": [{"rank": 1, "sku": "A-1"}, {"rank": 2, "sku": "B-2"}],
        "action": {"segment": "rfm_lost", "offer": "win_back"},
        "shipping": {"tier": "standard", "method": "ground", "packaging": {"fragile": True}},
    }
    assert Layout.from_json(layout.to_json()) == layout


@pytest.fixture
def lookup_ws(piped: Path, tmp_path: Path):
    ws = open_workspace(copy_store(piped, tmp_path / "ws"))
    yield ws
    ws.close()


def _cards_tables(con) -> list[str]:
    return sorted(
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'custseg_lookup' "
            "AND table_name LIKE 'cards_%'"
        ).fetchall()
    )


def test_rebuilds_only_when_a_source_changes(lookup_ws) -> None:
    con = lookup_ws.connect().con
    lk = CustomerLookup(con, lookup_ws.resolve_path(CACHE_FILE))
    assert not lk.ready
    assert lk.refresh() is True
    assert (lookup_ws.root / CACHE_FILE).exists()
    assert lk.refresh() is False
    assert _cards_tables(con) == ["cards_1"]

    cid = con.execute("SELECT customer_id FROM customer_features ORDER BY 1 LIMIT 1").fetchone()[0]
    before = lk.get(cid)
    con.execute(
        "INSERT INTO memberships SELECT ?, 'zz_new', 'rule', max(run_id), max(as_of) FROM memberships",
        [cid],
    )
    assert lk.get(cid) == before  # the served snapshot does not move by itself
    assert lk.refresh() is True
    after = lk.get(cid)
    assert [s["key"] for s in after["segments"]] == [s["key"] for s in before["segments"]] + [
        "zz_new"
    ]
    assert _cards_tables(con) == ["cards_2"]
    assert lk.get("no-such-customer") is None


def test_a_new_lookup_reuses_the_stored_snapshot(lookup_ws) -> None:
    path = lookup_ws.resolve_path(CACHE_FILE)
    con = lookup_ws.connect().con
    first = CustomerLookup(con, path)
    assert first.refresh() is True
    cid = con.execute(
        "SELECT customer_id FROM customer_features ORDER BY 1 DESC LIMIT 1"
    ).fetchone()[0]
    card = first.get(cid)
    second = CustomerLookup(con, path)
    assert second.refresh() is False
    assert second.get(cid) == card
    assert json.loads(json.dumps(card)) == card


def test_without_features_nothing_is_served(ws) -> None:
    lk = CustomerLookup(ws.connect().con, ws.resolve_path(CACHE_FILE))
    assert lk.refresh() is False
    assert not lk.ready
    assert lk.get("x") is None
