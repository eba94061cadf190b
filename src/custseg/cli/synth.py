"""`custseg synth` and `custseg demo`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.cli._common import console, err_console, handle_errors
from custseg.cli._demo import DEMO_RUNS, show_pipeline
from custseg.cli._report import print_report
from custseg.cli.ingest import run_ingest
from custseg.demo import DEMO_TABLES, reconcile, write_demo_config
from custseg.exceptions import UsageError
from custseg.workspace import open_workspace

__all__ = ["register"]


def _generate(out: Path, customers: int, seed: int):  # noqa: ANN202 - returns SynthManifest
    from custseg.synth import generate

    with Progress(
        TextColumn("generating demo store"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} customers"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("synth", total=customers)
        return generate(
            out,
            customers=customers,
            seed=seed,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def synth(
        *,
        customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 20_000,
        out: Annotated[Path, typer.Option(help="Output folder for the Parquet files.")] = Path(
            "synth-store"
        ),
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same store).")] = 0,
    ) -> None:
        """Generate a demo store (Parquet files, planted personas, dirty rows) into --out."""
        m = _generate(out, customers, seed)
        console.print(f"Wrote a {customers:,}-customer store to [bold]{out}[/]:")
        for table, info in m.files.items():
            console.print(f"  {table:<20} {info['rows']:>12,} rows  {info['path']}")
        console.print("Dirty rows injected: " + ", ".join(f"{k} {v:,}" for k, v in m.dirty.items()))

    @app.command()
    @handle_errors
    def demo(
        directory: Annotated[Path, typer.Argument(help="Workspace folder to create.")] = Path(
            "demo"
        ),
        *,
        customers: Annotated[int, typer.Option(min=100, help="Number of customers.")] = 20_000,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        fresh: Annotated[bool, typer.Option(help="Delete DIRECTORY first if it exists.")] = True,
        runs: Annotated[
            int, typer.Option(min=1, help="Monthly pipeline runs to backfill (history).")
        ] = DEMO_RUNS,
    ) -> None:
        """From nothing to a loaded workspace: generate a store, ingest it, backfill monthly runs."""
        if directory.exists() and any(directory.iterdir()):
            if not fresh:
                raise UsageError(f"{directory} is not empty; pass --fresh to replace it.")
            if not (directory / "custseg.toml").exists() and not (directory / "data").exists():
                raise UsageError(
                    f"{directory} exists and is not a custseg demo workspace; refusing to delete it. "
                    "Choose another folder."
                )
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        console.rule("[bold]1. Generate the demo store")
        m = _generate(directory / "data", customers, seed)
        console.print(
            f"{customers:,} customers, "
            + ", ".join(
                f"{m.files[t]['rows']:,} {t}"
                for t in DEMO_TABLES
                if t in m.files and t != "customers"
            )
        )
        write_demo_config(directory, m)
        console.rule("[bold]2. Ingest into the workspace")
        with open_workspace(directory) as ws:
            report = run_ingest(ws, None)
        print_report(report, console)
        t = Table(
            title="Dirty rows: injected by the generator, found by ingestion", title_justify="left"
        )
        for col, just in (
            ("injected", "left"),
            ("rows", "right"),
            ("found", "right"),
            ("caught by", "left"),
        ):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for kind, injected, found, rules in reconcile(m, report):
            mark = "[green]✓[/]" if found == injected else "[red]✗[/]"
            t.add_row(kind, f"{injected:,}", f"{found:,} {mark}", rules)
        console.print(t)
        with open_workspace(directory) as ws:
            show_pipeline(ws, console, runs=runs)
        console.print(
            f"\nWorkspace ready in [bold]{directory}[/]. Try:\n"
            f"  custseg segments list -w {directory}\n"
            f"  custseg segments preview \"amount_spent > 500 AND main_device = 'mobile'\" -w {directory}\n"
            f"  custseg profile rfm_champions -w {directory}\n"
            f"  custseg status -w {directory}"
        )
