"""No route is open by accident: every route is walked, without a token and with each scope.

``EXPECTED`` is the hand-written list of routes and the scope each needs (None: open). A
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
    ("GET", "/runs/{run_id}"): "read",
    ("POST", "/exports"): "write",
    ("GET", "/tokens"): "admin",
    ("POST", "/tokens"): "admin",
    ("DELETE", "/tokens/{token_id}"): "admin",
}
PUBLIC = {key for key, scope in EXPECTED.items() if scope is None}
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
    return re.sub(r"\{[^}]+\}", "no_such_thing_0", path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None):
    # An invalid body: a route that gets past authentication answers 422 and does nothing.
    body = {"__not_a_field__": 1} if method in ("POST", "PUT") else None
    return client.request(method, concrete(path), json=body, headers=headers or {})


def unprotected(app, client: TestClient) -> list[tuple[str, str]]:
    """Routes outside the public list that answer without a token (anything but 401)."""
    return [
        (m, p)
        for m, p in route_calls(app)
        if (m, p) not in PUBLIC and call(client, m, p).status_code != 401
    ]


def test_routes_are_the_expected_ones(api) -> None:
    assert sorted(route_calls(api.client.app)) == sorted(EXPECTED)


def test_no_route_is_open_without_a_token(api) -> None:
    assert unprotected(api.client.app, api.client) == []
    for m, p in route_calls(api.client.app):
        if (m, p) in PUBLIC:
            continue
        r = call(api.client, m, p)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"] == "Bearer"


def test_public_routes_answer_without_a_token(api) -> None:
    for m, p in sorted(PUBLIC):
        assert call(api.client, m, p).status_code == 200, p


def test_a_bad_token_is_401_everywhere(api) -> None:
    bad = {"Authorization": "Bearer cs_000000000000_" + "x" * 43}
    for m, p in route_calls(api.client.app):
        if (m, p) not in PUBLIC:
            assert call(api.client, m, p, bad).status_code == 401, (m, p)
    assert (
        api.client.get("/segments", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code
        == 401
    )


def test_each_route_needs_its_scope(api) -> None:
    for (m, p), scope in EXPECTED.items():
        if scope is None:
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
