"""Plotly charts of segment profiles: each function returns a ``plotly.graph_objects.Figure``.

Every function takes a :class:`~custseg.profiles.model.SegmentProfile` (or several) or
its :meth:`~custseg.profiles.model.SegmentProfile.to_dict` form, so the report, the
dashboard and API clients draw the same figures from the same JSON. Functions never call
``show()`` and use no external assets. Text from the data (segment names, values,
product names) is HTML-escaped, because Plotly renders a subset of HTML in labels.

Shares are drawn in percent; "population" is every customer in the features.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from custseg.exceptions import UsageError
from custseg.profiles.model import (
    ITEM_KINDS,
    CategoryShare,
    Distribution,
    SegmentProfile,
    as_profile,
    as_profiles,
    compare,
)

__all__ = [
    "age_bands",
    "clv_distribution",
    "comparison",
    "devices_channels",
    "distinguishing_features",
    "distribution",
    "geography",
    "interests",
    "rfm_mix",
    "size_and_value",
    "top_items",
]

SEGMENT_COLOR = "#2563eb"
POPULATION_COLOR = "#9ca3af"
HIGHER_COLOR = "#2563eb"
LOWER_COLOR = "#ea580c"
_VALUE_COLORS = ("#2563eb", "#059669", "#d97706")
#: A small white template (Plotly's built-in ones add ~8 kB of JSON to every figure).
TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"size": 12, "color": "#111827"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hoverlabel": {"align": "left"},
        "xaxis": {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "automargin": True},
        "yaxis": {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "automargin": True},
    }
}
_MISSING = "(missing)"
_OTHER = "(other)"
_LABEL_CHARS = 48

ProfileLike = SegmentProfile | Mapping[str, Any]


# --------------------------------------------------------------------------- helpers


def _t(text: object) -> str:
    """Escape text for Plotly labels (it renders <b>, <br>, ... in strings)."""
    return html.escape(str(text), quote=False)


def _short(text: object, n: int = _LABEL_CHARS) -> str:
    s = str(text)
    return _t(s if len(s) <= n else s[: n - 1] + "…")


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _num(x: float | None) -> str:
    """A short human number: 1,234 / 12.3 / 0.123; '–' for None."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.1f}".removesuffix(".0")
    return f"{x:.3g}"


def _figure(data: list[dict[str, Any]], title: str, *, height: int, **layout: Any) -> go.Figure:
    """One validated Figure from plain dicts (much faster than many update calls)."""
    base: dict[str, Any] = {
        "template": TEMPLATE,
        "title": {"text": title, "x": 0.0, "xanchor": "left"},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 70, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    }
    base.update(layout)
    return go.Figure({"data": data, "layout": base})


def _empty(title: str, message: str) -> go.Figure:
    return _figure(
        [],
        title,
        height=220,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": _t(message),
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
            }
        ],
    )


def _axis_names(k: int) -> tuple[str, str, str, str]:
    """(x ref, y ref, x layout key, y layout key) of subplot ``k`` (1-based)."""
    n = "" if k == 1 else str(k)
    return f"x{n}", f"y{n}", f"xaxis{n}", f"yaxis{n}"


