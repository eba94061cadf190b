"""Readers: put a source's raw rows into a staging table, losing none.

Every reader produces a temporary table with the source's columns (CSV
columns as text, so no value is lost to a type guess), a ``_row`` column
(the 1-based position of the record in the source) and a list of
:class:`Reject` for records that could not even be split into columns
(wrong field count, broken quoting, invalid UTF-8, broken JSON lines). Rejects
are quarantined by the caller with their line number and raw text.

The staging engine is DuckDB: it is the file reader of the ingest layer. It
is the only layer that knows about DuckDB.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custseg.config import CsvOptions, SourceConfig
from custseg.exceptions import SchemaError, SourceReadError, UsageError
from custseg.ingest._sql import lit, q

__all__ = ["Reject", "RawInput", "read_source", "infer_format", "file_digest"]

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class Reject:
    """A record the reader could not split into columns."""

    position: int
    kind: str  # "line" or "record"
    reason: str
    raw: str


@dataclass
class RawInput:
    """A source staged for mapping.

    Attributes
    ----------
    relation
        Name of the temporary staging table (source columns + ``_row``).
    columns
        Source column names in order.
    types
        DuckDB type name of each source column.
    rows
        Records staged (rejects excluded).
    rejects
        Records that could not be split into columns.
    source_file
        What the rows came from (path or URL#table), for messages.
    position_kind
        ``"row"`` for CSV data rows, ``"record"`` for JSON/Parquet/SQL records.
    """

    relation: str
    columns: list[str]
    types: dict[str, str]
    rows: int
    rejects: list[Reject] = field(default_factory=list)
    source_file: str = ""
    position_kind: str = "row"
    is_view: bool = False


def infer_format(path: str) -> str:
    """The format of a file from its name (``orders.csv.gz`` is csv)."""
    name = path.lower()
    for suffix in (".gz", ".gzip", ".zst"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    for ext, fmt in (
        (".csv", "csv"),
        (".tsv", "csv"),
        (".txt", "csv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".ndjson", "ndjson"),
        (".jsonl", "ndjson"),
        (".json", "json"),
    ):
        if name.endswith(ext):
            return fmt
    raise UsageError(
        f"cannot tell the format of {path!r} from its name; "
        "set format = 'csv' | 'parquet' | 'json' | 'ndjson' on the source (or --format)."
    )


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _first_nul(path: Path) -> int | None:
    """Byte offset of the first NUL byte of a file, if any (memchr speed)."""
    offset = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            i = chunk.find(b"\x00")
            if i >= 0:
                return offset + i
            offset += len(chunk)
    return None


def _first_error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_source(con: Any, src: SourceConfig, *, path: Path | None, name: str) -> RawInput:
    """Stage one source into a temporary table of ``con`` (a DuckDB connection).

    Parameters
    ----------
    con
        The raw DuckDB connection used for staging.
    src
        The source configuration.
    path
        The resolved file path (``None`` for database sources).
    name
        A short name for temp tables and messages.

    Raises
    ------
    SourceReadError
        The file is missing, empty, binary, or cannot be decoded as a whole.
    SchemaError
        The header is unusable (duplicate names).
    """
    rel = f"_stg_raw_{abs(hash(name)) % 10**8}"
    if src.url is not None:
        return _read_sql(con, src, rel)
    assert path is not None
    if not path.exists():
        raise SourceReadError(
            f"source file {str(path)!r} does not exist. Check the path (relative paths are "
            "resolved inside the workspace)."
        )
    if path.is_dir():
        raise SourceReadError(f"source {str(path)!r} is a folder; give a file.")
    if path.stat().st_size == 0:
        raise SourceReadError(
            f"{path}: the file is empty (0 bytes): no header and no rows. Export it again."
        )
    fmt = src.format or infer_format(str(path))
    if fmt == "csv":
        return _read_csv(con, path, src.csv, rel)
    if fmt == "parquet":
        return _read_parquet(con, path, rel)
    if fmt in ("json", "ndjson"):
        return _read_json(con, path, rel, ndjson=fmt == "ndjson")
    raise UsageError(f"format {fmt!r} needs a url; use format = 'sql' only with url = ...")


def _describe(con: Any, rel: str) -> tuple[list[str], dict[str, str]]:
    rows = con.execute(f"DESCRIBE {q(rel)}").fetchall()
    cols = [r[0] for r in rows if r[0] != "_row"]
    return cols, {r[0]: r[1] for r in rows}


# --------------------------------------------------------------------------- CSV


def _open_text_head(path: Path, opts: CsvOptions) -> tuple[str, str]:
    """Return (header line, compression) reading only the file's start."""
    with open(path, "rb") as f:
        magic = f.read(4)
    compression = opts.compression
    if compression == "auto":
        compression = (
            "gzip" if magic[:2] == _GZIP_MAGIC else ("zstd" if magic == _ZSTD_MAGIC else "none")
        )
    if compression == "zstd":
        raise SourceReadError(
            f"{path}: zstd-compressed CSV is not supported; decompress it or use gzip."
        )
    try:
        opener = gzip.open if compression == "gzip" else open
        with opener(path, "rb") as raw:
            head = raw.read(1 << 16)
    except (OSError, EOFError, zlib.error) as e:
        raise SourceReadError(
            f"{path}: cannot decompress the gzip file ({_first_error_line(e)}). "
            "It may be truncated or not really gzip; export it again."
        ) from None
    if b"\x00" in head and opts.encoding != "utf-16":
        nul = head.index(b"\x00")
        raise SourceReadError(
            f"{path}: the file holds binary data (NUL bytes near byte {nul}), "
            "not CSV text. If it is UTF-16 text set csv.encoding = 'utf-16'; "
            "otherwise check that you exported the right file."
        )
    enc = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}[opts.encoding]
    try:
        text = head.decode(enc)
    except UnicodeDecodeError as e:
        if len(head) == 1 << 16 and e.start >= len(head) - 4:  # a character cut by our window
            text = head[: e.start].decode(enc)
        else:
            line = head[: e.start].count(b"\n") + 1
            raise SourceReadError(
                f"{path}: not valid {opts.encoding} text: byte 0x{head[e.start]:02x} at byte "
                f"{e.start} (line {line}). If the file is Latin-1 (Windows Excel) set "
                "csv.encoding = 'latin-1' on the source."
            ) from None
    for _ in range(opts.skip_rows):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text, compression


