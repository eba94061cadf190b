"""Segment definitions, the overlap policy, and evaluation into ``memberships``.

A workspace's segments come from three places, in this order:

1. the built-in families listed in ``[segments] builtin``: the RFM groups, the
   predictive tiers (:mod:`custseg.segments.predictive`) and the clusters of the saved
   clustering model (``custseg segments cluster``);
2. ``[segments.define.<name>]`` tables of ``custseg.toml``;
3. ``<name>.seg`` files in the ``[segments] folder`` (default ``segments/``), like dbt
   models: a header of ``# key: value`` lines, then the rule.

Every segment is a rule of the segment language (``docs/segment-language.md``) over the
*segment frame*: ``customer_features`` plus the tier columns and, when a clustering
model is saved, ``cluster`` and ``cluster_name``. Evaluation compiles every rule into
one Ibis query, applies the exclusive groups (``[segments] exclusive``: inside a group a
customer keeps the segment with the lowest ``priority``, ties by name) and writes the
``memberships`` table ``(customer_id, segment, family, run_id, as_of)`` and the
``segment_definitions`` table in one step, and appends the memberships to the
``membership_snapshots`` history.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.exceptions import ConfigError, UsageError, WorkspaceError
from custseg.segments.predictive import TierThresholds, add_tiers
from custseg.segments.rfm import RFM_GROUPS

__all__ = [
    "CLUSTER_MODEL_FILE",
    "MEMBERSHIPS_TABLE",
    "DEFINITIONS_TABLE",
    "FRAME_TABLE",
    "SNAPSHOTS_TABLE",
    "BacktestPoint",
    "Evaluation",
    "SegmentDefinition",
    "backtest",
    "evaluate",
    "fit_workspace_clustering",
    "get_definition",
    "invalidate_frame",
    "load_cluster_model",
    "load_definitions",
    "materialize_frame",
    "members",
    "read_segment_file",
    "rule_context",
    "segment_frame",
    "slugify",
]

log = logging.getLogger(__name__)

MEMBERSHIPS_TABLE = "memberships"
DEFINITIONS_TABLE = "segment_definitions"
#: The materialised segment frame (features + tiers + clusters), written by evaluation.
FRAME_TABLE = "segment_frame"
#: Append-only history of every evaluation's memberships (by ``run_id``).
SNAPSHOTS_TABLE = "membership_snapshots"
#: Where ``custseg segments cluster`` saves the clustering model, inside the workspace.
CLUSTER_MODEL_FILE = "models/clusters.json"

_HEADER_KEYS = ("description", "priority", "tags", "owner", "title")


def slugify(text: str) -> str:
    """A lower-case key of letters, digits and ``_``: ``"Can't Lose Them"`` → ``cant_lose_them``."""
    s = re.sub(r"[^0-9a-z]+", "_", text.lower().replace("'", "")).strip("_")
    return s or "segment"


@dataclass(frozen=True)
class SegmentDefinition:
    """One segment: a key, a title people read, a rule, and its metadata.

    Attributes
    ----------
    name : str
        The key (``[a-z0-9_]``), used in ``memberships.segment``, the CLI and the API.
    title : str
        The display name (``"Can't Lose Them"``).
    family : str
        ``rule`` for user rules; ``rfm``, ``clv_tier``, ``churn_risk``, ``due_soon`` or
        ``cluster`` for built-ins.
    rule : str
        The segment-language rule.
    description, priority, tags, owner
        As written; ``priority`` (lower wins) matters only inside an exclusive group.
    source : str
        ``builtin``, ``custseg.toml`` or the ``.seg`` file's path.
    """

    name: str
    title: str
    family: str
    rule: str
    description: str = ""
    priority: int = 100
    tags: tuple[str, ...] = ()
    owner: str = ""
    source: str = "builtin"
    exclusive_group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The definition as a JSON-able dict."""
        d = asdict(self)
        d["tags"] = list(self.tags)
        return d


# --------------------------------------------------------------------------- built-ins


