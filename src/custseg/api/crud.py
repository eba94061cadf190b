"""What the segment routes do, kept out of the handlers: read, write and page segments.

Every function takes the request's workspace keyword-only and returns plain data; the
errors are :class:`~custseg.api.errors.ApiError` (404, 409) or custseg errors, which the
one error mapping turns into problem JSON.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from custseg.api.errors import ApiError
from custseg.exceptions import ConfigError, UsageError, WorkspaceError
from custseg.segments.registry import (
    DEFINITIONS_TABLE,
    MEMBERSHIPS_TABLE,
    SegmentDefinition,
    get_definition,
    load_definitions,
    read_segment_file,
    rule_context,
)
from custseg.workspace import Workspace

__all__ = [
    "delete_segment",
    "find_segment",
    "list_segments",
    "members_page",
    "put_segment",
    "segment_profile",
    "segment_public",
]

log = logging.getLogger(__name__)


def find_segment(*, ws: Workspace, name: str) -> SegmentDefinition:
    """The segment with this key or title; 404 when there is none."""
    try:
        return get_definition(ws, name)
    except UsageError as exc:
        raise ApiError(404, str(exc)) from None


def _source(ws: Workspace, d: SegmentDefinition) -> str:
    if d.source in ("builtin", "custseg.toml"):
        return d.source
    with contextlib.suppress(ValueError):
        return Path(d.source).resolve().relative_to(ws.root.resolve()).as_posix()
    return d.source


def _evaluation(ws: Workspace) -> tuple[dict[str, int], set[str], int | None, str | None]:
    """Sizes by segment, the segments evaluated, all customers, and the run id."""
    con = ws.connect()
    tables = set(con.list_tables())
    sizes: dict[str, int] = {}
    evaluated: set[str] = set()
    run_id = None
    if MEMBERSHIPS_TABLE in tables:
        m = con.table(MEMBERSHIPS_TABLE)
        rows = m.group_by("segment").aggregate(n=m.count(), run=m.run_id.max()).to_pyarrow()
        sizes = dict(zip(rows["segment"].to_pylist(), rows["n"].to_pylist(), strict=True))
        runs = [r for r in rows["run"].to_pylist() if r]
        run_id = max(runs) if runs else None
        evaluated = set(sizes)
    if DEFINITIONS_TABLE in tables:
        evaluated |= set(con.table(DEFINITIONS_TABLE).name.to_pyarrow().to_pylist())
    total = None
    if "customer_features" in tables:
        total = int(con.table("customer_features").count().to_pyarrow().as_py())
    return sizes, evaluated, total, run_id


def segment_public(
    ws: Workspace,
    d: SegmentDefinition,
    evaluation: tuple[dict[str, int], set[str], int | None, str | None] | None = None,
) -> dict[str, Any]:
    """A definition with its size and share at the last evaluation."""
    sizes, evaluated, total, _ = evaluation or _evaluation(ws)
    size = sizes.get(d.name, 0) if d.name in evaluated else None
    return {
        **d.to_dict(),
        "source": _source(ws, d),
        "size": size,
        "share": (size / total) if size is not None and total else None,
    }


def list_segments(*, ws: Workspace) -> dict[str, Any]:
    """Every segment with its size, as ``SegmentsPublic``."""
    evaluation = _evaluation(ws)
    data = [segment_public(ws, d, evaluation) for d in load_definitions(ws)]
    return {
        "data": data,
        "count": len(data),
        "total_customers": evaluation[2],
        "run_id": evaluation[3],
    }


def _seg_text(
    rule: str, *, title: str | None, description: str, priority: int, tags: list[str], owner: str
) -> str:
    header = [f"# title: {title}"] if title else []
    if description:
        header.append(f"# description: {description}")
    header.append(f"# priority: {priority}")
    if tags:
        header.append(f"# tags: {', '.join(tags)}")
    if owner:
        header.append(f"# owner: {owner}")
    return "\n".join(header) + "\n" + rule.strip("\n") + "\n"


def put_segment(
    *,
    ws: Workspace,
    name: str,
    rule: str,
    title: str | None = None,
    description: str = "",
    priority: int = 100,
    tags: list[str] | None = None,
    owner: str = "",
) -> tuple[bool, SegmentDefinition]:
    """Write or replace ``segments/<name>.seg`` after checking the rule.

    Returns
    -------
    (bool, SegmentDefinition)
        Whether the file is new, and the definition as read back from it.

    Raises
    ------
    RuleError
        The rule does not parse or type-check (422 with its position).
    ApiError
        409 when ``name`` is a built-in or a ``custseg.toml`` segment, or the new file
        makes the workspace's segments inconsistent (it is then removed again).
    """
    existing = {d.name: d for d in load_definitions(ws)}
    old = existing.get(name)
    if old is not None and not old.source.endswith(".seg"):
        raise ApiError(
            409,
            f"segment {name!r} is defined by {old.source} ({old.family}); only segments/*.seg "
            "files can be written through the API. Pick another name.",
        )
    from custseg.segments.dsl import compile_rule

    compile_rule(rule, rule_context(ws))
    folder = ws.root / ws.config.segments.folder
    path = Path(old.source) if old is not None else folder / f"{name}.seg"
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    text = _seg_text(
        rule, title=title, description=description, priority=priority, tags=tags or [], owner=owner
    )
    _write_atomic(path, text)
    try:
        d = get_definition(ws, name)
        if read_segment_file(path).rule.strip() != rule.strip():
            raise ConfigError("lines starting with '#' inside the rule would be read as comments.")
    except (ConfigError, UsageError) as exc:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            _write_atomic(path, previous)
        raise ApiError(409, f"segment {name!r} was not saved: {exc}") from None
    log.info("wrote segment %s to %s", name, path)
    return previous is None, d


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def delete_segment(*, ws: Workspace, name: str) -> SegmentDefinition:
    """Remove a ``segments/*.seg`` file; 409 for built-in and ``custseg.toml`` segments."""
    d = find_segment(ws=ws, name=name)
    if not d.source.endswith(".seg"):
        where = (
            "built in (drop its family from [segments] builtin)"
            if d.source == "builtin"
            else "defined in custseg.toml (remove it there)"
        )
        raise ApiError(
            409, f"segment {d.name!r} is {where}; only segments/*.seg files can be deleted."
        )
    Path(d.source).unlink()
    log.info("deleted segment %s (%s)", d.name, d.source)
    return d


def _memberships(ws: Workspace) -> Any:
    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; POST /runs or run "
            "`custseg segments evaluate` first."
        )
    return con.table(MEMBERSHIPS_TABLE)


def members_page(
    *, ws: Workspace, name: str, limit: int, cursor: str | None, fields: list[str]
) -> dict[str, Any]:
    """One page of members, by ``customer_id``, after ``cursor`` (keyset pagination).

    Parameters
    ----------
    limit
        Rows per page.
    cursor
        The last ``customer_id`` of the previous page (None for the first page).
    fields
        ``customer_features`` columns to add to each row.
    """
    d = find_segment(ws=ws, name=name)
    m = _memberships(ws)
    f = ws.connect().table("customer_features")
    unknown = [c for c in fields if c not in f.columns]
    if unknown:
        raise ApiError(422, f"unknown fields {unknown}; use customer_features columns.")
    ids_expr = m.filter(m.segment == d.name)
    if cursor is not None:
        ids_expr = ids_expr.filter(ids_expr.customer_id > cursor)
    ids = (
        ids_expr.select("customer_id")
        .distinct()
        .order_by("customer_id")
        .limit(limit + 1)
        .to_pyarrow()["customer_id"]
        .to_pylist()
    )
    page, more = ids[:limit], len(ids) > limit
    rows: list[dict[str, Any]] = [{"customer_id": i} for i in page]
    if fields and page:
        got = f.filter(f.customer_id.isin(page)).select("customer_id", *fields).to_pyarrow()
        by_id = {r["customer_id"]: r for r in got.to_pylist()}
        rows = [by_id.get(i, {"customer_id": i}) for i in page]
    return {
        "segment": d.name,
        "data": rows,
        "count": len(rows),
        "next_cursor": page[-1] if more else None,
    }


def segment_profile(*, ws: Workspace, name: str) -> dict[str, Any]:
    """The segment's profile against all customers (``SegmentProfile.to_dict()``)."""
    from custseg.profiles import profile_segments

    d = find_segment(ws=ws, name=name)
    m = _memberships(ws)
    con = ws.connect()
    tables = set(con.list_tables())
    has_orders = "orders" in tables and "order_lines" in tables
    profiles = profile_segments(
        con.table("customer_features"),
        m.filter(m.segment == d.name).select("customer_id", "segment"),
        orders=con.table("orders") if has_orders else None,
        order_lines=con.table("order_lines") if has_orders else None,
        segments=[d.name],
    )
    return profiles[d.name].to_dict()
