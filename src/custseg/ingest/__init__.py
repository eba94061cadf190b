"""Ingestion: read sources, map them to the canonical tables, validate, load atomically.

Public API
----------
:func:`ingest_sources`
    Load the sources configured in ``custseg.toml`` (all, or some by name).
:func:`ingest_file`
    Load one file ad hoc into a table, with an optional mapping.
:func:`validate_sources`
    The same as :func:`ingest_sources` but writes nothing: the report only.

Rows in = rows loaded + rows quarantined, always (:attr:`SourceReport.balanced`).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from custseg.config import CsvOptions, SourceConfig
from custseg.exceptions import CustsegError, LoadError, UsageError
from custseg.ingest.engine import build_batch
from custseg.ingest.mapping import Mapping, find_mapping, resolve_mapping
from custseg.ingest.readers import file_digest, infer_format, read_source
from custseg.ingest.report import RULES, LoadReport, SourceReport
from custseg.ingest.store import ensure_tables, last_fingerprint, write_batch
from custseg.schema import TABLES
from custseg.workspace import Workspace

__all__ = [
    "LoadReport",
    "SourceReport",
    "RULES",
    "Mapping",
    "ingest_sources",
    "ingest_file",
    "validate_sources",
    "quarantine",
]

log = logging.getLogger(__name__)

#: Load order: parents before children, so lines find their orders and orders their customers.
TABLE_ORDER = list(TABLES)

Progress = Callable[[str, int, int], None]


def _fingerprint(ws: Workspace, src: SourceConfig, path: Path | None) -> str:
    h = hashlib.sha256()
    h.update(src.model_dump_json().encode())
    h.update(ws.config.ingest.model_dump_json().encode())
    h.update(ws.config.workspace.base_currency.encode())
    if src.mapping and src.mapping in ws.config.mappings:
        h.update(ws.config.mappings[src.mapping].model_dump_json().encode())
    if path is not None and path.is_file():
        h.update(file_digest(path).encode())
    else:
        h.update(str(time.time()).encode())  # databases: always reload
    return h.hexdigest()


def _load_one(
    ws: Workspace, name: str, src: SourceConfig, *, dry_run: bool, force: bool = False
) -> SourceReport:
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    path = ws.resolve_path(src.path) if src.path else None
    if path is not None and not path.exists() and not name.startswith("file:"):
        from custseg.exceptions import ConfigError

        raise ConfigError(
            f"source {name!r}: path {src.path!r} does not exist ({path}). Fix [sources.{name}] "
            "path in custseg.toml (relative paths are inside the workspace)."
        )
    where = str(path) if path else f"{src.url}#{src.query_table}"
    mapping = find_mapping(src.mapping, ws.config) if src.mapping else None
    if mapping is not None and src.table is not None and src.table != mapping.table:
        from custseg.exceptions import MappingError

        raise MappingError(
            f"{where}: mapping {mapping.name!r} loads {mapping.table!r}, not {src.table!r}. "
            f"Use --table {mapping.table} (or leave --table out), or another mapping."
        )
    table = mapping.table if mapping else src.table
    if table is None:
        raise UsageError(f"source {name!r} needs a table (or a mapping that implies one).")
    if mapping is not None and src.format is None and mapping.format is not None and src.path:
        src = src.model_copy(update={"format": mapping.format})
    report = SourceReport(
        source=name,
        file=where,
        table=table,
        mapping=mapping.name if mapping else "identity",
        dry_run=dry_run,
    )
    con = ws.connect().con  # raw DuckDB connection: the ingest layer's staging engine
    fp = _fingerprint(ws, src, path)
    if not dry_run and not force and last_fingerprint(con, name) == fp:
        report.skipped = True
        report.seconds = time.perf_counter() - t0
        log.info("%s: unchanged since its last load, skipped", name)
        return report
    prefix = f"_stg{uuid.uuid4().hex[:8]}"
    raw = read_source(con, src, path=path, name=prefix)
    try:
        rm = resolve_mapping(
            src,
            table=table,
            header=raw.columns,
            source_name=where,
            config=ws.config,
            types=raw.types,
        )
        report.variant = rm.variant
        report.unknown_columns = rm.unknown_columns
        batch = build_batch(con, raw, rm, src, ws.config, report, now=started, prefix=prefix)
        if not report.balanced:  # pragma: no cover - an internal invariant
            raise LoadError(
                f"{where}: internal error: {report.rows_in} rows in, {report.rows_loaded} loaded, "
                f"{report.rows_quarantined} quarantined. Nothing was written; please report this."
            )
        if not dry_run:
            load_id = started.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
            try:
                write_batch(
                    con, batch, load_id=load_id, source=name, fingerprint=fp, started_at=started
                )
            except CustsegError:
                raise
            except Exception as e:  # noqa: BLE001
                msg = str(e).strip().splitlines()[0]
                raise LoadError(
                    f"{where}: the load failed ({msg}); the workspace keeps its previous state."
                ) from None
        for kind, t in batch.temp_tables:
            con.execute(f'DROP {kind} IF EXISTS "{t}"')
    finally:
        for t in (
            raw.relation,
            f"{raw.relation}_t",
            f"{raw.relation}_gaps",
            f"{raw.relation}_rej",
            f"{raw.relation}_rejscan",
        ):
            try:
                kind = "VIEW" if t == raw.relation and raw.is_view else "TABLE"
                con.execute(f'DROP {kind} IF EXISTS "{t}"')
            except Exception:  # noqa: BLE001
                log.debug("could not drop %s", t)
    report.seconds = time.perf_counter() - t0
    log.info(
        "%s: %d rows in, %d loaded, %d quarantined (%.1fs)",
        name,
        report.rows_in,
        report.rows_loaded,
        report.rows_quarantined,
        report.seconds,
    )
    return report


def _prepare(ws: Workspace) -> None:
    if not ws.is_duckdb:
        raise UsageError(
            f"ingest needs a DuckDB workspace backend (its staging and atomic loads use DuckDB); "
            f"this workspace uses {ws.backend_url!r}. Ingest into a DuckDB workspace and read the "
            "canonical tables from there, or export them to Parquet for your warehouse."
        )
    con = ws.connect().con
    con.execute("SET TimeZone = 'UTC'")
    tmp = ws.root / ".custseg-tmp"
    tmp.mkdir(exist_ok=True)
    con.execute(f"SET temp_directory = '{tmp}'")
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET preserve_insertion_order = true")
    # sqlglot 28.5 (pinned for Ibis 12) writes list lambdas as 'x -> ...'
    con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")


def ingest_sources(
    ws: Workspace,
    names: list[str] | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load the sources configured in the workspace, parents first.

    Parameters
    ----------
    ws
        The workspace.
    names
        Source names to load (default: all).
    dry_run
        Validate and report, write nothing.
    force
        Reload sources even when unchanged since their last load.
    progress
        Called with (source name, done, total) after each source.

    Raises
    ------
    UsageError
        An unknown source name (the message lists the configured ones).
    DataError, ConfigError, LoadError
        A source cannot be loaded; sources loaded before it stay loaded.
    """
    sources = ws.config.sources
    if not sources:
        raise UsageError(
            "no sources are configured in custseg.toml. Add [sources.NAME] entries, or load a file "
            "with 'custseg ingest FILE --table TABLE'."
        )
    chosen = names or list(sources)
    unknown = [n for n in chosen if n not in sources]
    if unknown:
        raise UsageError(
            f"unknown source(s): {', '.join(unknown)}. Configured sources: {', '.join(sources)}."
        )

    def rank(n: str) -> int:
        s = sources[n]
        t = find_mapping(s.mapping, ws.config).table if s.mapping else s.table
        return TABLE_ORDER.index(t) if t in TABLE_ORDER else len(TABLE_ORDER)

    ordered = sorted(chosen, key=rank)
    _prepare(ws)
    if not dry_run:
        ensure_tables(ws.connect().con)
    report = LoadReport()
    for i, n in enumerate(ordered):
        report.sources.append(_load_one(ws, n, sources[n], dry_run=dry_run, force=force))
        if progress:
            progress(n, i + 1, len(ordered))
    return report