def _rfm_definitions() -> list[SegmentDefinition]:
    out = []
    for i, g in enumerate(RFM_GROUPS):
        out.append(
            SegmentDefinition(
                name=f"rfm_{slugify(g.name)}",
                title=g.name,
                family="rfm",
                rule=f"rfm_group = {_quote(g.name)}",
                description=g.description or f"RFM group {g.name}.",
                priority=10 + i,
                tags=("rfm",),
            )
        )
    out.append(
        SegmentDefinition(
            name="rfm_prospects",
            title="Prospects",
            family="rfm",
            rule="rfm_group = 'Prospects'",
            description="Customers with no counted order yet.",
            priority=10 + len(RFM_GROUPS),
            tags=("rfm",),
        )
    )
    return out


def _tier_definitions(ws: Any, families: Sequence[str]) -> list[SegmentDefinition]:
    cfg = ws.config.segments.tiers
    out: list[SegmentDefinition] = []
    if "clv_tier" in families:
        top, nxt = round(cfg.clv_top_share * 100), round(cfg.clv_next_share * 100)
        for key, title, desc in (
            ("top", f"CLV top {top}%", f"The {top}% of buyers with the highest predicted CLV."),
            ("next", f"CLV next {nxt}%", f"The {nxt}% of buyers after the top tier."),
            ("rest", "CLV rest", "The other buyers (customers with orders)."),
        ):
            out.append(
                SegmentDefinition(
                    name=f"clv_{key}",
                    title=title,
                    family="clv_tier",
                    rule=f"clv_tier = '{key}'",
                    description=desc,
                    priority=50,
                    tags=("predictive",),
                )
            )
    if "churn_risk" in families:
        for key, desc in (
            ("high", f"p_alive below {cfg.churn_high_below}"),
            ("medium", f"p_alive from {cfg.churn_high_below} to below {cfg.churn_medium_below}"),
            ("low", f"p_alive {cfg.churn_medium_below} or more"),
        ):
            out.append(
                SegmentDefinition(
                    name=f"churn_{key}",
                    title=f"Churn risk {key}",
                    family="churn_risk",
                    rule=f"churn_risk = '{key}'",
                    description=f"Churn risk {key}: {desc}.",
                    priority=60,
                    tags=("predictive",),
                )
            )
    if "due_soon" in families:
        out.append(
            SegmentDefinition(
                name="due_soon",
                title=f"Due within {cfg.due_within_days} days",
                family="due_soon",
                rule="due_soon = true",
                description=(
                    f"Expected next order within {cfg.due_within_days} days of the as-of "
                    f"date, and p_alive at least {cfg.due_min_p_alive}."
                ),
                priority=70,
                tags=("predictive",),
            )
        )
    return out


def _cluster_definitions(ws: Any) -> list[SegmentDefinition]:
    model = load_cluster_model(ws)
    if model is None:
        return []
    rules = getattr(model, "rules_", {}) or {}
    out = []
    for cluster, name in sorted(model.names_.items()):
        explain = rules.get(cluster)
        desc = f"Cluster {cluster} of the {getattr(model, 'algorithm', 'clustering')} model"
        if explain is not None:
            desc += (
                f"; approximated by the rule {explain.rule} "
                f"(precision {explain.precision:.2f}, recall {explain.recall:.2f})"
            )
        out.append(
            SegmentDefinition(
                name=f"cluster_{cluster}",
                title=name,
                family="cluster",
                rule=f"cluster = {int(cluster)}",
                description=desc,
                priority=80,
                tags=("cluster",),
            )
        )
    return out


def load_cluster_model(ws: Any) -> Any | None:
    """The clustering model saved in the workspace, or None when there is none."""
    path = ws.root / CLUSTER_MODEL_FILE
    if not path.exists():
        return None
    from custseg.segments.clustering import load_segmenter

    return load_segmenter(path)


_ALGORITHMS = {
    "kmeans": "KMeansSegmenter",
    "gmm": "GaussianMixtureSegmenter",
    "kprototypes": "KPrototypesSegmenter",
}


