"""What a workspace holds: tables, row counts, loads and the quarantine (Ibis, any backend)."""

from __future__ import annotations

from typing import Any

from custseg.schema import TABLES
from custseg.workspace import Workspace

__all__ = ["workspace_status"]


def workspace_status(ws: Workspace) -> dict[str, Any]:
    """Summarize the workspace.

    Returns
    -------
    dict
        ``root``, ``backend``, ``tables`` ({name: {rows, quarantined}}), ``loads`` (the last
        load of each source) and ``quarantine_rules`` ({rule: rows}).
    """
    con = ws.connect()
    existing = set(con.list_tables())
    q_by_table: dict[str, int] = {}
    rules: dict[str, int] = {}
    loads: list[dict[str, Any]] = []
    if "_quarantine" in existing:
        qt = con.table("_quarantine")
        for row in qt.group_by("table_name").agg(n=qt.count()).to_pyarrow().to_pylist():
            q_by_table[row["table_name"]] = row["n"]
        agg = qt.group_by("rule").agg(n=qt.count()).order_by([qt.count().desc(), "rule"])
        rules = {r["rule"]: r["n"] for r in agg.to_pyarrow().to_pylist()}
    if "_loads" in existing:
        lt = con.table("_loads")
        latest = lt.mutate(
            _rn=lt.finished_at.rank().over(group_by=lt.source, order_by=lt.finished_at.desc())
        ).filter(lambda t: t._rn == 0)
        cols = ["source", "table_name", "finished_at", "rows_in", "rows_loaded", "rows_quarantined"]
        for r in latest.select(*cols).order_by("finished_at").to_pyarrow().to_pylist():
            r["table"] = r.pop("table_name")
            loads.append(r)
    tables = {}
    for name in TABLES:
        rows = con.table(name).count().execute() if name in existing else 0
        tables[name] = {"rows": int(rows), "quarantined": q_by_table.get(name, 0)}
    return {
        "root": str(ws.root),
        "backend": ws.backend_url,
        "tables": tables,
        "loads": loads,
        "quarantine_rules": rules,
    }
