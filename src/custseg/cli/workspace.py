"""`custseg init` and `custseg status`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws
from custseg.status import workspace_status
from custseg.workspace import init_workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def init(
        directory: Annotated[
            Path, typer.Argument(help="Folder to create the workspace in.")
        ] = Path("."),
        *,
        force: Annotated[bool, typer.Option(help="Overwrite an existing custseg.toml.")] = False,
    ) -> None:
        """Create a workspace: a commented custseg.toml and an empty DuckDB file."""
        root = init_workspace(directory, force=force)
        console.print(f"Created workspace [bold]{root}[/] (custseg.toml, custseg.duckdb).")
        console.print(
            "Next: add \\[sources.NAME] to custseg.toml and run 'custseg ingest', "
            "or 'custseg ingest FILE --table TABLE'."
        )

    @app.command()
    @handle_errors
    def status(
        workspace: WorkspaceOpt = None,
        *,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Tables, row counts, the last load of each source, and quarantine counts."""
        with open_ws(workspace) as ws:
            st = workspace_status(ws)
        if as_json:
            console.print_json(json.dumps(st, default=str))
            return
        console.print(f"Workspace [bold]{st['root']}[/]  backend {st['backend']}")
        t = Table(title="Tables", title_justify="left")
        t.add_column("table")
        t.add_column("rows", justify="right")
        t.add_column("quarantined", justify="right")
        for name, info in st["tables"].items():
            t.add_row(name, f"{info['rows']:,}", f"{info['quarantined']:,}")
        console.print(t)
        if st["loads"]:
            lt = Table(title="Last load per source", title_justify="left")
            for c in ("source", "table", "finished (UTC)", "rows in", "loaded", "quarantined"):
                lt.add_column(c)
            for ld in st["loads"]:
                lt.add_row(
                    ld["source"],
                    ld["table"],
                    str(ld["finished_at"])[:19],
                    f"{ld['rows_in']:,}",
                    f"{ld['rows_loaded']:,}",
                    f"{ld['rows_quarantined']:,}",
                )
            console.print(lt)
        if st["quarantine_rules"]:
            qt = Table(title="Quarantine by rule", title_justify="left")
            qt.add_column("rule")
            qt.add_column("rows", justify="right")
            for rule, n in st["quarantine_rules"].items():
                qt.add_row(rule, f"{n:,}")
            console.print(qt)
        else:
            console.print("Quarantine: empty.")