def _grid(
    n: int, cols: int, titles: Sequence[str], *, hspace: float = 0.1, vspace: float = 0.12
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Axes (with domains) and title annotations of ``n`` subplots in ``cols`` columns."""
    rows = math.ceil(n / cols)
    w = (1 - hspace * (cols - 1)) / cols
    h = (1 - vspace * (rows - 1)) / rows
    axes: dict[str, Any] = {}
    notes = []
    for i in range(n):
        r, c = divmod(i, cols)
        x, y, xk, yk = _axis_names(i + 1)
        x0, y1 = c * (w + hspace), 1 - r * (h + vspace)
        axes[xk] = {"domain": [x0, x0 + w], "anchor": y}
        axes[yk] = {"domain": [y1 - h, y1], "anchor": x}
        notes.append(
            {
                "text": titles[i],
                "showarrow": False,
                "x": x0 + w / 2,
                "y": y1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "font": {"size": 13},
            }
        )
    return axes, notes


def _value_label(row: CategoryShare) -> str:
    return _MISSING if row.value is None else _short(row.value, 32)


def _display_rows(dist: Distribution, top: int | None) -> list[tuple[str, CategoryShare]]:
    """(label, row) pairs to draw: the ``top`` rows by segment share, the rest as (other)."""
    rows = list(dist.rows)
    rest: list[CategoryShare] = [dist.other] if dist.other is not None else []
    if top is not None and len(rows) > top:
        ranked = sorted(
            rows,
            key=lambda r: (-(r.segment_share or 0), -(r.population_share or 0), str(r.value)),
        )
        keep = {id(r) for r in ranked[:top]}
        rest += [r for r in rows if id(r) not in keep]
        rows = [r for r in rows if id(r) in keep]
    out = [(_value_label(r), r) for r in rows]
    if rest:
        merged = CategoryShare(
            value=None,
            segment_count=sum(r.segment_count for r in rest),
            segment_share=sum(r.segment_share or 0 for r in rest),
            population_count=sum(r.population_count for r in rest),
            population_share=sum(r.population_share or 0 for r in rest),
            lift=None,
        )
        out.append((_OTHER, merged))
    return out


_SHARE_HOVER = "%{x}<br>%{y:.1f}% of %{fullData.name}<br>%{customdata:,} customers<extra></extra>"


def _share_bars(
    labels: list[str],
    segment: tuple[list[float | None], list[int]],
    population: tuple[list[float | None], list[int]],
    name: str,
    *,
    k: int = 1,
    showlegend: bool = True,
) -> list[dict[str, Any]]:
    """Two bar traces (segment, population) of shares in percent on subplot ``k``."""
    x, y, _, _ = _axis_names(k)
    return [
        {
            "type": "bar",
            "x": labels,
            "y": [_pct(v) for v in shares],
            "customdata": counts,
            "name": trace_name,
            "marker": {"color": color},
            "hovertemplate": _SHARE_HOVER,
            "showlegend": showlegend,
            "legendgroup": group,
            "xaxis": x,
            "yaxis": y,
        }
        for (shares, counts), trace_name, color, group in (
            (segment, _short(name, 40), SEGMENT_COLOR, "segment"),
            (population, "population", POPULATION_COLOR, "population"),
        )
    ]


def _distributions_figure(
    p: SegmentProfile,
    features: Sequence[str],
    title: str,
    *,
    top: int | None,
    cols: int = 2,
) -> go.Figure:
    dists = [p.distributions[f] for f in features if f in p.distributions]
    if not dists:
        return _empty(title, f"No data: the features lack {', '.join(features)}.")
    cols = min(cols, len(dists))
    rows = math.ceil(len(dists) / cols)
    axes, notes = _grid(len(dists), cols, [_t(d.feature) for d in dists], vspace=0.6 / (rows + 2))
    data: list[dict[str, Any]] = []
    for i, d in enumerate(dists):
        pairs = _display_rows(d, top)
        data += _share_bars(
            [lbl for lbl, _ in pairs],
            ([r.segment_share for _, r in pairs], [r.segment_count for _, r in pairs]),
            ([r.population_share for _, r in pairs], [r.population_count for _, r in pairs]),
            p.name,
            k=i + 1,
            showlegend=i == 0,
        )
        axes[_axis_names(i + 1)[3]]["title"] = {"text": "% of customers"}
    return _figure(data, title, height=140 + 300 * rows, barmode="group", annotations=notes, **axes)


def _vline(x: float, k: int = 1) -> dict[str, Any]:
    xr, yr, _, _ = _axis_names(k)
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "xref": xr,
        "y0": 0,
        "y1": 1,
        "yref": f"{yr} domain",
        "line": {"color": "#374151", "width": 1},
    }


# --------------------------------------------------------------------------- charts


def size_and_value(profiles: Any) -> go.Figure:
    """Share of customers, revenue and predicted CLV of each segment (grouped bars).

    Parameters
    ----------
    profiles
        Profiles by name, a sequence of profiles, or their ``to_dict()`` forms.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    ps = as_profiles(profiles)
    title = "Segment size and value: share of all customers, revenue and predicted CLV"
    if not ps:
        return _empty(title, "No segments.")
    names = [_short(p.name, 32) for p in ps]
    clv = ps[0].clv_column
    series = [
        ("customers", [p.share_of_customers for p in ps]),
        ("revenue (amount_spent)", [p.share_of_revenue for p in ps]),
        (f"predicted CLV ({clv})" if clv else "predicted CLV", [p.share_of_clv for p in ps]),
    ]
    data = [
        {
            "type": "bar",
            "x": names,
            "y": [_pct(v) for v in values],
            "name": label,
            "marker": {"color": color},
            "customdata": [p.size for p in ps],
            "hovertemplate": "%{x}<br>%{y:.1f}% of the population's "
            + label
            + "<br>%{customdata:,} members<extra></extra>",
        }
        for (label, values), color in zip(series, _VALUE_COLORS, strict=True)
        if any(v is not None for v in values)
    ]
    return _figure(
        data,
        title,
        height=420,
        barmode="group",
        xaxis={"title": {"text": "segment"}},
        yaxis={"title": {"text": "share of the population total (%)"}},
    )


def distinguishing_features(profile: ProfileLike) -> go.Figure:
    """The features that most set a segment apart, as lift bars around 1.

    Each bar goes from 1 to the feature's lift (segment mean ÷ population mean, or a
    category's segment share ÷ population share); bars are ordered by the ranking
    (``|standardized difference|``, best at the top) and coloured by direction.
    """
    p = as_profile(profile)
    title = f"What sets {_t(p.name)} apart: lift against the population"
    rows = [d for d in p.distinguishing if d.lift is not None]
    if not rows:
        return _empty(title, "No distinguishing features (empty segment or no lift).")
    rows = list(reversed(rows))  # best at the top of a horizontal bar chart
    custom = [
        [
            d.direction,
            _num(d.segment_value if d.kind == "numeric" else _pct(d.segment_value)),
            _num(d.population_value if d.kind == "numeric" else _pct(d.population_value)),
            d.std_diff,
            "mean" if d.kind == "numeric" else "share (%)",
        ]
        for d in rows
    ]
    bar = {
        "type": "bar",
        "orientation": "h",
        "y": [f"{d.rank}. {_short(d.key)}" for d in rows],
        "x": [d.lift - 1 for d in rows],
        "base": 1,
        "marker": {"color": [HIGHER_COLOR if d.std_diff >= 0 else LOWER_COLOR for d in rows]},
        "text": [f"×{d.lift:.2f}" for d in rows],
        "textposition": "outside",
        "cliponaxis": False,
        "customdata": custom,
        "hovertemplate": (
            "%{y}<br>%{customdata[0]} than the population<br>%{customdata[4]}: "
            "%{customdata[1]} vs %{customdata[2]}<br>standardized difference "
            "%{customdata[3]:.2f}<extra></extra>"
        ),
        "showlegend": False,
    }
    return _figure(
        [bar],
        title,
        height=160 + 34 * len(rows),
        xaxis={"title": {"text": "lift (segment ÷ population; 1 = same as everyone)"}},
        shapes=[_vline(1)],
    )


def top_items(profile: ProfileLike, kinds: Sequence[str] = ITEM_KINDS) -> go.Figure:
    """The top categories, products and brands of a segment by lift of their unit share."""
    p = as_profile(profile)
    title = f"What {_t(p.name)} buys more than others: lift of the share of units"
    for k in kinds:
        if k not in ITEM_KINDS:
            raise UsageError(f"item kinds are {list(ITEM_KINDS)}, got: {k!r}")
    if p.items is None:
        return _empty(title, "No order data: pass orders and order_lines to profile_segments.")
    present = [k for k in kinds if p.items.of(k)]
    if not present:
        return _empty(title, "No item bought often enough to rank.")
    n_max = max(len(p.items.of(k)) for k in present)
    axes, notes = _grid(len(present), 1, [f"top {k}" for k in present], vspace=0.3 / len(present))
    data, shapes = [], []
    for i, kind in enumerate(present):
        items = list(reversed(p.items.of(kind)))
        x, y, xk, _ = _axis_names(i + 1)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": [
                    _short(f"{it.label} ({it.key})" if it.label != it.key else it.key)
                    for it in items
                ],
                "x": [it.lift for it in items],
                "marker": {"color": SEGMENT_COLOR},
                "text": [f"×{it.lift:.2f}" for it in items],
                "textposition": "outside",
                "cliponaxis": False,
                "customdata": [
                    [it.segment_units, _pct(it.segment_share), _pct(it.population_share)]
                    for it in items
                ],
                "hovertemplate": (
                    "%{y}<br>lift ×%{x:.2f}<br>%{customdata[0]:,} units: %{customdata[1]:.2f}%"
                    " of the segment's units vs %{customdata[2]:.2f}% overall<extra></extra>"
                ),
                "showlegend": False,
                "xaxis": x,
                "yaxis": y,
            }
        )
        shapes.append(_vline(1, i + 1))
        axes[xk]["title"] = {"text": "lift (share of units ÷ population share)"}
    return _figure(
        data,
        title,
        height=140 + len(present) * (70 + 26 * n_max),
        annotations=notes,
        shapes=shapes,
        **axes,
    )