def validate_sources(ws: Workspace, names: list[str] | None = None) -> LoadReport:
    """Validate configured sources without writing anything (see :func:`ingest_sources`)."""
    return ingest_sources(ws, names, dry_run=True)


def ingest_file(
    ws: Workspace,
    path: str | Path,
    *,
    table: str | None = None,
    mapping: str | None = None,
    format: str | None = None,
    csv: CsvOptions | None = None,
    timezone: str = "UTC",
    currency: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> LoadReport:
    """Load one file ad hoc.

    Parameters
    ----------
    ws
        The workspace.
    path
        The file (csv, csv.gz, parquet, json, ndjson).
    table
        Canonical table; may be omitted when ``mapping`` implies it.
    mapping
        A built-in or ``[mappings]`` name; default: columns named like the canonical ones.
    format, csv, timezone, currency
        As on a configured source.
    dry_run, force
        As in :func:`ingest_sources`.
    """
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise UsageError(f"file {str(path)!r} does not exist. Check the path.")
    if table is not None and table not in TABLES:
        raise UsageError(f"unknown table {table!r}; the canonical tables are: {', '.join(TABLES)}.")
    if table is None and mapping is None:
        raise UsageError("say which table the file loads into: --table TABLE (or give --mapping).")
    if format is None and (mapping is None or find_mapping(mapping, ws.config).format is None):
        format = infer_format(str(p))
    src = SourceConfig(
        path=str(p),
        table=table,
        mapping=mapping,
        format=format,
        csv=csv or CsvOptions(),
        timezone=timezone,
        currency=currency,
    )
    _prepare(ws)
    if not dry_run:
        ensure_tables(ws.connect().con)
    name = f"file:{p}:{table or mapping}"
    return LoadReport([_load_one(ws, name, src, dry_run=dry_run, force=force)])


def quarantine(ws: Workspace, *, source: str | None = None, limit: int | None = None) -> list[dict]:
    """Rows in the quarantine, newest load first, as dicts (with the original row as JSON)."""
    con = ws.connect().con
    ensure_tables(con)
    sql = "SELECT source, source_file, table_name, position, position_kind, rule, reason, raw FROM _quarantine"
    args: list = []
    if source:
        sql += " WHERE source = ?"
        args.append(source)
    sql += " ORDER BY quarantined_at DESC, source, position"
    if limit:
        sql += f" LIMIT {int(limit)}"
    cols = ["source", "source_file", "table", "position", "position_kind", "rule", "reason", "raw"]
    return [dict(zip(cols, r, strict=True)) for r in con.execute(sql, args).fetchall()]