def fit_workspace_clustering(
    ws: Any,
    *,
    features: Sequence[str] | None = None,
    algorithm: str | None = None,
    k: str | int | None = None,
    save: bool = True,
) -> Any:
    """Fit the clustering of ``[segments.clustering]`` on ``customer_features`` and save it.

    Parameters
    ----------
    ws : Workspace
        The workspace, with ``customer_features`` built.
    features, algorithm, k : optional
        Override the config's feature families/columns, algorithm and k (``"auto"`` or
        a number).
    save : bool
        Write the model to :data:`CLUSTER_MODEL_FILE` (plain JSON), where evaluation
        finds it.

    Returns
    -------
    The fitted segmenter (see :mod:`custseg.segments.clustering`).
    """
    from custseg.segments import clustering

    cfg = ws.config.segments.clustering
    algo = algorithm or cfg.algorithm
    if algo not in _ALGORITHMS:
        raise UsageError(
            f"unknown clustering algorithm {algo!r}; choose one of: {', '.join(_ALGORITHMS)}."
        )
    k_value: str | int = cfg.k if k is None else k
    if isinstance(k_value, str) and k_value != "auto":
        try:
            k_value = int(k_value)
        except ValueError:
            raise UsageError(f"k must be 'auto' or a whole number, got {k_value!r}.") from None
    if isinstance(k_value, int) and k_value < 2:
        raise UsageError(f"k must be at least 2, got {k_value}.")
    cls = getattr(clustering, _ALGORITHMS[algo])
    seg = cls(
        features=list(features) if features else list(cfg.features),
        k=k_value,
        k_range=(cfg.k_min, cfg.k_max),
        sample_size=cfg.sample_size,
        n_bootstrap=cfg.n_bootstrap,
        random_state=cfg.seed,
    )
    seg.fit(_features(ws))
    if save:
        path = ws.root / CLUSTER_MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        seg.save(tmp)
        tmp.replace(path)
        invalidate_frame(ws)
        log.info("saved the clustering model to %s", path)
    return seg


