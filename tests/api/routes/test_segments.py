"""The /segments routes: sizes, previews, paging, writing and deleting, read back independently."""

from __future__ import annotations

import pytest

from custseg.segments.registry import read_segment_file


def test_list_sizes_are_the_membership_counts(api) -> None:
    r = api.client.get("/segments", headers=api.auth("read"))
    assert r.status_code == 200
    body = r.json()
    counts = dict(api.sql("SELECT segment, count(*) FROM memberships GROUP BY 1"))
    total = api.sql("SELECT count(*) FROM customer_features")[0][0]
    evaluated = {r[0] for r in api.sql("SELECT name FROM segment_definitions")}
    assert body["total_customers"] == total
    assert body["count"] == len(body["data"])
    by_name = {s["name"]: s for s in body["data"]}
    assert evaluated <= set(by_name)
    for name in evaluated:
        assert by_name[name]["size"] == counts.get(name, 0)
        assert by_name[name]["share"] == pytest.approx(counts.get(name, 0) / total)
    assert by_name["vip_slipping"]["source"] == "custseg.toml"
    assert by_name["rfm_champions"]["source"] == "builtin"
    assert by_name["browsing_not_buying"]["source"] == "segments/browsing_not_buying.seg"


def test_get_by_key_or_title_and_404(api) -> None:
    by_key = api.client.get("/segments/rfm_cant_lose_them", headers=api.auth("read")).json()
    by_title = api.client.get("/segments/Can't Lose Them", headers=api.auth("read")).json()
    assert by_key == by_title
    assert by_key["rule"] == "rfm_group = 'Can''t Lose Them'"
    r = api.client.get("/segments/no_such_segment", headers=api.auth("read"))
    assert r.status_code == 404
    assert r.json()["type"] == "urn:custseg:problem:not-found"


def test_preview_count_matches_pandas(api) -> None:
    rule = "amount_spent > 500 AND country IN ('US', 'CA')"
    r = api.client.post(
        "/segments/preview", headers=api.auth("read"), json={"rule": rule, "sample": 5}
    )
    assert r.status_code == 200
    body = r.json()
    cur = api.ws.connect().con.cursor()
    df = cur.execute("SELECT customer_id, amount_spent, country FROM customer_features").df()
    cur.close()
    hit = df[(df.amount_spent > 500) & df.country.isin(["US", "CA"])]
    assert body["count"] == len(hit) > 0
    assert body["total"] == len(df)
    assert body["share"] == pytest.approx(len(hit) / len(df))
    assert [s["customer_id"] for s in body["sample"]] == sorted(hit.customer_id)[:5]


def test_preview_of_a_bad_rule_is_422_with_position(api) -> None:
    rule = "amount_spent > 500 AND amount_spnt < 9"
    r = api.client.post("/segments/preview", headers=api.auth("read"), json={"rule": rule})
    assert r.status_code == 422
    p = r.json()
    assert p["type"] == "urn:custseg:problem:rule"
    assert p["position"] == rule.index("amount_spnt")
    assert p["column"] == rule.index("amount_spnt") + 1
    assert "amount_spent" in p["suggestion"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rule": ""},
        {"rule": "x > 1", "sample": 101},
        {"rule": "x > 1", "extra": 1},
        {"rule": 5},
    ],
)
def test_preview_validates_its_body(api, body) -> None:
    r = api.client.post("/segments/preview", headers=api.auth("read"), json=body)
    assert r.status_code == 422
    assert r.json()["errors"]


def _members(api, name: str) -> list[str]:
    return [
        r[0]
        for r in api.sql("SELECT customer_id FROM memberships WHERE segment = ? ORDER BY 1", [name])
    ]


