"""Segment migration between two runs, and segment size and value over time.

:func:`transition_matrix` counts, for one segment family, how many customers went from
each segment of run A to each segment of run B, from ``membership_snapshots`` in the
engine. A customer without a segment of the family in one run is ``(none)`` there: new
customers and prospects that became buyers come from ``(none)``, customers that left the
population go to ``(none)``. Rates are row rates: the share of segment A's customers
that ended up in each segment of run B. In a family where a customer can be in several
segments at once (``rule``), a customer counts once per pair of segments.

Flagged flows are the ``[monitor] flows`` pairs ``[from, to]`` (segment keys, e.g.
``rfm_champions → rfm_at_risk``): the customers in ``from`` in run A that are in ``to``
in run B, whatever the families (``clv_top → churn_high`` crosses two).

:func:`sizes_over_time` reads ``segment_history`` (written per run by
:func:`custseg.monitor.snapshots.snapshot_features`): size and value (summed
``amount_spent``) of each segment per run. :func:`sankey` draws a transition.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd
import plotly.graph_objects as go

from custseg.exceptions import UsageError

__all__ = [
    "NONE",
    "FlaggedFlow",
    "Transition",
    "flagged_flows",
    "sankey",
    "size_changes",
    "sizes_over_time",
    "transition_matrix",
    "transition_table",
]

log = logging.getLogger(__name__)

#: The row/column of customers without a segment of the family in that run.
NONE = "(none)"


@dataclass(frozen=True)
class FlaggedFlow:
    """One ``[monitor] flows`` pair between two runs.

    ``count`` customers were in ``source`` in run A and are in ``target`` in run B;
    ``rate`` is ``count / source_size`` (0 when ``source`` was empty).
    """

    source: str
    target: str
    count: int
    source_size: int
    rate: float

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return {
            "source": self.source,
            "target": self.target,
            "count": self.count,
            "source_size": self.source_size,
            "rate": self.rate,
        }


@dataclass(frozen=True)
class Transition:
    """A transition matrix of one segment family between two runs.

    Attributes
    ----------
    run_a, run_b : str
        The earlier and the later run.
    family : str
        The segment family.
    counts : pandas.DataFrame
        Rows: run A's segments (and ``(none)``), columns: run B's; integer counts, zero
        where nobody moved. Segments in alphabetical order, ``(none)`` last.
    rates : pandas.DataFrame
        ``counts`` divided by each row's total.
    flagged : list of FlaggedFlow
        The ``[monitor] flows`` whose source or target is in this family.
    """

    run_a: str
    run_b: str
    family: str
    counts: pd.DataFrame
    rates: pd.DataFrame
    flagged: list[FlaggedFlow] = field(default_factory=list)

    def flows(self) -> pd.DataFrame:
        """The non-zero cells as rows ``source, target, count, rate``, biggest first."""
        long = self.counts.stack().rename("count").reset_index()
        long.columns = ["source", "target", "count"]
        long["rate"] = [self.rates.loc[s, t] for s, t in zip(long.source, long.target, strict=True)]
        long = long[long["count"] > 0]
        return long.sort_values(["count", "source", "target"], ascending=[False, True, True])

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict (matrices as nested ``{from: {to: value}}``)."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "family": self.family,
            "counts": {r: {c: int(v) for c, v in row.items()} for r, row in self.counts.iterrows()},
            "rates": {r: {c: float(v) for c, v in row.items()} for r, row in self.rates.iterrows()},
            "flagged": [f.to_dict() for f in self.flagged],
        }


def _snapshots(ws: Any) -> Any:
    from custseg.segments.registry import SNAPSHOTS_TABLE

    con = ws.connect()
    if SNAPSHOTS_TABLE not in con.list_tables():
        raise UsageError(
            "there are no membership snapshots yet; run `custseg run` (twice, on two dates) "
            "before comparing runs."
        )
    return con.table(SNAPSHOTS_TABLE)


def _check_runs(s: Any, runs: Sequence[str]) -> None:
    have = set(
        s.filter(s.run_id.isin(list(runs)))
        .select("run_id")
        .distinct()
        .to_pyarrow()["run_id"]
        .to_pylist()
    )
    for r in runs:
        if r not in have:
            raise UsageError(
                f"run {r!r} has no segment memberships in membership_snapshots; "
                "`custseg runs list` shows the runs."
            )


def transition_table(snapshots: Any, run_a: str, run_b: str, family: str) -> Any:
    """The transition counts as an Ibis table ``source, target, count`` (engine only).

    Parameters
    ----------
    snapshots : ibis Table
        ``customer_id, segment, family, run_id`` rows (``membership_snapshots``).
    run_a, run_b : str
        The earlier and the later run.
    family : str
        The segment family.

    Returns
    -------
    ibis Table
        One row per non-empty cell; ``(none)`` for a customer without a segment of the
        family in that run.
    """
    s = snapshots.filter(snapshots.family == family)
    a = s.filter(s.run_id == run_a).select(ca=s.customer_id, source=s.segment)
    b = s.filter(s.run_id == run_b).select(cb=s.customer_id, target=s.segment)
    j = a.outer_join(b, a.ca == b.cb)
    j = j.select(
        source=j.source.fill_null(NONE),
        target=j.target.fill_null(NONE),
    )
    return j.group_by(["source", "target"]).aggregate(count=j.count())


def transition_matrix(ws: Any, run_a: str, run_b: str, family: str = "rfm") -> Transition:
    """The transition matrix of ``family`` from run A to run B.

    Parameters
    ----------
    ws : Workspace
        With both runs in ``membership_snapshots``.
    run_a, run_b : str
        The earlier and the later run.
    family : str, default "rfm"
        ``rfm``, ``clv_tier``, ``churn_risk``, ``due_soon``, ``cluster`` or ``rule``.

    Returns
    -------
    Transition

    Raises
    ------
    UsageError
        A run without memberships, or a family neither run has.
    """
    s = _snapshots(ws)
    _check_runs(s, [run_a, run_b])
    cells = transition_table(s, run_a, run_b, family).to_pyarrow().to_pylist()
    if not cells:
        families = sorted(
            s.filter(s.run_id.isin([run_a, run_b]))
            .select("family")
            .distinct()
            .to_pyarrow()["family"]
            .to_pylist()
        )
        raise UsageError(
            f"family {family!r} has no members in runs {run_a} and {run_b}; families there: "
            f"{', '.join(families)}."
        )
    rows = sorted({c["source"] for c in cells}, key=_order)
    cols = sorted({c["target"] for c in cells}, key=_order)
    counts = pd.DataFrame(0, index=pd.Index(rows, name="from"), columns=pd.Index(cols, name="to"))
    for c in cells:
        counts.loc[c["source"], c["target"]] = int(c["count"])
    totals = counts.sum(axis=1)
    rates = counts.div(totals.where(totals > 0, 1), axis=0).astype(float)
    members = set(rows) | set(cols)
    flows = [
        f for f in flagged_flows(ws, run_a, run_b) if f.source in members or f.target in members
    ]
    return Transition(run_a, run_b, family, counts, rates, flows)


def _order(name: str) -> tuple[int, str]:
    return (1 if name == NONE else 0, name)


def flagged_flows(
    ws: Any, run_a: str, run_b: str, flows: Sequence[Sequence[str]] | None = None
) -> list[FlaggedFlow]:
    """The customers of each flagged flow between two runs.

    Parameters
    ----------
    ws : Workspace
    run_a, run_b : str
        The earlier and the later run.
    flows : sequence of [from, to], optional
        Segment keys; default ``[monitor] flows``.

    Returns
    -------
    list of FlaggedFlow
        In the order of ``flows``.
    """
    pairs = [tuple(p) for p in (ws.config.monitor.flows if flows is None else flows)]
    for p in pairs:
        if len(p) != 2:
            raise UsageError(f"a flow is a [from, to] pair of segment keys, got {list(p)!r}.")
    if not pairs:
        return []
    s = _snapshots(ws)
    sources = sorted({p[0] for p in pairs})
    targets = sorted({p[1] for p in pairs})
    a = s.filter((s.run_id == run_a) & s.segment.isin(sources)).select(
        ca=s.customer_id, source=s.segment
    )
    b = s.filter((s.run_id == run_b) & s.segment.isin(targets)).select(
        cb=s.customer_id, target=s.segment
    )
    j = a.inner_join(b, a.ca == b.cb)
    moved = {
        (r["source"], r["target"]): int(r["n"])
        for r in j.group_by(["source", "target"]).aggregate(n=j.count()).to_pyarrow().to_pylist()
    }
    size = {
        r["source"]: int(r["n"])
        for r in a.group_by("source").aggregate(n=a.count()).to_pyarrow().to_pylist()
    }
    out = []
    for src, tgt in pairs:
        n, base = moved.get((src, tgt), 0), size.get(src, 0)
        out.append(FlaggedFlow(src, tgt, n, base, n / base if base else 0.0))
    return out


def size_changes(ws: Any, run_a: str, run_b: str, *, family: str | None = None) -> pd.DataFrame:
    """Each segment's size in both runs and the change, biggest absolute change first.

    Returns
    -------
    pandas.DataFrame
        ``segment, family, size_a, size_b, change, relative`` (``relative`` is NaN for a
        segment empty in run A).
    """
    s = _snapshots(ws)
    _check_runs(s, [run_a, run_b])
    if family is not None:
        s = s.filter(s.family == family)
    s = s.filter(s.run_id.isin([run_a, run_b]))
    agg = s.group_by(["segment", "family"]).aggregate(
        size_a=(s.run_id == run_a).sum(), size_b=(s.run_id == run_b).sum()
    )
    df = agg.to_pandas()
    df["size_a"] = df["size_a"].astype("int64")
    df["size_b"] = df["size_b"].astype("int64")
    df["change"] = df["size_b"] - df["size_a"]
    df["relative"] = df["change"] / df["size_a"].where(df["size_a"] > 0)
    df = df.assign(_abs=df["change"].abs()).sort_values(
        ["_abs", "segment"], ascending=[False, True]
    )
    return df.drop(columns="_abs").reset_index(drop=True)


def sizes_over_time(ws: Any, families: Sequence[str] | None = None) -> pd.DataFrame:
    """Segment size and value per run, oldest run first.

    Read from ``segment_history``; runs in ``membership_snapshots`` without a history
    row (snapshotted before monitoring existed) get their size from the snapshots and
    no value.

    Parameters
    ----------
    ws : Workspace
    families : sequence of str, optional
        Only these families; default all.

    Returns
    -------
    pandas.DataFrame
        ``run_id, as_of, family, segment, size, value``, sorted by ``as_of, run_id,
        family, segment``.
    """
    from custseg.monitor.snapshots import SEGMENT_HISTORY_TABLE

    con = ws.connect()
    s = _snapshots(ws)
    if families is not None:
        s = s.filter(s.family.isin(list(families)))
    sizes = s.group_by(["run_id", "family", "segment"]).aggregate(
        size=s.count(), as_of=s.as_of.max()
    )
    if SEGMENT_HISTORY_TABLE in con.list_tables():
        h = con.table(SEGMENT_HISTORY_TABLE).select(hr="run_id", hs="segment", value="value")
        j = sizes.left_join(h, (sizes.run_id == h.hr) & (sizes.segment == h.hs))
        out = j.select("run_id", "as_of", "family", "segment", "size", "value")
    else:
        out = sizes.mutate(value=ibis.literal(None, type="float64")).select(
            "run_id", "as_of", "family", "segment", "size", "value"
        )
    df = out.to_pandas()
    df["size"] = df["size"].astype("int64")
    return df.sort_values(["as_of", "run_id", "family", "segment"]).reset_index(drop=True)


def sankey(transition: Transition, *, titles: dict[str, str] | None = None) -> go.Figure:
    """A Sankey diagram of a transition: run A's segments on the left, run B's on the right.

    Parameters
    ----------
    transition : Transition
    titles : dict of str to str, optional
        Display names of the segment keys.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    titles = titles or {}
    left = list(transition.counts.index)
    right = list(transition.counts.columns)
    labels = [titles.get(x, x) for x in left] + [titles.get(x, x) for x in right]
    src, tgt, val = [], [], []
    for i, r in enumerate(left):
        for j, c in enumerate(right):
            n = int(transition.counts.loc[r, c])
            if n > 0:
                src.append(i)
                tgt.append(len(left) + j)
                val.append(n)
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12, "thickness": 14},
            link={"source": src, "target": tgt, "value": val},
        )
    )
    fig.update_layout(
        title=f"{transition.family}: {transition.run_a} → {transition.run_b}",
        height=max(360, 28 * max(len(left), len(right))),
    )
    return fig
