"""Column mappings: how a source's columns become a canonical table's columns.

A mapping says, for each canonical column, where its value comes from: a
source column (or a list of alternatives, the first present in the header
wins, which is how one mapping serves every version of an export), a
constant, or a SQL expression over source columns. Expressions are parsed
with sqlglot and checked: one scalar expression, known columns only, and an
allow-list of functions, so a mapping can never run a statement.

Three kinds of mappings exist:

* built-in ones (:data:`custseg.ingest.mappings.BUILTIN`), for Shopify, GA4 and CRM exports;
* named ones in ``[mappings.NAME]`` of ``custseg.toml``;
* the identity mapping: source columns named like canonical ones (case and
  spaces ignored).

Inline ``[sources.NAME.columns]`` entries override the chosen mapping.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from custseg.config import ColumnSpec, Config, SourceConfig
from custseg.exceptions import MappingError, SchemaError
from custseg.ingest._sql import literal, q
from custseg.schema import TABLES, table_schema

__all__ = [
    "Mapping",
    "When",
    "ResolvedMapping",
    "resolve_mapping",
    "compile_expr",
    "ALLOWED_FUNCTIONS",
]


@dataclass(frozen=True)
class When:
    """A column spec that applies only to some header versions.

    It replaces the mapping's spec for ``target`` when every column of
    ``requires`` is in the header and none of ``unless`` is. The first
    matching ``When`` for a target wins.
    """

    target: str
    spec: ColumnSpec
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    part: str = "columns"  # or "orders"

    def applies(self, header: list[str]) -> bool:
        return all(c in header for c in self.requires) and not any(c in header for c in self.unless)


@dataclass(frozen=True)
class Mapping:
    """A reusable mapping from a source layout to a canonical table.

    Parameters
    ----------
    name
        Mapping name, e.g. ``shopify_orders``.
    table
        Canonical table the rows go to. A line-level export maps to
        ``order_lines`` and fills ``orders`` from ``orders``.
    columns
        Canonical column -> :class:`~custseg.config.ColumnSpec`.
    orders
        Order-level columns for line-level exports (taken from each order's first row).
    strip_apostrophe
        Strip one leading ``'`` from every text cell (spreadsheet-safe exports such as Shopify's).
    identity_fallback
        Fill canonical columns the mapping leaves out from same-named source columns.
    variants
        ``(label, column)`` pairs: the first whose column is in the header names the
        layout version found (reported, e.g. "v4 header").
    when
        Specs that depend on the header version (see :class:`When`).
    format
        The file format the export comes in, when it is fixed.
    description
        One line for ``custseg ingest --help`` and the docs.
    """

    name: str
    table: str
    columns: dict[str, ColumnSpec]
    orders: dict[str, ColumnSpec] = field(default_factory=dict)
    strip_apostrophe: bool = False
    identity_fallback: bool = False
    variants: tuple[tuple[str, str], ...] = ()
    when: tuple[When, ...] = ()
    format: str | None = None
    description: str = ""


@dataclass
class ResolvedMapping:
    """A mapping applied to one source header: SQL per canonical column."""

    name: str
    table: str
    exprs: dict[
        str, str
    ]  # canonical column -> SQL over the staging table (absent columns left out)
    order_exprs: dict[str, str]
    formats: dict[str, str]
    strip_apostrophe: bool
    variant: str | None
    used_columns: list[str]
    unknown_columns: list[str]


ALLOWED_FUNCTIONS = frozenset(
    """
    abs round floor ceil ceiling greatest least coalesce nullif if iff case cast trycast try_cast
    lower upper trim ltrim rtrim replace regexp_replace regexp_extract regexp_matches
    concat concat_ws substr substring left right length lpad rpad split_part strpos contains
    starts_with ends_with reverse md5 sha256 hash
    strptime try_strptime strftime make_timestamp epoch_ms epoch_us to_timestamp date_trunc
    date_part extract year month day hour minute second currenttimestamp
    list_filter list_extract list_transform array_extract list_element list_first len
    struct_extract element_at bracket dot json_extract json_extract_string
    add sub mul div mod neg paren and or not eq neq gt gte lt lte is in between like ilike
    dpipe safedivide intdiv
    unix_to_time str_to_time filter regexp_like sha2 timestamp_trunc time_to_str str_to_date
    date_str_to_date ts_or_ds_to_date array_filter
    """.split()  # noqa: SIM905 - a word list reads better than 100 quoted names
)

_FORBIDDEN_NODES = (
    exp.Query,
    exp.Subquery,
    exp.Table,
    exp.Command,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Drop,
    exp.Create,
    exp.Alter,
    exp.Pragma,
    exp.Set,
    exp.Use,
)


def _func_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower().replace(" ", "")


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv, exp.Neg)


def compile_expr(
    text: str,
    *,
    header: list[str],
    target: str,
    source: str,
    types: dict[str, str] | None = None,
) -> str:
    """Check a mapping expression and return it as DuckDB SQL.

    Text columns used in arithmetic (CSV columns are read as text) are read as
    numbers: ``"Lineitem price" * 2`` works on a CSV; a cell that is not a number
    gives NULL, which the typing rules then report.

    Raises
    ------
    MappingError
        The text is not one scalar expression, names a column the source lacks,
        or calls a function outside :data:`ALLOWED_FUNCTIONS`.
    """
    where = f"mapping for {target!r} in {source}"
    if ";" in text.replace("';'", ""):
        raise MappingError(
            f"{where}: the expression {text!r} contains ';'. A mapping expression is one SQL "
            'expression over source columns, e.g. "Lineitem price" * "Lineitem quantity".'
        )
    try:
        parsed = sqlglot.parse(text, read="duckdb")
    except sqlglot.errors.ParseError as e:
        msg = str(e).splitlines()[0]
        raise MappingError(f"{where}: cannot parse the expression {text!r}: {msg}.") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise MappingError(f"{where}: {text!r} must be exactly one expression.")
    node = parsed[0]
    for sub in node.walk():
        if isinstance(sub, _FORBIDDEN_NODES):
            raise MappingError(
                f"{where}: {text!r} is not allowed: only scalar expressions over source columns "
                f"(no {type(sub).__name__.upper()}, subqueries or statements)."
            )
        if isinstance(sub, exp.Func) and not isinstance(
            sub, exp.Binary | exp.Unary | exp.Connector
        ):
            fname = _func_name(sub)
            if fname not in ALLOWED_FUNCTIONS:
                raise MappingError(
                    f"{where}: function {fname!r} is not allowed in mapping expressions. "
                    "Allowed: text (lower, trim, replace, regexp_*, concat, substr), numbers "
                    "(round, abs, cast), dates (strptime, make_timestamp, epoch_ms), lists and "
                    "structs (list_filter, list_extract, struct_extract), coalesce, if, case."
                )
        if isinstance(sub, exp.Column):
            # a column's first part must be in the header (struct fields may follow)
            parts = [p.name for p in sub.parts]
            if parts and parts[0] not in header and not _is_lambda_var(sub):
                close = difflib.get_close_matches(parts[0], header, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise MappingError(
                    f"{where}: the expression references column {parts[0]!r}, which the source "
                    f"does not have.{hint} Columns found: {', '.join(header[:30])}."
                )
    if types:

        def numeric(n: exp.Expression) -> exp.Expression:
            if (
                isinstance(n, exp.Column)
                and isinstance(n.parent, _ARITHMETIC)
                and len(n.parts) == 1
                and types.get(n.name, "").upper() == "VARCHAR"
            ):
                return exp.TryCast(this=n.copy(), to=exp.DataType.build("DOUBLE"))
            return n

        node = node.transform(numeric)
    return node.sql(dialect="duckdb")


def _is_lambda_var(col: exp.Column) -> bool:
    parent = col.parent
    while parent is not None:
        if isinstance(parent, exp.Lambda):
            names = {e.name for e in parent.expressions}
            return col.parts[0].name in names
        parent = parent.parent
    return False


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _identity(table: str, header: list[str]) -> dict[str, ColumnSpec]:
    by_norm = {_norm(h): h for h in header}
    out = {}
    for c in table_schema(table).columns:
        if c.system:
            continue
        if c.name in by_norm:
            out[c.name] = ColumnSpec(column=by_norm[c.name])
    return out


def find_mapping(name: str, config: Config | None) -> Mapping:
    """Look a mapping up by name: ``[mappings]`` in the config first, then the built-ins."""
    from custseg.ingest.mappings import BUILTIN

    if config is not None and name in config.mappings:
        m = config.mappings[name]
        return Mapping(name=name, table=m.table, columns=dict(m.columns), orders=dict(m.orders))
    if name in BUILTIN:
        return BUILTIN[name]
    known = sorted(set(BUILTIN) | set(config.mappings if config else {}))
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise MappingError(f"unknown mapping {name!r}.{hint} Known mappings: {', '.join(known)}.")


def resolve_mapping(
    src: SourceConfig,
    *,
    table: str,
    header: list[str],
    source_name: str,
    config: Config | None,
    types: dict[str, str] | None = None,
) -> ResolvedMapping:
    """Apply the source's mapping to its header.

    Raises
    ------
    MappingError
        Unknown mapping or target columns, or bad expressions.
    SchemaError
        Required canonical columns have no source column; the message lists the
        missing ones and the columns found.
    """
    if src.mapping:
        base = find_mapping(src.mapping, config)
        if base.table != table and not (base.table == "order_lines" and table == "orders"):
            raise MappingError(
                f"mapping {base.name!r} loads table {base.table!r}, not {table!r}. "
                f"Use --table {base.table}, or another mapping."
            )
        table = base.table
    else:
        base = Mapping(name="identity", table=table, columns={}, identity_fallback=True)
    cols: dict[str, ColumnSpec] = dict(base.columns)
    orders: dict[str, ColumnSpec] = dict(base.orders)
    done: set[tuple[str, str]] = set()
    for w in base.when:
        if (w.part, w.target) not in done and w.applies(header):
            (orders if w.part == "orders" else cols)[w.target] = w.spec
            done.add((w.part, w.target))
    if base.identity_fallback:
        cols = {**_identity(table, header), **cols}
    cols.update(src.columns)
    orders.update(src.orders)
    if orders and table != "order_lines":
        raise MappingError(
            f"{source_name}: order-level columns ([...orders]) only apply to line-level exports "
            "loaded into order_lines."
        )
    schema = table_schema(table)
    _check_targets(cols, table, source_name)
    _check_targets(orders, "orders", source_name)

    used: list[str] = []
    exprs, formats = _compile_all(cols, header, source_name, used, src.date_format, types)
    order_exprs, oformats = _compile_all(orders, header, source_name, used, src.date_format, types)
    formats.update({f"orders.{k}": v for k, v in oformats.items()})

    missing = [c for c in schema.required if c not in exprs and not _derivable(table, c)]
    if orders:
        missing += [
            f"orders.{c}"
            for c in TABLES["orders"].required
            if c not in order_exprs and c != "order_id"
        ]
    if missing:
        wanted = []
        for m in missing:
            spec = (orders if m.startswith("orders.") else cols).get(m.split(".")[-1])
            alts = spec.alternatives if spec else []
            wanted.append(f"{m} (from {' or '.join(map(repr, alts))})" if alts else m)
        raise SchemaError(
            f"{source_name}: required column(s) missing: {', '.join(wanted)}. "
            f"Columns found: {', '.join(header[:40]) or '(none)'}"
            + ("..." if len(header) > 40 else "")
            + ". Map them under [sources.NAME.columns] or use a built-in --mapping; "
            "if the first line is data, the file lacks a header row."
        )
    variant = None
    for label, col in base.variants:
        if col in header:
            variant = label
            break
    unknown = [h for h in header if h not in used]
    return ResolvedMapping(
        name=base.name,
        table=table,
        exprs=exprs,
        order_exprs=order_exprs,
        formats=formats,
        strip_apostrophe=base.strip_apostrophe,
        variant=variant,
        used_columns=used,
        unknown_columns=unknown,
    )


def _derivable(table: str, col: str) -> bool:
    """Required columns custseg derives when the source lacks them."""
    return (table, col) in {("order_lines", "line_no"), ("events", "event_id")}


def _check_targets(cols: dict[str, ColumnSpec], table: str, source: str) -> None:
    schema = table_schema(table)
    names = [c.name for c in schema.columns if not c.system]
    for target in cols:
        if target not in names:
            close = difflib.get_close_matches(target, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise MappingError(
                f"{source}: {target!r} is not a column of {table}.{hint} "
                f"Columns of {table}: {', '.join(names)}."
            )


def _compile_all(
    cols: dict[str, ColumnSpec],
    header: list[str],
    source: str,
    used: list[str],
    default_format: str | None,
    types: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    exprs: dict[str, str] = {}
    formats: dict[str, str] = {}
    for target, spec in cols.items():
        if spec.column is not None:
            found = next((a for a in spec.alternatives if a in header), None)
            if found is None:
                continue  # absent column: tolerated unless required (checked by the caller)
            exprs[target] = q(found)
            used.append(found)
        elif spec.expr is not None:
            sql = compile_expr(spec.expr, header=header, target=target, source=source, types=types)
            exprs[target] = sql
            for node in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column):
                if node.parts and node.parts[0].name in header:
                    used.append(node.parts[0].name)
        else:
            exprs[target] = literal(spec.const)
        fmt = spec.format or default_format
        if fmt:
            formats[target] = fmt
    return exprs, formats
