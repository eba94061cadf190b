"""Was the CLV model right? Each run's predicted orders against what customers then did.

Every pipeline run stores its per-customer predictions in ``prediction_snapshots``
(:func:`snapshot_predictions`, append-only, one row per customer with a prediction):

``(run_id, as_of, customer_id, horizon_days, expected_orders, p_alive, clv,
clv_frequency, clv_recency, clv_T, clv_monetary)``

``expected_orders`` and ``clv`` are the run's ``expected_orders_<h>d`` and ``clv_<h>d``
with ``h = horizon_days`` (``[clv] horizon_days`` when the run was made); the four
``clv_*`` inputs (weeks) are kept so the predictions can be recomputed for another
horizon. Customers without an order by the as-of date have no prediction and no row.

:func:`validate_run` is the holdout check of one run once its horizon has passed:
for each predicted customer, the predicted number of orders in ``(as_of, as_of + h]``
against the actual number, counted from ``orders`` with the feature rules
(:func:`custseg.features._common.counted_orders`: not cancelled, with a customer) and
in the model's unit, **purchase days** (two orders on one day count once, as in
``clv_frequency``). It gives the totals overall, per segment of one family (the run's
``membership_snapshots``; customers in none are ``(none)``) and a calibration table by
decile of predicted orders. A run is *checkable* when ``as_of + h`` is on or before the
latest order date.

A horizon other than the stored one refits the BG/NBD model on the run's stored
inputs (with the current ``[clv]`` settings) through
:func:`custseg.features.predictive.add_predictions`; the refit is checked against the
stored predictions at the stored horizon and a note says when they differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from custseg.exceptions import UsageError

__all__ = [
    "NONE_SEGMENT",
    "PREDICTION_SNAPSHOTS_TABLE",
    "RunValidation",
    "checkable_runs",
    "latest_checkable_run",
    "prediction_runs",
    "snapshot_predictions",
    "validate_run",
]

log = logging.getLogger(__name__)

PREDICTION_SNAPSHOTS_TABLE = "prediction_snapshots"
#: The segment of customers in no segment of the family in the run.
NONE_SEGMENT = "(none)"
#: How many groups the calibration table splits the customers into.
CALIBRATION_GROUPS = 10
_INPUTS = ("clv_frequency", "clv_recency", "clv_T", "clv_monetary")
_SCHEMA = ibis.schema(
    {
        "run_id": "string",
        "as_of": "date",
        "customer_id": "string",
        "horizon_days": "int64",
        "expected_orders": "float64",
        "p_alive": "float64",
        "clv": "float64",
        "clv_frequency": "float64",
        "clv_recency": "float64",
        "clv_T": "float64",
        "clv_monetary": "float64",
    }
)
_METRICS = (
    "n_customers",
    "predicted",
    "actual",
    "mean_predicted",
    "mean_actual",
    "relative_error",
    "mae",
    "rmse",
)


# --------------------------------------------------------------------------- snapshots


def snapshot_predictions(ws: Any, run_id: str) -> int:
    """Append the run's per-customer predictions to ``prediction_snapshots``.

    Called by the pipeline while ``customer_features`` holds the run. A repeated call
    for the same run replaces its rows.

    Parameters
    ----------
    ws : Workspace
    run_id : str

    Returns
    -------
    int
        Rows written (0 when ``customer_features`` has no predictions: ``[clv]`` off).
    """
    con = ws.connect()
    f = con.table("customer_features")
    h = ws.config.clv.horizon_days
    expected, clv = f"expected_orders_{h}d", f"clv_{h}d"
    needed = (expected, clv, "p_alive", "as_of", *_INPUTS)
    if any(c not in f.columns for c in needed):
        log.info("customer_features has no %s: no prediction snapshot for %s", expected, run_id)
        return 0
    f = f.filter(f[expected].notnull())
    rows = f.select(
        run_id=ibis.literal(run_id, "string"),
        as_of=f.as_of.cast("date"),
        customer_id=f.customer_id.cast("string"),
        horizon_days=ibis.literal(h, "int64"),
        expected_orders=f[expected].cast("float64"),
        p_alive=f.p_alive.cast("float64"),
        clv=f[clv].cast("float64"),
        **{c: f[c].cast("float64") for c in _INPUTS},
    )
    if PREDICTION_SNAPSHOTS_TABLE not in con.list_tables():
        con.create_table(PREDICTION_SNAPSHOTS_TABLE, schema=_SCHEMA)
    elif _has_run(con, run_id):
        old = con.table(PREDICTION_SNAPSHOTS_TABLE)
        kept = old.filter(old.run_id != run_id)
        con.create_table("_prediction_snapshots_new", kept, overwrite=True)
        con.create_table(
            PREDICTION_SNAPSHOTS_TABLE, con.table("_prediction_snapshots_new"), overwrite=True
        )
        con.drop_table("_prediction_snapshots_new", force=True)
    con.insert(PREDICTION_SNAPSHOTS_TABLE, rows)
    n = rows.count().to_pyarrow().as_py()
    log.info("prediction snapshot of %s: %d customers, horizon %d days", run_id, n, h)
    return int(n)


def _has_run(con: Any, run_id: str) -> bool:
    s = con.table(PREDICTION_SNAPSHOTS_TABLE)
    return bool(s.filter(s.run_id == run_id).count().to_pyarrow().as_py())


def _snapshot(con: Any) -> ir.Table:
    if PREDICTION_SNAPSHOTS_TABLE not in con.list_tables():
        raise UsageError(
            "no prediction snapshots yet: they are written by each `custseg run` (with "
            "[clv] enabled); run the pipeline, or `custseg backfill` to build a history."
        )
    return con.table(PREDICTION_SNAPSHOTS_TABLE)


def prediction_runs(ws: Any) -> pd.DataFrame:
    """The runs with a prediction snapshot: ``run_id, as_of, horizon_days, customers``.

    Sorted by ``as_of`` then ``run_id``; empty before the first snapshot.
    """
    con = ws.connect()
    if PREDICTION_SNAPSHOTS_TABLE not in con.list_tables():
        return pd.DataFrame(columns=["run_id", "as_of", "horizon_days", "customers"])
    s = con.table(PREDICTION_SNAPSHOTS_TABLE)
    agg = s.group_by(["run_id", "as_of", "horizon_days"]).aggregate(customers=s.count())
    rows = agg.order_by(["as_of", "run_id"]).to_pyarrow().to_pylist()  # dates stay dates
    return pd.DataFrame(rows, columns=["run_id", "as_of", "horizon_days", "customers"])


def _last_order_date(ws: Any) -> date | None:
    con = ws.connect()
    if "orders" not in con.list_tables():
        return None
    latest = con.table("orders").ordered_at.max().to_pyarrow().as_py()
    if latest is None:
        return None
    return latest.astimezone(UTC).date() if latest.tzinfo else latest.date()


def checkable_runs(ws: Any, *, horizon_days: int | None = None) -> pd.DataFrame:
    """The succeeded runs with a prediction snapshot whose horizon has passed.

    Parameters
    ----------
    ws : Workspace
    horizon_days : int, optional
        The horizon to check over; default: each run's stored horizon.

    Returns
    -------
    DataFrame
        :func:`prediction_runs` rows (newest ``as_of`` last) with ``as_of + horizon`` on
        or before the latest order date.
    """
    from custseg.pipeline import list_runs

    runs = prediction_runs(ws)
    last = _last_order_date(ws)
    if runs.empty or last is None:
        return runs.iloc[0:0]
    ok = {r.run_id for r in list_runs(ws) if r.status == "succeeded"}
    h = runs.horizon_days if horizon_days is None else pd.Series(horizon_days, index=runs.index)
    ends = [d + timedelta(days=int(x)) for d, x in zip(runs.as_of, h, strict=True)]
    mask = [e <= last and r in ok for e, r in zip(ends, runs.run_id, strict=True)]
    return runs[mask].reset_index(drop=True)


def latest_checkable_run(ws: Any, *, horizon_days: int | None = None) -> str | None:
    """The checkable run (see :func:`checkable_runs`) with the latest as-of date, or None."""
    runs = checkable_runs(ws, horizon_days=horizon_days)
    return None if runs.empty else str(runs.run_id.iloc[-1])


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class RunValidation:
    """Predicted against actual orders (purchase days) of one run over its horizon.

    Attributes
    ----------
    run_id, as_of, horizon_days, end : the run, its as-of date, the horizon and the
        last day counted (``as_of + horizon_days``); orders in ``(as_of, end]`` count.
    family : the segment family of ``by_segment``.
    overall : DataFrame
        One row: ``n_customers, predicted, actual`` (totals), ``mean_predicted,
        mean_actual`` (per customer), ``relative_error`` (predicted / actual - 1),
        ``mae`` and ``rmse`` (mean absolute and root mean squared error per customer).
    by_segment : DataFrame
        The same columns per ``segment`` of the family (``(none)``: customers in none);
        in an exclusive family the rows add up to ``overall``.
    calibration : DataFrame
        Customers in :data:`CALIBRATION_GROUPS` equal groups by predicted orders
        (``decile`` 1 = lowest): ``n_customers, min_predicted, max_predicted,
        mean_predicted, mean_actual``.
    notes : list of str
    """

    run_id: str
    as_of: date
    horizon_days: int
    end: date
    family: str
    overall: pd.DataFrame
    by_segment: pd.DataFrame
    calibration: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for row in df.to_dict(orient="records")
            ]

        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "horizon_days": self.horizon_days,
            "end": self.end.isoformat(),
            "family": self.family,
            "overall": records(self.overall)[0],
            "by_segment": records(self.by_segment),
            "calibration": records(self.calibration),
            "notes": list(self.notes),
        }


def actual_orders(orders: ir.Table, *, start: date, end: date) -> ir.Table:
    """Each customer's purchase days in ``(start, end]``: ``customer_id, actual``.

    Orders count as in the features (:func:`~custseg.features._common.counted_orders`);
    a purchase day is a calendar day (UTC) with at least one counted order.
    """
    from custseg.features._common import as_of_cut, counted_orders

    kept = counted_orders(orders, as_of_cut(end))
    kept = kept.filter(kept.order_date > ibis.date(start))
    return kept.group_by(kept.customer_id.cast("string").name("customer_id")).aggregate(
        actual=kept.order_date.nunique().cast("int64")
    )


def _summary(t: ir.Table, by: list[str] | None = None) -> ir.Table:
    metrics = {
        "n_customers": t.count(),
        "predicted": t.predicted.sum(),
        "actual": t.actual.sum().cast("float64"),
        "mean_predicted": t.predicted.mean(),
        "mean_actual": t.actual.cast("float64").mean(),
        "mae": (t.predicted - t.actual.cast("float64")).abs().mean(),
        "mse": ((t.predicted - t.actual.cast("float64")) ** 2).mean(),
    }
    return t.group_by(by).aggregate(**metrics) if by else t.aggregate(**metrics)


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["n_customers"] = df["n_customers"].astype("int64")
    act = df["actual"].astype(float)
    df["relative_error"] = (df["predicted"] / act - 1.0).where(act > 0)
    df["rmse"] = df.pop("mse") ** 0.5
    return df


def _refit(ws: Any, snap: ir.Table, *, as_of: date, horizon: int, stored: int) -> tuple:
    """Predicted orders at ``horizon`` from the stored inputs; and a note if off."""
    from custseg.features.predictive import add_predictions

    cfg = ws.config.clv.model_copy(update={"horizon_days": horizon})
    base = snap.select("customer_id", "expected_orders", *_INPUTS)
    again, _ = add_predictions(base, config=cfg, as_of=as_of)
    pred = again.select("customer_id", predicted=again[f"expected_orders_{horizon}d"])
    check_cfg = ws.config.clv.model_copy(update={"horizon_days": stored})
    same, _ = add_predictions(base, config=check_cfg, as_of=as_of)
    diff = (same[f"expected_orders_{stored}d"] - same.expected_orders).abs().max()
    gap = diff.to_pyarrow().as_py() or 0.0
    note = None
    if gap > 1e-6:
        note = (
            f"the model refitted on the run's inputs predicts up to {gap:.3g} orders "
            f"differently at the run's own horizon ({stored} days): [clv] settings changed "
            "since the run? The other-horizon predictions are the refit's."
        )
    return pred, note


def validate_run(
    ws: Any, run_id: str, *, by: str = "rfm", horizon_days: int | None = None
) -> RunValidation:
    """Compare a run's predicted orders with the orders customers then placed.

    Parameters
    ----------
    ws : Workspace
    run_id : str
        A succeeded run with a prediction snapshot.
    by : str, default "rfm"
        The segment family of the per-segment rows (``rfm``, ``clv_tier``,
        ``churn_risk``, ``cluster``...), as evaluated in that run.
    horizon_days : int, optional
        Days after the as-of date to compare over; default the run's stored horizon
        (``[clv] horizon_days``). Another horizon refits the model on the run's inputs.

    Returns
    -------
    RunValidation

    Raises
    ------
    UsageError
        Unknown or unsucceeded run, no snapshot, unknown family, or a horizon that has
        not passed yet (the message says when the run becomes checkable).
    """
    from custseg.pipeline import get_run
    from custseg.segments.registry import SNAPSHOTS_TABLE

    r = get_run(ws, run_id)
    if r is None:
        raise UsageError(f"no run {run_id!r}; `custseg runs list` shows the runs.")
    if r.status != "succeeded":
        raise UsageError(f"run {run_id} is {r.status}; only succeeded runs can be validated.")
    con = ws.connect()
    s = _snapshot(con)
    snap = s.filter(s.run_id == run_id)
    meta = snap.aggregate(n=snap.count(), h=snap.horizon_days.max(), d=snap.as_of.max())
    row = meta.to_pyarrow().to_pylist()[0]
    if not row["n"]:
        raise UsageError(
            f"run {run_id} has no prediction snapshot (made before snapshots existed, or "
            "with [clv] disabled); validate a later run (`custseg runs validate --latest`)."
        )
    stored, as_of = int(row["h"]), row["d"]
    h = stored if horizon_days is None else int(horizon_days)
    if h < 1:
        raise UsageError(f"horizon_days must be at least 1, got {h}.")
    end = as_of + timedelta(days=h)
    last = _last_order_date(ws)
    if last is None or end > last:
        seen = "no orders" if last is None else f"orders up to {last}"
        shorter = (
            f", or validate over at most {(last - as_of).days} days (--horizon-days)"
            if last is not None and last > as_of
            else ""
        )
        raise UsageError(
            f"run {run_id} (as of {as_of}) predicts {h} days ahead, to {end}, and the "
            f"workspace has {seen}: it is checkable once orders through {end} are "
            f"loaded{shorter}."
        )
    notes: list[str] = []
    if h == stored:
        pred = snap.select("customer_id", predicted=snap.expected_orders)
    else:
        pred, note = _refit(ws, snap, as_of=as_of, horizon=h, stored=stored)
        if note:
            notes.append(note)
    actual = actual_orders(con.table("orders"), start=as_of, end=end)
    joined = pred.left_join(actual, "customer_id")
    joined = joined.select(
        "customer_id", "predicted", actual=joined.actual.fill_null(0).cast("int64")
    )
    if SNAPSHOTS_TABLE not in con.list_tables():
        raise UsageError("no membership_snapshots: run the pipeline (`custseg run`) first.")
    m = con.table(SNAPSHOTS_TABLE)
    m = m.filter(m.run_id == run_id)
    families = sorted(x for x in m.select("family").distinct().to_pyarrow()[0].to_pylist() if x)
    if by not in families:
        raise UsageError(
            f"run {run_id} has no segments of family {by!r}; its families are: "
            f"{', '.join(families) or 'none'}."
        )
    seg = m.filter(m.family == by).select(_cid=m.customer_id.cast("string"), segment=m.segment)
    with_seg = joined.left_join(seg, joined.customer_id == seg._cid)
    with_seg = with_seg.mutate(segment=with_seg.segment.fill_null(NONE_SEGMENT)).drop("_cid")
    overall = _finish(_summary(joined).to_pandas())
    per = _finish(_summary(with_seg, ["segment"]).order_by("segment").to_pandas())
    ranked = joined.mutate(
        decile=ibis.ntile(CALIBRATION_GROUPS).over(order_by=[joined.predicted, joined.customer_id])
        + 1
    )
    cal = (
        ranked.group_by("decile")
        .aggregate(
            n_customers=ranked.count(),
            min_predicted=ranked.predicted.min(),
            max_predicted=ranked.predicted.max(),
            mean_predicted=ranked.predicted.mean(),
            mean_actual=ranked.actual.cast("float64").mean(),
        )
        .order_by("decile")
        .to_pandas()
    )
    cal["n_customers"] = cal["n_customers"].astype("int64")
    cal["decile"] = cal["decile"].astype("int64")
    if by == "rule":
        notes.append("rule segments overlap: their rows do not add up to the overall row.")
    log.info(
        "validated %s over %d days: predicted %.1f, actual %d",
        run_id,
        h,
        overall.predicted.iloc[0],
        int(overall.actual.iloc[0]),
    )
    return RunValidation(
        run_id=run_id,
        as_of=as_of,
        horizon_days=h,
        end=end,
        family=by,
        overall=overall[list(_METRICS)],
        by_segment=per[["segment", *_METRICS]],
        calibration=cal,
        notes=notes,
    )