def _read_csv(con: Any, path: Path, opts: CsvOptions, rel: str) -> RawInput:
    head, compression = _open_text_head(path, opts)
    if compression == "none" and opts.encoding != "utf-16":
        nul = _first_nul(path)
        if nul is not None:
            raise SourceReadError(
                f"{path}: the file holds a NUL byte at byte {nul}: it is binary or damaged, not "
                "CSV text. Export it again (or, for UTF-16 text, set csv.encoding = 'utf-16')."
            )
    if not head.strip():
        raise SourceReadError(f"{path}: the file has no data: only blank lines. Export it again.")
    reader = csv.reader(io.StringIO(head), delimiter=opts.delimiter, quotechar=opts.quote or None)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as e:
        raise SourceReadError(f"{path}: cannot read the header line ({e}).") from None
    if opts.header:
        header = [h.strip() for h in header]
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise SchemaError(
                f"{path}: duplicate column name(s) in the header: {', '.join(map(repr, dup))}. "
                "Rename them so each column has one name."
            )
        if any(h == "" for h in header):
            blanks = [str(i + 1) for i, h in enumerate(header) if h == ""]
            raise SchemaError(
                f"{path}: header column(s) {', '.join(blanks)} have no name. "
                "Give every column a name, or set csv.header = false and map by position."
            )
    rej_t, rej_s = f"{rel}_rej", f"{rel}_rejscan"
    for t in (rej_t, rej_s):
        con.execute(f"DROP TABLE IF EXISTS {q(t)}")
    names = header if opts.header else [f"column{i}" for i in range(len(header))]
    columns = ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names)
    # every dialect option is given, so DuckDB's sniffer is off: a broken last row is then
    # a rejected row instead of a file the sniffer refuses
    args = [
        "auto_detect = false",
        f"columns = {{{columns}}}",
        f"header = {'true' if opts.header else 'false'}",
        f"delim = {lit(opts.delimiter)}",
        f"quote = {lit(opts.quote)}",
        f"escape = {lit(opts.escape if opts.escape is not None else opts.quote)}",
        f"encoding = {lit(opts.encoding)}",
        f"compression = {lit(compression)}",
        f"skip = {opts.skip_rows}",
        "store_rejects = true",
        f"rejects_table = {lit(rej_t)}",
        f"rejects_scan = {lit(rej_s)}",
        "null_padding = false",
        "max_line_size = 10000000",
    ]
    # Read in parallel (no window function): insertion order is preserved, so the temp
    # table's rowid is the record's position among the parsed records.
    table = f"{rel}_t"
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {q(table)} AS SELECT * "
        f"FROM read_csv({lit(str(path))}, {', '.join(args)})"
    )
    try:
        con.execute(sql)
    except Exception as e:  # noqa: BLE001
        raise SourceReadError(
            f"{path}: cannot parse as CSV: {_first_error_line(e)}. Check the delimiter, quoting and "
            "encoding options under [sources.NAME.csv]."
        ) from None
    rejects = _csv_rejects(con, rej_t, opts, expected=len(names))
    if len(names) == 1:
        # a blank line and an empty one-column record look alike: a blank line is no record
        con.execute(f"DELETE FROM {q(table)} WHERE {q(names[0])} IS NULL")
    position = "CAST(t.rowid AS BIGINT) + 1"
    if rejects:
        # parsed record k is record k + #{j : r_j - j < k} of the file (r_j: rejected records)
        gaps = _reject_gaps(rejects, first_data_line=1 + int(opts.header) + opts.skip_rows)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {q(rel + '_gaps')} AS SELECT * FROM (VALUES "
            + ", ".join(f"({v}, {c})" for v, c in gaps)
            + ") g(v, c)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {q(rel)} AS SELECT t.*, {position} + coalesce(g.c, 0) "
            f"AS _row FROM {q(table)} t ASOF LEFT JOIN {q(rel + '_gaps')} g ON {position} > g.v"
        )
    else:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {q(rel)} AS SELECT t.*, {position} AS _row "
            f"FROM {q(table)} t"
        )
    cols, types = _describe(con, rel)
    rows = con.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0]
    return RawInput(rel, cols, types, rows, rejects, str(path), "row", is_view=True)