def test_member_pages_concatenate_to_the_member_set(api) -> None:
    name = api.sql(
        "SELECT segment FROM memberships GROUP BY 1 HAVING count(*) BETWEEN 20 AND 400 "
        "ORDER BY count(*) DESC LIMIT 1"
    )[0][0]
    want = _members(api, name)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        r = api.client.get(f"/segments/{name}/members", headers=api.auth("read"), params=params)
        assert r.status_code == 200
        page = r.json()
        assert page["count"] == len(page["data"]) <= 7
        seen += [row["customer_id"] for row in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert seen == want
    assert pages == -(-len(want) // 7)  # ceil: no empty last page


def test_members_with_fields(api) -> None:
    name = "rfm_champions"
    r = api.client.get(
        f"/segments/{name}/members",
        headers=api.auth("read"),
        params={"limit": 3, "fields": ["amount_spent", "country"]},
    )
    rows = r.json()["data"]
    assert [x["customer_id"] for x in rows] == _members(api, name)[:3]
    for row in rows:
        want = api.sql(
            "SELECT amount_spent, country FROM customer_features WHERE customer_id = ?",
            [row["customer_id"]],
        )[0]
        assert (row["amount_spent"], row["country"]) == want
    bad = api.client.get(
        f"/segments/{name}/members", headers=api.auth("read"), params={"fields": ["nope"]}
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("limit", [0, 1001, -3])
def test_members_limit_is_bounded(api, limit: int) -> None:
    r = api.client.get(
        "/segments/rfm_champions/members", headers=api.auth("read"), params={"limit": limit}
    )
    assert r.status_code == 422


def test_profile_describes_the_members(api) -> None:
    r = api.client.get("/segments/rfm_at_risk/profile", headers=api.auth("read"))
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "rfm_at_risk"
    assert body["size"] == len(_members(api, "rfm_at_risk"))
    assert body["population_size"] == api.sql("SELECT count(*) FROM customer_features")[0][0]


def test_put_then_get_round_trips_and_delete_removes(api) -> None:
    folder = api.ws.root / "segments"
    spec = {
        "rule": "amount_spent > 1000\nAND country = 'US'",
        "title": "US big spenders",
        "description": "Spent over 1,000 in the US",
        "priority": 40,
        "tags": ["vip", "us"],
        "owner": "crm",
    }
    r = api.client.put("/segments/us_big_spenders", headers=api.auth("write"), json=spec)
    assert r.status_code == 201
    on_disk = read_segment_file(folder / "us_big_spenders.seg")
    assert (on_disk.rule, on_disk.title, on_disk.priority) == (spec["rule"], spec["title"], 40)
    assert (on_disk.description, list(on_disk.tags), on_disk.owner) == (
        "Spent over 1,000 in the US",
        ["vip", "us"],
        "crm",
    )

    got = api.client.get("/segments/us_big_spenders", headers=api.auth("read")).json()
    assert {k: got[k] for k in spec} == spec
    assert got["family"] == "rule" and got["size"] is None  # not evaluated yet

    again = api.client.put(
        "/segments/us_big_spenders", headers=api.auth("write"), json={"rule": "amount_spent > 2000"}
    )
    assert again.status_code == 200
    assert read_segment_file(folder / "us_big_spenders.seg").rule == "amount_spent > 2000"
    assert (
        api.client.get("/segments/us_big_spenders", headers=api.auth("read")).json()["title"]
        == "us_big_spenders"
    )

    assert (
        api.client.delete("/segments/us_big_spenders", headers=api.auth("write")).status_code == 204
    )
    assert not (folder / "us_big_spenders.seg").exists()
    assert api.client.get("/segments/us_big_spenders", headers=api.auth("read")).status_code == 404
    assert (
        api.client.delete("/segments/us_big_spenders", headers=api.auth("write")).status_code == 404
    )


def test_put_with_a_bad_rule_writes_nothing(api) -> None:
    rule = "amount_spent >> 5"
    r = api.client.put("/segments/broken", headers=api.auth("write"), json={"rule": rule})
    assert r.status_code == 422
    assert r.json()["type"] == "urn:custseg:problem:rule"
    assert 0 <= r.json()["position"] <= len(rule)
    assert not (api.ws.root / "segments" / "broken.seg").exists()


@pytest.mark.parametrize("name", ["rfm_champions", "vip_slipping"])
def test_builtin_and_toml_segments_cannot_be_written_or_deleted(api, name: str) -> None:
    assert api.client.delete(f"/segments/{name}", headers=api.auth("write")).status_code == 409
    r = api.client.put(
        f"/segments/{name}", headers=api.auth("write"), json={"rule": "amount_spent > 1"}
    )
    assert r.status_code == 409
    assert api.client.get(f"/segments/{name}", headers=api.auth("read")).status_code == 200


@pytest.mark.parametrize("name", ["Bad-Name", "a" * 65, "with space"])
def test_put_needs_a_key_name(api, name: str) -> None:
    r = api.client.put(
        f"/segments/{name}", headers=api.auth("write"), json={"rule": "amount_spent > 1"}
    )
    assert r.status_code == 422


def test_writes_need_the_write_scope(api) -> None:
    r = api.client.put("/segments/x", headers=api.auth("read"), json={"rule": "amount_spent > 1"})
    assert r.status_code == 403
    assert (
        api.client.delete("/segments/browsing_not_buying", headers=api.auth("read")).status_code
        == 403
    )
    assert (api.ws.root / "segments" / "browsing_not_buying.seg").exists()
