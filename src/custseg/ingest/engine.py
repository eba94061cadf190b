"""Validation engine: typed canonical rows from a staged source, and the quarantine.

Given a staged source (:mod:`custseg.ingest.readers`) and its resolved
mapping (:mod:`custseg.ingest.mapping`), :func:`build_batch` produces temporary
tables holding the canonical rows to load, the stub customers to create and
the quarantined rows with their rule and reason. Nothing persistent is
touched here: :mod:`custseg.ingest.store` writes a batch atomically.

Every rule is in :data:`custseg.ingest.report.RULES` and in
``docs/ingestion.md``. Each source row ends in exactly one place: loaded, or
quarantined under one rule, so rows in = rows loaded + rows quarantined.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis.expr.datatypes as dt

from custseg.config import Config, SourceConfig
from custseg.ingest._sql import lit, q
from custseg.ingest.mapping import ResolvedMapping
from custseg.ingest.readers import RawInput
from custseg.ingest.report import SourceReport
from custseg.schema import TABLES, TableSchema

__all__ = ["Batch", "build_batch", "sql_type"]

log = logging.getLogger(__name__)

NULL_TOKENS = ("nan", "none", "null", "n/a", "#n/a", "nat", "-")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_STATUS = {
    "cancelled": ("cancelled", "canceled", "voided", "void"),
    "refunded": ("refunded",),
    "returned": ("returned",),
}


def sql_type(dtype: dt.DataType) -> str:
    """DuckDB type of a canonical column type."""
    if isinstance(dtype, dt.Decimal):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, dt.Timestamp):
        return "TIMESTAMPTZ"
    return {
        dt.String: "VARCHAR",
        dt.Int64: "BIGINT",
        dt.Float64: "DOUBLE",
        dt.Boolean: "BOOLEAN",
        dt.Date: "DATE",
    }[type(dtype)]


@dataclass
class Batch:
    """Temporary tables ready to be written by the store."""

    table: str
    relations: dict[str, str]  # canonical table -> temp table (canonical columns)
    quarantine: str  # temp table: position, position_kind, rule, reason, raw
    stubs: str | None
    report: SourceReport
    temp_tables: list[tuple[str, str]] = field(default_factory=list)  # (TABLE|VIEW, name)


class _Ctx:
    """Runs SQL on the staging connection and tracks temp tables."""

    def __init__(self, con: Any, prefix: str) -> None:
        self.con = con
        self.prefix = prefix
        self.temps: list[tuple[str, str]] = []

    def temp(self, suffix: str, select_sql: str) -> str:
        """A temporary table: for steps that are costly or read several times."""
        name = f"{self.prefix}_{suffix}"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS {select_sql}")
        self.temps.append(("TABLE", name))
        return name

    def view(self, suffix: str, select_sql: str) -> str:
        """A temporary view: for cheap steps (filters, renames) read once or twice."""
        name = f"{self.prefix}_{suffix}"
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {q(name)} AS {select_sql}")
        self.temps.insert(0, ("VIEW", name))  # views are dropped before their tables
        return name

    def columns(self, rel: str) -> list[str]:
        """Column names of a table or view."""
        return [r[0] for r in self.con.execute(f"DESCRIBE {q(rel)}").fetchall()]

    def scalar(self, sql: str) -> Any:
        return self.con.execute(sql).fetchone()[0]

    def exists(self, table: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND "
                f"schema_name = current_schema() AND table_name = {lit(table)}"
            )
        )


# --------------------------------------------------------------------------- typing


def _clean(expr: str, src_type: str, *, strip_apostrophe: bool, null_tokens: bool) -> str:
    """The raw value as trimmed text (NULL when empty) if the source is text, else as is."""
    if src_type.upper() != "VARCHAR":
        return expr
    v = f"trim({expr})"
    if strip_apostrophe:
        v = f"regexp_replace({v}, '^''', '')"
    v = f"NULLIF({v}, '')"
    if null_tokens:
        toks = ", ".join(lit(t) for t in NULL_TOKENS)
        v = f"CASE WHEN lower({v}) IN ({toks}) THEN NULL ELSE {v} END"
    return v


def _convert(v: str, dtype: dt.DataType, src_type: str, *, fmt: str | None, tz: str) -> str:
    """SQL converting cleaned value ``v`` to ``dtype``; NULL where it does not parse."""
    is_text = src_type.upper() == "VARCHAR"
    if dtype.is_string():
        return f"CAST({v} AS VARCHAR)"
    if dtype.is_boolean():
        if not is_text:
            return f"TRY_CAST({v} AS BOOLEAN)"
        t = ", ".join(lit(x) for x in _TRUE)
        f = ", ".join(lit(x) for x in _FALSE)
        return f"CASE WHEN lower({v}) IN ({t}) THEN true WHEN lower({v}) IN ({f}) THEN false END"
    if dtype.is_integer():
        return f"TRY_CAST({v} AS BIGINT)"
    if dtype.is_floating():
        return f"CASE WHEN isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END"
    if dtype.is_decimal():
        return f"TRY_CAST({v} AS {sql_type(dtype)})"
    if dtype.is_timestamp():
        if not is_text:
            if src_type.upper().startswith("TIMESTAMP WITH") or src_type.upper() == "TIMESTAMPTZ":
                return f"CAST({v} AS TIMESTAMPTZ)"
            if src_type.upper().startswith(("TIMESTAMP", "DATE")):
                return f"timezone({lit(tz)}, CAST({v} AS TIMESTAMP))"
            v = f"CAST({v} AS VARCHAR)"
        if fmt:
            if "%z" in fmt or "%Z" in fmt:
                return f"CAST(try_strptime({v}, {lit(fmt)}) AS TIMESTAMPTZ)"
            return f"timezone({lit(tz)}, try_strptime({v}, {lit(fmt)}))"
        return (
            f"COALESCE(CASE WHEN regexp_matches({v}, '(Z|UTC|GMT|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
            f"THEN COALESCE(TRY_CAST({v} AS TIMESTAMPTZ), "
            f"CAST(try_strptime({v}, '%Y-%m-%d %H:%M:%S %z') AS TIMESTAMPTZ)) "
            f"ELSE timezone({lit(tz)}, TRY_CAST({v} AS TIMESTAMP)) END)"
        )
    if dtype.is_date():
        if not is_text:
            return f"TRY_CAST({v} AS DATE)"
        if fmt:
            return f"CAST(try_strptime({v}, {lit(fmt)}) AS DATE)"
        return f"TRY_CAST({v} AS DATE)"
    raise AssertionError(dtype)  # pragma: no cover


def _country(v: str) -> str:
    """ISO 3166-1 alpha-2 for a country code or a known English name; else the value as given."""
    from custseg.ingest._countries import COUNTRY_CODES

    pairs = ", ".join(f"{lit(k)}: {lit(c)}" for k, c in sorted(COUNTRY_CODES.items()))
    return (
        f"CASE WHEN length({v}) = 2 THEN upper({v}) "
        f"ELSE coalesce(MAP {{{pairs}}}[lower({v})], {v}) END"
    )


def _typed_select(
    exprs: dict[str, str],
    schema: TableSchema,
    types: dict[str, str],
    rm: ResolvedMapping,
    src: SourceConfig,
    *,
    fmt_prefix: str = "",
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(clean selects, typed selects, (condition, message) reasons) for the mapped columns.

    Typed selects read the ``v:<column>`` clean values; reasons read both the clean
    value and the typed column, so a query selects them in two steps (the conversion
    runs once per value).
    """
    cleans, typed, reasons = [], [], []
    for col in schema.columns:
        if col.name not in exprs:
            continue
        src_type = types[col.name]
        key_like = col.name in schema.key or col.name.endswith("_id")
        vcol = f"v:{col.name}"
        cleans.append(
            f"{_clean(exprs[col.name], src_type, strip_apostrophe=rm.strip_apostrophe, null_tokens=key_like or not col.dtype.is_string())} AS {q(vcol)}"
        )
        conv = _convert(
            q(vcol),
            col.dtype,
            src_type,
            fmt=rm.formats.get(fmt_prefix + col.name),
            tz=src.timezone,
        )
        if col.name == "email":
            conv = f"lower({conv})"
        elif col.name in ("country", "ship_country"):
            conv = _country(conv)
        typed.append(f"{conv} AS {q(col.name)}")
        label = f"{fmt_prefix}{col.name}"
        if col.required:
            reasons.append((f"{q(vcol)} IS NULL", lit(f"missing_value: {label} is empty")))
        if not col.dtype.is_string():  # text always reads as text
            reasons.append(
                (
                    f"{q(vcol)} IS NOT NULL AND {q(col.name)} IS NULL",
                    f"'unparseable_value: {label}: cannot read ''' || "
                    f"left(CAST({q(vcol)} AS VARCHAR), 80) || ''' as {col.type_name}'",
                )
            )
        if col.dtype.is_string() and key_like:
            reasons.append(
                (
                    # the substring test is cheap and lets the regexp run on few rows
                    f"(contains({q(vcol)}, 'E') OR contains({q(vcol)}, 'e')) AND "
                    f"regexp_matches(CAST({q(vcol)} AS VARCHAR), "
                    "'^[0-9]+(\\.[0-9]+)?[eE]\\+?[0-9]+$')",
                    f"'lost_id: {label} ''' || CAST({q(vcol)} AS VARCHAR) || "
                    "''' is in scientific notation (a spreadsheet rounded it); export the file "
                    "again without opening it in Excel'",
                )
            )
    return cleans, typed, reasons