# --------------------------------------------------------------------------- user rules


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_segment_file(path: str | Path) -> SegmentDefinition:
    """Read one ``<name>.seg`` file.

    The file starts with optional header lines ``# key: value`` (keys: ``description``,
    ``priority``, ``tags`` (comma-separated), ``owner``, ``title``); every other line
    starting with ``#`` is a comment. The rest is the rule. Comment lines are blanked,
    not removed, so rule errors report the file's own line numbers.

    Parameters
    ----------
    path : str or Path
        The file; its stem is the segment's name.

    Returns
    -------
    SegmentDefinition

    Raises
    ------
    ConfigError
        Unknown header key, a non-integer priority, or no rule.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    lines = []
    for no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            m = re.fullmatch(r"#\s*([A-Za-z_]+)\s*:\s*(.*)", stripped)
            if m and not "".join(lines).strip():
                key = m.group(1).lower()
                if key not in _HEADER_KEYS:
                    close = difflib.get_close_matches(key, _HEADER_KEYS, n=1)
                    hint = f" Did you mean {close[0]!r}?" if close else ""
                    raise ConfigError(
                        f"{path}:{no}: unknown header key {key!r}; the keys are "
                        f"{', '.join(_HEADER_KEYS)}.{hint}"
                    )
                meta[key] = m.group(2).strip()
            lines.append("")
        else:
            lines.append(line)
    rule = "\n".join(lines).strip("\n")
    if not rule.strip():
        raise ConfigError(f"{path}: no rule; write the rule after the '# key: value' header.")
    try:
        priority = int(meta.get("priority", "100"))
    except ValueError:
        raise ConfigError(
            f"{path}: priority {meta['priority']!r} is not a whole number; write e.g. '# priority: 10'."
        ) from None
    name = slugify(path.stem)
    return SegmentDefinition(
        name=name,
        title=meta.get("title", path.stem),
        family="rule",
        rule=rule,
        description=meta.get("description", ""),
        priority=priority,
        tags=tuple(t.strip() for t in meta.get("tags", "").split(",") if t.strip()),
        owner=meta.get("owner", ""),
        source=str(path),
    )


def _config_definitions(ws: Any) -> list[SegmentDefinition]:
    out = []
    for key, d in ws.config.segments.define.items():
        out.append(
            SegmentDefinition(
                name=slugify(key),
                title=key,
                family="rule",
                rule=d.rule,
                description=d.description,
                priority=d.priority,
                tags=tuple(d.tags),
                owner=d.owner,
                source="custseg.toml",
            )
        )
    return out


def _folder_definitions(ws: Any) -> list[SegmentDefinition]:
    folder = ws.root / ws.config.segments.folder
    if not folder.is_dir():
        return []
    return [read_segment_file(p) for p in sorted(folder.glob("*.seg"))]


def load_definitions(ws: Any, *, builtin: bool = True) -> list[SegmentDefinition]:
    """Every segment of a workspace: built-ins, then ``custseg.toml``, then ``segments/``.

    Parameters
    ----------
    ws : Workspace
        The workspace.
    builtin : bool
        Include the built-in families of ``[segments] builtin``.

    Returns
    -------
    list of SegmentDefinition
        With ``exclusive_group`` set from ``[segments] exclusive``.

    Raises
    ------
    ConfigError
        Two segments with the same name, an exclusive group naming an unknown segment,
        or a segment in two exclusive groups.
    """
    families = list(ws.config.segments.builtin) if builtin else []
    defs: list[SegmentDefinition] = []
    if "rfm" in families:
        defs += _rfm_definitions()
    defs += _tier_definitions(ws, families)
    if "cluster" in families:
        defs += _cluster_definitions(ws)
    defs += _config_definitions(ws)
    defs += _folder_definitions(ws)

    seen: dict[str, SegmentDefinition] = {}
    for d in defs:
        if d.name in seen:
            raise ConfigError(
                f"two segments are named {d.name!r}: one from {seen[d.name].source}, one from "
                f"{d.source}. Rename one of them."
            )
        seen[d.name] = d

    group_of: dict[str, str] = {}
    for group, names in ws.config.segments.exclusive.items():
        for n in names:
            key = slugify(n)
            if key not in seen:
                close = difflib.get_close_matches(key, list(seen), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"[segments.exclusive] group {group!r} names {n!r}, which is not a "
                    f"segment.{hint}"
                )
            if key in group_of:
                raise ConfigError(
                    f"segment {key!r} is in two exclusive groups ({group_of[key]!r} and "
                    f"{group!r}); a segment can be in one group only."
                )
            group_of[key] = group
    return [
        SegmentDefinition(**{**asdict(d), "exclusive_group": group_of.get(d.name)})
        if d.name in group_of
        else d
        for d in defs
    ]


def get_definition(ws: Any, name: str) -> SegmentDefinition:
    """The segment called ``name`` (its key or its title, case-insensitive).

    Raises
    ------
    UsageError
        No such segment; the message suggests the closest names.
    """
    defs = load_definitions(ws)
    by_key = {d.name: d for d in defs}
    key = slugify(name)
    if key in by_key:
        return by_key[key]
    for d in defs:
        if d.title.lower() == name.lower():
            return d
    close = difflib.get_close_matches(key, list(by_key), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UsageError(f"no segment named {name!r}.{hint} `custseg segments list` shows them all.")


# --------------------------------------------------------------------------- frame


def _features(ws: Any) -> ir.Table:
    con = ws.connect()
    if "customer_features" not in con.list_tables():
        raise WorkspaceError(
            "the workspace has no customer_features table; build it first with `custseg features`."
        )
    return con.table("customer_features")


def segment_frame(
    ws: Any,
    *,
    features: ir.Table | None = None,
    thresholds: TierThresholds | None = None,
) -> ir.Table:
    """``customer_features`` with the tier columns and, when saved, the cluster columns.

    Parameters
    ----------
    ws : Workspace
        The workspace (config and saved clustering model).
    features : ibis Table, optional
        A features table (e.g. built as of a past date); default: the workspace's
        ``customer_features``.
    thresholds : TierThresholds, optional
        CLV cut-offs to reuse; computed from ``features`` when omitted.

    Returns
    -------
    ibis Table
        One row per customer: the features, ``clv_tier``, ``churn_risk``, ``due_soon``,
        and ``cluster`` (int) / ``cluster_name`` (null outside the clustered population).
    """
    t = features if features is not None else _features(ws)
    frame = add_tiers(t, ws.config.segments.tiers, thresholds=thresholds)
    model = load_cluster_model(ws) if "cluster" in ws.config.segments.builtin else None
    if model is not None:
        assigned = model.assign(t).select("customer_id", "cluster", "cluster_name")
        assigned = assigned.rename(_cid="customer_id")
        frame = frame.left_join(assigned, frame.customer_id == assigned._cid).drop("_cid")
    return frame


def rule_context(ws: Any, *, features: ir.Table | None = None, as_of: date | None = None) -> Any:
    """The :class:`~custseg.segments.dsl.RuleContext` of a workspace, over the segment frame.

    Parameters
    ----------
    ws : Workspace
        The workspace.
    features : ibis Table, optional
        A features table to build the frame from (default ``customer_features``).
    as_of : date, optional
        The rules' ``today``; default: the features' ``as_of``.
    """
    if features is None:
        con = ws.connect()
        if FRAME_TABLE in con.list_tables():
            return _context(ws, con.table(FRAME_TABLE), as_of=as_of)
    return _context(ws, segment_frame(ws, features=features), as_of=as_of)


def materialize_frame(ws: Any) -> ir.Table:
    """Write the segment frame to the :data:`FRAME_TABLE` table and return it.

    Rules then compile against a plain table, so previews stay interactive (compiling
    the frame's expression, with the cluster assignment, takes longer than running a
    rule on a million rows). Rebuilding ``customer_features`` or saving a clustering
    model drops the table (:func:`invalidate_frame`); :func:`rule_context` falls back to
    the lazy frame until the next evaluation writes it again.
    """
    con = ws.connect()
    con.create_table(FRAME_TABLE, segment_frame(ws), overwrite=True)
    return con.table(FRAME_TABLE)


def invalidate_frame(ws: Any) -> None:
    """Drop the materialised segment frame (its inputs changed)."""
    ws.connect().drop_table(FRAME_TABLE, force=True)


def _context(ws: Any, frame: ir.Table, *, as_of: date | None = None) -> Any:
    from custseg.segments.dsl import RuleContext

    con = ws.connect()
    tables = set(con.list_tables())

    def raw(name: str) -> ir.Table | None:
        return con.table(name) if name in tables else None

    return RuleContext(
        features=frame,
        as_of=as_of if as_of is not None else _as_of_of(frame),
        orders=raw("orders"),
        order_lines=raw("order_lines"),
        events=raw("events"),
        campaign_exposures=raw("campaign_exposures"),
        campaign_outcomes=raw("campaign_outcomes"),
    )


def _as_of_of(features: ir.Table) -> date:
    value = features.as_of.max().to_pyarrow().as_py()
    if value is None:
        raise WorkspaceError(
            "customer_features is empty; load customers and run `custseg features`."
        )
    return value


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`."""

    run_id: str
    as_of: date
    total: int
    sizes: dict[str, int]
    definitions: list[SegmentDefinition] = field(default_factory=list)

    def share(self, name: str) -> float:
        """The share of all customers in segment ``name``."""
        return self.sizes.get(name, 0) / self.total if self.total else 0.0