def _reject_gaps(rejects: list[Reject], *, first_data_line: int) -> list[tuple[int, int]]:
    """(g, count) steps for placing parsed records among rejected ones.

    With rejected records r_1 < r_2 < ..., parsed record k is file record
    k + #{j : r_j - j < k}. Returns, for each distinct g = r_j - j, the number of j with
    r_j - j <= g. Reject lines become records assuming one line per record before them
    (exact unless a quoted cell spans lines).
    """
    recs = sorted({r.position - first_data_line + 1 for r in rejects})
    steps: dict[int, int] = {}
    for j, rj in enumerate(recs, start=1):
        steps[rj - j] = j
    return sorted(steps.items())


_CSV_REASONS = {
    "MISSING COLUMNS": "malformed_row",
    "TOO MANY COLUMNS": "malformed_row",
    "UNQUOTED VALUE": "malformed_row",
    "LINE SIZE OVER MAXIMUM": "malformed_row",
    "INVALID UNICODE": "invalid_encoding",
    "INVALID ENCODING": "invalid_encoding",
}


def _field_count(raw: str, opts: CsvOptions) -> int | None:
    try:
        return len(
            next(
                csv.reader(
                    [raw.rstrip("\r\n")], delimiter=opts.delimiter, quotechar=opts.quote or None
                )
            )
        )
    except (csv.Error, StopIteration):
        return None


def _csv_rejects(con: Any, rej_t: str, opts: CsvOptions, *, expected: int) -> list[Reject]:
    try:
        rows = con.execute(
            f"SELECT line, arg_min(error_type, column_idx), arg_min(error_message, column_idx), "
            f"arg_min(csv_line, column_idx) FROM {q(rej_t)} GROUP BY line ORDER BY line"
        ).fetchall()
    except Exception:  # noqa: BLE001 - no rejects table means no rejects
        return []
    out = []
    for line, etype, msg, raw in rows:
        raw = raw if raw is not None else ""
        kind = str(etype).upper()
        rule = _CSV_REASONS.get(kind, "malformed_row")
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            n = _field_count(raw, opts)
            found = f"{n} field(s)" if n is not None else "a different number of fields"
            detail = f"the row has {found}, the header has {expected}"
        elif kind == "UNQUOTED VALUE":
            detail = f"broken quoting ({msg}); the row may be cut short or hold a stray quote"
        else:
            detail = str(msg)
        out.append(Reject(int(line), "line", f"{rule}: {detail}", raw))
    return out


# --------------------------------------------------------------------------- Parquet


def _read_parquet(con: Any, path: Path, rel: str) -> RawInput:
    try:
        # a view: Parquet is cheap to scan again, so nothing is copied before typing
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {q(rel)} AS SELECT * EXCLUDE (file_row_number), "
            f"CAST(file_row_number + 1 AS BIGINT) AS _row FROM read_parquet({lit(str(path))}, "
            "file_row_number = true)"
        )
        con.execute(f"SELECT count(*) FROM {q(rel)}").fetchone()  # fail here if unreadable
    except Exception as e:  # noqa: BLE001
        raise SourceReadError(
            f"{path}: cannot read as Parquet: {_first_error_line(e)}. The file may be truncated "
            "or not Parquet; export it again."
        ) from None
    cols, types = _describe(con, rel)
    rows = con.execute(f"SELECT count(*) FROM {q(rel)}").fetchone()[0]
    return RawInput(rel, cols, types, rows, [], str(path), "record", is_view=True)


# --------------------------------------------------------------------------- JSON


