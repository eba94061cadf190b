"""The workspace report: every evaluated segment's profile, the clusters, the actions.

:func:`workspace_profiles` profiles the evaluated segments (by title, in the order of
their definitions); :func:`build_report` writes one offline HTML file with the overview
and a section per segment (:mod:`custseg.profiles`), a clustering section when a model is
saved (the k curve, stability, names and explaining rules), the action plan and
shipping tiers when they have been computed, and the lift by RFM group of the latest
campaigns (forest plots, :mod:`custseg.monitor`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import plotly.graph_objects as go

from custseg.exceptions import WorkspaceError

__all__ = ["build_report", "cluster_section", "cluster_sizes", "workspace_profiles"]

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"


def _titles(ws: Any) -> dict[str, str]:
    from custseg.segments.registry import load_definitions

    titles: dict[str, str] = {}
    used: set[str] = set()
    for d in load_definitions(ws):
        t = d.title if d.title not in used else f"{d.title} ({d.name})"
        used.add(t)
        titles[d.name] = t
    return titles


def workspace_profiles(
    ws: Any, names: Sequence[str] | None = None, *, families: Sequence[str] | None = None
) -> dict[str, Any]:
    """Profiles of the evaluated segments, keyed by title.

    Parameters
    ----------
    ws : Workspace
        The workspace, with segments evaluated.
    names : sequence of str, optional
        Only these segments (keys or titles).
    families : sequence of str, optional
        Only segments of these families (``rule``, ``rfm``, ``clv_tier``, ...).

    Returns
    -------
    dict of str to SegmentProfile
        In the order of the definitions.
    """
    from custseg.profiles import profile_segments
    from custseg.segments.registry import MEMBERSHIPS_TABLE, get_definition, load_definitions

    con = ws.connect()
    if MEMBERSHIPS_TABLE not in con.list_tables():
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; run `custseg segments evaluate`."
        )
    defs = load_definitions(ws)
    if names:
        keep = {get_definition(ws, n).name for n in names}
        defs = [d for d in defs if d.name in keep]
    if families:
        defs = [d for d in defs if d.family in set(families)]
    titles = _titles(ws)
    order = [titles[d.name] for d in defs]
    mapping = ibis.memtable(
        {"segment": [d.name for d in defs], "title": order},
        schema={"segment": "string", "title": "string"},
    )
    m = con.table(MEMBERSHIPS_TABLE)
    m = m.inner_join(mapping, "segment").select("customer_id", segment="title")
    tables = set(con.list_tables())
    return profile_segments(
        con.table("customer_features"),
        m,
        orders=con.table("orders") if "orders" in tables else None,
        order_lines=con.table("order_lines") if "order_lines" in tables else None,
        segments=order,
    )


def cluster_sizes(model: Any) -> dict[int, int]:
    """Sample size of each cluster of a fitted model (from its ``profile_``)."""
    prof = getattr(model, "profile_", None)
    if prof is None or "size" not in getattr(prof, "columns", ()):
        return {}
    return {int(c): int(n) for c, n in prof["size"].items()}


def cluster_section(model: Any) -> Any:
    """A report section for a fitted clustering: k curve, stability, names and rules."""
    from custseg.profiles import ReportSection
    from custseg.profiles.report import html_table

    ks = [k for k, _ in model.k_curve_]
    scores = [s for _, s in model.k_curve_]
    crit = getattr(model, "k_criterion_", "score")
    fig = go.Figure(
        data=[go.Scatter(x=ks, y=scores, mode="lines+markers", name=crit)],
        layout={
            "title": {"text": f"Choice of k ({crit}); chosen k = {model.k_}"},
            "xaxis": {"title": {"text": "k"}, "dtick": 1},
            "yaxis": {"title": {"text": crit}},
            "height": 320,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        },
    )
    fig.add_vline(x=model.k_, line_dash="dash")
    stab = model.stability_
    verdict = (
        "stable"
        if stab >= 0.8
        else ("fair" if stab >= 0.6 else "unstable: refit or change features")
    )
    sizes = cluster_sizes(model)
    rows = []
    for c, name in sorted(model.names_.items()):
        r = model.rules_.get(c)
        rows.append(
            [
                str(c),
                name,
                "" if sizes.get(c) is None else f"{sizes[c]:,}",
                r.rule if r else "",
                "" if r is None else f"{r.precision:.2f}",
                "" if r is None else f"{r.recall:.2f}",
            ]
        )
    table = html_table(
        ["cluster", "name", "sample size", "explaining rule", "precision", "recall"],
        rows,
        numeric=(0, 2, 4, 5),
        caption="Each rule is an editable segment-language rule that approximates its cluster.",
    )
    algo = getattr(model, "algorithm", type(model).__name__)
    body = (
        f"<p>{html.escape(str(algo))} on {html.escape(', '.join(map(str, getattr(model, 'feature_names_', []) or [])))}. "
        f"Bootstrap stability (mean adjusted Rand index): <b>{stab:.3f}</b> ({html.escape(verdict)}).</p>"
        + table
    )
    return ReportSection("Clusters", body, [fig], anchor="clusters")


def _actions_section(ws: Any) -> Any | None:
    from custseg.profiles import ReportSection
    from custseg.profiles.report import html_table

    con = ws.connect()
    tables = set(con.list_tables())
    children = []
    if "customer_actions" in tables:
        from custseg.actions.playbooks import plan

        rows = [
            [
                str(a.rank),
                a.title,
                a.objective,
                a.channel,
                a.offer,
                f"{a.reach:,}",
                f"{a.expected_value:,.0f}",
                a.message,
            ]
            for a in plan(ws)
        ]
        children.append(
            ReportSection(
                "Action plan",
                html_table(
                    [
                        "#",
                        "segment",
                        "objective",
                        "channel",
                        "offer",
                        "reach",
                        "exp. value",
                        "message",
                    ],
                    rows,
                    numeric=(0, 5, 6),
                ),
            )
        )
    if "shipping_tiers" in tables:
        from custseg.actions.shipping import tier_summary

        rows = [
            [
                s.tier,
                s.method,
                f"{s.customers:,}",
                f"{s.share_of_orders:.1%}",
                f"{s.estimated_cost:,.0f}",
                f"{s.beyond_promise:,}",
            ]
            for s in tier_summary(ws)
        ]
        children.append(
            ReportSection(
                "Shipping tiers",
                html_table(
                    [
                        "tier",
                        "method",
                        "customers",
                        "share of orders",
                        "est. cost (365 d)",
                        "beyond promise",
                    ],
                    rows,
                    numeric=(2, 3, 4, 5),
                ),
            )
        )
    if not children:
        return None
    return ReportSection("Actions", "", [], anchor="actions", children=children)


def _campaign_sections(ws: Any, *, by: str = "rfm", limit: int = 3) -> list[Any]:
    """Lift by segment of the most recent campaigns with exposures (a forest plot each)."""
    from custseg.exceptions import CustsegError
    from custseg.monitor import campaign_section, measure_campaign

    con = ws.connect()
    tables = set(con.list_tables())
    if not {"campaigns", "campaign_exposures"} <= tables:
        return []
    c = con.table("campaigns")
    exposed = con.table("campaign_exposures").select("campaign_id").distinct()
    ids = (
        c.semi_join(exposed, "campaign_id")
        .order_by(ibis.desc("started_at"))
        .limit(limit)
        .campaign_id.to_pyarrow()
        .to_pylist()
    )
    out = []
    for cid in ids:
        try:
            out.append(campaign_section(measure_campaign(ws, cid, by=by)))
        except CustsegError as exc:  # a campaign that cannot be measured is reported, not fatal
            log.warning("campaign %s left out of the report: %s", cid, exc)
    return out


def build_report(
    ws: Any,
    out: str | Path | None = None,
    *,
    names: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
) -> Path:
    """Write the workspace's HTML report.

    Parameters
    ----------
    ws : Workspace
        The workspace, with segments evaluated.
    out : path, optional
        Default: ``<workspace>/report.html``.
    names, families : optional
        Restrict the segments profiled (see :func:`workspace_profiles`).

    Returns
    -------
    Path
        The written file.
    """
    from custseg.profiles import segment_sections, write_report
    from custseg.segments.registry import load_cluster_model

    profiles = workspace_profiles(ws, names, families=families)
    sections = segment_sections(profiles)
    model = load_cluster_model(ws)
    if model is not None:
        sections.insert(1, cluster_section(model))
    actions = _actions_section(ws)
    if actions is not None:
        sections.append(actions)
    sections += _campaign_sections(ws)
    from custseg.monitor.history import history_section

    history = history_section(ws)
    if history is not None:
        sections.append(history)
    as_of = ws.connect().table("customer_features").as_of.max().to_pyarrow().as_py()
    path = Path(out) if out is not None else ws.root / REPORT_FILE
    write_report(
        path,
        sections,
        title=f"custseg report: {ws.config.workspace.name}",
        subtitle=f"{len(profiles)} segments, as of {as_of}",
    )
    log.info("wrote the report to %s", path)
    return path
