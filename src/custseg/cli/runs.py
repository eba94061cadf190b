"""`custseg run`, `custseg backfill` and `custseg runs list|show|validate`."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws
from custseg.exceptions import UsageError

__all__ = ["print_validation", "register"]

_STATUS_COLORS = {"succeeded": "green", "failed": "red", "interrupted": "red"}


def _date(text: str | None, option: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date; write YYYY-MM-DD.") from None


def print_validation(v: Any, out: Any = console) -> None:
    """Print a :class:`~custseg.monitor.validation.RunValidation`: per segment, then deciles."""
    o = v.overall.iloc[0]
    out.print(
        f"run [bold]{v.run_id}[/] as of {v.as_of}: predicted {o.predicted:,.0f} orders "
        f"(purchase days) in the {v.horizon_days} days to {v.end}, actual {int(o.actual):,} "
        f"({o.relative_error:+.1%}) over {int(o.n_customers):,} customers",
        highlight=False,
    )
    t = Table(title=f"Predicted vs actual orders by {escape(v.family)}", title_justify="left")
    for col in ("segment", "customers", "predicted", "actual", "error", "mean pred.", "mean act."):
        t.add_column(col, justify="left" if col == "segment" else "right")
    rows = [*v.by_segment.itertuples(), *v.overall.assign(segment="all").itertuples()]
    for i, r in enumerate(rows):
        err = "" if r.relative_error != r.relative_error else f"{r.relative_error:+.1%}"
        t.add_row(
            escape(str(r.segment)),
            f"{int(r.n_customers):,}",
            f"{r.predicted:,.0f}",
            f"{int(r.actual):,}",
            err,
            f"{r.mean_predicted:.2f}",
            f"{r.mean_actual:.2f}",
            end_section=(i == len(rows) - 2),
        )
    out.print(t)
    c = Table(title="Calibration: customers by decile of predicted orders", title_justify="left")
    for col in ("decile", "customers", "predicted range", "mean predicted", "mean actual"):
        c.add_column(col, justify="right")
    for r in v.calibration.itertuples():
        c.add_row(
            str(r.decile),
            f"{r.n_customers:,}",
            f"{r.min_predicted:.2f}-{r.max_predicted:.2f}",
            f"{r.mean_predicted:.2f}",
            f"{r.mean_actual:.2f}",
        )
    out.print(c)
    for note in v.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


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
        from custseg.pipeline import current_run, list_runs

        ws = open_ws(workspace)
        runs = list_runs(ws, limit=limit)
        now = current_run(ws)
        t = Table(
            title=f"{len(runs)} runs (* the current run: its tables are served)",
            title_justify="left",
        )
        for col in ("run", "as of", "status", "started", "seconds", "config", "data"):
            t.add_column(col)
        for r in runs:
            color = _STATUS_COLORS.get(r.status, "yellow")
            mark = " *" if now is not None and r.run_id == now.run_id else ""
            t.add_row(
                r.run_id + mark,
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

    @app.command("backfill")
    @handle_errors
    def backfill_cmd(
        start: Annotated[
            str, typer.Option("--from", help="First as-of date, YYYY-MM-DD.", show_default=False)
        ],
        workspace: WorkspaceOpt = None,
        to: Annotated[
            str | None,
            typer.Option("--to", help="Last as-of date (default: the latest order)."),
        ] = None,
        every: Annotated[str, typer.Option(help="week, month or quarter.")] = "month",
        skip_existing: Annotated[
            bool,
            typer.Option(
                "--skip-existing",
                help="Reuse succeeded runs with the same as-of date, config and data.",
            ),
        ] = False,
    ) -> None:
        """Run the pipeline as of past dates (one atomic run each) to build a history."""
        from custseg.pipeline import backfill

        ws = open_ws(workspace)
        first = _date(start, "--from")
        assert first is not None

        def on_run(i: int, n: int, r: Any) -> None:
            how = (
                "reused"
                if r.details.get("reused")
                else f"{r.status} in {sum(r.stages.values()):.1f} s"
            )
            console.print(f"[{i:>{len(str(n))}}/{n}] {r.as_of} {r.run_id}: {how}", highlight=False)

        results = backfill(
            ws,
            first,
            every=every,  # type: ignore[arg-type]
            end=_date(to, "--to"),
            skip_existing=skip_existing,
            on_run=on_run,
        )
        t = Table(title=f"{len(results)} runs, every {every}", title_justify="left")
        for col in ("as of", "run", "status", "seconds", "segments"):
            t.add_column(col, justify="right" if col in ("seconds", "segments") else "left")
        for r in results:
            reused = bool(r.details.get("reused"))
            t.add_row(
                str(r.as_of),
                r.run_id,
                "[dim]reused[/]" if reused else f"[green]{r.status}[/]",
                "" if reused else f"{sum(r.stages.values()):.1f}",
                f"{len(r.details.get('segments', {})):,}" if not reused else "",
            )
        console.print(t)

    @runs_app.command("validate")
    @handle_errors
    def validate_cmd(
        run_id: Annotated[
            str | None, typer.Argument(help="A run id (default with --latest: see below).")
        ] = None,
        workspace: WorkspaceOpt = None,
        by: Annotated[
            str, typer.Option("--by", help="Segment family of the per-segment rows.")
        ] = "rfm",
        horizon_days: Annotated[
            int | None,
            typer.Option(
                "--horizon-days", min=1, help="Days to compare over (default: the run's horizon)."
            ),
        ] = None,
        latest: Annotated[
            bool,
            typer.Option(
                "--latest-checkable",
                "--latest",
                help="Validate the newest run whose horizon has passed.",
            ),
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """CLV model check: a run's predicted orders against the orders that followed."""
        from custseg.monitor.validation import latest_checkable_run, validate_run

        ws = open_ws(workspace)
        if run_id is None and not latest:
            raise UsageError("name a run (`custseg runs list`) or pass --latest-checkable.")
        if run_id is not None and latest:
            raise UsageError("pass a run id or --latest-checkable, not both.")
        if run_id is None:
            run_id = latest_checkable_run(ws, horizon_days=horizon_days)
            if run_id is None:
                h = f"{horizon_days} days" if horizon_days else "its own horizon"
                raise UsageError(
                    f"no run can be checked over {h} yet: every run's horizon reaches past the "
                    "latest order. Pass a shorter --horizon-days, or backfill earlier runs "
                    "(`custseg backfill --from DATE`)."
                )
        v = validate_run(ws, run_id, by=by, horizon_days=horizon_days)
        if as_json:
            typer.echo(json.dumps(v.to_dict(), indent=2, default=str))
            return
        print_validation(v)
