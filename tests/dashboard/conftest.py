"""Fixtures for the dashboard tests: the app on a pipeline-run copy of the demo store.

``Dash.login(scope)`` logs a client in through the form, so its cookie jar holds the
session; ``Dash.html(path)`` parses a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custseg.api import create_app
from custseg.api.tokens import create_token
from custseg.workspace import Workspace, open_workspace
from tests.api._store import copy_store, piped_store


@dataclass
class Dash:
    """The app, the workspace it serves, one token per scope, and a SQL helper."""

    app: Any
    ws: Workspace
    tokens: dict[str, str]

    def client(self) -> TestClient:
        """A new client (own cookie jar) on the started app; no redirects followed."""
        return TestClient(self.app, follow_redirects=False)

    def login(self, scope: str = "write") -> TestClient:
        """A client logged in through the form with the token of ``scope``."""
        c = self.client()
        r = c.post("/ui/login", data={"token": self.tokens[scope], "next": "/ui/"})
        assert r.status_code == 303, r.text
        return c

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple]:
        """Rows of a query on the served database, on a cursor of its own."""
        cur = self.ws.connect().con.cursor()
        try:
            return cur.execute(query, params or []).fetchall()
        finally:
            cur.close()


@pytest.fixture(scope="session")
def piped(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store with ``pipeline.run`` done (shared with tests/api)."""
    return piped_store(demo_store, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def dash(piped: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    """The app on a private copy of :func:`piped`, started, for one test module."""
    root = copy_store(piped, tmp_path_factory.mktemp("dash") / "ws")
    ws = open_workspace(root)
    tokens = {
        s: create_token(ws.connect(), scope=s, name=f"test {s}")[1]
        for s in ("read", "write", "admin")
    }
    app = create_app(ws)
    with TestClient(app):  # runs the lifespan: tokens loaded, lookup built
        yield Dash(app=app, ws=ws, tokens=tokens)
    ws.close()
