"""`custseg actions plan|shipping|recommend`, `custseg export` and `custseg webhooks ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws

__all__ = ["print_plan", "print_shipping", "register"]


def _money(x: float | None) -> str:
    return "" if x is None else f"{x:,.0f}"


def print_plan(actions: list[Any], out: Any = console, *, limit: int | None = None) -> None:
    """Print the action plan, best expected value first."""
    wide = out.width >= 150  # narrow terminals: leave out revenue, cost and the message
    t = Table(title="Action plan (ranked by expected value)", title_justify="left")
    cols = [
        ("#", "right"),
        ("segment", "left"),
        ("objective", "left"),
        ("channel", "left"),
        ("offer", "left"),
        ("reach", "right"),
    ]
    if wide:
        cols += [("exp. revenue", "right"), ("exp. cost", "right")]
    cols += [("exp. value", "right")]
    if wide:
        cols += [("message", "left")]
    for col, just in cols:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for a in actions[:limit] if limit else actions:
        row = [str(a.rank), escape(a.title), a.objective, a.channel, a.offer, f"{a.reach:,}"]
        if wide:
            row += [_money(a.expected_revenue), _money(a.expected_cost)]
        row += [_money(a.expected_value)]
        if wide:
            row += [escape(a.message)]
        t.add_row(*row)
    out.print(t)


def print_shipping(summary: list[Any], out: Any = console) -> None:
    """Print the shipping tiers: customers, share of orders, estimated cost."""
    t = Table(
        title="Shipping tiers (orders of the last 365 days; far = beyond the delivery promise)",
        title_justify="left",
    )
    for col, just in (
        ("tier", "left"),
        ("method", "left"),
        ("customers", "right"),
        ("orders", "right"),
        ("share", "right"),
        ("est. cost", "right"),
        ("per order", "right"),
        ("far", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in summary:
        t.add_row(
            s.tier,
            s.method,
            f"{s.customers:,}",
            f"{s.orders_365d:,}",
            f"{s.share_of_orders:.1%}",
            _money(s.estimated_cost),
            "" if s.cost_per_order is None else f"{s.cost_per_order:,.2f}",
            f"{s.beyond_promise:,}",
        )
    out.print(t)


def register(app: typer.Typer) -> None:
    """Add ``actions``, ``export`` and ``webhooks`` to the app."""
    actions_app = typer.Typer(
        help="Playbooks, shipping tiers and recommendations.", no_args_is_help=True
    )
    webhooks_app = typer.Typer(help="Send segment changes to webhooks.", no_args_is_help=True)
    app.add_typer(actions_app, name="actions")
    app.add_typer(webhooks_app, name="webhooks")

    @actions_app.command("plan")
    @handle_errors
    def plan_cmd(
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        write: Annotated[
            bool, typer.Option(help="Write each customer's action to customer_actions.")
        ] = True,
    ) -> None:
        """The playbook's actions per segment, with reach and expected value."""
        from custseg.actions.playbooks import assign_actions, plan

        ws = open_ws(workspace)
        actions = plan(ws)
        if write:
            assign_actions(ws, actions)
        if as_json:
            console.print_json(json.dumps([a.to_dict() for a in actions]))
            return
        print_plan(actions)

    @actions_app.command("shipping")
    @handle_errors
    def shipping_cmd(
        workspace: WorkspaceOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Assign shipping tiers (table shipping_tiers) and print each tier's orders and cost."""
        from custseg.actions.shipping import assign_shipping, tier_summary

        ws = open_ws(workspace)
        assigned = assign_shipping(ws)
        summary = tier_summary(ws, assigned)
        if as_json:
            console.print_json(json.dumps([s.to_dict() for s in summary]))
            return
        print_shipping(summary)
        console.print(
            f"Per-customer tiers, reasons and packaging flags are in the table shipping_tiers "
            f"(promise radius {ws.config.actions.shipping.promise_radius_km:,.0f} km)."
        )

    @actions_app.command("recommend")
    @handle_errors
    def recommend_cmd(
        customer: Annotated[str, typer.Argument(help="A customer id.")],
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Print a customer's recommended products (from the last run's recommendations)."""
        ws = open_ws(workspace)
        con = ws.connect()
        if "recommendations" not in con.list_tables():
            from custseg.exceptions import WorkspaceError

            raise WorkspaceError("no recommendations yet; run `custseg run` first.")
        r = con.table("recommendations")
        rows = r.filter(r.customer_id == customer).order_by("rank").to_pyarrow().to_pylist()
        t = Table(title=f"Recommendations for {escape(customer)}", title_justify="left")
        cols = [
            c for c in ("rank", "sku", "product_name", "category", "score") if rows and c in rows[0]
        ]
        for c in cols:
            t.add_column(c)
        for row in rows:
            t.add_row(*[escape(f"{row[c]:.3f}" if c == "score" else str(row[c])) for c in cols])
        console.print(t if rows else f"No recommendations for {escape(customer)}.")

    @app.command("export")
    @handle_errors
    def export_cmd(
        segment: Annotated[str, typer.Argument(help="Segment key or title.")],
        workspace: WorkspaceOpt = None,
        format: Annotated[
            str, typer.Option("--format", "-f", help="csv, parquet or json.")
        ] = "csv",
        destination: Annotated[
            str | None,
            typer.Option(
                help="klaviyo, mailchimp, google_ads, meta or an [exports.destinations] name."
            ),
        ] = None,
        columns: Annotated[str | None, typer.Option(help="Comma-separated extra columns.")] = None,
        hash_identifiers: Annotated[
            bool,
            typer.Option("--hash-identifiers", help="SHA-256 of normalised e-mail, phone, names."),
        ] = False,
        diff_since: Annotated[
            str | None, typer.Option("--diff-since", help="Only who entered/exited since this run.")
        ] = None,
        out: Annotated[Path | None, typer.Option(help="Output file.")] = None,
    ) -> None:
        """Export an evaluated segment to a file, with privacy rules applied."""
        from custseg.actions.exports import export_segment

        ws = open_ws(workspace)
        r = export_segment(
            ws,
            segment,
            format=format,
            out=out,
            destination=destination,
            columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else (),
            hash_identifiers=hash_identifiers,
            diff_since=diff_since,
        )
        extra = []
        if r.excluded_no_consent:
            extra.append(f"{r.excluded_no_consent:,} without e-mail consent left out")
        if r.excluded_no_email:
            extra.append(f"{r.excluded_no_email:,} without an e-mail address left out")
        console.print(
            f"wrote {r.rows:,} rows of {r.segment} for {r.destination} to {r.path}"
            + (" (identifiers hashed)" if r.hashed else "")
            + (f"; {'; '.join(extra)}" if extra else "")
        )

    @webhooks_app.command("deliver")
    @handle_errors
    def deliver_cmd(workspace: WorkspaceOpt = None) -> None:
        """Send the changes of the last evaluation to every configured webhook."""
        from custseg.actions.webhooks import deliver

        ws = open_ws(workspace)
        rep = deliver(ws)
        for name in rep.sent:
            console.print(
                f"{name}: {rep.sent[name]} batches ({rep.customers[name]:,} customers) sent, "
                f"{rep.skipped[name]} already delivered, {rep.dead_lettered[name]} dead-lettered"
            )
        if not rep.sent:
            console.print("No webhooks configured ([webhooks.<name>] in custseg.toml).")

    @webhooks_app.command("retry")
    @handle_errors
    def retry_cmd(workspace: WorkspaceOpt = None) -> None:
        """Send the dead-lettered batches again."""
        from custseg.actions.webhooks import retry_dead_letters

        ok, failing = retry_dead_letters(open_ws(workspace))
        console.print(f"{ok} batches delivered, {failing} still failing.")
