"""`custseg monitor` (drift alerts) and `custseg runs diff` (migration between two runs).

``custseg monitor`` exits with :data:`ALERT_EXIT_CODE` (3) when an alert is at or above
``[monitor] fail_on`` so a scheduler can page on it; 1 and 2 stay the error codes of
every command (data and usage errors).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws

__all__ = ["ALERT_EXIT_CODE", "register", "register_diff"]

#: Exit code of ``custseg monitor`` when an alert reaches ``[monitor] fail_on``.
ALERT_EXIT_CODE = 3

RunOpt = Annotated[str | None, typer.Option(help="Run id (default: the last two succeeded runs).")]


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the app."""

    @app.command("monitor")
    @handle_errors
    def monitor_cmd(
        workspace: WorkspaceOpt = None,
        run_a: Annotated[
            str | None,
            typer.Option("--run-a", help="Reference run (default: the second-last succeeded)."),
        ] = None,
        run_b: Annotated[
            str | None,
            typer.Option("--run-b", help="New run (default: the last succeeded)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Drift alerts between two runs; exit 3 when one reaches [monitor] fail_on."""
        from custseg.monitor.drift import drift_alerts, resolve_runs, severity_at_least

        ws = open_ws(workspace)
        a, b = resolve_runs(ws, run_a, run_b)
        alerts = drift_alerts(ws, a, b)
        fail_on = ws.config.monitor.fail_on
        failing = [x for x in alerts if severity_at_least(x.severity, fail_on)]
        if as_json:
            payload = {
                "run_a": a,
                "run_b": b,
                "fail_on": fail_on,
                "failing": len(failing),
                "alerts": [x.to_dict() for x in alerts],
            }
            typer.echo(json.dumps(payload, indent=2))
        else:
            _print_alerts(alerts, a, b, fail_on, len(failing))
        if failing:
            raise typer.Exit(code=ALERT_EXIT_CODE)


def _print_alerts(alerts: list, a: str, b: str, fail_on: str, failing: int) -> None:  # type: ignore[type-arg]
    console.print(f"drift from [bold]{a}[/] to [bold]{b}[/]: {len(alerts)} findings")
    if alerts:
        t = Table(title_justify="left")
        for col in ("severity", "check", "subject", "value", "message", "recommendation"):
            t.add_column(col)
        for x in alerts:
            color = "red" if x.severity == "alert" else "yellow"
            value = (
                f"{x.value:+.1%}" if x.kind in ("size", "cluster_distance") else f"{x.value:.3f}"
            )
            t.add_row(
                f"[{color}]{x.severity}[/]",
                x.kind,
                escape(x.subject),
                value,
                escape(x.message),
                escape(x.recommendation),
            )
        console.print(t)
    if failing:
        console.print(f"[red]{failing} findings at or above fail_on = {fail_on}[/]")
    else:
        console.print(f"[green]nothing at or above fail_on = {fail_on}[/]")


def register_diff(runs_app: typer.Typer) -> None:
    """Add ``diff`` to the ``runs`` command group."""

    @runs_app.command("diff")
    @handle_errors
    def diff_cmd(
        run_a: Annotated[str, typer.Argument(help="The earlier run.")],
        run_b: Annotated[str, typer.Argument(help="The later run.")],
        workspace: WorkspaceOpt = None,
        family: Annotated[
            str, typer.Option("--family", "-f", help="Segment family: rfm, clv_tier, cluster...")
        ] = "rfm",
        top: Annotated[int, typer.Option(min=1, help="Size changes to list.")] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Segment migration between two runs: transition matrix, flagged flows, size changes."""
        from custseg.monitor.migration import size_changes, transition_matrix

        ws = open_ws(workspace)
        tr = transition_matrix(ws, run_a, run_b, family)
        changes = size_changes(ws, run_a, run_b).head(top)
        if as_json:
            payload = tr.to_dict()
            payload["size_changes"] = [
                {
                    "segment": r.segment,
                    "family": r.family,
                    "size_a": int(r.size_a),
                    "size_b": int(r.size_b),
                    "change": int(r.change),
                }
                for r in changes.itertuples()
            ]
            typer.echo(json.dumps(payload, indent=2))
            return
        m = Table(title=f"{family}: {run_a} (rows) → {run_b} (columns)", title_justify="left")
        m.add_column("from \\ to")
        for c in tr.counts.columns:
            m.add_column(escape(str(c)), justify="right")
        m.add_column("total", justify="right")
        for r, row in tr.counts.iterrows():
            total = int(row.sum())
            cells = [f"{int(v):,} ({tr.rates.loc[r, c]:.0%})" if v else "·" for c, v in row.items()]
            m.add_row(escape(str(r)), *cells, f"{total:,}")
        console.print(m)
        if tr.flagged:
            f = Table(title="Flagged flows", title_justify="left")
            for col in ("from", "to", "customers", "of", "rate"):
                f.add_column(col, justify="right" if col in ("customers", "of", "rate") else "left")
            for x in tr.flagged:
                style = "[red]" if x.count else ""
                f.add_row(
                    x.source, x.target, f"{style}{x.count:,}", f"{x.source_size:,}", f"{x.rate:.1%}"
                )
            console.print(f)
        s = Table(title="Biggest size changes", title_justify="left")
        for col in ("segment", "family", run_a, run_b, "change"):
            s.add_column(escape(col), justify="left" if col in ("segment", "family") else "right")
        for r in changes.itertuples():
            s.add_row(r.segment, r.family, f"{r.size_a:,}", f"{r.size_b:,}", f"{r.change:+,}")
        console.print(s)
