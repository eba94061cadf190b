"""Holdouts: reproducible random control groups, stratified by segment, for the next campaign.

:func:`create_holdout` splits the members of a segment, or of every segment of a family,
into ``treatment`` (to receive the campaign) and ``control`` (held out). The split is

* **deterministic from the seed**: each customer's rank is the SHA-256 of
  ``"<seed>:<customer_id>"`` (hex, compared as text), computed in the engine, so it does not
  depend on the backend, on row order or on the other customers;
* **stratified with exact allocation**: in a stratum of ``n`` customers the ``k =
  floor(fraction × n + 0.5)`` customers with the smallest hashes are held out (ties, which
  need a SHA-256 collision, by ``customer_id``);
* **one stratum per customer**: with a family, a customer in several of its segments
  (possible for ``rule`` segments) goes to the stratum of the segment with the lowest
  ``priority``, ties by key: the rule exclusive groups use.

The split is stored in the table ``holdouts (holdout_id, segment, customer_id, arm,
fraction, seed, created_at)`` (creating the same holdout again replaces its rows) and
exported to ``<exports folder>/holdouts/<holdout_id>.csv`` and ``.parquet``. After the
campaign, ``measure_campaign(ws, CAMPAIGN, holdout=HOLDOUT_ID)`` measures it with the
holdout's arms as exposures (:func:`holdout_exposures`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.exceptions import UsageError, WorkspaceError

__all__ = [
    "HOLDOUTS_TABLE",
    "Holdout",
    "assign_holdout",
    "create_holdout",
    "holdout_exposures",
    "holdout_id_for",
    "holdout_members",
    "list_holdouts",
    "load_holdout",
]

log = logging.getLogger(__name__)

HOLDOUTS_TABLE = "holdouts"
_EXPORT_FORMATS = ("csv", "parquet")
_SCHEMA = {
    "holdout_id": "string",
    "segment": "string",
    "customer_id": "string",
    "arm": "string",
    "fraction": "float64",
    "seed": "int64",
    "created_at": "timestamp('UTC')",
}


@dataclass(frozen=True)
class Holdout:
    """A stored holdout.

    Attributes
    ----------
    holdout_id : str
        ``<target>-f<fraction>-s<seed>``, e.g. ``rfm-f0.1-s42``.
    target : str
        The segment key or family split.
    fraction : float
        Share held out in each stratum.
    seed : int
    created_at : datetime
    strata : dict of str to tuple of int
        ``segment -> (customers, held out)``.
    paths : tuple of Path
        Exported files.
    """

    holdout_id: str
    target: str
    fraction: float
    seed: int
    created_at: datetime
    strata: dict[str, tuple[int, int]] = field(default_factory=dict)
    paths: tuple[Path, ...] = ()

    @property
    def customers(self) -> int:
        """Customers in the holdout's population."""
        return sum(n for n, _ in self.strata.values())

    @property
    def control(self) -> int:
        """Customers held out."""
        return sum(k for _, k in self.strata.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "holdout_id": self.holdout_id,
            "target": self.target,
            "fraction": self.fraction,
            "seed": self.seed,
            "created_at": self.created_at.isoformat(),
            "customers": self.customers,
            "control": self.control,
            "strata": {k: {"customers": n, "control": c} for k, (n, c) in self.strata.items()},
            "paths": [str(p) for p in self.paths],
        }


