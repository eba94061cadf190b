"""Writing a batch into the workspace, atomically.

Everything one load changes (the canonical tables, the stub customers, the
quarantine and the load log) is written in one database transaction: a load
that fails or is killed part way leaves the previous state as it was, and the
database rolls the partial transaction back when it is next opened.

Upserts are by key: rows whose key is in the batch are replaced, the rest are
kept. Child tables (order_lines) are replaced per parent key, so a newer
export of an order replaces all of its lines.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from custseg.ingest._sql import lit, q
from custseg.ingest.engine import Batch, sql_type
from custseg.schema import TABLES
from custseg.workspace import transaction

__all__ = ["SYSTEM_TABLES", "ensure_tables", "write_batch", "last_fingerprint"]

log = logging.getLogger(__name__)

SYSTEM_TABLES = {
    "_quarantine": (
        "load_id VARCHAR, source VARCHAR, source_file VARCHAR, table_name VARCHAR, "
        "position BIGINT, position_kind VARCHAR, rule VARCHAR, reason VARCHAR, raw VARCHAR, "
        "quarantined_at TIMESTAMPTZ"
    ),
    "_loads": (
        "load_id VARCHAR, source VARCHAR, source_file VARCHAR, table_name VARCHAR, "
        "fingerprint VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, rows_in BIGINT, "
        "rows_loaded BIGINT, rows_quarantined BIGINT, report VARCHAR"
    ),
}


def _ddl(table: str) -> str:
    cols = ", ".join(f"{q(c.name)} {sql_type(c.dtype)}" for c in TABLES[table].columns)
    return f"CREATE TABLE IF NOT EXISTS {q(table)} ({cols})"


def ensure_tables(con: Any) -> None:
    """Create every canonical and system table that does not exist yet (empty)."""
    for t in TABLES:
        con.execute(_ddl(t))
    for t, cols in SYSTEM_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {q(t)} ({cols})")


def last_fingerprint(con: Any, source: str) -> str | None:
    """Fingerprint of the last successful load of ``source``, if any."""
    try:
        row = con.execute(
            "SELECT fingerprint FROM _loads WHERE source = ? ORDER BY finished_at DESC LIMIT 1",
            [source],
        ).fetchone()
    except Exception:  # noqa: BLE001 - no log yet
        return None
    return row[0] if row else None


def _upsert(con: Any, table: str, batch_rel: str) -> tuple[int, int]:
    """Replace rows of ``table`` by key from ``batch_rel``; return (inserted, updated)."""
    schema = TABLES[table]
    batch_cols = {r[0] for r in con.execute(f"DESCRIBE {q(batch_rel)}").fetchall()}
    cols = [c.name for c in schema.columns if c.name in batch_cols]
    empty = con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {q(table)})").fetchone()[0]
    if empty:
        updated = 0
    elif schema.replace_by:
        match = f"t.{q(schema.replace_by)} IN (SELECT {q(schema.replace_by)} FROM {q(batch_rel)})"
        key_match = " AND ".join(f"b.{q(k)} = t.{q(k)}" for k in schema.key)
        updated = con.execute(
            f"SELECT count(*) FROM {q(table)} t WHERE EXISTS (SELECT 1 FROM {q(batch_rel)} b WHERE {key_match})"
        ).fetchone()[0]
        con.execute(f"DELETE FROM {q(table)} t WHERE {match}")
    else:
        key_match = " AND ".join(f"b.{q(k)} = t.{q(k)}" for k in schema.key)
        updated = con.execute(
            f"SELECT count(*) FROM {q(table)} t WHERE EXISTS (SELECT 1 FROM {q(batch_rel)} b WHERE {key_match})"
        ).fetchone()[0]
        con.execute(
            f"DELETE FROM {q(table)} t WHERE EXISTS (SELECT 1 FROM {q(batch_rel)} b WHERE {key_match})"
        )
    col_list = ", ".join(q(c) for c in cols)
    n = con.execute(f"SELECT count(*) FROM {q(batch_rel)}").fetchone()[0]
    con.execute(f"INSERT INTO {q(table)} ({col_list}) SELECT {col_list} FROM {q(batch_rel)}")
    return n - updated, updated


def write_batch(
    con: Any,
    batch: Batch,
    *,
    load_id: str,
    source: str,
    fingerprint: str,
    started_at: datetime,
) -> None:
    """Write a batch in one transaction; on any error roll back and re-raise."""
    report = batch.report
    # row order in the stored tables carries no meaning: let DuckDB insert in parallel
    con.execute("SET preserve_insertion_order = false")
    try:
        with transaction(con):
            ensure_tables(con)
            for table, rel in batch.relations.items():
                ins, upd = _upsert(con, table, rel)
                report.tables[table] = {"inserted": ins, "updated": upd}
            if batch.stubs is not None:
                n = con.execute(
                    f"SELECT count(*) FROM {q(batch.stubs)} s WHERE NOT EXISTS "
                    f"(SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)"
                ).fetchone()[0]
                con.execute(
                    f"INSERT INTO customers (customer_id, email, created_at, is_stub) "
                    f"SELECT customer_id, email, created_at, is_stub FROM {q(batch.stubs)} s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)"
                )
                if n:
                    report.tables.setdefault("customers", {"inserted": 0, "updated": 0})
                    report.tables["customers"]["inserted"] += n
            # the quarantine holds the latest load of each source
            con.execute("DELETE FROM _quarantine WHERE source = ?", [source])
            con.execute(
                f"INSERT INTO _quarantine SELECT {lit(load_id)}, {lit(source)}, {lit(report.file)}, "
                f"{lit(batch.table)}, position, position_kind, rule, reason, raw, now() "
                f"FROM {q(batch.quarantine)}"
            )
            con.execute(
                "INSERT INTO _loads VALUES (?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?)",
                [
                    load_id,
                    source,
                    report.file,
                    batch.table,
                    fingerprint,
                    started_at,
                    report.rows_in,
                    report.rows_loaded,
                    report.rows_quarantined,
                    json.dumps(report.__dict__, default=str),
                ],
            )
    finally:
        try:
            con.execute("SET preserve_insertion_order = true")
        except Exception:  # noqa: BLE001 - inside an aborted outer transaction
            log.debug("could not reset preserve_insertion_order", exc_info=True)