def membership_expr(ctx: Any, definitions: Sequence[SegmentDefinition], *, run_id: str) -> ir.Table:
    """One Ibis query for the memberships of ``definitions`` (exclusive groups applied).

    Parameters
    ----------
    ctx : RuleContext
        The context the rules compile in (its ``features`` is the segment frame).
    definitions : sequence of SegmentDefinition
        The segments, with ``exclusive_group`` set.
    run_id : str
        Written into every row.

    Returns
    -------
    ibis Table
        ``customer_id, segment, family, run_id, as_of``.
    """
    from custseg.segments.dsl import compile_rule

    frame = ctx.features
    parts = []
    for d in definitions:
        try:
            cond = compile_rule(d.rule, ctx)
        except UsageError as exc:
            raise ConfigError(f"segment {d.name!r} ({d.source}): {exc}") from None
        parts.append(
            frame.filter(cond).select(
                customer_id=frame.customer_id,
                segment=ibis.literal(d.name),
                family=ibis.literal(d.family),
                grp=ibis.literal(d.exclusive_group, type="string"),
                priority=ibis.literal(d.priority, type="int64"),
            )
        )
    if not parts:
        raise UsageError(
            "there are no segments to evaluate; define one in custseg.toml or segments/."
        )
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    if any(d.exclusive_group for d in definitions):
        w = ibis.window(
            group_by=[union.grp, union.customer_id], order_by=[union.priority, union.segment]
        )
        ranked = union.mutate(_rank=ibis.row_number().over(w))
        union = ranked.filter(ranked.grp.isnull() | (ranked._rank == 0)).drop("_rank")
    return union.select(
        "customer_id",
        "segment",
        "family",
        run_id=ibis.literal(run_id),
        as_of=ibis.date(ctx.as_of),
    )