def _reasons_sql(reasons: list[tuple[str, str]]) -> str:
    """The list of failed rules of a row, or NULL when it passes them all.

    The conditions are checked first with a plain OR, and the list of messages is built
    only for the rows that fail one (2-4x faster than building it for every row).
    """
    if not reasons:
        return "CAST(NULL AS VARCHAR[])"
    any_failed = " OR ".join(f"({c})" for c, _ in reasons)
    items = ", ".join(f"CASE WHEN {c} THEN {m} END" for c, m in reasons)
    return f"CASE WHEN {any_failed} THEN list_filter([{items}], x -> x IS NOT NULL) END"


def _expr_types(ctx: _Ctx, raw: RawInput, exprs: dict[str, str], source: str) -> dict[str, str]:
    """DuckDB type of each mapped expression (and a check that they all run)."""
    from custseg.exceptions import MappingError

    if not exprs:
        return {}
    sel = ", ".join(f"{e} AS {q(k)}" for k, e in exprs.items())
    try:
        rows = ctx.con.execute(f"DESCRIBE SELECT {sel} FROM {q(raw.relation)}").fetchall()
    except Exception:  # noqa: BLE001 - find the culprit column
        for k, e in exprs.items():
            try:
                ctx.con.execute(f"DESCRIBE SELECT {e} AS x FROM {q(raw.relation)}")
            except Exception as err:  # noqa: BLE001
                msg = str(err).strip().splitlines()[0]
                raise MappingError(
                    f"{source}: the mapping for {k!r} ({e}) cannot run on this source: {msg}."
                ) from None
        raise
    # by position: DuckDB keeps a column's own spelling when the alias differs only by case
    return {k: r[1] for k, r in zip(exprs, rows, strict=True)}