def distribution(
    profile: ProfileLike, feature: str, *, top: int | None = 10, title: str | None = None
) -> go.Figure:
    """One categorical feature: its share of the segment against the population.

    Parameters
    ----------
    profile
        A profile or its ``to_dict()`` form.
    feature
        A column of ``profile.distributions`` (e.g. ``"gender"``).
    top
        Draw the ``top`` values by segment share; the rest are summed as "(other)".
        None draws all.
    title
        Default: ``"<feature> of <segment> and of the population"``.
    """
    p = as_profile(profile)
    return _distributions_figure(
        p,
        [feature],
        title or f"{_t(feature)} of {_t(p.name)} and of the population",
        top=top,
        cols=1,
    )


def geography(profile: ProfileLike, *, top: int = 10) -> go.Figure:
    """Countries and regions (top ``top`` by segment share) against the population."""
    p = as_profile(profile)
    return _distributions_figure(
        p, ["country", "region"], f"Where {_t(p.name)} lives: country and region", top=top
    )


def devices_channels(profile: ProfileLike) -> go.Figure:
    """Main device (sessions) and main sales channel (orders) against the population."""
    p = as_profile(profile)
    return _distributions_figure(
        p,
        ["main_device", "main_channel"],
        f"How {_t(p.name)} shops: main device and sales channel",
        top=10,
    )


