"""No route is open by accident: every route is walked, without a token and with each scope.

``EXPECTED`` is the hand-written list of routes and the scope each needs (None: open;
``PAGE``: a dashboard page, which sends a caller without a session to the login form). A
new route fails :func:`test_routes_are_the_expected_ones` until it is added there, and
:func:`unprotected` (which calls every route without a token) catches one that is open.
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from custseg.api import create_app

EXPECTED: dict[tuple[str, str], str | None] = {
    ("GET", "/health"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/oauth2-redirect"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/segments"): "read",
    ("POST", "/segments/preview"): "read",
    ("GET", "/segments/{name}"): "read",
    ("PUT", "/segments/{name}"): "write",
    ("DELETE", "/segments/{name}"): "write",
    ("GET", "/segments/{name}/members"): "read",
    ("GET", "/segments/{name}/profile"): "read",
    ("GET", "/customers/{customer_id}"): "read",
    ("GET", "/runs"): "read",
    ("POST", "/runs"): "write",
    ("GET", "/runs/current"): "read",
    ("GET", "/runs/{run_id}"): "read",
    ("POST", "/exports"): "write",
    ("GET", "/tokens"): "admin",
    ("POST", "/tokens"): "admin",
    ("DELETE", "/tokens/{token_id}"): "admin",
    # the dashboard (custseg.dashboard)
    ("GET", "/"): None,
    ("GET", "/ui"): None,
    ("GET", "/ui/login"): None,
    ("POST", "/ui/login"): None,
    ("POST", "/ui/logout"): None,
    ("GET", "/ui/static/{filename}"): None,
    ("GET", "/ui/"): "page",
    ("GET", "/ui/segments"): "page",
    ("GET", "/ui/builder"): "page",
    ("GET", "/ui/segments/{key}"): "page",
    ("GET", "/ui/segments/{key}/export"): "page",
    ("GET", "/ui/customers/{customer_id}"): "page",
    ("GET", "/ui/clusters"): "page",
    ("GET", "/ui/campaigns"): "page",
    ("GET", "/ui/api/fields"): "read",
    ("GET", "/ui/api/values"): "read",
    ("POST", "/ui/api/holdouts"): "write",
}
PUBLIC = {key for key, scope in EXPECTED.items() if scope is None}
PAGES = {key for key, scope in EXPECTED.items() if scope == "page"}
LOWER = {"write": "read", "admin": "write"}


def route_calls(app) -> list[tuple[str, str]]:
    """(method, path template) of every route of the app, included routers too (no HEAD).

    A route without methods (a mount) counts as GET.
    """
    out = []
    for r in iter_route_contexts(app.routes):
        out += [(m, r.path) for m in sorted(r.methods or {"GET"}) if m != "HEAD"]
    return out


def concrete(path: str) -> str:
    """A callable path: every {param} replaced by a value no resource has."""
    if path == "/ui/static/{filename}":
        return "/ui/static/dashboard.css"
    return re.sub(r"\{[^}]+\}", "no_such_thing_0", path)


def call(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    follow: bool = False,
):
    # An invalid body: a route that gets past authentication answers 422 and does nothing.
    body = {"__not_a_field__": 1} if method in ("POST", "PUT") else None
    return client.request(
        method, concrete(path), json=body, headers=headers or {}, follow_redirects=follow
    )


def to_login(r) -> bool:
    """A redirect to the dashboard's login form."""
    return r.status_code in (302, 303, 307) and r.headers["location"].startswith("/ui/login")


def unprotected(app, client: TestClient) -> list[tuple[str, str]]:
    """Routes outside the public list that answer without a token (anything but 401, or a
    redirect to the login form for a dashboard page)."""
    out = []
    for m, p in route_calls(app):
        if (m, p) in PUBLIC:
            continue
        r = call(client, m, p)
        if r.status_code != 401 and not ((m, p) in PAGES and to_login(r)):
            out.append((m, p))
    return out


def test_routes_are_the_expected_ones(api) -> None:
    assert sorted(route_calls(api.client.app)) == sorted(EXPECTED)


def test_no_route_is_open_without_a_token(api) -> None:
    assert unprotected(api.client.app, api.client) == []
    for m, p in route_calls(api.client.app):
        if (m, p) in PUBLIC:
            continue
        r = call(api.client, m, p)
        if (m, p) in PAGES:
            assert to_login(r), (m, p)
            continue
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"] == "Bearer"


def test_public_routes_answer_without_a_token(api) -> None:
    for m, p in sorted(PUBLIC):
        assert call(api.client, m, p, follow=True).status_code == 200, p


def test_a_bad_token_is_401_everywhere(api) -> None:
    bad = {"Authorization": "Bearer cs_000000000000_" + "x" * 43}
    for m, p in route_calls(api.client.app):
        if (m, p) in PAGES:  # a page sends a bad credential to the login form
            assert to_login(call(api.client, m, p, bad)), (m, p)
        elif (m, p) not in PUBLIC:
            assert call(api.client, m, p, bad).status_code == 401, (m, p)
    assert (
        api.client.get("/segments", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code
        == 401
    )


def test_each_route_needs_its_scope(api) -> None:
    for (m, p), scope in EXPECTED.items():
        if scope in (None, "page"):  # pages: tests/dashboard/test_auth.py
            continue
        ok = call(api.client, m, p, api.auth(scope))
        assert ok.status_code not in (401, 403), (m, p, ok.status_code)
        if scope in LOWER:
            low = call(api.client, m, p, api.auth(LOWER[scope]))
            assert low.status_code == 403, (m, p)
            assert f'scope="{scope}"' in low.headers["www-authenticate"]


def test_the_checker_catches_an_unprotected_route(api) -> None:
    app = create_app(api.ws)
    client = TestClient(app)
    assert unprotected(app, client) == []

    @app.get("/dummy")
    def dummy() -> dict[str, str]:
        return {"open": "yes"}

    extra = APIRouter(prefix="/reports")

    @extra.post("/{name}")
    def report(name: str) -> dict[str, str]:
        return {"name": name}

    app.include_router(extra)
    assert unprotected(app, client) == [("GET", "/dummy"), ("POST", "/reports/{name}")]
    assert sorted(route_calls(app)) != sorted(EXPECTED)
