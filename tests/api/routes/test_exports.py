"""POST /exports writes the segment's members with the privacy rules."""

from __future__ import annotations

import pandas as pd


def _members(api, name: str) -> list[str]:
    return [
        r[0]
        for r in api.sql("SELECT customer_id FROM memberships WHERE segment = ? ORDER BY 1", [name])
    ]


def test_csv_export_holds_exactly_the_members(api) -> None:
    r = api.client.post("/exports", headers=api.auth("write"), json={"segment": "rfm_champions"})
    assert r.status_code == 201
    body = r.json()
    assert body["rows"] == len(_members(api, "rfm_champions"))
    assert body["path"] == str(api.ws.root / "exports" / "rfm_champions.csv")
    got = pd.read_csv(body["path"], dtype=str)
    assert sorted(got.customer_id) == _members(api, "rfm_champions")
    assert set(got.segment) == {"rfm_champions"}


def test_parquet_export(api) -> None:
    r = api.client.post(
        "/exports", headers=api.auth("write"), json={"segment": "Champions", "format": "parquet"}
    )
    assert r.status_code == 201
    got = pd.read_parquet(r.json()["path"])
    assert sorted(got.customer_id) == _members(api, "rfm_champions")


def test_privacy_refusals_are_422(api) -> None:
    pii = api.client.post(
        "/exports",
        headers=api.auth("write"),
        json={"segment": "rfm_champions", "columns": ["email"]},
    )
    assert pii.status_code == 422
    assert pii.json()["type"] == "urn:custseg:problem:privacy"
    small = api.sql(
        "SELECT segment FROM memberships GROUP BY 1 HAVING count(*) < 50 ORDER BY 1 LIMIT 1"
    )
    assert small, "the demo store should have a segment of fewer than 50 members"
    r = api.client.post("/exports", headers=api.auth("write"), json={"segment": small[0][0]})
    assert r.status_code == 422
    assert "min_segment_size" in r.json()["detail"]
    assert not (api.ws.root / "exports" / f"{small[0][0]}.csv").exists()


def test_bad_requests(api) -> None:
    unknown = api.client.post("/exports", headers=api.auth("write"), json={"segment": "nope"})
    assert unknown.status_code == 400
    fmt = api.client.post(
        "/exports", headers=api.auth("write"), json={"segment": "rfm_champions", "format": "xlsx"}
    )
    assert fmt.status_code == 422
    path = api.client.post(
        "/exports",
        headers=api.auth("write"),
        json={"segment": "rfm_champions", "out": "/tmp/x.csv"},
    )
    assert path.status_code == 422


def test_export_needs_write(api) -> None:
    assert (
        api.client.post(
            "/exports", headers=api.auth("read"), json={"segment": "rfm_champions"}
        ).status_code
        == 403
    )
