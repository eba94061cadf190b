"""`custseg segments ...`: ``preview`` a rule here; the management commands (list, show,
members, evaluate, backtest, suggest, cluster) come from :mod:`custseg.cli.segments_manage`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws

__all__ = ["app", "print_preview", "register"]

app = typer.Typer(
    name="segments",
    help="Segments: define, preview, evaluate, backtest, suggest and cluster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(parent: typer.Typer) -> None:
    """Add the ``segments`` sub-app (preview and the management commands) to ``custseg``."""
    from custseg.cli.segments_manage import add_commands

    add_commands(app)
    parent.add_typer(app, name="segments")


def _cell(v: Any) -> str:
    if v is None:
        return "[dim]null[/]"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, datetime | date):
        return v.isoformat()
    return escape(str(v))


def print_preview(res: Any, out: Console) -> None:
    """Print a :class:`~custseg.segments.dsl.PreviewResult`: count, share, sample."""
    out.print(escape(res.rule), highlight=False, soft_wrap=True)
    out.print(
        f"[bold]{res.count:,}[/] of {res.total:,} customers match ({res.share:.1%}), "
        f"as of {res.as_of.isoformat()}"
    )
    if res.sample.num_rows == 0:
        return
    t = Table(title=f"Sample: first {res.sample.num_rows} by customer_id", title_justify="left")
    for name in res.sample.column_names:
        t.add_column(escape(name))
    for row in res.sample.to_pylist():
        t.add_row(*(_cell(v) for v in row.values()))
    out.print(t)


@app.command()
@handle_errors
def preview(
    rule: Annotated[
        str,
        typer.Argument(
            help="The rule, quoted, e.g. \"amount_spent > 500 AND country IN ('US', 'CA')\"."
        ),
    ],
    workspace: WorkspaceOpt = None,
    *,
    sample: Annotated[
        int, typer.Option("--sample", "-n", min=0, help="How many members to show.")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Count the customers a rule selects, their share, and show a sample.

    The rule is evaluated as of the date customer_features was built at (today,
    -90d ... count from it); rebuild with 'custseg features --as-of DATE' to move it.
    The language is described in docs/segment-language.md.
    """
    from custseg.segments.dsl import preview as run_preview
    from custseg.segments.registry import rule_context

    with open_ws(workspace) as ws:
        ws.connect(read_only=True)
        # the segment frame: features plus the tier and cluster columns
        ctx = rule_context(ws)
        res = run_preview(ctx, rule, sample=sample)
    if as_json:
        console.print_json(json.dumps(res.to_dict(), default=str))
        return
    print_preview(res, console)
