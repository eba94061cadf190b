"""Shared fixtures: a fresh workspace, the data folder, and a DuckDB reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custseg.workspace import Workspace, init_workspace, open_workspace

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """An empty, freshly initialised workspace."""
    init_workspace(tmp_path / "ws")
    w = open_workspace(tmp_path / "ws")
    yield w
    w.close()


def rows(ws: Workspace, sql: str) -> list[tuple]:
    """Run SQL on the workspace database and return all rows."""
    return ws.connect().con.execute(sql).fetchall()