# --------------------------------------------------------------------------- batch


def build_batch(
    con: Any,
    raw: RawInput,
    rm: ResolvedMapping,
    src: SourceConfig,
    config: Config,
    report: SourceReport,
    *,
    now: datetime,
    prefix: str,
) -> Batch:
    """Type, check and repair a staged source into a :class:`Batch`.

    Parameters
    ----------
    con
        Raw DuckDB connection of the workspace (persistent tables are only read).
    raw
        The staged source.
    rm
        Its resolved mapping.
    src, config
        Source and workspace configuration.
    report
        Filled in with counts per rule.
    now
        The load time (future-date rule).
    prefix
        Prefix for temp table names.
    """
    ctx = _Ctx(con, prefix)
    qrel = ctx.temp(
        "q",
        "SELECT CAST(NULL AS BIGINT) AS position, CAST(NULL AS VARCHAR) AS position_kind, "
        "CAST(NULL AS VARCHAR) AS rule, CAST(NULL AS VARCHAR) AS reason, "
        "CAST(NULL AS VARCHAR) AS raw WHERE false",
    )
    if raw.rejects:
        con.executemany(
            f"INSERT INTO {q(qrel)} VALUES (?, ?, ?, ?, ?)",
            [[r.position, r.kind, r.reason.split(":", 1)[0], r.reason, r.raw] for r in raw.rejects],
        )
    report.rows_in = raw.rows + len(raw.rejects)
    table = rm.table
    schema = TABLES[table]
    base = config.workspace.base_currency
    rates = {base: 1.0, **config.ingest.fx_rates}
    rates_sql = " ".join(f"WHEN {lit(k)} THEN {float(v)!r}" for k, v in rates.items())
    horizon = now + timedelta(days=config.ingest.future_tolerance_days)
    horizon_sql = f"TIMESTAMPTZ {lit(horizon.strftime('%Y-%m-%d %H:%M:%S+00'))}"
    relations: dict[str, str] = {}
    stubs: str | None = None

    def quarantine(rel: str, cond: str, rule_sql: str, reason_sql: str) -> str:
        """Move rows of ``rel`` matching ``cond`` to the quarantine; return the rest."""
        con.execute(
            f"INSERT INTO {q(qrel)} SELECT _row, {lit(raw.position_kind)}, {rule_sql}, {reason_sql}, "
            f"NULL FROM {q(rel)} WHERE coalesce({cond}, false)"
        )
        return ctx.view(
            f"{rel[len(prefix) + 1 :]}_ok",
            f"SELECT * FROM {q(rel)} WHERE NOT coalesce({cond}, false)",
        )

    # 1. typed rows -------------------------------------------------------------------
    types = _expr_types(
        ctx, raw, {**rm.exprs, **{f"o:{k}": v for k, v in rm.order_exprs.items()}}, report.source
    )
    line_level = bool(rm.order_exprs)
    cleans, typed, reasons = _typed_select(rm.exprs, schema, types, rm, src)
    o_cleans: list[str] = []
    o_typed: list[str] = []
    o_reasons: list[tuple[str, str]] = []
    if line_level:
        # the order id of a line-level export is the lines' order_id
        o_exprs = {k: f"arg_min({v}, _row)" for k, v in rm.order_exprs.items() if k != "order_id"}
        o_types = {k: types[f"o:{k}"] for k in rm.order_exprs}
        o_cleans, o_typed, o_reasons = _typed_select(
            o_exprs, TABLES["orders"], o_types, rm, src, fmt_prefix="orders."
        )
    reasons_sql = _reasons_sql(reasons)
    names = ", ".join(q(c.name) for c in schema.columns if c.name in rm.exprs) or "NULL AS _none"
    typed_rel = ctx.temp(
        "typed",
        f"WITH a AS (SELECT _row, {', '.join(cleans) or 'NULL AS _none'} FROM {q(raw.relation)}), "
        f"b AS (SELECT *, {', '.join(typed) or 'NULL AS _none2'} FROM a) "
        f"SELECT _row, {names}, {reasons_sql} AS _reasons FROM b",
    )
    if table == "order_lines" and "line_no" not in rm.exprs and "order_id" in rm.exprs:
        # lines are numbered in source order within their order, before any is quarantined
        typed_rel = ctx.view(
            "typed_ln",
            f"SELECT *, CAST(row_number() OVER (PARTITION BY order_id ORDER BY _row) AS BIGINT) "
            f"AS line_no FROM {q(typed_rel)}",
        )
    good = quarantine(
        typed_rel,
        "_reasons IS NOT NULL",
        "split_part(_reasons[1], ':', 1)",
        "array_to_string(_reasons, '; ')",
    )
    present = [c.name for c in schema.columns if c.name in rm.exprs]

    # 2. line-level exports: orders from each order's first row -----------------------------
    orders_rel: str | None = None
    if line_level:
        # order-level values come from the raw rows, grouped by the typed order id of the line
        o_raw = ctx.temp(
            "oraw",
            f"SELECT t.order_id AS order_id, min(r._row) AS _row, {', '.join(o_cleans)} "
            f"FROM {q(raw.relation)} r JOIN {q(good)} t USING (_row) GROUP BY t.order_id",
        )
        o_reasons_sql = _reasons_sql(o_reasons)
        o_names = ", ".join(q(c.name) for c in TABLES["orders"].columns if c.name in o_exprs)
        o_typed_rel = ctx.temp(
            "otyped",
            f"WITH b AS (SELECT *, {', '.join(o_typed)} FROM {q(o_raw)}) "
            f"SELECT order_id, _row, {o_names}, {o_reasons_sql} AS _reasons FROM b",
        )
        orders_rel, bad_orders = _order_rules(
            ctx,
            o_typed_rel,
            rates_sql,
            base,
            horizon_sql,
            src,
            config,
            report,
            line_level=True,
            lines=good,
        )
        # lines of quarantined orders follow their order
        con.execute(
            f"INSERT INTO {q(qrel)} SELECT l._row, {lit(raw.position_kind)}, b.rule, "
            f"'order ' || l.order_id || ': ' || b.reason, NULL FROM {q(good)} l "
            f"JOIN {q(bad_orders)} b USING (order_id)"
        )
        good = ctx.view(
            "lines_ok",
            f"SELECT l.*, o.fx_rate AS _fx FROM {q(good)} l JOIN {q(orders_rel)} o USING (order_id)",
        )

    # 3. table rules --------------------------------------------------------------------------
    if table == "orders":
        if "order_id" in present:
            orders_rel, _ = _order_rules(
                ctx,
                good,
                rates_sql,
                base,
                horizon_sql,
                src,
                config,
                report,
                line_level=False,
                qrel=qrel,
                position_kind=raw.position_kind,
            )
            good = orders_rel
    elif table == "order_lines":
        good = _line_rules(
            ctx, good, present, line_level, rates_sql, base, src, qrel, raw.position_kind
        )
    elif table == "events":
        if "ts" in present:
            good = quarantine(
                good,
                f"ts > {horizon_sql}",
                "'future_date'",
                f"'future_date: ts ' || CAST(ts AS VARCHAR) || ' is after the load time + {config.ingest.future_tolerance_days} day(s)'",
            )
        if "event_id" not in present:
            fields = [
                c
                for c in ("customer_id", "anonymous_id", "ts", "type", "product_id", "url")
                if c in present
            ]
            concat = ", ".join(f"coalesce(CAST({q(c)} AS VARCHAR), '')" for c in fields)
            good = ctx.view(
                "ev", f"SELECT *, md5(concat_ws('|', {concat})) AS event_id FROM {q(good)}"
            )
            report.add("event_id_derived", ctx.scalar(f"SELECT count(*) FROM {q(good)}"))
    elif table == "campaign_outcomes" and "revenue" in present:
        good = _convert_money(ctx, good, ["revenue"], src, rates_sql, base, "oc")

    # 4. duplicates (all tables) -------------------------------------------------------------
    if table != "orders":  # orders did it inside _order_rules
        good = _dedupe(ctx, good, schema, qrel, raw.position_kind)

    # 5. cross-table: customers of orders ----------------------------------------------------
    if table == "orders" or line_level:
        assert orders_rel is not None
        target_orders = good if table == "orders" else orders_rel
        target_orders, stubs = _resolve_customers(
            ctx,
            target_orders,
            config,
            report,
            qrel,
            raw.position_kind,
            line_level,
            good if line_level else None,
        )
        if line_level:
            # orders quarantined for unknown customers take their lines along
            good = ctx.view(
                "lines_final",
                f"SELECT l.* FROM {q(good)} l WHERE l.order_id IN (SELECT order_id FROM {q(target_orders)})",
            )
            relations["orders"] = target_orders
        else:
            good = target_orders

    relations[table] = good
    if table == "customers":
        relations[table] = ctx.view("cust_final", f"SELECT *, false AS is_stub FROM {q(good)}")
    # what will be loaded is computed once: the counts below and the store read it
    views = {name for kind, name in ctx.temps if kind == "VIEW"}
    for t, rel in list(relations.items()):
        if rel in views:
            relations[t] = ctx.temp(f"final_{t}", f"SELECT * FROM {q(rel)}")
    good = relations[table]
    # 6. kept-as-is counts ------------------------------------------------------------------
    if table == "order_lines":
        report.add("return_line", ctx.scalar(f"SELECT count(*) FROM {q(good)} WHERE quantity < 0"))
    if "orders" in relations:
        o = relations["orders"]
        if "status" in ctx.columns(o):
            report.add(
                "cancelled_order",
                ctx.scalar(f"SELECT count(*) FROM {q(o)} WHERE status = 'cancelled'"),
            )
            report.add(
                "refunded_order",
                ctx.scalar(f"SELECT count(*) FROM {q(o)} WHERE status IN ('refunded', 'returned')"),
            )

    # 7. raw text of quarantined rows -----------------------------------------------------------
    packed = ", ".join(f"{lit(c)}: r.{q(c)}" for c in raw.columns) or "'_': NULL"
    con.execute(
        f"UPDATE {q(qrel)} SET raw = CAST(to_json({{{packed}}}) AS VARCHAR) FROM {q(raw.relation)} r "
        f"WHERE {q(qrel)}.raw IS NULL AND r._row = {q(qrel)}.position"
    )
    for rule, n in con.execute(f"SELECT rule, count(*) FROM {q(qrel)} GROUP BY rule").fetchall():
        report.add(rule, n)
    report.rows_quarantined = ctx.scalar(f"SELECT count(*) FROM {q(qrel)}")
    report.rows_loaded = ctx.scalar(f"SELECT count(*) FROM {q(relations[table])}")
    return Batch(table, relations, qrel, stubs, report, ctx.temps)