def new_run_id(now: datetime | None = None) -> str:
    """A sortable run id: ``eval-20250630T120000Z``."""
    now = now or datetime.now(UTC)
    return "eval-" + now.strftime("%Y%m%dT%H%M%S%fZ")


def evaluate(
    ws: Any,
    *,
    names: Iterable[str] | None = None,
    run_id: str | None = None,
    write: bool = True,
) -> Evaluation:
    """Evaluate the workspace's segments and write ``memberships``.

    Parameters
    ----------
    ws : Workspace
        The workspace, with ``customer_features`` built.
    names : iterable of str, optional
        Only these segments (keys or titles); default: all.
    run_id : str, optional
        Default: :func:`new_run_id`.
    write : bool
        Write ``memberships`` and ``segment_definitions`` (replacing the previous ones,
        atomically on DuckDB). With False, only the sizes are computed.

    Returns
    -------
    Evaluation
        Run id, as-of date, number of customers and each segment's size.
    """
    defs = load_definitions(ws)
    if names is not None:
        wanted = [get_definition(ws, n).name for n in names]
        defs = [d for d in defs if d.name in set(wanted)]
    run_id = run_id or new_run_id()
    con = ws.connect()
    # Materialise the frame once: every rule reads it, and so do later previews.
    frame = materialize_frame(ws)
    ctx = _context(ws, frame)
    expr = membership_expr(ctx, defs, run_id=run_id)
    total = int(ctx.features.count().to_pyarrow().as_py())
    if write:
        _write(ws, expr, defs, run_id=run_id, as_of=ctx.as_of)
        counted = con.table(MEMBERSHIPS_TABLE)
    else:
        counted = expr
    sizes_rows = counted.group_by("segment").aggregate(n=counted.count()).to_pyarrow()
    sizes = {d.name: 0 for d in defs}
    sizes.update(
        dict(zip(sizes_rows["segment"].to_pylist(), sizes_rows["n"].to_pylist(), strict=True))
    )
    log.info("evaluated %d segments as of %s (run %s)", len(defs), ctx.as_of, run_id)
    return Evaluation(run_id=run_id, as_of=ctx.as_of, total=total, sizes=sizes, definitions=defs)


