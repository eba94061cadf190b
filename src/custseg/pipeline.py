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
   (:mod:`custseg.monitor.snapshots`), for drift and history, and its per-customer
   predictions (:mod:`custseg.monitor.validation`), to check the CLV model later;
5. ``actions``: the playbook plan and each customer's action (``customer_actions``), the
   shipping tiers (``shipping_tiers``) and the recommendations (``recommendations``);
6. ``deliveries``: the configured webhooks.

**A run is atomic** (DuckDB workspaces). Its row is first recorded as ``running`` and
committed; stages 1-5 and the ``succeeded`` row then run in one transaction
(:func:`custseg.workspace.transaction`), committed at the end. A stage that fails rolls
everything back, so the tables are those of the last good run, and the run is recorded
``failed`` with its error, which is raised again for the caller. A killed process
leaves nothing half-written either: DuckDB reopens the database as of the last commit
and the run's row says ``running`` until the next run starts and marks it
``interrupted`` (:func:`mark_interrupted`). The *current run*, whose tables the CLI and
the API serve, is the latest ``succeeded`` one (:func:`current_run`). Deliveries
(webhooks) go out after the commit: they cannot be rolled back, and a failed delivery
leaves the run ``succeeded`` with the error recorded. A clustering model fitted by a
run that is rolled back is deleted again (a killed run can leave it behind: the next
run then reuses it). Non-DuckDB backends (Spark) have no transactions: there each stage
writes as it goes and a failed run can leave a mix of two runs' tables.

:func:`backfill` runs the pipeline as of a series of past dates (weekly, monthly or
quarterly), from the same data, to build the history that migration, drift and model
validation read.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import ibis

from custseg.exceptions import UsageError
from custseg.workspace import transaction

__all__ = [
    "BACKFILL_STEPS",
    "RUNS_TABLE",
    "STAGES",
    "RunResult",
    "backfill",
    "backfill_dates",
    "current_run",
    "get_run",
    "list_runs",
    "mark_interrupted",
    "run",
]

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


def current_run(ws: Any) -> RunResult | None:
    """The run whose tables are current: the latest ``succeeded`` one, or None.

    A failed or killed run is rolled back, so the tables (``customer_features``,
    ``memberships``, ``customer_actions``...) stay those of this run.
    """
    con = ws.connect()
    if RUNS_TABLE not in con.list_tables():
        return None
    t = con.table(RUNS_TABLE)
    t = t.filter(t.status == "succeeded").order_by(ibis.desc("started_at")).limit(1)
    rows = t.to_pyarrow().to_pylist()
    return _from_row(rows[0]) if rows else None


def mark_interrupted(ws: Any) -> list[str]:
    """Mark the runs still recorded as ``running`` as ``interrupted``; return their ids.

    Called when a run starts: only one run writes to a workspace at a time, so a
    ``running`` row left over is a run whose process was killed (its writes were rolled
    back when the database reopened).
    """
    con = ws.connect()
    if RUNS_TABLE not in con.list_tables():
        return []
    t = con.table(RUNS_TABLE)
    left = [_from_row(r) for r in t.filter(t.status == "running").to_pyarrow().to_pylist()]
    for r in left:
        r.status = "interrupted"
        r.error = "the process ended before the run finished; its changes were rolled back"
        _record(ws, r)
        log.warning("run %s (as of %s) was interrupted", r.run_id, r.as_of)
    return [r.run_id for r in left]