def _check(fraction: float, seed: int) -> None:
    if not 0.0 < fraction < 1.0:
        raise UsageError(
            f"--fraction must be strictly between 0 and 1 (the share held out), got {fraction!r}; "
            "e.g. 0.1 for a 10% control group."
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {seed!r}.")


def holdout_id_for(target: str, fraction: float, seed: int) -> str:
    """The id of the holdout of ``target`` with this fraction and seed: ``rfm-f0.1-s42``."""
    from custseg.segments.registry import slugify

    return f"{slugify(target)}-f{fraction:g}-s{seed}"


def assign_holdout(members: ir.Table, *, fraction: float, seed: int) -> ir.Table:
    """Split ``members`` into treatment and control, per stratum, from the seed.

    Parameters
    ----------
    members
        ``customer_id, segment``: one row per customer, ``segment`` its stratum.
    fraction
        Share held out in each stratum (0 < fraction < 1).
    seed
        Seed of the hash (>= 0).

    Returns
    -------
    ibis Table
        ``customer_id, segment, arm``: in a stratum of ``n`` customers, the
        ``floor(fraction × n + 0.5)`` with the smallest ``sha256("<seed>:<customer_id>")``
        are ``control``, the others ``treatment``.
    """
    _check(fraction, seed)
    t = members.select(customer_id=members.customer_id.cast("string"), segment=members.segment)
    t = t.mutate(_h=(ibis.literal(f"{seed}:") + t.customer_id).hexdigest("sha256"))
    w = ibis.window(group_by=t.segment, order_by=[t._h, t.customer_id])
    ranked = t.mutate(
        _rank=ibis.row_number().over(w),
        _n=t.customer_id.count().over(ibis.window(group_by=t.segment)),
    )
    k = (ranked._n.cast("float64") * fraction + 0.5).floor()
    return ranked.select(
        "customer_id",
        "segment",
        arm=(ranked._rank < k).ifelse("control", "treatment"),
    )


def holdout_members(ws: Any, target: str) -> ir.Table:
    """The population of a holdout, one stratum per customer: ``customer_id, segment``.

    ``target`` is a family of the evaluated ``memberships`` (all its segments, each a
    stratum) or one segment (key or title; a single stratum). A customer in several
    segments of a family goes to the one with the lowest priority, ties by key.

    Raises
    ------
    WorkspaceError
        Segments have not been evaluated.
    UsageError
        No such family or segment, or it has no members.
    """
    from custseg.segments.registry import MEMBERSHIPS_TABLE, get_definition, load_definitions

    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; run `custseg segments evaluate` "
            "before creating a holdout."
        )
    m = con.table(MEMBERSHIPS_TABLE)
    families = set(m.select("family").distinct().to_pyarrow()[0].to_pylist())
    if target in families:
        sel = m.filter(m.family == target)
        prio = {d.name: d.priority for d in load_definitions(ws) if d.family == target}
        pt = ibis.memtable(
            {"_p_seg": list(prio), "_prio": list(prio.values())},
            schema={"_p_seg": "string", "_prio": "int64"},
        )
        j = sel.left_join(pt, sel.segment == pt._p_seg)
        j = j.select("customer_id", "segment", _prio=j._prio.fill_null(2**31))
        w = ibis.window(group_by=j.customer_id, order_by=[j._prio, j.segment])
        first = j.mutate(_r=ibis.row_number().over(w))
        pop = first.filter(first._r == 0).select("customer_id", "segment")
    else:
        d = get_definition(ws, target)
        pop = m.filter(m.segment == d.name).select("customer_id", "segment").distinct()
    if pop.count().to_pyarrow().as_py() == 0:
        raise UsageError(f"{target!r} has no members: nobody to split into a holdout.")
    return pop


def _write_table(ws: Any, rows: ir.Table, holdout_id: str) -> None:
    con = ws.connect()
    if HOLDOUTS_TABLE in con.list_tables():
        old = con.table(HOLDOUTS_TABLE).select(*_SCHEMA)
        kept = old.filter(old.holdout_id != holdout_id)
        # the stored types may carry backend detail (timestamp precision): follow them
        combined = kept.union(rows.cast(old.schema()))
    else:
        combined = rows
    con.create_table("_holdouts_new", combined, overwrite=True)
    if not ws.is_duckdb:
        con.create_table(HOLDOUTS_TABLE, con.table("_holdouts_new"), overwrite=True)
        con.drop_table("_holdouts_new", force=True)
        return
    raw = con.con
    from custseg.workspace import transaction

    with transaction(raw):
        raw.execute(f"DROP TABLE IF EXISTS {HOLDOUTS_TABLE}")
        raw.execute(f"ALTER TABLE _holdouts_new RENAME TO {HOLDOUTS_TABLE}")


