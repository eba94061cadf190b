"""The report's History section: segment sizes over time, the last migration, the CLV check."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

__all__ = [
    "HISTORY_FAMILIES",
    "VALIDATION_FALLBACK_DAYS",
    "history_section",
    "size_over_time_figure",
]

log = logging.getLogger(__name__)

#: The families drawn in the History section, in order.
HISTORY_FAMILIES: tuple[str, ...] = ("rfm", "clv_tier", "churn_risk", "cluster")


def size_over_time_figure(sizes: Any, family: str) -> go.Figure:
    """One line per segment of ``family``: its size at each run's as-of date.

    Parameters
    ----------
    sizes : pandas.DataFrame
        :func:`~custseg.monitor.migration.sizes_over_time` output.
    family : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    df = sizes[sizes.family == family]
    fig = go.Figure()
    for seg, g in df.groupby("segment", sort=True):
        g = g.sort_values(["as_of", "run_id"])
        fig.add_trace(
            go.Scatter(
                x=[str(d) for d in g.as_of],
                y=list(g["size"]),
                mode="lines+markers",
                name=str(seg),
                customdata=list(g.run_id),
                hovertemplate="%{fullData.name}<br>%{x}: %{y:,} customers<br>%{customdata}",
            )
        )
    fig.update_layout(
        title=f"{family}: segment size by run",
        xaxis_title="as of",
        yaxis_title="customers",
        height=380,
    )
    return fig


def history_section(ws: Any, *, families: Sequence[str] = HISTORY_FAMILIES) -> Any | None:
    """The History section of the workspace report, or None before any run.

    Size over time per family (lines, and a table of the latest two runs), then a
    Sankey of the RFM migration between the last two runs with the flagged flows.

    Parameters
    ----------
    ws : Workspace
    families : sequence of str, default HISTORY_FAMILIES

    Returns
    -------
    ReportSection or None
    """
    from custseg.exceptions import UsageError
    from custseg.monitor.migration import sankey, sizes_over_time, transition_matrix
    from custseg.profiles import ReportSection
    from custseg.profiles.report import html_table

    try:
        sizes = sizes_over_time(ws, families)
    except UsageError:
        return None
    if sizes.empty:
        return None
    runs = sizes[["as_of", "run_id"]].drop_duplicates().sort_values(["as_of", "run_id"])
    run_ids = list(runs.run_id)
    figures = [size_over_time_figure(sizes, f) for f in families if (sizes.family == f).any()]
    last = sizes[sizes.run_id == run_ids[-1]]
    rows = [
        [
            r.family,
            r.segment,
            int(r.size),
            None if r.value is None or r.value != r.value else float(r.value),
        ]
        for r in last.sort_values(["family", "segment"]).itertuples()
    ]
    body = (
        f"<p>{len(run_ids)} run(s) with segment snapshots, latest {run_ids[-1]}.</p>"
        + html_table(
            ["family", "segment", "customers", "value (amount spent)"],
            rows,
            numeric=(2, 3),
            caption=f"Segments in run {run_ids[-1]}",
        )
    )
    if len(run_ids) >= 2:
        a, b = run_ids[-2], run_ids[-1]
        try:
            tr = transition_matrix(ws, a, b, "rfm")
        except UsageError:
            tr = None
        if tr is not None:
            figures.append(sankey(tr))
            if tr.flagged:
                body += html_table(
                    ["from", "to", "customers", "of", "rate"],
                    [
                        [f.source, f.target, f.count, f.source_size, f"{f.rate:.1%}"]
                        for f in tr.flagged
                    ],
                    numeric=(2, 3, 4),
                    caption=f"Flagged flows {a} → {b}",
                )
    body += _validation_html(ws, html_table)
    return ReportSection("History", body, figures, anchor="history")


#: The horizon of the History section's CLV check when no run is checkable at its own.
VALIDATION_FALLBACK_DAYS = 90


def _validation_html(ws: Any, html_table: Any) -> str:
    """The calibration of the newest checkable run (:mod:`custseg.monitor.validation`)."""
    from custseg.exceptions import CustsegError
    from custseg.monitor.validation import latest_checkable_run, validate_run

    try:
        horizon: int | None = None
        run_id = latest_checkable_run(ws)
        if run_id is None:
            horizon = VALIDATION_FALLBACK_DAYS
            run_id = latest_checkable_run(ws, horizon_days=horizon)
        if run_id is None:
            return ""
        v = validate_run(ws, run_id, horizon_days=horizon)
    except CustsegError as e:
        log.info("no CLV validation in the history section: %s", e)
        return ""
    o = v.overall.iloc[0]
    rows = [
        [int(r.decile), int(r.n_customers), float(r.mean_predicted), float(r.mean_actual)]
        for r in v.calibration.itertuples()
    ]
    return (
        f"<p>CLV model check: run {v.run_id} (as of {v.as_of}) predicted "
        f"{o.predicted:,.0f} orders (purchase days) in the {v.horizon_days} days to {v.end}; "
        f"customers placed {int(o.actual):,} ({o.relative_error:+.1%}). "
        "<code>custseg runs validate</code> breaks it down by segment.</p>"
        + html_table(
            ["decile of predicted orders", "customers", "mean predicted", "mean actual"],
            rows,
            numeric=(1, 2, 3),
            caption=f"Calibration of run {v.run_id}",
        )
    )