def _present_cols(ctx: _Ctx, rel: str, schema: TableSchema) -> list[str]:
    cols = ctx.columns(rel)
    return [c.name for c in schema.columns if c.name in cols]


def _dedupe(ctx: _Ctx, rel: str, schema: TableSchema, qrel: str, kind: str) -> str:
    """Keep one row per key; the others go to the quarantine as duplicate_key."""
    cols = _present_cols(ctx, rel, schema)
    key = [k for k in schema.key if k in cols]
    if len(key) != len(schema.key):
        return rel
    part = ", ".join(q(k) for k in key)
    repeated = ctx.scalar(
        f"SELECT count(*) FROM (SELECT 1 FROM {q(rel)} GROUP BY {part} HAVING count(*) > 1)"
    )
    if not repeated:
        return rel
    order = [f"{q(c)} DESC NULLS LAST" for c in schema.survivor_order if c in cols] + ["_row DESC"]
    ranked = ctx.temp(
        f"rk_{schema.name}",
        f"SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY {', '.join(order)}) AS _rank, "
        f"first_value(_row) OVER (PARTITION BY {part} ORDER BY {', '.join(order)}) AS _kept "
        f"FROM {q(rel)}",
    )
    keytxt = " || ', ' || ".join(f"CAST({q(k)} AS VARCHAR)" for k in key)
    ctx.con.execute(
        f"INSERT INTO {q(qrel)} SELECT _row, {lit(kind)}, 'duplicate_key', "
        f"'duplicate_key: {', '.join(key)} = ' || {keytxt} || ' also at {kind} ' || _kept || "
        f"', which is kept (newest, then last row wins)', NULL FROM {q(ranked)} WHERE _rank > 1"
    )
    return ctx.view(
        f"dd_{schema.name}", f"SELECT * EXCLUDE (_rank, _kept) FROM {q(ranked)} WHERE _rank = 1"
    )


