"""The whole pipeline, in order: features → models → segments → actions → deliveries.

:func:`run` executes the stages for one as-of date and records the run in the ``runs``
table (id, as-of date, status, timings of each stage, hashes of the config and of the
loaded data, the error if any). Stages:

1. ``features``: ``customer_features`` as of the date (with RFM and the CLV models);
2. ``clustering``: the saved clustering model is reused; with none saved and
   ``[segments.clustering] enabled``, one is fitted and saved;
3. ``segments``: every segment evaluated into ``memberships`` (the run id is the
   evaluation's), with a snapshot;
4. ``snapshots``: the run's feature distributions and segment sizes and values
   (:mod:`custseg.monitor.snapshots`), for drift and history;
5. ``actions``: the playbook plan and each customer's action (``customer_actions``), the
   shipping tiers (``shipping_tiers``) and the recommendations (``recommendations``);
6. ``deliveries``: the configured webhooks.

A stage that fails marks the run ``failed`` with its error and stops; the error is
raised again for the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import ibis

from custseg.exceptions import CustsegError

__all__ = ["RUNS_TABLE", "STAGES", "RunResult", "get_run", "list_runs", "run"]

log = logging.getLogger(__name__)

RUNS_TABLE = "runs"
STAGES: tuple[str, ...] = (
    "features",
    "clustering",
    "segments",
    "snapshots",
    "actions",
    "deliveries",
)

_SCHEMA = {
    "run_id": "string",
    "as_of": "date",
    "status": "string",
    "started_at": "timestamp('UTC')",
    "finished_at": "timestamp('UTC')",
    "config_hash": "string",
    "data_hash": "string",
    "stages": "string",
    "error": "string",
}


@dataclass
class RunResult:
    """One run: its id, as-of date, status, stage timings (seconds) and error."""

    run_id: str
    as_of: date | None
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    config_hash: str = ""
    data_hash: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        d = asdict(self)
        d["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        d["started_at"] = self.started_at.isoformat()
        d["finished_at"] = None if self.finished_at is None else self.finished_at.isoformat()
        return d


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``run-20250630T120000123456Z``."""
    now = now or datetime.now(UTC)
    return "run-" + now.strftime("%Y%m%dT%H%M%S%fZ")


