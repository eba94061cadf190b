"""Helpers for the ingest tests: tiny files, workspaces with a config, table snapshots."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custseg.ingest import ingest_file, quarantine
from custseg.ingest.report import SourceReport
from custseg.workspace import Workspace, init_workspace, open_workspace

FORMATS = Path(__file__).parent.parent / "data" / "formats"

#: Every table a load may touch: the canonical ones and the system ones.
CANONICAL = [
    "customers",
    "accounts",
    "orders",
    "order_lines",
    "events",
    "attributes",
    "campaigns",
    "campaign_exposures",
    "campaign_outcomes",
]
SYSTEM = ["_quarantine", "_loads"]


def write(path: Path, text: str | bytes) -> Path:
    """Write a small fixture file (text as UTF-8, or raw bytes) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def fetch(ws: Workspace, sql: str, args: list | None = None) -> list[tuple]:
    """All rows of a query on the workspace database."""
    return ws.connect().con.execute(sql, args or []).fetchall()


def one(ws: Workspace, sql: str, args: list | None = None):
    """The single value of a one-row, one-column query."""
    out = fetch(ws, sql, args)
    assert len(out) == 1, out
    return out[0][0]


def by_key(ws: Workspace, table: str, key: str, cols: str = "*") -> dict:
    """Rows of ``table`` as {key value: {column: value}}."""
    cur = ws.connect().con.execute(f'SELECT {cols} FROM "{table}"')
    names = [d[0] for d in cur.description]
    out = {}
    for r in cur.fetchall():
        d = dict(zip(names, r, strict=True))
        out[d[key]] = d
    return out


def qrows(ws: Workspace, source: str | None = None) -> list[dict]:
    """Quarantined rows (public API), sorted by position, with ``raw`` parsed when JSON."""
    out = []
    for r in quarantine(ws, source=source):
        r = dict(r)
        try:
            r["raw_json"] = json.loads(r["raw"]) if r["raw"] else None
        except (TypeError, ValueError):
            r["raw_json"] = None
        out.append(r)
    return sorted(out, key=lambda r: (r["position"], r["rule"]))


def load(ws: Workspace, path: Path, **kw) -> SourceReport:
    """``ingest_file`` for one file; returns its SourceReport."""
    rep = ingest_file(ws, path, **kw)
    assert len(rep.sources) == 1
    return rep.sources[0]


def snapshot(ws: Workspace) -> dict[str, list[tuple]]:
    """Full, sorted content of every canonical and system table."""
    con = ws.connect().con
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    out = {}
    for t in CANONICAL + SYSTEM:
        if t not in have:
            out[t] = None
            continue
        rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
        out[t] = sorted(rows, key=repr)
    return out


def content(ws: Workspace, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Sorted content of the canonical tables only (no load ids or times)."""
    con = ws.connect().con
    return {
        t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
        for t in (tables or CANONICAL)
    }


@pytest.fixture
def make_ws(tmp_path: Path) -> Iterator[Callable[[str], Workspace]]:
    """Factory: a fresh workspace whose custseg.toml is the given text (default config if empty)."""
    opened: list[Workspace] = []
    counter = [0]

    def _make(toml: str = "", name: str | None = None) -> Workspace:
        counter[0] += 1
        root = tmp_path / (name or f"ws{counter[0]}")
        init_workspace(root)
        if toml:
            (root / "custseg.toml").write_text(toml, encoding="utf-8")
        w = open_workspace(root)
        opened.append(w)
        return w

    yield _make
    for w in opened:
        w.close()


def reopen(ws: Workspace, toml: str | None = None) -> Workspace:
    """Close ``ws``, optionally rewrite its custseg.toml, and open it again."""
    ws.close()
    if toml is not None:
        (ws.root / "custseg.toml").write_text(toml, encoding="utf-8")
    return open_workspace(ws.root)