def _fx(col: str, rate: str) -> str:
    """A money column in the base currency: unchanged at rate 1, else rounded to cents.

    NULL if the converted amount overflows decimal(18,2) (the caller quarantines that).
    """
    return (
        f"CASE WHEN {rate} = 1.0 THEN {col} "
        f"ELSE TRY_CAST(round(CAST({col} AS DOUBLE) * {rate}, 2) AS DECIMAL(18,2)) END"
    )


def _currency_rate_sql(rates_sql: str, cur: str) -> str:
    return f"CASE {cur} {rates_sql} END"


def _order_rules(
    ctx: _Ctx,
    rel: str,
    rates_sql: str,
    base: str,
    horizon_sql: str,
    src: SourceConfig,
    config: Config,
    report: SourceReport,
    *,
    line_level: bool,
    qrel: str | None = None,
    position_kind: str = "row",
    lines: str | None = None,
) -> tuple[str, str]:
    """Order rules: typing reasons (line-level), future date, currency, status, duplicates.

    Returns (good orders, bad orders). For line-level exports bad orders are
    returned (order_id, rule, reason) for their lines to follow; otherwise bad
    rows go straight to ``qrel``.
    """
    cols = _present_cols(ctx, rel, TABLES["orders"])
    cur = "original_currency_in"
    cur_expr = (
        f"upper(coalesce(currency, {lit(src.currency or base)}))"
        if "currency" in cols
        else lit((src.currency or base).upper())
    )
    tol = config.ingest.future_tolerance_days
    checks = []
    if line_level:
        checks.append(
            (
                "_reasons IS NOT NULL",
                "split_part(_reasons[1], ':', 1)",
                "array_to_string(_reasons, '; ')",
            )
        )
    money_in = [
        c.name for c in TABLES["orders"].columns if c.dtype == dt.Decimal(18, 2) and c.name in cols
    ]
    rate_sql = _currency_rate_sql(rates_sql, cur)
    overflow = " OR ".join(
        f"({q(m)} IS NOT NULL AND {_fx(q(m), rate_sql)} IS NULL)" for m in money_in
    )
    checks += [
        (
            f"ordered_at > {horizon_sql}",
            "'future_date'",
            f"'future_date: ordered_at ' || CAST(ordered_at AS VARCHAR) || ' is more than {tol} day(s) after the load'",
        ),
        (
            f"{_currency_rate_sql(rates_sql, cur)} IS NULL",
            "'unknown_currency'",
            f"'unknown_currency: ' || {cur} || ' is neither the base currency {base} nor in ingest.fx_rates; add its rate'",
        ),
    ]
    if overflow:
        checks.append(
            (
                overflow,
                "'unparseable_value'",
                f"'unparseable_value: an amount in ' || {cur} || ' is too large for decimal(18,2) "
                "once converted to the base currency'",
            )
        )
    staged = ctx.view("o_cur", f"SELECT *, {cur_expr} AS {cur} FROM {q(rel)}")
    case_rule = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r, _ in checks) + " END"
    case_reason = "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, _, m in checks) + " END"
    flagged = ctx.temp(
        "o_flag", f"SELECT *, {case_rule} AS _rule, {case_reason} AS _reason FROM {q(staged)}"
    )
    bad = ctx.temp(
        "o_bad",
        f"SELECT order_id, _row, _rule AS rule, _reason AS reason FROM {q(flagged)} WHERE _rule IS NOT NULL",
    )
    if not line_level:
        ctx.con.execute(
            f"INSERT INTO {q(qrel)} SELECT _row, {lit(position_kind)}, rule, reason, NULL FROM {q(bad)}"
        )
    money = [
        c.name for c in TABLES["orders"].columns if c.dtype == dt.Decimal(18, 2) and c.name in cols
    ]
    status_sql = "status"
    if "status" in cols:
        whens = " ".join(
            f"WHEN lower(trim(status)) IN ({', '.join(lit(x) for x in xs)}) THEN {lit(k)}"
            for k, xs in _STATUS.items()
        )
        status_sql = f"CASE {whens} WHEN status IS NULL THEN 'placed' ELSE 'placed' END"
    rate = _currency_rate_sql(rates_sql, cur)
    conv = ", ".join(f"{_fx(q(m), rate)} AS {q(m)}" for m in money)
    exclude = ["_rule", "_reason", cur, *money, *(["currency"] if "currency" in cols else [])]
    if "_reasons" in ctx.columns(flagged):
        exclude.append("_reasons")
    if "status" in cols:
        exclude.append("status")
    sel = [f"* EXCLUDE ({', '.join(q(e) for e in exclude)})"]
    if conv:
        sel.append(conv)
    sel += [
        f"{lit(base)} AS currency",
        f"{cur} AS original_currency",
        f"{rate} AS fx_rate",
    ]
    if "status" in cols:
        sel.append(f"{status_sql} AS status")
    good = ctx.view("o_good", f"SELECT {', '.join(sel)} FROM {q(flagged)} WHERE _rule IS NULL")
    report.add(
        "currency_converted",
        ctx.scalar(f"SELECT count(*) FROM {q(good)} WHERE original_currency <> {lit(base)}"),
    )
    if not line_level:
        good = _dedupe(ctx, good, TABLES["orders"], qrel, position_kind)  # type: ignore[arg-type]
    else:
        assert lines is not None
        good = _derive_totals(ctx, good, lines, report)
    return good, bad


