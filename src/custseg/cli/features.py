"""`custseg features`: build customer_features as of a date and print a summary."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any

import ibis
import typer
from rich.console import Console
from rich.table import Table

from custseg.cli._common import WorkspaceOpt, console, handle_errors, open_ws
from custseg.exceptions import UsageError

__all__ = ["register", "features_summary", "print_features_summary"]


def features_summary(workspace: Any) -> dict[str, Any]:
    """Counts of the RFM groups, mean predicted CLV and the share likely churned."""
    from custseg.features import FEATURES_TABLE

    con = workspace.connect()
    t = con.table(FEATURES_TABLE)
    groups = (
        t.group_by("rfm_group").agg(n=t.count()).order_by(ibis.desc("n")).to_pyarrow().to_pylist()
    )
    clv_cols = [
        c for c in t.columns if c.startswith("clv_") and c.endswith("d") and c[4:-1].isdigit()
    ]
    out: dict[str, Any] = {
        "customers": int(t.count().to_pyarrow().as_py()),
        "columns": len(t.columns),
        "as_of": str(t.as_of.max().to_pyarrow().as_py()),
        "rfm_groups": {g["rfm_group"]: g["n"] for g in groups},
    }
    if clv_cols and "p_alive" in t.columns:
        buyers = t.filter(t.p_alive.notnull())
        agg = (
            buyers.aggregate(
                clv=buyers[clv_cols[0]].mean(),
                churned=(buyers.p_alive < 0.5).mean(),
                n=buyers.count(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        out.update(
            clv_column=clv_cols[0],
            mean_clv=agg["clv"],
            churned_share=agg["churned"],
            buyers=agg["n"],
        )
    return out


def print_features_summary(s: dict[str, Any], out: Console) -> None:
    """Print the summary of :func:`features_summary`."""
    out.print(
        f"customer_features: {s['customers']:,} customers x {s['columns']} features, as of {s['as_of']}"
    )
    t = Table(title="RFM groups", title_justify="left")
    t.add_column("group")
    t.add_column("customers", justify="right")
    t.add_column("share", justify="right")
    for g, n in s["rfm_groups"].items():
        t.add_row(str(g), f"{n:,}", f"{n / s['customers']:.1%}")
    out.print(t)
    if s.get("buyers"):
        clv = s.get("mean_clv")
        clv_txt = f"{clv:,.2f}" if clv is not None else "not available (see the log)"
        churn = s.get("churned_share")
        churn_txt = f"{churn:.1%}" if churn is not None else "not available"
        out.print(
            f"Mean predicted {s['clv_column']} per customer with orders: {clv_txt}; "
            f"likely churned (P(alive) < 0.5): {churn_txt} of {s['buyers']:,}."
        )


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def features(
        workspace: WorkspaceOpt = None,
        *,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Date YYYY-MM-DD (default: the latest order date)."),
        ] = None,
    ) -> None:
        """Build customer_features (all families, RFM groups, CLV and churn) as of a date."""
        from custseg.features import materialize

        when = None
        if as_of is not None:
            try:
                when = date.fromisoformat(as_of)
            except ValueError:
                raise UsageError(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD.") from None
        with open_ws(workspace) as ws:
            t0 = time.perf_counter()
            materialize(ws, as_of=when)
            s = features_summary(ws)
        print_features_summary(s, console)
        console.print(f"[dim]built in {time.perf_counter() - t0:.1f}s[/]")
