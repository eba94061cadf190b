"""`custseg run` and `custseg runs list|show`."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws
from custseg.exceptions import UsageError

__all__ = ["register"]


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not a date; write YYYY-MM-DD.") from None


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``runs`` to the app."""
    from custseg.cli.monitor import register_diff

    runs_app = typer.Typer(help="Recorded pipeline runs.", no_args_is_help=True)
    app.add_typer(runs_app, name="runs")
    register_diff(runs_app)

    @app.command("run")
    @handle_errors
    def run_cmd(
        workspace: WorkspaceOpt = None,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the latest order).")
        ] = None,
    ) -> None:
        """Run the whole pipeline: features, models, segments, actions, deliveries."""
        from custseg.pipeline import STAGES, run

        ws = open_ws(workspace)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            tasks = {s: progress.add_task(f"[dim]{s}[/]", total=1, start=False) for s in STAGES}

            def on_stage(stage: str, state: str) -> None:
                if state == "start":
                    progress.start_task(tasks[stage])
                    progress.update(tasks[stage], description=stage)
                else:
                    progress.update(tasks[stage], completed=1, description=f"[green]{stage}[/]")

            result = run(ws, as_of=_date(as_of), on_stage=on_stage)
        console.print(
            f"run [bold]{result.run_id}[/] as of {result.as_of}: {result.status} in "
            f"{sum(result.stages.values()):.1f} s"
        )

    @runs_app.command("list")
    @handle_errors
    def list_cmd(
        workspace: WorkspaceOpt = None,
        limit: Annotated[int, typer.Option(min=1)] = 20,
    ) -> None:
        """The recorded runs, newest first."""
        from custseg.pipeline import list_runs

        runs = list_runs(open_ws(workspace), limit=limit)
        t = Table(title=f"{len(runs)} runs", title_justify="left")
        for col in ("run", "as of", "status", "started", "seconds", "config", "data"):
            t.add_column(col)
        for r in runs:
            color = {"succeeded": "green", "failed": "red"}.get(r.status, "yellow")
            t.add_row(
                r.run_id,
                str(r.as_of or ""),
                f"[{color}]{r.status}[/]",
                r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{sum(r.stages.values()):.1f}",
                r.config_hash,
                r.data_hash,
            )
        console.print(t)

    @runs_app.command("show")
    @handle_errors
    def show_cmd(
        run_id: Annotated[str, typer.Argument(help="A run id from `custseg runs list`.")],
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """One run: status, stage timings, hashes and error."""
        from custseg.pipeline import get_run

        r = get_run(open_ws(workspace), run_id)
        if r is None:
            raise UsageError(f"no run {run_id!r}; `custseg runs list` shows the runs.")
        if as_json:
            console.print_json(json.dumps(r.to_dict()))
            return
        console.print(f"[bold]{r.run_id}[/] as of {r.as_of}: {r.status}")
        for stage, secs in r.stages.items():
            console.print(f"  {stage:<12} {secs:8.2f} s")
        console.print(f"config {r.config_hash}, data {r.data_hash}")
        if r.error:
            console.print(f"[red]error:[/] {escape(r.error)}")
