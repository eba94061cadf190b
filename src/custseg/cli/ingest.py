"""`custseg ingest`, `custseg validate` and `custseg quarantine`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, err_console, handle_errors, open_ws
from custseg.cli._report import print_report
from custseg.config import CsvOptions
from custseg.exceptions import UsageError
from custseg.ingest import LoadReport, ingest_file, ingest_sources, quarantine, validate_sources
from custseg.workspace import Workspace

__all__ = ["register", "run_ingest"]


def _looks_like_file(arg: str) -> bool:
    return Path(arg).exists() or any(
        arg.lower().endswith(e)
        for e in (".csv", ".gz", ".parquet", ".json", ".ndjson", ".jsonl", ".tsv", ".txt")
    )


def run_ingest(
    ws: Workspace, names: list[str] | None, *, dry_run: bool = False, force: bool = False
) -> LoadReport:
    """Load configured sources with a Rich progress bar."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(
            "validating" if dry_run else "loading", total=len(names or ws.config.sources)
        )

        def progress(name: str, done: int, total: int) -> None:
            bar.update(
                task,
                completed=done,
                total=total,
                description=f"{'validated' if dry_run else 'loaded'} {name}",
            )

        return ingest_sources(ws, names, dry_run=dry_run, force=force, progress=progress)


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def ingest(
        targets: Annotated[
            list[str] | None,
            typer.Argument(
                help="Configured source names (default: all), or one FILE to load ad hoc.",
                show_default=False,
            ),
        ] = None,
        *,
        workspace: WorkspaceOpt = None,
        table: Annotated[
            str | None, typer.Option(help="Canonical table a FILE loads into.")
        ] = None,
        mapping: Annotated[
            str | None,
            typer.Option(
                help="Mapping for a FILE: shopify_customers, shopify_orders, ga4_events, crm_contacts, or a [mappings] name."
            ),
        ] = None,
        fmt: Annotated[
            str | None,
            typer.Option(
                "--format", help="csv, parquet, json or ndjson (default: from the file name)."
            ),
        ] = None,
        delimiter: Annotated[str, typer.Option(help="CSV delimiter.")] = ",",
        encoding: Annotated[
            str, typer.Option(help="CSV encoding: utf-8, utf-16 or latin-1.")
        ] = "utf-8",
        no_header: Annotated[
            bool, typer.Option("--no-header", help="The CSV has no header row.")
        ] = False,
        timezone: Annotated[
            str, typer.Option(help="Time zone of timestamps without an offset.")
        ] = "UTC",
        currency: Annotated[
            str | None, typer.Option(help="Currency of money columns when the file has none.")
        ] = None,
        force: Annotated[
            bool, typer.Option(help="Reload even if the source is unchanged since its last load.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Load sources into the workspace: validated, atomic, idempotent.

        Rows that fail a rule go to the quarantine with their reason; rows in = loaded + quarantined.
        """
        with open_ws(workspace) as ws:
            file_mode = (
                table is not None
                or mapping is not None
                or (
                    targets
                    and len(targets) == 1
                    and targets[0] not in ws.config.sources
                    and _looks_like_file(targets[0])
                )
            )
            if file_mode:
                if not targets or len(targets) != 1:
                    raise UsageError(
                        "give exactly one FILE with --table/--mapping, e.g. 'custseg ingest orders.csv --table orders'."
                    )
                try:
                    csv = CsvOptions(delimiter=delimiter, encoding=encoding, header=not no_header)  # type: ignore[arg-type]
                except ValueError as e:
                    raise UsageError(f"bad CSV option: {str(e).splitlines()[-1].strip()}") from None
                report = ingest_file(
                    ws,
                    targets[0],
                    table=table,
                    mapping=mapping,
                    format=fmt,
                    csv=csv,
                    timezone=timezone,
                    currency=currency,
                    force=force,
                )
            else:
                report = run_ingest(ws, targets or None, force=force)
        if as_json:
            console.print_json(report.to_json())
        else:
            print_report(report, console)

    @app.command()
    @handle_errors
    def validate(
        sources: Annotated[
            list[str] | None,
            typer.Argument(help="Source names (default: all).", show_default=False),
        ] = None,
        *,
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Check the configured sources against every rule and print the report; writes nothing."""
        with open_ws(workspace) as ws:
            report = (
                validate_sources(ws, sources or None)
                if as_json
                else run_ingest(ws, sources or None, dry_run=True)
            )
        if as_json:
            console.print_json(report.to_json())
        else:
            print_report(report, console, title="Validation report (nothing written)")

    @app.command("quarantine")
    @handle_errors
    def quarantine_cmd(
        workspace: WorkspaceOpt = None,
        *,
        source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
        limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON (with the original rows).")
        ] = False,
    ) -> None:
        """Show quarantined rows: where they came from, the rule, the reason and the original row."""
        with open_ws(workspace) as ws:
            rows = quarantine(ws, source=source, limit=limit)
        if as_json:
            console.print_json(json.dumps(rows, default=str))
            return
        t = Table(title=f"Quarantine (first {limit})", title_justify="left")
        for c in ("file", "at", "rule", "reason"):
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(
                escape(Path(r["source_file"]).name),
                f"{r['position_kind']} {r['position']}",
                r["rule"],
                escape(r["reason"]),
            )
        console.print(t)
