"""Fixtures for the API tests: a pipeline-run workspace, an app on a copy of it, tokens."""

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
class Api:
    """A running app (``client``), the workspace it serves, and one token per scope."""

    client: TestClient
    ws: Workspace
    tokens: dict[str, str]

    def auth(self, scope: str) -> dict[str, str]:
        """The Authorization header of the token with this scope."""
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple]:
        """Rows of a query on the served database, on a cursor of its own."""
        cur = self.ws.connect().con.cursor()
        try:
            return cur.execute(query, params or []).fetchall()
        finally:
            cur.close()


@pytest.fixture(scope="session")
def piped(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store with ``pipeline.run`` done (session-wide, read-only)."""
    return piped_store(demo_store, tmp_path_factory.getbasetemp())


def start_api(root: Path) -> Iterator[Api]:
    """Tokens for each scope, then the app on ``root``, started."""
    ws = open_workspace(root)
    tokens = {
        s: create_token(ws.connect(), scope=s, name=f"test {s}")[1]
        for s in ("read", "write", "admin")
    }
    with TestClient(create_app(ws)) as client:
        yield Api(client=client, ws=ws, tokens=tokens)
    ws.close()


@pytest.fixture(scope="module")
def api(piped: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app on a private copy of :func:`piped`, shared by one test module."""
    root = copy_store(piped, tmp_path_factory.mktemp("api") / "ws")
    yield from start_api(root)
