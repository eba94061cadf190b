"""Figures of the dashboard: Plotly figures as embeddable JSON, and inline SVG sparklines.

The profile, clustering, campaign and history charts are the report's own
(:mod:`custseg.profiles.charts`, :func:`custseg.report.cluster_section`,
:func:`custseg.monitor.forest_plot`); this module only adds the small ones the report
does not draw (one segment's size over time, its migration, the cluster projection)
and turns figures into JSON the page's script draws with the bundled plotly.min.js.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup, escape

__all__ = [
    "figure_json",
    "migration_figure",
    "projection_figure",
    "size_history_figure",
    "sparkline_svg",
]

_BLUE = "#2563eb"
_GREEN = "#059669"
_ORANGE = "#ea580c"


def figure_json(fig: go.Figure) -> Markup:
    """The figure as JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are escaped as ``\\u003c`` etc., so text from data (segment
    names) cannot close the script element.
    """
    text = fig.to_json(validate=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def sparkline_svg(values: Sequence[float], *, width: int = 90, height: int = 22) -> Markup:
    """An inline SVG polyline of ``values`` (a dot for a single value, nothing for none)."""
    if not values:
        return Markup('<span class="muted">–</span>')
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(values)
    step = (width - 4) / (n - 1) if n > 1 else 0.0
    pts = [
        (2 + i * step, height - 2 - (v - lo) / span * (height - 4) if hi != lo else height / 2)
        for i, v in enumerate(values)
    ]
    title = escape(", ".join(f"{int(v):,}" for v in values))
    if n == 1:
        x, y = pts[0]
        shape = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{_BLUE}"/>'
    else:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        shape = f'<polyline fill="none" stroke="{_BLUE}" stroke-width="1.5" points="{path}"/>'
    return Markup(
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="size by run: {title}"><title>{title}</title>{shape}</svg>'
    )


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    fig.update_layout(
        title={"text": title},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
    )
    return fig


def size_history_figure(rows: Sequence[dict[str, Any]], title: str) -> go.Figure:
    """One segment's size at each run (``rows`` of ``run_id, as_of, size``)."""
    fig = go.Figure(
        go.Scatter(
            x=list(range(1, len(rows) + 1)),
            y=[r["size"] for r in rows],
            mode="lines+markers",
            line={"color": _BLUE},
            customdata=[[r["run_id"], str(r["as_of"])] for r in rows],
            hovertemplate="run %{customdata[0]}<br>as of %{customdata[1]}<br>"
            "%{y:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title={"text": "run (oldest first)"}, dtick=1)
    fig.update_yaxes(title={"text": "customers"}, rangemode="tozero")
    return _layout(fig, title)


def migration_figure(migration: dict[str, Any], title: str) -> go.Figure:
    """Inflows (by where they came from) and outflows (by where they went) as bars."""
    ins = migration["sources"]
    outs = migration["targets"]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=[f"from {r['other']}" for r in ins],
            x=[r["customers"] for r in ins],
            orientation="h",
            name="entered",
            marker={"color": _GREEN},
        )
    )
    fig.add_trace(
        go.Bar(
            y=[f"to {r['other']}" for r in outs],
            x=[-r["customers"] for r in outs],
            orientation="h",
            name="left",
            marker={"color": _ORANGE},
            customdata=[r["customers"] for r in outs],
            hovertemplate="%{y}: %{customdata:,}<extra>left</extra>",
        )
    )
    fig.update_xaxes(title={"text": "customers (left < 0 < entered)"})
    return _layout(fig, title, height=180 + 24 * (len(ins) + len(outs)))


def projection_figure(p: dict[str, list[Any]]) -> go.Figure:
    """The 2-D PCA projection, one trace per cluster."""
    fig = go.Figure()
    names: dict[int, str] = {}
    for c, n in zip(p["cluster"], p["name"], strict=True):
        names.setdefault(c, n)
    for c in sorted(names):
        idx = [i for i, k in enumerate(p["cluster"]) if k == c]
        fig.add_trace(
            go.Scatter(
                x=[p["x"][i] for i in idx],
                y=[p["y"][i] for i in idx],
                mode="markers",
                marker={"size": 5, "opacity": 0.7},
                name=f"{c}: {names[c]}",
                text=[p["customer_id"][i] for i in idx],
                hovertemplate="%{text}<extra>%{fullData.name}</extra>",
            )
        )
    ex = p.get("explained") or [0.0, 0.0]
    fig.update_xaxes(title={"text": f"PC1 ({ex[0]:.0%} of variance)"})
    fig.update_yaxes(title={"text": f"PC2 ({ex[1]:.0%} of variance)"})
    return _layout(fig, f"2-D projection of {len(p['x']):,} sampled customers", height=460)
