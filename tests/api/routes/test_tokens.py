"""/tokens (admin): create, list and revoke while the server runs."""

from __future__ import annotations

from custseg.api.tokens import hash_token


def test_create_use_list_and_revoke(api) -> None:
    r = api.client.post(
        "/tokens", headers=api.auth("admin"), json={"scope": "read", "name": "storefront"}
    )
    assert r.status_code == 201
    made = r.json()
    token = made["token"]
    assert (made["scope"], made["name"], made["revoked"]) == ("read", "storefront", False)
    stored = api.sql("SELECT hash FROM _api_tokens WHERE id = ?", [made["id"]])
    assert stored == [(hash_token(token),)]
    mine = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/segments", headers=mine).status_code == 200

    listed = api.client.get("/tokens", headers=api.auth("admin")).json()
    entry = next(t for t in listed["data"] if t["id"] == made["id"])
    assert set(entry) == {"id", "name", "scope", "created_at", "revoked"}
    assert listed["count"] == api.sql("SELECT count(*) FROM _api_tokens")[0][0]

    assert api.client.delete(f"/tokens/{made['id']}", headers=api.auth("admin")).status_code == 204
    r = api.client.get("/segments", headers=mine)
    assert r.status_code == 401
    assert api.sql("SELECT revoked FROM _api_tokens WHERE id = ?", [made["id"]]) == [(True,)]


def test_tokens_need_admin(api) -> None:
    assert api.client.get("/tokens", headers=api.auth("write")).status_code == 403
    r = api.client.post("/tokens", headers=api.auth("write"), json={"scope": "admin"})
    assert r.status_code == 403
    assert api.sql("SELECT count(*) FROM _api_tokens WHERE scope = 'admin'")[0][0] == 1


def test_revoke_unknown_and_bad_scope(api) -> None:
    assert api.client.delete("/tokens/nope", headers=api.auth("admin")).status_code == 404
    r = api.client.post("/tokens", headers=api.auth("admin"), json={"scope": "root"})
    assert r.status_code == 422
