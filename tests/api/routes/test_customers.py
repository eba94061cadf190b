"""GET /customers/{id} against the tables it is made from, read back with plain SQL."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from custseg.features.catalog import IDENTITY_COLUMNS, feature_family

SHIPPING_FIELDS = {"tier", "method", "reason", "nearest_warehouse", "distance_km", "beyond_promise"}


def _json(v):
    """A value as the API writes it: ISO dates and UTC timestamps, NaN as null."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _rows(api, sql: str, cid: str) -> list[dict]:
    cur = api.ws.connect().con.cursor()
    try:
        res = cur.execute(sql, [cid])
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]
    finally:
        cur.close()


@pytest.fixture(scope="module")
def sample_ids(api) -> list[str]:
    """30 customers spread over the table, plus the one in the most segments and a stub."""
    ids = [
        r[0]
        for r in api.sql(
            "SELECT customer_id FROM customer_features ORDER BY hash(customer_id) LIMIT 30"
        )
    ]
    ids += [
        r[0]
        for r in api.sql(
            "SELECT customer_id FROM memberships GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
    ]
    ids += [
        r[0]
        for r in api.sql(
            "SELECT customer_id FROM customer_features WHERE is_stub ORDER BY 1 LIMIT 1"
        )
    ]
    return ids


def test_segments_are_the_memberships_rows(api, sample_ids) -> None:
    titles = dict(api.sql("SELECT name, title FROM segment_definitions"))
    for cid in sample_ids:
        body = api.client.get(f"/customers/{cid}", headers=api.auth("read")).json()
        want = sorted(
            (r["segment"], r["family"])
            for r in _rows(
                api, "SELECT segment, family FROM memberships WHERE customer_id = ?", cid
            )
        )
        assert [(s["key"], s["family"]) for s in body["segments"]] == want
        assert all(s["title"] == titles[s["key"]] for s in body["segments"])
        run_ids = {r[0] for r in api.sql("SELECT DISTINCT run_id FROM memberships")}
        assert run_ids == {body["run_id"]}


def test_features_are_the_row_grouped_by_family(api, sample_ids) -> None:
    for cid in sample_ids:
        body = api.client.get(f"/customers/{cid}", headers=api.auth("read")).json()
        (row,) = _rows(api, "SELECT * FROM customer_features WHERE customer_id = ?", cid)
        assert body["customer_id"] == cid
        assert body["as_of"] == row["as_of"].isoformat()
        assert body["is_stub"] == row["is_stub"]
        flat = {}
        for family, values in body["features"].items():
            for col, v in values.items():
                assert feature_family(col) == family
                flat[col] = v
        want = {c: _json(v) for c, v in row.items() if c not in IDENTITY_COLUMNS}
        assert flat.keys() == want.keys()
        for col, v in want.items():
            if isinstance(v, float):
                assert flat[col] == pytest.approx(v, rel=1e-12), col
            else:
                assert flat[col] == v, col


def test_recommendations_action_and_shipping(api, sample_ids) -> None:
    for cid in sample_ids:
        body = api.client.get(f"/customers/{cid}", headers=api.auth("read")).json()
        recs = _rows(
            api,
            "SELECT * EXCLUDE (customer_id, as_of) FROM recommendations "
            "WHERE customer_id = ? AND rank <= 5 ORDER BY rank",
            cid,
        )
        assert body["recommendations"] == [{k: _json(v) for k, v in r.items()} for r in recs]
        actions = _rows(
            api, "SELECT * EXCLUDE (customer_id) FROM customer_actions WHERE customer_id = ?", cid
        )
        assert body["action"] == (actions[0] if actions else None)
        (ship,) = _rows(
            api, "SELECT * EXCLUDE (customer_id) FROM shipping_tiers WHERE customer_id = ?", cid
        )
        want = {k: _json(v) for k, v in ship.items() if k in SHIPPING_FIELDS}
        want["packaging"] = {k: v for k, v in ship.items() if k not in SHIPPING_FIELDS}
        assert body["shipping"] == want


def test_the_sample_covers_every_part(api, sample_ids) -> None:
    """The checks above are not vacuous: the sample has recommendations, actions, stubs."""
    bodies = [
        api.client.get(f"/customers/{c}", headers=api.auth("read")).json() for c in sample_ids
    ]
    assert any(b["recommendations"] for b in bodies)
    assert any(b["action"] for b in bodies)
    assert any(b["is_stub"] for b in bodies)
    assert max(len(b["segments"]) for b in bodies) >= 3


def test_unknown_customer_is_404_problem(api) -> None:
    r = api.client.get("/customers/NOPE-0", headers=api.auth("read"))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert "NOPE-0" in r.json()["detail"]


def test_ids_with_quotes_are_just_ids(api) -> None:
    r = api.client.get("/customers/x' OR '1'='1", headers=api.auth("read"))
    assert r.status_code == 404