def _write(
    ws: Any, expr: ir.Table, defs: Sequence[SegmentDefinition], *, run_id: str, as_of: date
) -> None:
    con = ws.connect()
    rows = [
        {**d.to_dict(), "tags": json.dumps(list(d.tags)), "run_id": run_id, "as_of": as_of}
        for d in defs
    ]
    schema = {
        "name": "string",
        "title": "string",
        "family": "string",
        "rule": "string",
        "description": "string",
        "priority": "int64",
        "tags": "string",
        "owner": "string",
        "source": "string",
        "exclusive_group": "string",
        "run_id": "string",
        "as_of": "date",
    }
    definitions = ibis.memtable(rows, schema=schema) if rows else None
    if not ws.is_duckdb:
        con.create_table(MEMBERSHIPS_TABLE, expr, overwrite=True)
        if definitions is not None:
            con.create_table(DEFINITIONS_TABLE, definitions, overwrite=True)
        current = con.table(MEMBERSHIPS_TABLE)
        if SNAPSHOTS_TABLE in con.list_tables():
            con.insert(SNAPSHOTS_TABLE, current)
        else:
            con.create_table(SNAPSHOTS_TABLE, current)
        return
    con.create_table("_memberships_new", expr, overwrite=True)
    if definitions is not None:
        con.create_table("_segment_definitions_new", definitions, overwrite=True)
    raw = con.con
    from custseg.workspace import transaction

    with transaction(raw):
        raw.execute(f"DROP TABLE IF EXISTS {MEMBERSHIPS_TABLE}")
        raw.execute(f"ALTER TABLE _memberships_new RENAME TO {MEMBERSHIPS_TABLE}")
        if definitions is not None:
            raw.execute(f"DROP TABLE IF EXISTS {DEFINITIONS_TABLE}")
            raw.execute(f"ALTER TABLE _segment_definitions_new RENAME TO {DEFINITIONS_TABLE}")
        # The immutable history: every evaluation's memberships, by run_id.
        raw.execute(
            f"CREATE TABLE IF NOT EXISTS {SNAPSHOTS_TABLE} AS "
            f"SELECT * FROM {MEMBERSHIPS_TABLE} WITH NO DATA"
        )
        raw.execute(f"INSERT INTO {SNAPSHOTS_TABLE} SELECT * FROM {MEMBERSHIPS_TABLE}")


def members(ws: Any, name: str) -> ir.Table:
    """The members of an evaluated segment, joined to their features.

    Raises
    ------
    WorkspaceError
        The segments have not been evaluated yet.
    """
    d = get_definition(ws, name)
    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; run `custseg segments evaluate`."
        )
    m = con.table(MEMBERSHIPS_TABLE)
    ids = m.filter(m.segment == d.name).select("customer_id")
    f = _features(ws)
    return f.semi_join(ids, "customer_id")


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True)
class BacktestPoint:
    """A segment's size as of one date."""

    as_of: date
    size: int
    total: int
    amount_spent: float

    @property
    def share(self) -> float:
        """Members / customers."""
        return self.size / self.total if self.total else 0.0


def backtest(ws: Any, name: str, dates: Sequence[date]) -> list[BacktestPoint]:
    """Evaluate one segment's definition as of past dates, from the same data.

    The features are rebuilt as of each date (facts after it ignored), the tiers and
    clusters recomputed on them, and the rule compiled with that date as ``today``.

    Parameters
    ----------
    ws : Workspace
        The workspace.
    name : str
        The segment.
    dates : sequence of date
        The as-of dates.

    Returns
    -------
    list of BacktestPoint
        One per date, in the given order.
    """
    from custseg import features as feats
    from custseg.segments.dsl import compile_rule

    d = get_definition(ws, name)
    out = []
    for day in dates:
        built = feats.build(ws, as_of=day)
        ctx = rule_context(ws, features=built, as_of=day)
        cond = compile_rule(d.rule, ctx)
        frame = ctx.features
        agg = (
            frame.aggregate(
                size=frame.customer_id.count(where=cond.fill_null(False)),
                total=frame.count(),
                amount=frame.amount_spent.sum(where=cond.fill_null(False)),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        out.append(
            BacktestPoint(
                as_of=day,
                size=int(agg["size"] or 0),
                total=int(agg["total"] or 0),
                amount_spent=float(agg["amount"] or 0.0),
            )
        )
    return out
