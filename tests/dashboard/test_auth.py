"""Login, the session cookie, redirects to the login form, scopes and the CSRF guard."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from custseg.dashboard.auth import SessionStore
from tests.dashboard._html import parse

PAGES = [
    "/ui/",
    "/ui/segments",
    "/ui/builder",
    "/ui/segments/rfm_champions",
    "/ui/customers/C0000001",
    "/ui/clusters",
    "/ui/campaigns",
    "/ui/segments/rfm_champions/export?format=csv",
]


def _cookie(header: str) -> SimpleCookie:
    c = SimpleCookie()
    c.load(header)
    return c


def test_login_sets_an_httponly_strict_session_cookie(dash) -> None:
    c = dash.client()
    form = parse(c.get("/ui/login").text)
    token_input = form.by_id("token")
    assert token_input.get("name") == "token" and token_input.get("type") == "password"
    assert form.by_id("login-button") is not None

    r = c.post("/ui/login", data={"token": dash.tokens["read"]})
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/"
    morsel = _cookie(r.headers["set-cookie"])["custseg_session"]
    assert morsel.value and dash.tokens["read"] not in r.headers["set-cookie"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    page = c.get("/ui/")
    assert page.status_code == 200
    assert parse(page.text).by_id("scope").text() == "read"


def test_a_bad_token_shows_the_form_again_without_a_cookie(dash) -> None:
    c = dash.client()
    r = c.post("/ui/login", data={"token": "cs_000000000000_" + "x" * 43})
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    doc = parse(r.text)
    assert "not valid" in doc.by_id("login-error").text()
    assert doc.by_id("token") is not None


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_the_login_without_a_session(dash, path) -> None:
    c = dash.client()
    r = c.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/ui/login?next=/ui/")
    c.cookies.set("custseg_session", "made-up")
    assert c.get(path).status_code == 303


def test_root_redirects_to_the_dashboard(dash) -> None:
    r = dash.client().get("/")
    assert r.status_code == 307
    assert r.headers["location"] == "/ui/"


def test_next_is_followed_only_inside_the_site(dash) -> None:
    c = dash.client()
    r = c.get("/ui/segments")
    login = c.get(r.headers["location"])
    nxt = parse(login.text).all("input", name="next")[0].get("value")
    assert nxt == "/ui/segments"
    ok = c.post("/ui/login", data={"token": dash.tokens["read"], "next": nxt})
    assert ok.headers["location"] == "/ui/segments"
    evil = c.post("/ui/login", data={"token": dash.tokens["read"], "next": "//evil.example/x"})
    assert evil.headers["location"] == "/ui/"


def test_logout_ends_the_session(dash) -> None:
    c = dash.login("read")
    assert c.get("/ui/segments").status_code == 200
    r = c.post("/ui/logout")
    assert r.status_code == 303
    c.cookies.clear()  # the browser would have dropped the expired cookie too
    c.cookies.set("custseg_session", "gone")
    assert c.get("/ui/segments").status_code == 303


def test_a_session_id_stops_working_after_logout(dash) -> None:
    c = dash.login("read")
    sid = c.cookies.get("custseg_session")
    c.post("/ui/logout")
    other = dash.client()
    other.cookies.set("custseg_session", sid)
    assert other.get("/ui/").status_code == 303


def test_the_cookie_authenticates_api_reads(dash) -> None:
    c = dash.login("read")
    r = c.get("/segments")
    assert r.status_code == 200
    assert r.json()["count"] == len(dash.sql("SELECT name FROM segment_definitions"))
    assert dash.client().get("/segments").status_code == 401


def test_cookie_writes_need_the_csrf_header(dash) -> None:
    c = dash.login("write")
    body = {"rule": "amount_spent > 100", "description": "csrf test"}
    refused = c.put("/segments/csrf_probe", json=body)
    assert refused.status_code == 403
    assert "X-Requested-With" in refused.json()["detail"]
    assert not (dash.ws.root / "segments" / "csrf_probe.seg").exists()
    ok = c.put("/segments/csrf_probe", json=body, headers={"X-Requested-With": "custseg"})
    assert ok.status_code == 201
    assert (dash.ws.root / "segments" / "csrf_probe.seg").exists()
    assert c.delete("/segments/csrf_probe").status_code == 403
    assert (
        c.delete("/segments/csrf_probe", headers={"X-Requested-With": "custseg"}).status_code == 204
    )


def test_a_read_session_cannot_save_export_or_make_holdouts(dash) -> None:
    c = dash.login("read")
    h = {"X-Requested-With": "custseg"}
    save = c.put("/segments/read_probe", json={"rule": "amount_spent > 1"}, headers=h)
    assert save.status_code == 403
    assert "'write' token" in save.json()["detail"]
    export = c.get("/ui/segments/rfm_champions/export?format=csv")
    assert export.status_code == 403
    assert "write" in parse(export.text).by_id("error-message").text()
    holdout = c.post(
        "/ui/api/holdouts", json={"segment": "rfm_champions", "fraction": 0.1, "seed": 1}, headers=h
    )
    assert holdout.status_code == 403
    tables = {r[0] for r in dash.sql("SELECT table_name FROM information_schema.tables")}
    assert "holdouts" not in tables


def test_session_store_expires_and_drops() -> None:
    store = SessionStore(lifetime=-1)
    assert store.token(store.create("t")) is None
    store = SessionStore()
    sid = store.create("t")
    assert store.token(sid) == "t"
    store.drop(sid)
    assert store.token(sid) is None
    assert store.token(None) is None
