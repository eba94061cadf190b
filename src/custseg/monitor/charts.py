"""The campaign measurement in the report: a forest plot of lift by segment, and a section.

:func:`forest_plot` draws one point per segment with its interval (and the overall row
as a diamond) for the lift in conversion rate or in revenue per customer;
:func:`campaign_section` turns a :class:`~custseg.monitor.experiments.CampaignMeasurement`
into a :class:`~custseg.profiles.ReportSection` (a summary, the table, the two forest
plots). Text from the data is escaped. The formatting helpers are shared with the CLI.
"""

from __future__ import annotations

import html
import math
from typing import Any, Literal

import plotly.graph_objects as go

from custseg.exceptions import UsageError
from custseg.monitor.experiments import CampaignMeasurement, SegmentLift
from custseg.profiles.report import ReportSection, html_table

__all__ = [
    "campaign_section",
    "fmt_ci",
    "fmt_money",
    "fmt_p",
    "fmt_pct",
    "fmt_points",
    "forest_plot",
]

Metric = Literal["conversion", "revenue"]

_POINT = "#2563eb"
_SIGNIFICANT = "#059669"
_OVERALL = "#111827"
_ZERO = "#9ca3af"
_LAYOUT: dict[str, Any] = {
    "font": {"size": 12, "color": "#111827"},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "hoverlabel": {"align": "left"},
    "margin": {"l": 10, "r": 10, "t": 70, "b": 40},
    "showlegend": False,
}


# --------------------------------------------------------------------------- formatting


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """``0.1234`` → ``12.3%``; ``–`` when missing."""
    return f"{100 * x:.{digits}f}%" if _ok(x) else "–"


def fmt_points(x: float | None, digits: int = 1) -> str:
    """A difference of rates in percentage points, signed: ``+2.5 pp``."""
    return f"{100 * x:+.{digits}f} pp" if _ok(x) else "–"


def fmt_money(x: float | None, *, signed: bool = False) -> str:
    """``1234.5`` → ``1,234.50`` (``+1,234.50`` when signed)."""
    if not _ok(x):
        return "–"
    return f"{x:+,.2f}" if signed else f"{x:,.2f}"


def fmt_ci(ci: tuple[float, float] | None, kind: Literal["points", "money", "pct"]) -> str:
    """An interval as ``[lower, upper]`` in the unit of ``kind``."""
    if ci is None:
        return "–"
    f = {
        "points": lambda v: f"{100 * v:+.1f}",
        "pct": lambda v: f"{100 * v:+.0f}%",
        "money": lambda v: f"{v:+,.2f}",
    }[kind]
    return f"[{f(ci[0])}, {f(ci[1])}]"


def fmt_p(p: float | None) -> str:
    """A p- or q-value: ``0.012``, ``<0.001``; ``–`` when missing."""
    if not _ok(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


# --------------------------------------------------------------------------- figure


def _metric_values(
    r: SegmentLift, metric: Metric
) -> tuple[float | None, tuple[float, float] | None, float | None]:
    if metric == "conversion":
        return r.lift, r.lift_ci, r.q_value
    return r.revenue_diff, r.revenue_diff_ci, r.q_revenue


def forest_plot(
    measurement: CampaignMeasurement,
    *,
    metric: Metric = "conversion",
    alpha: float = 0.05,
) -> go.Figure:
    """A forest plot: the lift of each segment with its interval, and the overall lift.

    Parameters
    ----------
    measurement
        The result of :func:`~custseg.monitor.measure_campaign`.
    metric
        ``conversion`` (absolute lift in conversion rate, percentage points, Newcombe
        interval) or ``revenue`` (difference in revenue per customer, bootstrap interval).
    alpha
        Segments with a BH q-value at or below ``alpha`` are drawn in green.

    Returns
    -------
    plotly.graph_objects.Figure
        Segments top to bottom in the measurement's order, the overall row last; a
        vertical line at zero.
    """
    if metric not in ("conversion", "revenue"):
        raise UsageError(f"metric must be 'conversion' or 'revenue', got {metric!r}.")
    scale = 100.0 if metric == "conversion" else 1.0
    rows = [*measurement.segments, measurement.overall]
    labels, xs, lo, hi, colors, symbols, hover = [], [], [], [], [], [], []
    for r in rows:
        est, ci, q = _metric_values(r, metric)
        if not _ok(est):
            continue
        overall = r is measurement.overall
        label = html.escape(f"{r.title} (n={r.n_treatment:,}/{r.n_control:,})", quote=False)
        labels.append(f"<b>{label}</b>" if overall else label)
        xs.append(est * scale)
        lo.append((est - ci[0]) * scale if ci else 0.0)
        hi.append((ci[1] - est) * scale if ci else 0.0)
        significant = q is not None and q <= alpha
        colors.append(_OVERALL if overall else (_SIGNIFICANT if significant else _POINT))
        symbols.append("diamond" if overall else "square")
        unit = "pp" if metric == "conversion" else ""
        ci_text = f"[{ci[0] * scale:+.2f}, {ci[1] * scale:+.2f}]{unit}" if ci else "no interval"
        hover.append(
            html.escape(r.title, quote=False)
            + f"<br>estimate {est * scale:+.2f}{unit}<br>{measurement.confidence:.0%} CI {ci_text}"
            + (f"<br>q = {fmt_p(q)}" if q is not None else "")
        )
    title = (
        "Lift in conversion rate by segment (percentage points, Newcombe interval)"
        if metric == "conversion"
        else "Difference in revenue per customer by segment (bootstrap interval)"
    )
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": xs,
            "y": labels,
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": hi,
                "arrayminus": lo,
                "color": "#6b7280",
                "thickness": 1.5,
                "width": 4,
            },
            "marker": {"color": colors, "symbol": symbols, "size": 10},
            "hovertext": hover,
            "hoverinfo": "text",
        }
    ]
    layout = {
        **_LAYOUT,
        "title": {"text": html.escape(title, quote=False), "x": 0.0, "xanchor": "left"},
        "height": 120 + 32 * max(len(labels), 1),
        "xaxis": {
            "title": {"text": "percentage points" if metric == "conversion" else "per customer"},
            "zeroline": False,
            "gridcolor": "#e5e7eb",
            "automargin": True,
        },
        "yaxis": {"autorange": "reversed", "automargin": True, "type": "category"},
        "shapes": [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": 0,
                "x1": 0,
                "y0": 0,
                "y1": 1,
                "line": {"color": _ZERO, "dash": "dash", "width": 1},
            }
        ],
    }
    return go.Figure({"data": data, "layout": layout})


