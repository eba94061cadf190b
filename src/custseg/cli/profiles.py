"""`custseg profile SEGMENT` and `custseg report`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws

__all__ = ["print_profile", "register"]


def _num(x: float | None, digits: int = 2) -> str:
    if x is None:
        return ""
    return f"{x:,.{digits}f}"


def print_profile(p: Any, out: Any = console) -> None:
    """Print a :class:`~custseg.profiles.SegmentProfile`: size, value, what sets it apart."""
    out.print(
        f"[bold]{escape(p.name)}[/]: {p.size:,} customers "
        f"({(p.share_of_customers or 0):.1%} of {p.population_size:,}), "
        f"{(p.share_of_revenue or 0):.1%} of revenue"
        + (f", {(p.share_of_clv or 0):.1%} of predicted {p.clv_column}" if p.clv_column else "")
        + (f", as of {p.as_of}" if p.as_of else "")
    )
    t = Table(title="What sets it apart (top features)", title_justify="left")
    for col, just in (
        ("#", "right"),
        ("feature", "left"),
        ("value", "left"),
        ("segment", "right"),
        ("population", "right"),
        ("lift", "right"),
        ("std. diff.", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for d in p.distinguishing:
        pct = d.kind != "numeric"
        t.add_row(
            str(d.rank),
            d.feature,
            escape(d.category or ""),
            f"{d.segment_value:.1%}"
            if pct and d.segment_value is not None
            else _num(d.segment_value),
            f"{d.population_value:.1%}"
            if pct and d.population_value is not None
            else _num(d.population_value),
            _num(d.lift),
            f"{d.std_diff:+.2f}",
        )
    out.print(t)
    if p.items is not None:
        for kind in ("categories", "brands"):
            rows = p.items.of(kind)[:5]
            if rows:
                out.print(
                    f"Top {kind} by lift: "
                    + ", ".join(f"{escape(r.label)} ×{r.lift:.2f}" for r in rows)
                )
    rfm = p.distributions.get("rfm_group")
    if rfm is not None:
        mix = sorted(
            (r for r in rfm.rows if r.segment_share), key=lambda r: -(r.segment_share or 0)
        )[:5]
        out.print(
            "RFM mix: " + ", ".join(f"{escape(str(r.value))} {r.segment_share:.0%}" for r in mix)
        )


def register(app: typer.Typer) -> None:
    """Add ``profile`` and ``report`` to the app."""

    @app.command("profile")
    @handle_errors
    def profile_cmd(
        segment: Annotated[str, typer.Argument(help="Segment key or title.")],
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the profile JSON.")] = False,
    ) -> None:
        """Profile one evaluated segment against all customers."""
        from custseg.report import workspace_profiles

        ws = open_ws(workspace)
        profiles = workspace_profiles(ws, [segment])
        (p,) = profiles.values()
        if as_json:
            console.print_json(json.dumps(p.to_dict()))
            return
        print_profile(p)

    @app.command("report")
    @handle_errors
    def report_cmd(
        workspace: WorkspaceOpt = None,
        out: Annotated[
            Path | None, typer.Option(help="Output file (default: <workspace>/report.html).")
        ] = None,
        segment: Annotated[
            list[str] | None, typer.Option("--segment", help="Only this segment (repeatable).")
        ] = None,
        family: Annotated[
            list[str] | None, typer.Option("--family", help="Only this family (repeatable).")
        ] = None,
    ) -> None:
        """Write one self-contained, offline HTML report of the evaluated segments."""
        from custseg.report import build_report

        ws = open_ws(workspace)
        path = build_report(ws, out, names=segment, families=family)
        size = path.stat().st_size / 1e6
        console.print(f"wrote {path} ({size:.1f} MB); open it in any browser, no network needed.")