def age_bands(profile: ProfileLike) -> go.Figure:
    """Age bands against the population."""
    p = as_profile(profile)
    return _distributions_figure(p, ["age_band"], f"Age of {_t(p.name)}", top=None, cols=1)


def interests(profile: ProfileLike) -> go.Figure:
    """Declared interests and other survey answers: every ``attr_*`` feature."""
    p = as_profile(profile)
    attrs = [f for f in p.distributions if f.startswith("attr_")]
    title = f"What {_t(p.name)} declares: survey and CRM answers"
    if not attrs:
        return _empty(title, "No declared interests: the features have no attr_* column.")
    return _distributions_figure(p, attrs, title, top=10, cols=2)


def rfm_mix(profile: ProfileLike) -> go.Figure:
    """The RFM groups of the segment against the population."""
    p = as_profile(profile)
    return _distributions_figure(p, ["rfm_group"], f"RFM groups of {_t(p.name)}", top=None, cols=1)


def clv_distribution(profile: ProfileLike) -> go.Figure:
    """Predicted CLV over the population's decile bins: segment against population."""
    p = as_profile(profile)
    h = p.clv_histogram
    if h is None:
        return _empty(
            f"Predicted CLV of {_t(p.name)}", "No predicted CLV column (clv_<h>d) in the features."
        )
    title = f"Predicted CLV ({_t(h.column)}) of {_t(p.name)}, in population decile bins"
    labels = []
    for i, b in enumerate(h.bins):
        if i == 0:
            labels.append(f"≤ {_num(b.high)}")
        elif i == len(h.bins) - 1:
            labels.append(f"> {_num(b.low)}")
        else:
            labels.append(f"{_num(b.low)}–{_num(b.high)}")
    data = _share_bars(
        labels,
        ([b.segment_share for b in h.bins], [b.segment_count for b in h.bins]),
        ([b.population_share for b in h.bins], [b.population_count for b in h.bins]),
        p.name,
    )
    note = {
        "text": (
            f"without a prediction: {h.segment_missing:,} members, "
            f"{h.population_missing:,} customers overall"
        ),
        "showarrow": False,
        "x": 0,
        "y": -0.3,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "left",
        "font": {"size": 11, "color": "#6b7280"},
    }
    return _figure(
        data,
        title,
        height=440,
        barmode="group",
        margin={"l": 10, "r": 10, "t": 70, "b": 90},
        xaxis={"title": {"text": f"{_t(h.column)} (bin)"}},
        yaxis={"title": {"text": "% of customers with a prediction"}},
        annotations=[note],
    )