def run(
    ws: Any,
    *,
    as_of: date | None = None,
    run_id: str | None = None,
    on_stage: Callable[[str, str], None] | None = None,
    recommendations: bool = True,
    deliveries: bool = True,
) -> RunResult:
    """Run the pipeline once, atomically, and record it.

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
    recommendations : bool, default True
        Fit the recommender in the ``actions`` stage (:func:`backfill` skips it for all
        but its last run: each run replaces the table).
    deliveries : bool, default True
        Send the configured webhooks after the commit (:func:`backfill` never does).

    Returns
    -------
    RunResult
        With ``status == "succeeded"``; what was skipped is in ``details["skipped"]``.

    Raises
    ------
    CustsegError
        The error of the failing stage (everything the run wrote is rolled back and the
        run is recorded as failed first).
    """
    from custseg import features
    from custseg.segments import registry

    mark_interrupted(ws)
    result = RunResult(
        run_id=run_id or new_run_id(),
        as_of=as_of,
        status="running",
        started_at=datetime.now(UTC),
        config_hash=config_hash(ws),
        data_hash=data_hash(ws),
    )
    _record(ws, result)  # committed: a killed run leaves this row behind
    notify = on_stage or (lambda stage, state: None)
    skipped = [
        name
        for name, wanted in (("recommendations", recommendations), ("deliveries", deliveries))
        if not wanted
    ]
    if skipped:
        result.details["skipped"] = skipped

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        notify(name, "start")
        t0 = time.perf_counter()
        out = fn()
        result.stages[name] = round(time.perf_counter() - t0, 3)
        notify(name, "done")
        return out

    model_path = ws.root / registry.CLUSTER_MODEL_FILE
    fitted_model = False
    try:
        with transaction(ws):
            stage("features", lambda: features.materialize(ws, as_of=as_of))
            if result.as_of is None:
                con = ws.connect()
                result.as_of = con.table("customer_features").as_of.max().to_pyarrow().as_py()

            def clustering() -> None:
                nonlocal fitted_model
                cfg = ws.config.segments
                wanted = "cluster" in cfg.builtin and cfg.clustering.enabled
                if wanted and registry.load_cluster_model(ws) is None:
                    registry.fit_workspace_clustering(ws)
                    fitted_model = True

            stage("clustering", clustering)
            ev = stage("segments", lambda: registry.evaluate(ws, run_id=result.run_id))
            result.details["segments"] = dict(ev.sizes)

            def snapshots() -> None:
                from custseg.monitor.snapshots import snapshot_features
                from custseg.monitor.validation import snapshot_predictions

                snapshot_features(ws, result.run_id)
                snapshot_predictions(ws, result.run_id)

            stage("snapshots", snapshots)

            def actions() -> None:
                from custseg.actions.playbooks import assign_actions, plan
                from custseg.actions.shipping import assign_shipping

                assign_actions(ws, plan(ws))
                assign_shipping(ws)
                if recommendations:
                    _recommendations(ws, result.as_of)

            stage("actions", actions)
            result.status = "succeeded"
            result.finished_at = datetime.now(UTC)
            _record(ws, result)  # in the transaction: committed with the tables
    except BaseException as exc:
        # the transaction is rolled back: the tables are the last good run's
        if fitted_model and model_path.exists():
            model_path.unlink()  # the model came with this run: it goes with it
            registry.invalidate_frame(ws)
        result.status = "failed" if isinstance(exc, Exception) else "interrupted"
        result.error = f"{type(exc).__name__}: {exc}"
        result.finished_at = datetime.now(UTC)
        try:
            _record(ws, result)
        except Exception:  # noqa: BLE001 - e.g. inside a caller's aborted transaction
            log.exception("could not record run %s as %s", result.run_id, result.status)
        raise
    if deliveries:
        _deliver(ws, result, stage)
    log.info("run %s as of %s succeeded in %s", result.run_id, result.as_of, result.stages)
    return result


def _deliver(ws: Any, result: RunResult, stage: Callable[[str, Callable[[], Any]], Any]) -> None:
    """The deliveries stage, after the commit: a failure is recorded, the run stays."""

    def deliveries() -> None:
        if ws.config.webhooks:
            from custseg.actions.webhooks import deliver

            result.details["webhooks"] = deliver(ws).to_dict()

    try:
        stage("deliveries", deliveries)
    except Exception as exc:
        result.error = f"deliveries failed: {type(exc).__name__}: {exc}"
        _record(ws, result)
        raise
    _record(ws, result)


#: The steps :func:`backfill` can take between as-of dates.
BACKFILL_STEPS: tuple[str, ...] = ("week", "month", "quarter")


def _add_months(d: date, months: int) -> date:
    """``d`` plus whole months, the day clamped to the month's length (Jan 31 → Feb 28).

    From a month's last day the result is the last day of the target month (Apr 30 →
    May 31), so month-end series stay month-end.
    """
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    days = calendar.monthrange(year, month)[1]
    if d.day == calendar.monthrange(d.year, d.month)[1]:
        return date(year, month, days)
    return date(year, month, min(d.day, days))


def backfill_dates(
    start: date, end: date, every: Literal["week", "month", "quarter"] = "month"
) -> list[date]:
    """The as-of dates of a backfill: ``start``, then every step before ``end``, then ``end``.

    Months and quarters count from ``start``'s day, clamped to each month's length: from
    Jan 30 the next months are Feb 28 (29), Mar 30, Apr 30. A start on a month's last
    day gives month ends: Jan 31, Feb 28 (29), Mar 31, Apr 30, May 31.

    Parameters
    ----------
    start, end : date
        The first and last as-of dates (``start <= end``).
    every : {"week", "month", "quarter"}

    Returns
    -------
    list of date
        Increasing; the last is ``end``.

    Examples
    --------
    >>> backfill_dates(date(2024, 1, 31), date(2024, 4, 15), "month")
    [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 31), datetime.date(2024, 4, 15)]
    """
    if every not in BACKFILL_STEPS:
        raise UsageError(f"--every must be one of {', '.join(BACKFILL_STEPS)}; got {every!r}.")
    if start > end:
        raise UsageError(f"the backfill starts ({start}) after it ends ({end}).")
    out: list[date] = []
    k = 0
    while True:
        if every == "week":
            d = start + timedelta(weeks=k)
        else:
            d = _add_months(start, k * (1 if every == "month" else 3))
        if d >= end:
            break
        out.append(d)
        k += 1
    out.append(end)
    return out


