"""Shared fixtures: a fresh workspace, the data folder, and a DuckDB reader."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The CLI's tables are as wide as the terminal; without one (CI, pytest-xdist workers)
# Rich falls back to 80 columns and tests that look for a cell would see it wrapped. Set
# before anything creates a console.
os.environ["COLUMNS"] = "200"

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


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo store (seed 7, 3,000 customers), loaded and with features built.

    Made once per session and never changed: tests that write open a private copy
    with :func:`demo_copy`. Truth about the planted personas is in ``data/truth/``.
    """
    from custseg.demo import write_demo_config
    from custseg.features import materialize
    from custseg.ingest import ingest_sources
    from custseg.synth import generate

    root = tmp_path_factory.mktemp("demo_store")
    manifest = generate(root / "data", customers=3000, seed=7)
    write_demo_config(root, manifest)
    with open_workspace(root) as w:
        ingest_sources(w)
        materialize(w)
    return root


@pytest.fixture
def demo_copy(demo_store: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private, writable copy of :func:`demo_store`, opened."""
    import shutil

    dest = tmp_path / "demo"
    shutil.copytree(demo_store, dest, ignore=shutil.ignore_patterns(".custseg-tmp"))
    w = open_workspace(dest)
    yield w
    w.close()
