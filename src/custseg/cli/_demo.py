"""The second half of `custseg demo`: backfill the pipeline and show what each stage made.

The demo runs the pipeline as of :data:`DEMO_RUNS` month ends up to the latest order
(``custseg demo --runs N``), then shows the latest run's features, segments and actions,
and what the history adds: the RFM migration and the drift alerts between the last two
runs, the planted campaign's lift by RFM segment (segments from the last run before the
campaign) and the CLV model's validation on the newest run whose horizon has passed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.exceptions import UsageError

__all__ = ["DEMO_EXPORTS", "DEMO_RUNS", "DEMO_VALIDATION_DAYS", "show_pipeline"]

#: Monthly runs the demo backfills (``custseg demo --runs``).
DEMO_RUNS = 12
#: The horizon of the demo's CLV validation (the default one-year horizon has not passed
#: for any run of a 12-month backfill).
DEMO_VALIDATION_DAYS = 90

#: (segment, format, destination, hash identifiers): one export per format.
DEMO_EXPORTS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("rfm_champions", "csv", "klaviyo", False),
    ("clv_top", "parquet", None, False),
    ("churn_high", "json", "google_ads", True),
)


def _backfill(ws: Any, out: Console, runs: int) -> list[Any]:
    from custseg.pipeline import _add_months, _order_dates, backfill

    first, last = _order_dates(ws)
    if first is None or last is None:
        raise UsageError("the demo workspace has no orders; run `custseg demo` again.")
    # month ends when the data ends on one (Jun 30 -> Jul 31, Aug 31, ...)
    start = max(_add_months(last, -(runs - 1)), first)

    def on_run(i: int, n: int, r: Any) -> None:
        skipped = r.details.get("skipped") or []
        note = (
            " (recommender skipped: the last run fits it)" if "recommendations" in skipped else ""
        )
        out.print(
            f"[{i:>2}/{n}] {r.run_id} as of {r.as_of}: {r.status} in "
            f"{sum(r.stages.values()):.1f} s{note}",
            highlight=False,
        )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task("run", total=None)

        def on_stage(stage: str, state: str) -> None:
            if state == "start":
                progress.update(task, description=stage)

        return backfill(ws, start, every="month", end=last, on_run=on_run, on_stage=on_stage)


def _history(ws: Any, out: Console, results: list[Any]) -> None:
    """Migration, drift, the campaign's lift and the CLV validation."""
    from custseg.monitor.drift import drift_alerts
    from custseg.monitor.migration import transition_matrix

    if len(results) >= 2:
        a, b = results[-2], results[-1]
        out.rule(f"[bold]8. Segment migration (RFM), {a.as_of} → {b.as_of}")
        tr = transition_matrix(ws, a.run_id, b.run_id, "rfm")
        flows = tr.flows()
        moved = flows[flows.source != flows.target].head(8)
        t = Table(title="Biggest moves between RFM groups", title_justify="left")
        for col in ("from", "to", "customers", "of the group"):
            t.add_column(col, justify="left" if col in ("from", "to") else "right")
        for r in moved.itertuples():
            t.add_row(escape(str(r.source)), escape(str(r.target)), f"{r.count:,}", f"{r.rate:.1%}")
        out.print(t)
        for f in tr.flagged:
            out.print(
                f"flagged: {f.source} → {f.target}: {f.count:,} of {f.source_size:,} "
                f"({f.rate:.1%})",
                highlight=False,
            )
        out.rule("[bold]9. Drift alerts (custseg monitor)")
        alerts = drift_alerts(ws, a.run_id, b.run_id)
        if not alerts:
            out.print("no drift between the last two runs.")
        else:
            d = Table(title=f"{len(alerts)} findings", title_justify="left")
            for col in ("severity", "check", "subject", "message"):
                d.add_column(col)
            for x in alerts[:10]:
                color = "red" if x.severity == "alert" else "yellow"
                d.add_row(f"[{color}]{x.severity}[/]", x.kind, escape(x.subject), escape(x.message))
            out.print(d)
            if len(alerts) > 10:
                out.print(f"... and {len(alerts) - 10} more: custseg monitor -w {ws.root}")
    _campaign(ws, out, results)
    _validation(ws, out)