# --------------------------------------------------------------------------- section


def _row(r: SegmentLift) -> list[str]:
    return [
        r.title,
        f"{r.n_treatment:,}",
        f"{r.n_control:,}",
        fmt_pct(r.rate_treatment),
        fmt_pct(r.rate_control),
        fmt_points(r.lift),
        fmt_ci(r.lift_ci, "points"),
        fmt_pct(r.relative_lift, 0),
        fmt_money(r.revenue_treatment),
        fmt_money(r.revenue_control),
        fmt_ci(r.revenue_diff_ci, "money"),
        fmt_p(r.p_value),
        fmt_p(r.q_value),
        fmt_money(r.incremental_revenue, signed=True),
        fmt_money(r.incremental_clv, signed=True),
    ]


TABLE_HEADERS: tuple[str, ...] = (
    "segment",
    "n treatment",
    "n control",
    "rate T",
    "rate C",
    "lift",
    "lift CI (pp)",
    "rel. lift",
    "rev/cust T",
    "rev/cust C",
    "rev diff CI",
    "p",
    "q (BH)",
    "incr. revenue",
    "incr. pred. CLV",
)


def campaign_section(
    measurement: CampaignMeasurement, *, title: str | None = None, alpha: float = 0.05
) -> ReportSection:
    """The report section of a campaign measurement.

    Parameters
    ----------
    measurement
        The result of :func:`~custseg.monitor.measure_campaign`.
    title
        Heading; default ``Campaign <id>``.
    alpha
        FDR level for "significant" in the summary and the plot colours.

    Returns
    -------
    custseg.profiles.ReportSection
        A summary paragraph, the table (segments, then all exposed customers), the
        notes, and forest plots of the lift in conversion and in revenue per customer.
    """
    m = measurement
    o = m.overall
    how = (
        "outcomes recorded in campaign_outcomes"
        if m.source == "outcomes"
        else f"orders within {m.window_days} days of the start"
    )
    sig = [r.title for r in m.segments if r.q_value is not None and r.q_value <= alpha]
    started = f"started {m.started_at:%Y-%m-%d}; " if m.started_at else ""
    summary = (
        f"{o.n_treatment:,} customers were sent the campaign and {o.n_control:,} held out "
        f"({started}{how}). "
    )
    summary += (
        f"Conversion {fmt_pct(o.rate_treatment)} vs {fmt_pct(o.rate_control)}: lift "
        f"{fmt_points(o.lift)} ({m.confidence:.0%} CI {fmt_ci(o.lift_ci, 'points')} pp), "
        f"incremental revenue {fmt_money(o.incremental_revenue, signed=True)}."
    )
    if m.segments:
        summary += (
            f" Significant at FDR {alpha:g} (Benjamini-Hochberg) in {len(sig)} of "
            f"{len(m.segments)} segments" + (f": {', '.join(sig)}." if sig else ".")
        )
    body = [f"<p>{html.escape(summary, quote=False)}</p>"]
    rows = [_row(r) for r in m.segments] + [_row(o)]
    body.append(
        html_table(
            TABLE_HEADERS,
            rows,
            numeric=range(1, len(TABLE_HEADERS)),
            caption=(
                (f"By {m.by}; i" if m.by else "I")
                + f"ntervals at {m.confidence:.0%}: Wilson/Newcombe for rates, "
                f"{m.bootstrap} bootstrap ({m.n_boot:,} draws, seed {m.seed}) for revenue."
            ),
        )
    )
    for note in m.notes:
        body.append(f'<p class="note">{html.escape(note, quote=False)}</p>')
    figures = [forest_plot(m, metric="conversion", alpha=alpha)]
    figures.append(forest_plot(m, metric="revenue", alpha=alpha))
    return ReportSection(
        title=title or f"Campaign {m.campaign_id}",
        html="".join(body),
        figures=figures,
        anchor=f"campaign-{m.campaign_id}".lower(),
    )