def config_hash(ws: Any) -> str:
    """SHA-256 (first 16 hex digits) of the resolved configuration."""
    text = json.dumps(ws.config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_hash(ws: Any) -> str:
    """SHA-256 (first 16 hex digits) of the load log: changes whenever data is loaded."""
    con = ws.connect()
    if "_loads" not in con.list_tables():
        return ""
    t = con.table("_loads")
    rows = t.order_by(list(t.columns)).to_pyarrow().to_pylist()
    text = json.dumps(rows, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _record(ws: Any, r: RunResult) -> None:
    con = ws.connect()
    row = {
        "run_id": r.run_id,
        "as_of": r.as_of,
        "status": r.status,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "config_hash": r.config_hash,
        "data_hash": r.data_hash,
        "stages": json.dumps(r.stages),
        "error": r.error,
    }
    if RUNS_TABLE in con.list_tables():
        t = con.table(RUNS_TABLE)
        rows = [x for x in t.to_pyarrow().to_pylist() if x["run_id"] != r.run_id]
    else:
        rows = []
    rows.append(row)
    con.create_table(RUNS_TABLE, ibis.memtable(rows, schema=_SCHEMA), overwrite=True)


def _from_row(row: dict[str, Any]) -> RunResult:
    return RunResult(
        run_id=row["run_id"],
        as_of=row["as_of"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        config_hash=row["config_hash"] or "",
        data_hash=row["data_hash"] or "",
        stages=json.loads(row["stages"] or "{}"),
        error=row["error"],
    )


def list_runs(ws: Any, *, limit: int | None = None) -> list[RunResult]:
    """The recorded runs, newest first."""
    con = ws.connect()
    if RUNS_TABLE not in con.list_tables():
        return []
    t = con.table(RUNS_TABLE).order_by(ibis.desc("started_at"))
    if limit is not None:
        t = t.limit(limit)
    return [_from_row(r) for r in t.to_pyarrow().to_pylist()]


def get_run(ws: Any, run_id: str) -> RunResult | None:
    """One recorded run, or None."""
    con = ws.connect()
    if RUNS_TABLE not in con.list_tables():
        return None
    t = con.table(RUNS_TABLE)
    rows = t.filter(t.run_id == run_id).to_pyarrow().to_pylist()
    return _from_row(rows[0]) if rows else None


def run(
    ws: Any,
    *,
    as_of: date | None = None,
    run_id: str | None = None,
    on_stage: Callable[[str, str], None] | None = None,
) -> RunResult:
    """Run the pipeline once and record it.

    Parameters
    ----------
    ws : Workspace
        The workspace, with data loaded.
    as_of : date, optional
        Default: the date of the latest order.
    run_id : str, optional
        Default: :func:`new_run_id`.
    on_stage : callable, optional
        Called as ``on_stage(stage, "start" | "done")`` (for progress displays).

    Returns
    -------
    RunResult
        With ``status == "succeeded"``.

    Raises
    ------
    CustsegError
        The error of the failing stage (the run is recorded as failed first).
    """
    from custseg import features
    from custseg.segments import registry

    result = RunResult(
        run_id=run_id or new_run_id(),
        as_of=as_of,
        status="running",
        started_at=datetime.now(UTC),
        config_hash=config_hash(ws),
        data_hash=data_hash(ws),
    )
    _record(ws, result)
    notify = on_stage or (lambda stage, state: None)

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        notify(name, "start")
        t0 = time.perf_counter()
        out = fn()
        result.stages[name] = round(time.perf_counter() - t0, 3)
        notify(name, "done")
        return out

    try:
        stage("features", lambda: features.materialize(ws, as_of=as_of))
        if result.as_of is None:
            con = ws.connect()
            result.as_of = con.table("customer_features").as_of.max().to_pyarrow().as_py()

        def clustering() -> None:
            cfg = ws.config.segments
            wanted = "cluster" in cfg.builtin and cfg.clustering.enabled
            if wanted and registry.load_cluster_model(ws) is None:
                registry.fit_workspace_clustering(ws)

        stage("clustering", clustering)
        ev = stage("segments", lambda: registry.evaluate(ws, run_id=result.run_id))
        result.details["segments"] = dict(ev.sizes)

        def snapshots() -> None:
            from custseg.monitor.snapshots import snapshot_features

            snapshot_features(ws, result.run_id)

        stage("snapshots", snapshots)

        def actions() -> None:
            from custseg.actions.playbooks import assign_actions, plan
            from custseg.actions.shipping import assign_shipping

            assign_actions(ws, plan(ws))
            assign_shipping(ws)
            _recommendations(ws, result.as_of)

        stage("actions", actions)

        def deliveries() -> None:
            if ws.config.webhooks:
                from custseg.actions.webhooks import deliver

                result.details["webhooks"] = deliver(ws).to_dict()

        stage("deliveries", deliveries)
    except (CustsegError, Exception) as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        result.finished_at = datetime.now(UTC)
        _record(ws, result)
        raise
    result.status = "succeeded"
    result.finished_at = datetime.now(UTC)
    _record(ws, result)
    log.info("run %s as of %s succeeded in %s", result.run_id, result.as_of, result.stages)
    return result


def _recommendations(ws: Any, as_of: date | None) -> None:
    """Fit the recommender as of the run's date and write ``recommendations``."""
    from custseg.actions.recommend import Recommender
    from custseg.segments.registry import MEMBERSHIPS_TABLE

    con = ws.connect()
    tables = {
        n: con.table(n) for n in ("orders", "order_lines", "events") if n in con.list_tables()
    }
    if "orders" not in tables or "order_lines" not in tables:
        return
    segments = None
    if MEMBERSHIPS_TABLE in con.list_tables():
        m = con.table(MEMBERSHIPS_TABLE)
        segments = m.filter(m.family == "rfm").select("customer_id", "segment")
    rec = Recommender()
    rec.fit(tables, as_of=as_of, segments=segments)
    rec.materialize(con)