def _order_dates(ws: Any) -> tuple[date | None, date | None]:
    con = ws.connect()
    if "orders" not in con.list_tables():
        return None, None
    o = con.table("orders")
    row = o.aggregate(first=o.ordered_at.min(), last=o.ordered_at.max()).to_pyarrow()
    first, last = row["first"][0].as_py(), row["last"][0].as_py()

    def day(x: Any) -> date | None:
        if x is None:
            return None
        return x.astimezone(UTC).date() if getattr(x, "tzinfo", None) else x.date()

    return day(first), day(last)


def backfill(
    ws: Any,
    start: date,
    *,
    every: Literal["week", "month", "quarter"] = "month",
    end: date | None = None,
    skip_existing: bool = False,
    on_run: Callable[[int, int, RunResult], None] | None = None,
    on_stage: Callable[[str, str], None] | None = None,
) -> list[RunResult]:
    """Run the pipeline as of past dates, from the same data, to build a history.

    Each date is one atomic :func:`run`; the last is as of ``end``, so the current
    tables reflect the latest data when it ends. Runs before the last skip the
    recommender (each run replaces the recommendations); no backfill run sends webhooks.

    Parameters
    ----------
    ws : Workspace
    start : date
        The first as-of date: on or after the first order, on or before ``end``.
    every : {"week", "month", "quarter"}, default "month"
        The step between as-of dates (:func:`backfill_dates`).
    end : date, optional
        The last as-of date; default the date of the latest order.
    skip_existing : bool, default False
        Reuse a ``succeeded`` run recorded for the same as-of date, config hash and data
        hash instead of running it again (its result comes back with
        ``details["reused"] = True``). The last date is only reused when that run is
        still the current one.
    on_run : callable, optional
        Called as ``on_run(i, n, result)`` after each of the ``n`` runs (``i`` from 1).
    on_stage : callable, optional
        Passed to each :func:`run`.

    Returns
    -------
    list of RunResult
        One per date, in date order.

    Raises
    ------
    UsageError
        A bad step, no orders, ``start`` after the last order (or after ``end``) or
        before the first order.
    CustsegError
        The first failing run's error (that run is rolled back and recorded failed;
        the runs before it stay).
    """
    if every not in BACKFILL_STEPS:
        raise UsageError(f"--every must be one of {', '.join(BACKFILL_STEPS)}; got {every!r}.")
    first, last = _order_dates(ws)
    if first is None or last is None:
        raise UsageError("the workspace has no orders to backfill from; run `custseg ingest`.")
    stop = end or last
    if start > last:
        raise UsageError(
            f"--from {start} is after the data's last order ({last}); choose a date between "
            f"{first} and {last}."
        )
    if start < first:
        raise UsageError(
            f"--from {start} is before the first order ({first}): runs before it would have no "
            f"customers with orders; choose a date between {first} and {last}."
        )
    if start > stop:
        raise UsageError(f"--from {start} is after --to {stop}.")
    dates = backfill_dates(start, stop, every)
    existing: dict[date, RunResult] = {}
    if skip_existing:
        ch, dh = config_hash(ws), data_hash(ws)
        for r in reversed(list_runs(ws)):  # oldest first: the newest match wins
            if r.status == "succeeded" and r.config_hash == ch and r.data_hash == dh:
                existing[r.as_of] = r
        now = current_run(ws)
        if dates[-1] in existing and (now is None or now.run_id != existing[dates[-1]].run_id):
            del existing[dates[-1]]
    results = []
    for i, d in enumerate(dates, start=1):
        if d in existing:
            r = existing[d]
            r.details["reused"] = True
            log.info("backfill %d/%d as of %s: reusing %s", i, len(dates), d, r.run_id)
        else:
            r = run(
                ws,
                as_of=d,
                on_stage=on_stage,
                recommendations=(d == dates[-1]),
                deliveries=False,
            )
        results.append(r)
        if on_run is not None:
            on_run(i, len(dates), r)
    return results


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