def _campaign(ws: Any, out: Console, results: list[Any]) -> None:
    from custseg.monitor.charts import fmt_ci, fmt_p, fmt_pct, fmt_points
    from custseg.monitor.experiments import measure_campaign
    from custseg.segments.registry import SNAPSHOTS_TABLE

    con = ws.connect()
    if "campaigns" not in con.list_tables():
        return
    c = con.table("campaigns").order_by("started_at").limit(1).to_pyarrow().to_pylist()
    if not c:
        return
    cid, started = c[0]["campaign_id"], c[0]["started_at"]
    before = [r for r in results if started is not None and r.as_of < started.date()]
    if before:
        r = before[-1]
        s = con.table(SNAPSHOTS_TABLE)
        seg = s.filter((s.run_id == r.run_id) & (s.family == "rfm")).select(
            "customer_id", "segment"
        )
        how = f"RFM groups of the run as of {r.as_of}, before the campaign"
    else:
        seg, how = "rfm", "RFM groups of the latest run"
    out.rule(f"[bold]10. The planted campaign {cid}: lift by RFM group")
    out.print(f"segments: {how}", highlight=False)
    m = measure_campaign(ws, cid, by=seg, n_boot=1000)
    t = Table(
        title=f"Conversion lift, treatment vs control ({m.confidence:.0%} intervals)",
        title_justify="left",
    )
    for col in ("segment", "n T", "n C", "rate T", "rate C", "lift", "lift CI", "q (BH)"):
        t.add_column(col, justify="left" if col == "segment" else "right")
    rows = [*m.segments, m.overall]
    for r in rows:
        t.add_row(
            escape(r.title) if r is not m.overall else "[bold]all exposed[/]",
            f"{r.n_treatment:,}",
            f"{r.n_control:,}",
            fmt_pct(r.rate_treatment),
            fmt_pct(r.rate_control),
            fmt_points(r.lift),
            fmt_ci(r.lift_ci, "points"),
            fmt_p(r.q_value),
            end_section=(r is rows[-2]),
        )
    out.print(t)
    out.print(f"full table with revenue and CLV: custseg measure {cid} --by rfm -w {ws.root}")


def _validation(ws: Any, out: Console) -> None:
    from custseg.cli.runs import print_validation
    from custseg.monitor.validation import latest_checkable_run, validate_run

    days = DEMO_VALIDATION_DAYS
    run_id = latest_checkable_run(ws, horizon_days=days)
    out.rule(f"[bold]11. CLV model check: predicted vs actual orders over {days} days")
    if run_id is None:
        out.print(f"no run is {days} days old yet: back-fill further (custseg backfill).")
        return
    print_validation(validate_run(ws, run_id, horizon_days=days), out)


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


def show_pipeline(ws: Any, out: Console, *, runs: int = DEMO_RUNS) -> None:
    """Backfill the pipeline on a demo workspace and print each stage's result.

    Parameters
    ----------
    ws : Workspace
        The demo workspace, loaded.
    out : Console
    runs : int, default DEMO_RUNS
        Monthly runs to backfill, the last as of the latest order.
    """
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

    out.rule(f"[bold]3. Pipeline: {runs} monthly runs (features, models, segments, actions)")
    results = _backfill(ws, out, runs)
    out.print(
        "latest run's stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in results[-1].stages.items())
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
    _history(ws, out, results)
    out.rule("[bold]12. Exports and the report")
    for segment, fmt, dest, hashed in DEMO_EXPORTS:
        r = export_segment(ws, segment, format=fmt, destination=dest, hash_identifiers=hashed)
        note = " (hashed)" if r.hashed else ""
        if r.excluded_no_consent or r.excluded_no_email:
            note += f"; {r.excluded_no_consent + r.excluded_no_email:,} without consent or e-mail left out"
        out.print(f"{fmt:>7}: {r.rows:,} rows of {segment} for {r.destination} -> {r.path}{note}")
    path = build_report(ws)
    out.print(f" report: {path} ({path.stat().st_size / 1e6:.1f} MB, offline, open in a browser)")
    out.rule("[bold]13. The dashboard and the REST API")
    out.print(
        f"  custseg tokens create --scope write -w {ws.root}  # prints a token once\n"
        f"  custseg serve -w {ws.root}                        # or: make serve\n"
        "  dashboard: http://127.0.0.1:8000/ (log in with the token); "
        "API docs: http://127.0.0.1:8000/docs\n"
        '  curl -H "Authorization: Bearer <token>" http://127.0.0.1:8000/customers/C0000001'
    )
