"""The second half of `custseg demo`: run the pipeline and show what each stage made."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["DEMO_EXPORTS", "show_pipeline"]

#: (segment, format, destination, hash identifiers): one export per format.
DEMO_EXPORTS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("rfm_champions", "csv", "klaviyo", False),
    ("clv_top", "parquet", None, False),
    ("churn_high", "json", "google_ads", True),
)


def _run(ws: Any, out: Console) -> Any:
    from custseg.pipeline import STAGES, run

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as progress:
        tasks = {s: progress.add_task(f"[dim]{s}[/]", total=1, start=False) for s in STAGES}

        def on_stage(stage: str, state: str) -> None:
            if state == "start":
                progress.start_task(tasks[stage])
                progress.update(tasks[stage], description=stage)
            else:
                progress.update(tasks[stage], completed=1, description=f"[green]{stage}[/]")

        return run(ws, on_stage=on_stage)


def _segments_table(ws: Any, out: Console) -> None:
    from custseg.segments.registry import load_definitions

    con = ws.connect()
    m = con.table("memberships")
    rows = m.group_by("segment").aggregate(n=m.count()).to_pyarrow().to_pylist()
    sizes = {r["segment"]: r["n"] for r in rows}
    total = con.table("customer_features").count().to_pyarrow().as_py()
    t = Table(
        title="Segments (RFM groups above; tiers, clusters and rule segments)", title_justify="left"
    )
    for col, just in (
        ("segment", "left"),
        ("family", "left"),
        ("customers", "right"),
        ("share", "right"),
        ("definition", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for d in load_definitions(ws):
        if d.family == "rfm":
            continue
        n = sizes.get(d.name, 0)
        rule = " ".join(d.rule.split())
        t.add_row(
            escape(d.title),
            d.family,
            f"{n:,}",
            f"{n / total:.1%}",
            escape(rule if len(rule) <= 60 else rule[:57] + "..."),
        )
    out.print(t)


def show_pipeline(ws: Any, out: Console) -> None:
    """Run the pipeline on a demo workspace and print each stage's result."""
    if not out.is_terminal and out.width < 120:
        out = Console(width=120)  # piped output (logs, CI): room for the tables
    from custseg.actions.exports import export_segment
    from custseg.actions.playbooks import plan
    from custseg.actions.shipping import tier_summary
    from custseg.cli.actions import print_plan, print_shipping
    from custseg.cli.features import features_summary, print_features_summary
    from custseg.cli.segments_manage import print_clustering
    from custseg.report import build_report
    from custseg.segments.registry import load_cluster_model

    out.rule("[bold]3. Pipeline: features, models, segments, actions")
    result = _run(ws, out)
    out.print(
        f"run {result.run_id} as of {result.as_of}: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.stages.items())
    )
    out.rule("[bold]4. Customer features, RFM groups, CLV and churn")
    print_features_summary(features_summary(ws), out)
    model = load_cluster_model(ws)
    if model is not None:
        out.rule("[bold]5. Automatic clustering (behavioral features)")
        print_clustering(model, out)
    out.rule("[bold]6. Segments")
    _segments_table(ws, out)
    out.rule("[bold]7. Actions: playbook plan and shipping tiers")
    print_plan(plan(ws), out, limit=10)
    print_shipping(tier_summary(ws), out)
    out.rule("[bold]8. Exports and the report")
    for segment, fmt, dest, hashed in DEMO_EXPORTS:
        r = export_segment(ws, segment, format=fmt, destination=dest, hash_identifiers=hashed)
        note = " (hashed)" if r.hashed else ""
        if r.excluded_no_consent or r.excluded_no_email:
            note += f"; {r.excluded_no_consent + r.excluded_no_email:,} without consent or e-mail left out"
        out.print(f"{fmt:>7}: {r.rows:,} rows of {segment} for {r.destination} -> {r.path}{note}")
    path = build_report(ws)
    out.print(f" report: {path} ({path.stat().st_size / 1e6:.1f} MB, offline, open in a browser)")
    out.rule("[bold]9. The REST API")
    out.print(
        f"  custseg tokens create --scope read -w {ws.root}   # prints a token once\n"
        f"  custseg serve -w {ws.root}                        # http://127.0.0.1:8000/docs\n"
        '  curl -H "Authorization: Bearer <token>" http://127.0.0.1:8000/customers/C0000001'
    )