def _derive_totals(ctx: _Ctx, orders: str, lines: str, report: SourceReport) -> str:
    """Fill what a line-level export lacks from its lines.

    ``items_count`` is always exact from the lines. ``subtotal`` and ``total`` are derived
    only when the export has no total: subtotal = sum(quantity x unit_price) - discount
    (the order's discount, else the sum of line discounts), total = subtotal + shipping + tax,
    all in the base currency.
    """
    cols = _present_cols(ctx, orders, TABLES["orders"])
    # lines quarantined later for a negative price are left out of the sums
    need = ["items_count"] if "items_count" not in cols else []
    if "total" not in cols:
        need += [c for c in ("subtotal", "total") if c not in cols]
    if not need:
        return orders
    line_cols = ctx.columns(lines)
    line_disc = "sum(coalesce(discount, 0))" if "discount" in line_cols else "0"
    sums = ctx.temp(
        "lsum",
        f"SELECT order_id, sum(quantity * unit_price) AS gross, {line_disc} AS ldisc, "
        f"sum(CASE WHEN quantity > 0 THEN quantity ELSE 0 END) AS units "
        f"FROM {q(lines)} WHERE NOT coalesce(unit_price < 0, false) GROUP BY order_id",
    )
    # order money is already in the base currency; line sums are still in the order's currency
    disc = (
        "coalesce(o.discount, s.ldisc * o.fx_rate)" if "discount" in cols else "s.ldisc * o.fx_rate"
    )
    sub = (
        "o.subtotal"
        if "subtotal" in cols
        else f"CAST(round(s.gross * o.fx_rate - {disc}, 2) AS DECIMAL(18,2))"
    )
    extra = []
    if "subtotal" in need:
        extra.append(f"{sub} AS subtotal")
    if "total" in need:
        ship = "coalesce(o.shipping, 0)" if "shipping" in cols else "0"
        tax = "coalesce(o.tax, 0)" if "tax" in cols else "0"
        extra.append(f"CAST({sub} + {ship} + {tax} AS DECIMAL(18,2)) AS total")
    if "items_count" in need:
        extra.append("CAST(s.units AS BIGINT) AS items_count")
    out = ctx.view(
        "o_tot",
        f"SELECT o.*, {', '.join(extra)} FROM {q(orders)} o LEFT JOIN {q(sums)} s USING (order_id)",
    )
    if "total" in need:
        report.add("totals_derived", ctx.scalar(f"SELECT count(*) FROM {q(out)}"))
    return out