def comparison(profiles: Any, names: Sequence[str] | None = None) -> go.Figure:
    """Heatmap of the lift of the segments' top features, segment by segment.

    Parameters
    ----------
    profiles
        Profiles (as for :func:`size_and_value`), or the output of
        :func:`~custseg.profiles.compare`.
    names
        Segments to show, in order (ignored when ``profiles`` is a comparison).

    Returns
    -------
    plotly.graph_objects.Figure
        Rows are the union of the distinguishing features, columns the segments; the
        colour is log2(lift), clipped to ±3 (×1/8 to ×8); blank cells have no lift.
    """
    if isinstance(profiles, Mapping) and "lift" in profiles and "segments" in profiles:
        cmp = profiles
    else:
        cmp = compare(profiles, names)
    title = "Segments side by side: lift of their distinguishing features"
    if not cmp["features"]:
        return _empty(title, "No distinguishing features to compare.")
    ys = [_short(f["key"]) for f in cmp["features"]]
    xs = [_short(s, 32) for s in cmp["segments"]]
    z = [
        [None if v is None or v <= 0 else max(-3.0, min(3.0, math.log2(v))) for v in row]
        for row in cmp["lift"]
    ]
    text = [["" if v is None else f"×{v:.2f}" for v in row] for row in cmp["lift"]]
    heat = {
        "type": "heatmap",
        "z": z,
        "x": xs,
        "y": ys,
        "text": text,
        "texttemplate": "%{text}",
        "customdata": [[_num(v) for v in row] for row in cmp["std_diff"]],
        "colorscale": "RdBu",
        "zmin": -3,
        "zmax": 3,
        "zmid": 0,
        "colorbar": {
            "title": {"text": "lift"},
            "tickvals": [-3, -2, -1, 0, 1, 2, 3],
            "ticktext": ["×1/8", "×1/4", "×1/2", "×1", "×2", "×4", "×8"],
        },
        "hovertemplate": (
            "%{x}<br>%{y}<br>lift %{text}<br>standardized difference %{customdata}<extra></extra>"
        ),
        "xgap": 1,
        "ygap": 1,
    }
    return _figure(
        [heat],
        title,
        height=180 + 26 * len(ys),
        xaxis={"title": {"text": "segment"}, "side": "bottom"},
        yaxis={"autorange": "reversed"},
    )
