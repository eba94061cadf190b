"""Rendering a load report as Rich tables."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from custseg.ingest import RULES, LoadReport

__all__ = ["print_report"]


def print_report(report: LoadReport, console: Console, *, title: str = "Load report") -> None:
    """Print per-source counts, then the rules that fired with their counts and meaning."""
    t = Table(title=title, title_justify="left")
    for col, just in (
        ("source", "left"),
        ("table", "left"),
        ("mapping", "left"),
        ("rows in", "right"),
        ("loaded", "right"),
        ("quarantined", "right"),
        ("repaired", "right"),
        ("s", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in report.sources:
        name = escape(s.source if not s.source.startswith("file:") else Path(s.file).name)
        mapping = escape(s.mapping + (f" ({s.variant})" if s.variant else ""))
        if s.skipped:
            t.add_row(
                name, s.table, mapping, "-", "unchanged, skipped", "-", "-", f"{s.seconds:.1f}"
            )
            continue
        t.add_row(
            name,
            s.table,
            mapping,
            f"{s.rows_in:,}",
            f"{s.rows_loaded:,}",
            f"{s.rows_quarantined:,}",
            f"{sum(s.repaired.values()):,}",
            f"{s.seconds:.1f}",
        )
    t.add_section()
    t.add_row(
        "total",
        "",
        "",
        f"{report.rows_in:,}",
        f"{report.rows_loaded:,}",
        f"{report.rows_quarantined:,}",
        f"{sum(report.totals('repaired').values()):,}",
        "",
    )
    console.print(t)
    rules = Table(title="Rules applied", title_justify="left")
    rules.add_column("rule")
    rules.add_column("action")
    rules.add_column("rows", justify="right")
    rules.add_column("meaning", overflow="fold")
    any_rule = False
    for bucket, action in (
        ("quarantined", "quarantined"),
        ("repaired", "repaired"),
        ("kept", "kept as is"),
    ):
        for rule, n in sorted(report.totals(bucket).items(), key=lambda kv: -kv[1]):
            rules.add_row(rule, action, f"{n:,}", RULES[rule][1])
            any_rule = True
    if any_rule:
        console.print(rules)
    extra = {c for s in report.sources for c in s.unknown_columns}
    if extra:
        console.print(
            f"[dim]Columns not mapped (kept out of the tables): {escape(', '.join(sorted(extra)[:30]))}[/]"
        )
    ok = all(s.balanced for s in report.sources)
    console.print(
        f"rows in {report.rows_in:,} = loaded {report.rows_loaded:,} + quarantined "
        f"{report.rows_quarantined:,}" + (" [green]✓[/]" if ok else " [red]✗[/]")
    )
