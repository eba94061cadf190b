"""The one error mapping: each error class to its status, always as problem-details JSON."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from custseg.api.errors import ApiError, install_error_handlers
from custseg.exceptions import (
    ConfigError,
    DataError,
    NotFittedError,
    PrivacyError,
    UsageError,
    WorkspaceError,
)
from custseg.segments.dsl import RuleError

ERRORS = {
    "privacy": (PrivacyError("too few rows"), 422, "privacy"),
    "usage": (UsageError("bad argument"), 400, "usage"),
    "workspace": (WorkspaceError("not evaluated"), 409, "workspace"),
    "not_fitted": (NotFittedError("fit first"), 409, "not-fitted"),
    "config": (ConfigError("bad toml"), 500, "config"),
    "data": (DataError("bad data"), 500, "error"),
    "gone": (ApiError(404, "no such thing"), 404, "not-found"),
}


class Body(BaseModel):
    n: int


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{kind}")
    def raise_(kind: str) -> None:
        raise ERRORS[kind][0]

    @app.get("/rule")
    def rule() -> None:
        raise RuleError(
            "unknown field 'amount_spnt'",
            rule="x > 1 AND amount_spnt > 5",
            position=10,
            suggestion="did you mean 'amount_spent'?",
        )

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret internals")

    @app.post("/body")
    def body(b: Body) -> int:
        return b.n

    return TestClient(app, raise_server_exceptions=False)


def _problem(r, status: int, kind: str) -> dict:
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == status
    assert p["type"] == f"urn:custseg:problem:{kind}"
    assert p["title"] and p["instance"] == r.request.url.path
    return p


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_custseg_errors_map_to_their_status(client: TestClient, kind: str) -> None:
    exc, status, type_ = ERRORS[kind]
    p = _problem(client.get(f"/raise/{kind}"), status, type_)
    assert p["detail"] == (exc.detail if isinstance(exc, ApiError) else str(exc))


def test_rule_error_carries_the_position(client: TestClient) -> None:
    p = _problem(client.get("/rule"), 422, "rule")
    assert p["position"] == 10
    assert (p["line"], p["column"]) == (1, 11)
    assert p["suggestion"] == "did you mean 'amount_spent'?"
    assert p["rule"] == "x > 1 AND amount_spnt > 5"


def test_validation_errors_list_every_problem(client: TestClient) -> None:
    p = _problem(client.post("/body", json={"n": "seven"}), 422, "validation")
    assert [e["loc"] for e in p["errors"]] == [["body", "n"]]
    assert p["detail"].startswith("body.n: ")


def test_internal_errors_do_not_leak(client: TestClient) -> None:
    p = _problem(client.get("/bug"), 500, "internal")
    assert "secret" not in p["detail"]


def test_unknown_route_is_a_problem_too(client: TestClient) -> None:
    _problem(client.get("/nowhere"), 404, "not-found")
