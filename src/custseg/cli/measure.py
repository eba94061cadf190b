"""`custseg measure CAMPAIGN` and `custseg holdout create|list`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws
from custseg.exceptions import UsageError

__all__ = ["print_holdout", "print_measurement", "register"]


def print_measurement(m: Any, out: Any = console) -> None:
    """Print a campaign measurement: one row per segment, then all exposed customers."""
    from custseg.monitor.charts import fmt_ci, fmt_money, fmt_p, fmt_pct, fmt_points

    how = "campaign_outcomes" if m.source == "outcomes" else f"orders within {m.window_days} days"
    title = (
        f"Campaign {escape(m.campaign_id)}"
        + (f" by {escape(m.by)}" if m.by else "")
        + f" ({how}; {m.confidence:.0%} intervals)"
    )
    t = Table(title=title, title_justify="left")
    for col, just in (
        ("segment", "left"),
        ("n T", "right"),
        ("n C", "right"),
        ("rate T", "right"),
        ("rate C", "right"),
        ("lift", "right"),
        ("lift CI (pp)", "right"),
        ("rel. lift", "right"),
        ("rev/cust T", "right"),
        ("rev/cust C", "right"),
        ("rev diff CI", "right"),
        ("p", "right"),
        ("q (BH)", "right"),
        ("incr. revenue", "right"),
        ("incr. pred. CLV", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    rows = [*m.segments, m.overall]
    for r in rows:
        last = r is m.overall
        t.add_row(
            f"[bold]{escape(r.title)}[/]" if last else escape(r.title),
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
            fmt_p(r.p_value) + ("*" if r.p_method == "fisher" else ""),
            fmt_p(r.q_value),
            fmt_money(r.incremental_revenue, signed=True),
            fmt_money(r.incremental_clv, signed=True),
            end_section=(r is rows[-2]),
        )
    out.print(t)
    out.print(
        f"[dim]lift: Newcombe hybrid score interval; revenue: {m.bootstrap} bootstrap, "
        f"{m.n_boot:,} draws, seed {m.seed}; p: two-proportion z-test (* Fisher's exact); "
        "q: Benjamini-Hochberg across segments.[/]",
        highlight=False,
    )
    for note in m.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def print_holdout(h: Any, out: Any = console) -> None:
    """Print a holdout: its strata and where it was exported."""
    t = Table(
        title=f"Holdout {escape(h.holdout_id)}: {h.fraction:g} held out, seed {h.seed}",
        title_justify="left",
    )
    for col, just in (("stratum", "left"), ("customers", "right"), ("held out", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for seg, (n, k) in h.strata.items():
        t.add_row(escape(seg), f"{n:,}", f"{k:,}")
    t.add_row("[bold]total[/]", f"{h.customers:,}", f"{h.control:,}")
    out.print(t)
    for p in h.paths:
        out.print(f"exported {escape(str(p))}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``measure`` and ``holdout`` to the app."""
    holdout_app = typer.Typer(
        help="Random control groups for the next campaign.", no_args_is_help=True
    )
    app.add_typer(holdout_app, name="holdout")

    @app.command("measure")
    @handle_errors
    def measure_cmd(
        campaign: Annotated[str, typer.Argument(help="Campaign id (campaign_exposures).")],
        workspace: WorkspaceOpt = None,
        by: Annotated[
            str | None,
            typer.Option(
                "--by",
                help="Segment family: rfm, clv_tier, churn_risk, due_soon, cluster or rule.",
            ),
        ] = None,
        source: Annotated[
            str,
            typer.Option(help="auto, outcomes (campaign_outcomes) or orders (in the window)."),
        ] = "auto",
        window_days: Annotated[
            int, typer.Option("--window-days", min=1, help="Attribution window for orders.")
        ] = 14,
        holdout: Annotated[
            str | None,
            typer.Option(help="Measure against a holdout's arms (`custseg holdout create`)."),
        ] = None,
        confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
        n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap draws.")] = 2000,
        seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
        html_out: Annotated[
            Path | None,
            typer.Option("--html", help="Also write an HTML report with the forest plots."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Lift of a campaign per segment: rates, revenue, intervals, p and q, incremental value."""
        from custseg.monitor import campaign_section, measure_campaign

        if source not in ("auto", "outcomes", "orders"):
            raise UsageError(f"--source must be auto, outcomes or orders, got {source!r}.")
        with open_ws(workspace) as ws:
            m = measure_campaign(
                ws,
                campaign,
                by=by,
                source=source,  # type: ignore[arg-type]
                window_days=window_days,
                holdout=holdout,
                confidence=confidence,
                n_boot=n_boot,
                seed=seed,
            )
        if html_out is not None:
            from custseg.profiles import write_report

            write_report(
                html_out, [campaign_section(m)], title=f"Campaign {campaign}", subtitle=None
            )
        if as_json:
            typer.echo(json.dumps(m.to_dict(), indent=2))
            return
        print_measurement(m)
        if html_out is not None:
            console.print(f"report written to {escape(str(html_out))}", highlight=False)

    @holdout_app.command("create")
    @handle_errors
    def create_cmd(
        segment: Annotated[
            str, typer.Argument(help="A segment (key or title) or a family, e.g. rfm.")
        ],
        seed: Annotated[int, typer.Option(help="Seed (required): the same seed, the same split.")],
        fraction: Annotated[
            float, typer.Option(help="Share held out in each stratum, e.g. 0.1.")
        ] = 0.1,
        out: Annotated[
            Path | None,
            typer.Option(help="Export to this .csv or .parquet file (default: exports/holdouts/)."),
        ] = None,
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Split a segment (or every segment of a family) into treatment and a held-out control."""
        from custseg.monitor import create_holdout

        with open_ws(workspace) as ws:
            h = create_holdout(ws, segment, fraction, seed, out=out)
        if as_json:
            typer.echo(json.dumps(h.to_dict(), indent=2))
            return
        print_holdout(h)

    @holdout_app.command("list")
    @handle_errors
    def list_cmd(
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """The stored holdouts, newest first."""
        from custseg.monitor import list_holdouts

        with open_ws(workspace) as ws:
            hs = list_holdouts(ws)
        if as_json:
            typer.echo(json.dumps([h.to_dict() for h in hs], indent=2))
            return
        t = Table(title=f"{len(hs)} holdouts", title_justify="left")
        for col in ("holdout", "fraction", "seed", "strata", "customers", "held out", "created"):
            t.add_column(col)
        for h in hs:
            t.add_row(
                escape(h.holdout_id),
                f"{h.fraction:g}",
                str(h.seed),
                str(len(h.strata)),
                f"{h.customers:,}",
                f"{h.control:,}",
                h.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
        console.print(t)