def _convert_money(
    ctx: _Ctx,
    rel: str,
    money: list[str],
    src: SourceConfig,
    rates_sql: str,
    base: str,
    tag: str,
) -> str:
    cur = (src.currency or base).upper()
    rate = ctx.scalar(f"SELECT {_currency_rate_sql(rates_sql, lit(cur))}")
    if rate is None:
        from custseg.exceptions import ConfigError

        raise ConfigError(
            f"source currency {cur} is neither the base currency {base} nor in [ingest.fx_rates]; add its rate."
        )
    if rate == 1.0:
        return rel
    conv = ", ".join(f"CAST(round({q(m)} * {rate!r}, 2) AS DECIMAL(18,2)) AS {q(m)}" for m in money)
    return ctx.temp(f"{tag}_fx", f"SELECT * REPLACE ({conv}) FROM {q(rel)}")


def _line_rules(
    ctx: _Ctx,
    rel: str,
    present: list[str],
    line_level: bool,
    rates_sql: str,
    base: str,
    src: SourceConfig,
    qrel: str,
    kind: str,
) -> str:
    """Order-line rules: negative price, currency of the order, unknown order."""
    con = ctx.con
    con.execute(
        f"INSERT INTO {q(qrel)} SELECT _row, {lit(kind)}, 'negative_price', "
        f"'negative_price: unit_price ' || CAST(unit_price AS VARCHAR) || ' < 0 (a return is a negative quantity)', NULL "
        f"FROM {q(rel)} WHERE unit_price < 0"
    )
    rel = ctx.view("l_np", f"SELECT * FROM {q(rel)} WHERE NOT coalesce(unit_price < 0, false)")
    money = [m for m in ("unit_price", "discount") if m in present]
    if line_level:
        conv = ", ".join(f"CAST(round({q(m)} * _fx, 2) AS DECIMAL(18,2)) AS {q(m)}" for m in money)
        return ctx.view("l_fx", f"SELECT * EXCLUDE (_fx) REPLACE ({conv}) FROM {q(rel)}")
    # lines loaded on their own: the order must exist; money follows the order's currency
    if ctx.exists("orders"):
        con.execute(
            f"INSERT INTO {q(qrel)} SELECT _row, {lit(kind)}, 'unknown_order', "
            f"'unknown_order: order ' || order_id || ' is not loaded; load its orders first', NULL "
            f"FROM {q(rel)} l WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = l.order_id)"
        )
        rate = (
            f"coalesce(o.fx_rate, {_currency_rate_sql(rates_sql, lit((src.currency or base).upper()))})"
            if src.currency
            else "coalesce(o.fx_rate, 1.0)"
        )
        conv = ", ".join(
            f"CAST(round(l.{q(m)} * {rate}, 2) AS DECIMAL(18,2)) AS {q(m)}" for m in money
        )
        return ctx.view(
            "l_known",
            f"SELECT l.* REPLACE ({conv}) FROM {q(rel)} l JOIN orders o USING (order_id)"
            if conv
            else f"SELECT l.* FROM {q(rel)} l JOIN orders o USING (order_id)",
        )
    con.execute(
        f"INSERT INTO {q(qrel)} SELECT _row, {lit(kind)}, 'unknown_order', "
        f"'unknown_order: order ' || order_id || ' is not loaded (no orders yet); load orders first', NULL FROM {q(rel)}"
    )
    return ctx.view("l_none", f"SELECT * FROM {q(rel)} WHERE false")