def _export(table: ir.Table, path: Path) -> Path:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _EXPORT_FORMATS:
        raise UsageError(
            f"cannot export a holdout to {path.name!r}: use a .csv or .parquet file name."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "csv":
            table.to_csv(tmp)
        else:
            table.to_parquet(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_holdout(ws: Any, holdout_id: str) -> ir.Table:
    """The stored rows of one holdout (the ``holdouts`` columns).

    Raises
    ------
    UsageError
        No such holdout; the message lists the stored ones.
    """
    con = ws.connect()
    if HOLDOUTS_TABLE not in con.list_tables():
        raise UsageError(
            f"no holdout {holdout_id!r}: the workspace has none yet; create one with "
            "`custseg holdout create SEGMENT --fraction 0.1 --seed 1`."
        )
    t = con.table(HOLDOUTS_TABLE)
    rows = t.filter(t.holdout_id == holdout_id)
    if rows.count().to_pyarrow().as_py() == 0:
        known = t.select("holdout_id").distinct().to_pyarrow()[0].to_pylist()
        raise UsageError(
            f"no holdout {holdout_id!r}; the stored holdouts are: {', '.join(sorted(known))}."
        )
    return rows


def holdout_exposures(ws: Any, holdout_id: str, *, campaign_id: str) -> ir.Table:
    """A holdout as ``campaign_exposures`` rows: ``campaign_id, customer_id, arm, sent_at``.

    ``sent_at`` is null: the holdout says who should be sent, not when they were.
    """
    rows = load_holdout(ws, holdout_id)
    return rows.select(
        campaign_id=ibis.literal(campaign_id),
        customer_id=rows.customer_id,
        arm=rows.arm,
        sent_at=ibis.null("timestamp('UTC')"),
    )


def _strata(rows: ir.Table) -> dict[str, tuple[int, int]]:
    agg = (
        rows.group_by("segment")
        .aggregate(n=rows.count(), k=(rows.arm == "control").ifelse(1, 0).sum())
        .order_by("segment")
        .to_pyarrow()
        .to_pylist()
    )
    return {r["segment"]: (int(r["n"]), int(r["k"] or 0)) for r in agg}


def create_holdout(
    ws: Any,
    segment: str,
    fraction: float,
    seed: int,
    *,
    out: str | Path | None = None,
    formats: Sequence[str] = _EXPORT_FORMATS,
) -> Holdout:
    """Create (or re-create) a holdout, store it in ``holdouts`` and export it.

    Parameters
    ----------
    ws : Workspace
        The workspace, with segments evaluated.
    segment
        A segment (key or title), or a family (``rfm``, ``clv_tier``, ...): every segment
        of it is a stratum.
    fraction
        Share held out (``control``) in each stratum, 0 < fraction < 1.
    seed
        Seed (>= 0): the same seed gives the same split, a different one another.
    out
        Export to this file only (``.csv`` or ``.parquet``); default: one file per
        format in ``<exports folder>/holdouts/``.
    formats
        Formats of the default export.

    Returns
    -------
    Holdout

    Raises
    ------
    UsageError
        Bad fraction or seed, unknown segment or family, empty population.
    """
    _check(fraction, seed)
    holdout_id = holdout_id_for(segment, fraction, seed)
    created = datetime.now(UTC)
    split = assign_holdout(holdout_members(ws, segment), fraction=fraction, seed=seed)
    rows = split.select(
        holdout_id=ibis.literal(holdout_id),
        segment=split.segment.cast("string"),
        customer_id=split.customer_id,
        arm=split.arm,
        fraction=ibis.literal(fraction, type="float64"),
        seed=ibis.literal(seed, type="int64"),
        created_at=ibis.literal(created, type="timestamp('UTC')"),
    )
    _write_table(ws, rows, holdout_id)
    stored = load_holdout(ws, holdout_id).order_by(["segment", "customer_id"])
    if out is not None:
        targets = [Path(out)]
    else:
        bad = [f for f in formats if f not in _EXPORT_FORMATS]
        if bad:
            raise UsageError(f"unknown export format(s) {bad}; use csv or parquet.")
        folder = ws.root / ws.config.exports.folder / "holdouts"
        targets = [folder / f"{holdout_id}.{f}" for f in formats]
    paths = tuple(_export(stored, p) for p in targets)
    strata = _strata(stored)
    h = Holdout(
        holdout_id=holdout_id,
        target=segment,
        fraction=fraction,
        seed=seed,
        created_at=created,
        strata=strata,
        paths=paths,
    )
    log.info(
        "holdout %s: %d of %d customers held out in %d strata",
        holdout_id,
        h.control,
        h.customers,
        len(strata),
    )
    return h


def list_holdouts(ws: Any) -> list[Holdout]:
    """The stored holdouts, newest first (without export paths)."""
    con = ws.connect()
    if HOLDOUTS_TABLE not in con.list_tables():
        return []
    t = con.table(HOLDOUTS_TABLE)
    heads = (
        t.group_by(["holdout_id", "fraction", "seed"])
        .aggregate(created_at=t.created_at.max())
        .order_by([ibis.desc("created_at"), "holdout_id"])
        .to_pyarrow()
        .to_pylist()
    )
    out = []
    for h in heads:
        rows = t.filter(t.holdout_id == h["holdout_id"])
        out.append(
            Holdout(
                holdout_id=h["holdout_id"],
                target=h["holdout_id"].rsplit("-f", 1)[0],
                fraction=h["fraction"],
                seed=h["seed"],
                created_at=h["created_at"],
                strata=_strata(rows),
            )
        )
    return out