def _iter_json_records(path: Path, ndjson: bool) -> Iterator[tuple[int, str | None, str, str]]:
    """Yield (position, json_text_or_None, error, raw) for each record."""
    opener = gzip.open if path.read_bytes()[:2] == _GZIP_MAGIC else open
    if ndjson:
        with opener(path, "rb") as f:
            for i, raw_b in enumerate(f, start=1):
                try:
                    raw = raw_b.decode("utf-8-sig" if i == 1 else "utf-8").strip()
                except UnicodeDecodeError as e:
                    yield (
                        i,
                        None,
                        f"invalid_encoding: not UTF-8 at byte {e.start} of the line",
                        repr(raw_b[:200]),
                    )
                    continue
                if not raw:
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as e:
                    yield i, None, f"malformed_row: invalid JSON at column {e.colno}: {e.msg}", raw
                    continue
                if not isinstance(obj, dict):
                    yield (
                        i,
                        None,
                        f"malformed_row: expected a JSON object, got {type(obj).__name__}",
                        raw,
                    )
                    continue
                yield i, raw, "", raw
        return
    try:
        with opener(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise SourceReadError(
            f"{path}: not UTF-8 text (byte {e.start}). Save it as UTF-8."
        ) from None
    except json.JSONDecodeError as e:
        raise SourceReadError(
            f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}. "
            "If the file has one object per line, use format = 'ndjson'."
        ) from None
    except (OSError, EOFError) as e:
        raise SourceReadError(f"{path}: cannot read ({_first_error_line(e)}).") from None
    if isinstance(data, dict):
        # {"rows": [...]} or a single object
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        raise SourceReadError(
            f"{path}: expected a JSON array of objects, got {type(data).__name__}."
        )
    for i, obj in enumerate(data, start=1):
        raw = json.dumps(obj, ensure_ascii=False)
        if isinstance(obj, dict):
            yield i, raw, "", raw
        else:
            yield i, None, f"malformed_row: expected a JSON object, got {type(obj).__name__}", raw


def _read_json(con: Any, path: Path, rel: str, *, ndjson: bool) -> RawInput:
    rejects: list[Reject] = []
    fd, tmp = tempfile.mkstemp(suffix=".ndjson", prefix="custseg-")
    n = 0
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for pos, text, err, raw in _iter_json_records(path, ndjson):
            if text is None:
                rejects.append(Reject(pos, "line" if ndjson else "record", err, raw))
                continue
            body = text.strip()[1:].lstrip()
            sep = "" if body.startswith("}") else ","
            out.write('{"__pos": ' + str(pos) + sep + body + "\n")
            n += 1
    if n == 0:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {q(rel)} AS SELECT CAST(NULL AS BIGINT) AS _row WHERE false"
        )
    else:
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {q(rel)} AS SELECT * EXCLUDE (__pos), "
                f"CAST(__pos AS BIGINT) AS _row FROM read_json({lit(tmp)}, "
                "format = 'newline_delimited', sample_size = -1, maximum_object_size = 100000000)"
            )
        except Exception as e:  # noqa: BLE001
            os.unlink(tmp)
            raise SourceReadError(
                f"{path}: cannot read the JSON records: {_first_error_line(e)}."
            ) from None
    os.unlink(tmp)
    cols, types = _describe(con, rel)
    return RawInput(rel, cols, types, n, rejects, str(path), "line" if ndjson else "record")


# --------------------------------------------------------------------------- SQL databases


def _read_sql(con: Any, src: SourceConfig, rel: str) -> RawInput:
    import ibis

    url = src.url or ""
    where = f"{url}#{src.query_table}"
    try:
        remote = ibis.connect(url)
    except Exception as e:  # noqa: BLE001
        raise SourceReadError(
            f"cannot connect to {url!r}: {_first_error_line(e)}. Check the URL "
            "(e.g. sqlite:///path/to/file.db, duckdb:///path/to/file.duckdb)."
        ) from None
    try:
        try:
            t = remote.table(src.query_table)
        except Exception:  # noqa: BLE001
            tables = ", ".join(sorted(remote.list_tables())[:20])
            raise SourceReadError(
                f"{where}: no table {src.query_table!r} in the database; tables found: {tables}."
            ) from None
        try:
            reader = t.to_pyarrow_batches(chunk_size=500_000)
        except Exception as e:  # noqa: BLE001
            raise SourceReadError(
                f"{where}: cannot read the table: {_first_error_line(e)}."
            ) from None
        con.register("_sql_reader", reader)
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {q(rel)} AS SELECT *, "
                "CAST(row_number() OVER () AS BIGINT) AS _row FROM _sql_reader"
            )
        finally:
            con.unregister("_sql_reader")
    finally:
        remote.disconnect()
    cols, types = _describe(con, rel)
    rows = con.execute(f"SELECT count(*) FROM {q(rel)}").fetchone()[0]
    return RawInput(rel, cols, types, rows, [], where, "record")
