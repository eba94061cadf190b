"""The offline HTML report: sections of HTML and Plotly figures, in one self-contained file.

A report is a list of :class:`ReportSection` (title, trusted HTML, figures, child
sections). :func:`segment_sections` builds the standard sections for a set of profiles
(an overview, then one section per segment); later stages add their own sections to the
same list. :func:`write_report` renders them with ``templates/report.html.j2``: a table
of contents, the Plotly bundle inlined once, each figure as a ``<div>`` and its script.
The file needs no network: no ``<script src>`` and no ``<link href>`` to the outside.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
from markupsafe import Markup, escape

from custseg.exceptions import UsageError
from custseg.profiles import charts
from custseg.profiles.model import ITEM_KINDS, Distribution, SegmentProfile, as_profiles

__all__ = [
    "ReportSection",
    "html_table",
    "overview_section",
    "render_report",
    "segment_section",
    "segment_sections",
    "write_report",
]

log = logging.getLogger(__name__)

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
_NUM = ' class="num"'


@dataclass
class ReportSection:
    """One section of the HTML report.

    Parameters
    ----------
    title : str
        Heading; escaped when rendered.
    html : str, default ""
        Body HTML inserted **as is** (trusted): escape any text from data, e.g. with
        :func:`html_table` or ``markupsafe.escape``.
    figures : list of plotly.graph_objects.Figure, default []
        Drawn after ``html``, in order.
    anchor : str or None, default None
        Id of the section in the page (for links); default derived from the title.
        Made unique within the report.
    children : list of ReportSection, default []
        Sub-sections, one heading level down; the table of contents lists two levels.
    """

    title: str
    html: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    anchor: str | None = None
    children: list[ReportSection] = field(default_factory=list)


# --------------------------------------------------------------------------- formatting


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return charts._num(x)
    return str(x)


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _lift(x: float | None) -> str:
    return "–" if x is None else f"×{x:.2f}"


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    caption: str | None = None,
) -> str:
    """An HTML ``<table>`` with every cell escaped.

    Parameters
    ----------
    headers
        Column headings.
    rows
        Cell values; None shows as "–", ints with thousands separators, floats short.
        Pass preformatted strings for percentages or lifts.
    numeric
        Indexes of right-aligned columns.
    caption
        Optional caption.

    Returns
    -------
    str
        Safe HTML.
    """
    right = set(numeric)
    out = ['<table class="data">']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>")
    out += [f"<th{_NUM if i in right else ''}>{escape(h)}</th>" for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        out += [
            f"<td{_NUM if i in right else ''}>{escape(_fmt(v))}</td>" for i, v in enumerate(row)
        ]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _para(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


# --------------------------------------------------------------------------- sections


def overview_section(profiles: Any, *, title: str = "Overview") -> ReportSection:
    """Size and value of every segment, the top features of each, and the comparison heatmap.

    Parameters
    ----------
    profiles
        Profiles by name (or a sequence, or their ``to_dict()`` forms).
    title
        The section's heading.
    """
    ps = as_profiles(profiles)
    rows = [
        [
            p.name,
            p.size,
            _pct(p.share_of_customers),
            _pct(p.share_of_revenue),
            _pct(p.share_of_clv),
            ", ".join(d.key for d in p.distinguishing[:3]) or "–",
        ]
        for p in ps
    ]
    pop = ps[0] if ps else None
    intro = (
        f"{len(ps)} segment(s) profiled against {pop.population_size:,} customers"
        + (f", as of {pop.as_of}" if pop.as_of else "")
        + ". Shares are of the population totals; a customer may be in several segments."
        if pop
        else "No segments."
    )
    body = _para(intro) + html_table(
        ["segment", "members", "customers", "revenue", "predicted CLV", "most distinctive"],
        rows,
        numeric=(1, 2, 3, 4),
    )
    figures = [charts.size_and_value(ps), charts.comparison(ps)] if ps else []
    return ReportSection(title=title, html=body, figures=figures, anchor="overview")


def _summary_html(p: SegmentProfile) -> str:
    rows = [
        ["members", f"{p.size:,}", f"{p.population_size:,}", _pct(p.share_of_customers)],
        [
            "revenue (amount_spent)",
            _fmt(p.revenue),
            _fmt(p.population_revenue),
            _pct(p.share_of_revenue),
        ],
        [
            f"predicted CLV ({p.clv_column or 'none'})",
            _fmt(p.clv),
            _fmt(p.population_clv),
            _pct(p.share_of_clv),
        ],
    ]
    return html_table(["", "segment", "population", "share"], rows, numeric=(1, 2, 3))


def _distinguishing_html(p: SegmentProfile) -> str:
    if not p.distinguishing:
        return _para("No distinguishing features (the segment is empty or like everyone).")

    def val(kind: str, x: float | None) -> str:
        return _fmt(x) if kind == "numeric" else _pct(x)

    rows = [
        [
            d.rank,
            d.key,
            d.family,
            d.direction,
            val(d.kind, d.segment_value),
            val(d.kind, d.population_value),
            _lift(d.lift),
            f"{d.std_diff:+.2f}",
        ]
        for d in p.distinguishing
    ]
    return _para(
        "Ranked by |standardized difference|: (segment mean − population mean) / population "
        "std for numeric features; for a categorical feature, its value with the largest "
        "lift, scored as a 0/1 indicator."
    ) + html_table(
        ["#", "feature", "family", "", "segment", "population", "lift", "std. diff."],
        rows,
        numeric=(0, 4, 5, 6, 7),
    )


def _features_html(p: SegmentProfile) -> str:
    rows = [
        [
            f.feature,
            f.family,
            f.segment_mean,
            f.population_mean,
            f.segment_median,
            f.population_median,
            _lift(f.lift),
            "–" if f.std_diff is None else f"{f.std_diff:+.2f}",
            _pct(f.segment_count / p.size if p.size else None, 0),
        ]
        for f in p.features
    ]
    table = html_table(
        [
            "feature",
            "family",
            "mean",
            "population mean",
            "median",
            "population median",
            "lift",
            "std. diff.",
            "with a value",
        ],
        rows,
        numeric=(2, 3, 4, 5, 6, 7, 8),
    )
    return (
        f"<details><summary>All {len(p.features)} numeric features "
        f"(mean and median over members with a value)</summary>{table}</details>"
    )


def _items_html(p: SegmentProfile) -> str:
    if p.items is None:
        return _para("No order data was given, so there are no top items.")
    parts = [
        _para(
            f"{p.items.segment_units:,} units bought by the segment, "
            f"{p.items.population_units:,} by everyone (counted orders up to {p.as_of or 'as-of'})."
        )
    ]
    for kind in ITEM_KINDS:
        items = p.items.of(kind)
        rows = [
            [
                i + 1,
                it.label if kind != "products" else f"{it.label} ({it.key})",
                it.segment_units,
                _pct(it.segment_share, 2),
                _pct(it.population_share, 2),
                _lift(it.lift),
            ]
            for i, it in enumerate(items)
        ]
        parts.append(
            html_table(
                [
                    "#",
                    kind[:-1] if kind != "categories" else "category",
                    "units",
                    "share of units",
                    "population share",
                    "lift",
                ],
                rows,
                numeric=(0, 2, 3, 4, 5),
                caption=f"Top {kind} by lift",
            )
            if rows
            else _para(f"No {kind} bought often enough to rank.")
        )
    return "".join(parts)


def _distribution_html(d: Distribution | None, *, top: int | None = None) -> str:
    if d is None:
        return ""
    pairs = charts._display_rows(d, top)
    rows = [
        [
            label,
            r.segment_count,
            _pct(r.segment_share),
            _pct(r.population_share),
            _lift(r.lift),
        ]
        for label, r in pairs
    ]
    return html_table(
        ["value", "members", "segment", "population", "lift"],
        rows,
        numeric=(1, 2, 3, 4),
        caption=d.feature,
    )


def _dist_section(
    p: SegmentProfile, title: str, names: Sequence[str], figure: go.Figure, top: int | None
) -> ReportSection:
    body = "".join(_distribution_html(p.distributions.get(n), top=top) for n in names)
    return ReportSection(title=title, html=f'<div class="grid">{body}</div>', figures=[figure])


def segment_section(profile: Any) -> ReportSection:
    """The section of one segment: summary, distinguishing features, all feature statistics,
    top items, geography, devices and channels, age, declared interests, RFM mix, CLV."""
    [p] = as_profiles([profile])
    attrs = [f for f in p.distributions if f.startswith("attr_")]
    hist = p.clv_histogram
    clv_html = (
        _para("No predicted CLV column in the features.")
        if hist is None
        else _para(
            f"Bins are the population deciles of {hist.column}; shares are of customers with "
            f"a prediction ({hist.segment_missing:,} members and {hist.population_missing:,} "
            "customers overall have none)."
        )
    )
    children = [
        ReportSection(
            "Distinguishing features",
            _distinguishing_html(p),
            [charts.distinguishing_features(p)],
        ),
        ReportSection("Feature statistics", _features_html(p)),
        ReportSection("Top categories, products and brands", _items_html(p), [charts.top_items(p)]),
        _dist_section(p, "Countries and regions", ["country", "region"], charts.geography(p), 10),
        _dist_section(
            p,
            "Devices and channels",
            ["main_device", "main_channel"],
            charts.devices_channels(p),
            10,
        ),
        _dist_section(p, "Age bands", ["age_band"], charts.age_bands(p), None),
        _dist_section(p, "Declared interests", attrs, charts.interests(p), 10),
        _dist_section(p, "RFM mix", ["rfm_group"], charts.rfm_mix(p), None),
        ReportSection("CLV distribution", clv_html, [charts.clv_distribution(p)]),
    ]
    return ReportSection(
        title=p.name,
        html=_summary_html(p),
        anchor=f"segment-{_slug(p.name)}",
        children=children,
    )


def segment_sections(profiles: Any) -> list[ReportSection]:
    """The standard sections for ``profiles``: the overview, then one section per segment.

    Parameters
    ----------
    profiles
        Profiles by name (from :func:`~custseg.profiles.profile_segments`), a sequence,
        or their ``to_dict()`` forms; segments appear in this order.

    Returns
    -------
    list of ReportSection
        Add your own sections to the list before :func:`write_report`.
    """
    ps = as_profiles(profiles)
    return [overview_section(ps), *[segment_section(p) for p in ps]]


# --------------------------------------------------------------------------- rendering


def _slug(text: str) -> str:
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


@dataclass
class _Node:
    title: str
    anchor: str
    level: int
    html: Markup
    figures: list[Markup]
    children: list[_Node]


def _render_figure(fig: go.Figure, div_id: str) -> Markup:
    if not isinstance(fig, go.Figure):
        raise UsageError(
            f"ReportSection.figures must hold plotly Figures, got {type(fig).__name__}; build "
            "them with custseg.profiles.charts"
        )
    return Markup(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            div_id=div_id,
            config=_PLOTLY_CONFIG,
        )
    )


def _nodes(
    sections: Sequence[ReportSection], level: int, used: set[str], parent: str = ""
) -> list[_Node]:
    """Render nodes; anchors are the given one, else ``<parent anchor>-<title slug>``."""
    out = []
    for i, s in enumerate(sections):
        if not isinstance(s, ReportSection):
            raise UsageError(
                f"write_report takes ReportSection objects, got {type(s).__name__} at position {i}"
            )
        own = _slug(s.anchor) if s.anchor else "-".join(x for x in (parent, _slug(s.title)) if x)
        base = own or f"section-{len(used) + 1}"
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        figs = [_render_figure(f, f"{anchor}-fig{j + 1}") for j, f in enumerate(s.figures)]
        out.append(
            _Node(
                title=str(s.title),
                anchor=anchor,
                level=level,
                html=Markup(s.html),
                figures=figs,
                children=_nodes(s.children, level + 1, used, anchor),
            )
        )
    return out


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("custseg.profiles", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(
    sections: Sequence[ReportSection],
    *,
    title: str = "custseg report",
    subtitle: str | None = None,
) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    from plotly.offline import get_plotlyjs

    nodes = _nodes(list(sections), 2, set())
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            subtitle=subtitle,
            sections=nodes,
            plotly_js=Markup(get_plotlyjs()),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
    return page


def write_report(
    path: str | os.PathLike[str],
    sections: Sequence[ReportSection],
    *,
    title: str = "custseg report",
    subtitle: str | None = None,
) -> Path:
    """Write the sections as one self-contained, offline HTML file.

    Parameters
    ----------
    path
        Output file (parent folders are created); replaced atomically.
    sections
        Top-level sections, e.g. ``segment_sections(profiles)`` plus your own.
    title
        Page title and main heading.
    subtitle
        A line under the title.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> from custseg.profiles import ReportSection, write_report
    >>> import plotly.graph_objects as go, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.html"
    >>> write_report(out, [ReportSection("Hello", "<p>hi</p>", [go.Figure()])]).exists()
    True
    """
    if isinstance(sections, ReportSection):
        sections = [sections]
    page = render_report(sections, title=title, subtitle=subtitle)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s (%d bytes)", target, len(page.encode("utf-8")))
    return target
