"""`custseg segments list|show|members|evaluate|backtest|suggest|cluster`.

These commands are added to the ``segments`` sub-app of :mod:`custseg.cli.segments`
(which holds ``preview``) by :func:`add_commands`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws
from custseg.exceptions import UsageError

__all__ = ["add_commands", "print_clustering", "print_evaluation"]


def _fmt_money(x: float | None) -> str:
    return "" if x is None else f"{x:,.0f}"


def print_evaluation(
    ev: Any, out: Any = console, *, families: tuple[str, ...] | None = None
) -> None:
    """Print the sizes of an evaluation, grouped by family."""
    t = Table(
        title=f"Segments as of {ev.as_of} (run {ev.run_id}, {ev.total:,} customers)",
        title_justify="left",
    )
    for col, just in (
        ("segment", "left"),
        ("title", "left"),
        ("family", "left"),
        ("customers", "right"),
        ("share", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for d in ev.definitions:
        if families is not None and d.family not in families:
            continue
        n = ev.sizes.get(d.name, 0)
        t.add_row(d.name, escape(d.title), d.family, f"{n:,}", f"{ev.share(d.name):.1%}")
    out.print(t)


def print_clustering(seg: Any, out: Any = console) -> None:
    """Print a fitted clustering: k and its curve, stability, names and explaining rules."""
    crit = getattr(seg, "k_criterion_", "score")
    curve = ", ".join(f"k={k}: {s:.3f}" for k, s in seg.k_curve_)
    out.print(f"Chosen k = [bold]{seg.k_}[/] by {crit} ({escape(curve)})")
    stab = seg.stability_
    mark = (
        "[green]stable[/]"
        if stab >= 0.8
        else ("[yellow]fair[/]" if stab >= 0.6 else "[red]unstable[/]")
    )
    out.print(f"Bootstrap stability (mean adjusted Rand index): {stab:.3f} {mark}")
    from custseg.report import cluster_sizes

    sizes = cluster_sizes(seg)
    t = Table(title="Clusters", title_justify="left")
    for col, just in (
        ("cluster", "right"),
        ("name", "left"),
        ("sample size", "right"),
        ("explaining rule", "left"),
        ("precision", "right"),
        ("recall", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for c, name in sorted(seg.names_.items()):
        r = seg.rules_.get(c)
        t.add_row(
            str(c),
            escape(name),
            f"{sizes[c]:,}" if c in sizes else "",
            escape(r.rule) if r else "",
            f"{r.precision:.2f}" if r else "",
            f"{r.recall:.2f}" if r else "",
        )
    out.print(t)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not a date; write YYYY-MM-DD.") from None


def add_commands(app: typer.Typer) -> None:
    """Add the management commands to the ``segments`` sub-app."""

    @app.command("list")
    @handle_errors
    def list_(
        workspace: WorkspaceOpt = None,
        family: Annotated[
            str | None,
            typer.Option(
                help="Only this family: rule, rfm, clv_tier, churn_risk, due_soon, cluster."
            ),
        ] = None,
        tag: Annotated[str | None, typer.Option(help="Only segments with this tag.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """List the workspace's segments, with their size when they have been evaluated."""
        from custseg.segments.registry import MEMBERSHIPS_TABLE, load_definitions

        ws = open_ws(workspace)
        defs = [
            d
            for d in load_definitions(ws)
            if (family is None or d.family == family) and (tag is None or tag in d.tags)
        ]
        con = ws.connect()
        sizes: dict[str, int] = {}
        if MEMBERSHIPS_TABLE in con.list_tables():
            m = con.table(MEMBERSHIPS_TABLE)
            rows = m.group_by("segment").aggregate(n=m.count()).to_pyarrow().to_pylist()
            sizes = {r["segment"]: r["n"] for r in rows}
        if as_json:
            console.print_json(
                json.dumps([{**d.to_dict(), "size": sizes.get(d.name)} for d in defs])
            )
            return
        t = Table(title=f"{len(defs)} segments", title_justify="left")
        for col, just in (
            ("segment", "left"),
            ("title", "left"),
            ("family", "left"),
            ("priority", "right"),
            ("customers", "right"),
            ("rule", "left"),
        ):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for d in defs:
            n = sizes.get(d.name)
            rule = d.rule if len(d.rule) <= 70 else d.rule[:67] + "..."
            t.add_row(
                d.name,
                escape(d.title),
                d.family,
                str(d.priority),
                "" if n is None else f"{n:,}",
                escape(" ".join(rule.split())),
            )
        console.print(t)
        if not sizes:
            console.print("Not evaluated yet: run `custseg segments evaluate` for the sizes.")

    @app.command()
    @handle_errors
    def show(
        name: Annotated[str, typer.Argument(help="Segment key or title.")],
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show one segment's definition, its size and its value."""
        from custseg.segments.objectives import opportunity
        from custseg.segments.registry import (
            MEMBERSHIPS_TABLE,
            get_definition,
            segment_frame,
        )

        ws = open_ws(workspace)
        d = get_definition(ws, name)
        con = ws.connect()
        opp = None
        if MEMBERSHIPS_TABLE in con.list_tables():
            m = con.table(MEMBERSHIPS_TABLE)
            m = m.filter(m.segment == d.name)
            found = opportunity(segment_frame(ws), m)
            opp = found[0] if found else None
        if as_json:
            console.print_json(
                json.dumps({**d.to_dict(), "opportunity": opp.to_dict() if opp else None})
            )
            return
        console.print(
            f"[bold]{escape(d.title)}[/] ({d.name}, family {d.family}, from {escape(d.source)})"
        )
        if d.description:
            console.print(escape(d.description))
        console.print(f"rule:     {escape(d.rule)}")
        console.print(
            f"priority: {d.priority}"
            + (f" in exclusive group {d.exclusive_group!r}" if d.exclusive_group else "")
        )
        if d.tags:
            console.print(f"tags:     {', '.join(d.tags)}")
        if d.owner:
            console.print(f"owner:    {escape(d.owner)}")
        if opp is None:
            console.print("Not evaluated yet: run `custseg segments evaluate`.")
            return
        console.print(
            f"size:     {opp.size:,} customers ({opp.share:.1%})\n"
            f"historic value:  {_fmt_money(opp.historic_value)} "
            f"({_fmt_money(opp.historic_value_per_customer)} per customer)\n"
            f"predicted value: {_fmt_money(opp.predicted_value)} "
            f"({_fmt_money(opp.predicted_value_per_customer)} per customer), "
            f"headroom {_fmt_money(opp.headroom)}"
            + ("  [yellow]underserved[/]" if opp.underserved else "")
        )

    @app.command()
    @handle_errors
    def members(
        name: Annotated[str, typer.Argument(help="Segment key or title.")],
        workspace: WorkspaceOpt = None,
        limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 20,
        columns: Annotated[
            str, typer.Option(help="Comma-separated feature columns to show.")
        ] = "amount_spent,number_of_orders,last_order_date,rfm_group",
        out: Annotated[
            Path | None, typer.Option(help="Write all members to this CSV or Parquet file.")
        ] = None,
    ) -> None:
        """Print (or write) the members of an evaluated segment."""
        from custseg.segments.registry import members as seg_members

        ws = open_ws(workspace)
        t = seg_members(ws, name)
        cols = ["customer_id"] + [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in cols if c not in t.columns]
        if unknown:
            raise UsageError(
                f"unknown column(s) {', '.join(unknown)}; the columns are those of customer_features."
            )
        t = t.select(*cols).order_by("customer_id")
        if out is not None:
            if out.suffix == ".parquet":
                t.to_parquet(out)
            elif out.suffix == ".csv":
                t.to_csv(out)
            else:
                raise UsageError(f"--out {out}: use a .csv or .parquet file name.")
            console.print(f"wrote {t.count().to_pyarrow().as_py():,} members to {out}")
            return
        total = t.count().to_pyarrow().as_py()
        rows = t.limit(limit).to_pyarrow().to_pylist()
        table = Table(title=f"{total:,} members (first {min(limit, total)})", title_justify="left")
        for c in cols:
            table.add_column(c)
        for r in rows:
            table.add_row(*[escape("" if r[c] is None else str(r[c])) for c in cols])
        console.print(table)

    @app.command()
    @handle_errors
    def evaluate(
        workspace: WorkspaceOpt = None,
        only: Annotated[
            list[str] | None, typer.Option("--segment", help="Only this segment (repeatable).")
        ] = None,
    ) -> None:
        """Evaluate every segment and write the memberships table."""
        from custseg.segments.registry import evaluate as run_evaluate

        ws = open_ws(workspace)
        ev = run_evaluate(ws, names=only)
        print_evaluation(ev)

    @app.command()
    @handle_errors
    def backtest(
        name: Annotated[str, typer.Argument(help="Segment key or title.")],
        as_of: Annotated[
            list[str], typer.Option("--as-of", help="A past date, YYYY-MM-DD (repeatable).")
        ],
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Evaluate one segment's definition as of past dates, from the same data."""
        from custseg.segments.registry import backtest as run_backtest
        from custseg.segments.registry import get_definition

        dates = [_parse_date(a) for a in as_of]
        ws = open_ws(workspace)
        d = get_definition(ws, name)
        points = run_backtest(ws, d.name, dates)
        t = Table(title=f"{escape(d.title)}: {escape(d.rule)}", title_justify="left")
        for col in ("as of", "customers", "members", "share", "amount spent"):
            t.add_column(col, justify="left" if col == "as of" else "right")
        for p in points:
            t.add_row(
                str(p.as_of),
                f"{p.total:,}",
                f"{p.size:,}",
                f"{p.share:.1%}",
                _fmt_money(p.amount_spent),
            )
        console.print(t)

    @app.command()
    @handle_errors
    def suggest(
        objective: Annotated[
            str,
            typer.Option(help="retention, upsell, win-back or acquisition-lookalike."),
        ],
        workspace: WorkspaceOpt = None,
        save: Annotated[
            bool, typer.Option(help="Write the non-empty suggestions to segments/*.seg.")
        ] = False,
    ) -> None:
        """Propose segments for an objective, with their size and value, best first."""
        from custseg.segments.objectives import OBJECTIVES
        from custseg.segments.objectives import suggest as run_suggest
        from custseg.segments.registry import rule_context

        if objective not in OBJECTIVES:
            raise UsageError(
                f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}."
            )
        ws = open_ws(workspace)
        obj = OBJECTIVES[objective]
        found = run_suggest(rule_context(ws), objective)
        console.print(
            f"[bold]{objective}[/]: {obj.description} Ordered by {obj.order_by.replace('_', ' ')}."
        )
        t = Table(title_justify="left")
        for col, just in (
            ("segment", "left"),
            ("customers", "right"),
            ("share", "right"),
            ("historic", "right"),
            ("predicted", "right"),
            (obj.order_by.replace("_", " "), "right"),
            ("rule", "left"),
        ):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for s in found:
            o = s.opportunity
            t.add_row(
                s.candidate.name + (" [yellow]*[/]" if o.underserved else ""),
                f"{o.size:,}",
                f"{o.share:.1%}",
                _fmt_money(o.historic_value),
                _fmt_money(o.predicted_value),
                "" if s.score == float("-inf") else f"{s.score:,.0f}",
                escape(s.candidate.rule),
            )
        console.print(t)
        console.print(
            "[yellow]*[/] underserved: still likely alive, worth under half the top CLV tier."
        )
        if save:
            folder = ws.root / ws.config.segments.folder
            folder.mkdir(parents=True, exist_ok=True)
            for s in found:
                if s.opportunity.size == 0:
                    continue
                path = folder / f"{s.candidate.name}.seg"
                if path.exists():
                    console.print(f"kept the existing {path}")
                    continue
                path.write_text(
                    f"# title: {s.candidate.title}\n# description: {s.candidate.description}\n"
                    f"# tags: {objective}\n{s.candidate.rule}\n",
                    encoding="utf-8",
                )
                console.print(f"wrote {path}")

    @app.command()
    @handle_errors
    def cluster(
        workspace: WorkspaceOpt = None,
        features: Annotated[
            str | None,
            typer.Option(help="Comma-separated families/columns (default: [segments.clustering])."),
        ] = None,
        algorithm: Annotated[str | None, typer.Option(help="kmeans, gmm or kprototypes.")] = None,
        k: Annotated[str | None, typer.Option(help="'auto' or a number.")] = None,
    ) -> None:
        """Fit the automatic clustering, save it in the workspace and print it."""
        from custseg.segments.registry import fit_workspace_clustering

        ws = open_ws(workspace)
        seg = fit_workspace_clustering(
            ws,
            features=[f.strip() for f in features.split(",")] if features else None,
            algorithm=algorithm,
            k=k,
        )
        print_clustering(seg)
        console.print(
            "Saved; the clusters are segments cluster_<n> at the next `custseg segments evaluate`."
        )