def _resolve_customers(
    ctx: _Ctx,
    orders: str,
    config: Config,
    report: SourceReport,
    qrel: str,
    kind: str,
    line_level: bool,
    lines: str | None,
) -> tuple[str, str | None]:
    """Guest orders by e-mail, and stubs (or quarantine) for unknown customers."""
    con = ctx.con
    cols = _present_cols(ctx, orders, TABLES["orders"])
    has_email = "email" in cols
    has_cust = "customer_id" in cols
    known = ctx.exists("customers")
    cust_sel = "customer_id" if has_cust else "CAST(NULL AS VARCHAR)"
    email_sel = "lower(trim(email))" if has_email else "CAST(NULL AS VARCHAR)"
    base = ctx.view("g0", f"SELECT *, {cust_sel} AS _cid, {email_sel} AS _em FROM {q(orders)}")
    if known:
        # e-mail -> customer id: a real customer before a stub, then the smallest id.
        # Plain equi-joins: a one-sided condition in ON would stop DuckDB from hash joining.
        emails = ctx.view(
            "emails",
            "SELECT lower(email) AS _em, "
            "first(customer_id ORDER BY coalesce(is_stub, false), customer_id) AS _match "
            "FROM customers WHERE email IS NOT NULL GROUP BY 1",
        )
        ids = ctx.view("ids", "SELECT customer_id AS _known FROM customers")
        joins = (
            f"LEFT JOIN {q(emails)} e ON e._em = b._em LEFT JOIN {q(ids)} k ON k._known = b._cid"
        )
    else:
        joins = (
            "LEFT JOIN (SELECT NULL::VARCHAR AS _em, NULL::VARCHAR AS _match) e ON false "
            "LEFT JOIN (SELECT NULL::VARCHAR AS _known) k ON false"
        )
    res = ctx.temp(
        "g1",
        f"SELECT b.*, CASE "
        f"WHEN b._cid IS NOT NULL AND k._known IS NOT NULL THEN 'known' "
        f"WHEN b._cid IS NOT NULL THEN 'unknown' "
        f"WHEN b._em IS NULL THEN 'anonymous' "
        f"WHEN e._match IS NOT NULL THEN 'identified' ELSE 'guest_stub' END AS _how, "
        f"CASE WHEN b._cid IS NULL AND b._em IS NOT NULL THEN coalesce(e._match, "
        f"'guest-' || left(sha256(b._em), 16)) ELSE b._cid END AS _resolved "
        f"FROM {q(base)} b {joins}",
    )
    counts = dict(con.execute(f"SELECT _how, count(*) FROM {q(res)} GROUP BY _how").fetchall())
    report.add("guest_identified", counts.get("identified", 0))
    report.add("guest_stub", counts.get("guest_stub", 0))
    report.add("guest_anonymous", counts.get("anonymous", 0))
    policy = config.ingest.on_unknown_customer
    if policy == "quarantine":
        reason = (
            "'unknown_customer: ' || r._cid || ' is not in customers "
            "(ingest.on_unknown_customer = quarantine); load customers first or set it to stub'"
        )
        if line_level and lines is not None:
            # the source rows are the lines: quarantine every remaining line of the order
            con.execute(
                f"INSERT INTO {q(qrel)} SELECT l._row, {lit(kind)}, 'unknown_customer', "
                f"'order ' || l.order_id || ': ' || {reason}, NULL FROM {q(lines)} l "
                f"JOIN {q(res)} r USING (order_id) WHERE r._how = 'unknown'"
            )
        else:
            con.execute(
                f"INSERT INTO {q(qrel)} SELECT r._row, {lit(kind)}, 'unknown_customer', {reason}, "
                f"NULL FROM {q(res)} r WHERE r._how = 'unknown'"
            )
        keep = "_how <> 'unknown'"
    else:
        report.add("stub_customer", counts.get("unknown", 0))
        keep = "true"
    ts = "ordered_at" if "ordered_at" in cols else "CAST(NULL AS TIMESTAMPTZ)"
    stubs = ctx.temp(
        "stubs",
        f"SELECT _resolved AS customer_id, any_value(_em) AS email, min({ts}) AS created_at, "
        f"true AS is_stub FROM {q(res)} WHERE _how IN ('unknown', 'guest_stub') AND {keep} "
        "GROUP BY _resolved",
    )
    final = ctx.temp(
        "o_final",
        f"SELECT * EXCLUDE (_cid, _em, _how, _resolved{', customer_id' if has_cust else ''}), "
        "_resolved AS customer_id, "
        f"_cid IS NULL AS is_guest FROM {q(res)} WHERE {keep}",
    )
    return final, stubs
