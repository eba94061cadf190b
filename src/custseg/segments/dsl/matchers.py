"""The functions of the language as Ibis semi-joins on the raw tables.

Each returns a boolean column over ``ctx.features``: ``customer_id IN (subquery)`` or, for
aggregate conditions that hold for a customer with no matching rows (``count < 2``), the
complement ``customer_id NOT IN (customers whose totals fail)``. Raw rows after the end
of the as-of day (UTC) never count.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import ibis.expr.types as ir

from custseg.features._common import AsOf, as_of_cut, counted_orders
from custseg.features.geo import haversine_km
from custseg.segments.dsl import nodes as n
from custseg.segments.dsl._exprs import OPS, balanced, compare, literal, matches_arg
from custseg.segments.dsl.context import RuleContext
from custseg.segments.dsl.functions import FUNCTIONS

__all__ = ["compile_call"]


def compile_call(call: n.Call, ctx: RuleContext) -> ir.BooleanValue:
    """The boolean column of a checked function call (see ``docs/segment-language.md``)."""
    return _COMPILERS[call.name](call, ctx, as_of_cut(ctx.as_of))


def _split(call: n.Call) -> tuple[list[n.Arg], list[n.Arg]]:
    """Row filters and aggregate conditions of a call."""
    spec = FUNCTIONS[call.name]
    rows = [a for a in call.args if not spec.arg(a.name).aggregate]  # type: ignore[union-attr]
    totals = [a for a in call.args if spec.arg(a.name).aggregate]  # type: ignore[union-attr]
    return rows, totals


def _filter(
    table: ir.Table, args: list[n.Arg], columns: dict[str, str], ctx: RuleContext
) -> ir.Table:
    """``table`` filtered by the row arguments (``columns`` maps argument → column name)."""
    preds = [matches_arg(table[columns.get(a.name, a.name)], a, ctx.as_of) for a in args]
    return table.filter(*preds) if preds else table


def _members(
    ctx: RuleContext,
    rows: ir.Table,
    totals: list[n.Arg],
    aggregates: Callable[[ir.Table], dict[str, ir.Scalar]],
) -> ir.BooleanValue:
    """Customers with matching rows whose totals satisfy ``totals`` (all, with none)."""
    ids = ctx.features.customer_id
    rows = rows.filter(rows.customer_id.notnull())
    if not totals:
        return ids.isin(rows.customer_id)
    aggs = aggregates(rows)
    per = rows.group_by("customer_id").aggregate(
        **{k: aggs[k].fill_null(0) for k in dict.fromkeys(a.name for a in totals)}
    )
    ok = balanced(
        operator.and_, [compare(per[a.name], a.op, literal(a.value, ctx.as_of)) for a in totals]
    )
    # a customer with no matching rows has every total at 0
    zero_ok = all(OPS[a.op](0, a.value.value) for a in totals)  # type: ignore[union-attr]
    if zero_ok:
        return ~ids.isin(per.filter(~ok).customer_id)
    return ids.isin(per.filter(ok).customer_id)


def _products(call: n.Call, ctx: RuleContext, cut: AsOf) -> ir.BooleanValue:
    orders = counted_orders(ctx.orders, cut).select("order_id", "customer_id", "order_date")
    lines = ctx.order_lines
    lines = lines.filter(lines.quantity > 0).select(
        "order_id", "sku", "category", "brand", "product_name", "quantity"
    )
    rows = lines.join(orders, "order_id")
    filters, totals = _split(call)
    rows = _filter(rows, filters, {"date": "order_date"}, ctx)
    return _members(
        ctx,
        rows,
        totals,
        lambda t: {"count": t.order_id.nunique(), "quantity": t.quantity.sum()},
    )


def _orders(call: n.Call, ctx: RuleContext, cut: AsOf) -> ir.BooleanValue:
    rows = counted_orders(ctx.orders, cut)
    filters, totals = _split(call)
    rows = _filter(rows, filters, {"date": "order_date", "amount": "net"}, ctx)
    return _members(ctx, rows, totals, lambda t: {"count": t.count(), "sum": t.net.sum()})


def _events(call: n.Call, ctx: RuleContext, cut: AsOf) -> ir.BooleanValue:
    ev = ctx.events
    rows = ev.filter(ev.customer_id.notnull(), cut.before(ev.ts))
    rows = rows.select("customer_id", "type", event_date=rows.ts.date())
    filters, totals = _split(call)
    rows = _filter(rows, filters, {"date": "event_date"}, ctx)
    return _members(ctx, rows, totals, lambda t: {"count": t.count()})


def _campaign(call: n.Call, ctx: RuleContext, cut: AsOf) -> ir.BooleanValue:
    ex = ctx.campaign_exposures
    when = ex.sent_at
    if ctx.campaigns is not None:  # a control row has no sent_at: use the campaign's start
        starts = ctx.campaigns.select(_cid="campaign_id", _start="started_at").distinct()
        ex = ex.left_join(starts, ex.campaign_id == starts._cid)
        when = ex.sent_at.fill_null(ex._start)
    ex = ex.filter(when.isnull() | cut.before(when))
    ex = ex.select(
        "campaign_id",
        "customer_id",
        treated=(ex.arm.lower().strip() == "treatment").fill_null(False),
    )
    if any(a.name == "converted" for a in call.args):
        out = ctx.campaign_outcomes
        conv = (
            out.filter(
                out.converted.fill_null(False),
                out.observed_at.isnull() | cut.before(out.observed_at),
            )
            .select(_cid="campaign_id", _cust="customer_id")
            .distinct()
        )
        j = ex.left_join(conv, (ex.campaign_id == conv._cid) & (ex.customer_id == conv._cust))
        ex = j.select("campaign_id", "customer_id", "treated", converted=j._cid.notnull())
    preds = []
    for a in call.args:
        if a.name == "campaign":
            preds.append(matches_arg(ex.campaign_id, a, ctx.as_of))
            continue
        flag = ex.treated if a.name == "received" else ex.converted
        wanted = a.value.value if a.op == "=" else not a.value.value  # type: ignore[union-attr]
        preds.append(flag if wanted else ~flag)
    rows = ex.filter(*preds) if preds else ex
    return ctx.features.customer_id.isin(rows.filter(rows.customer_id.notnull()).customer_id)


def _within(call: n.Call, ctx: RuleContext, cut: AsOf) -> ir.BooleanValue:
    args = {a.name: float(a.value.value) for a in call.args}  # type: ignore[union-attr]
    f = ctx.features
    return haversine_km(f.latitude, f.longitude, args["lat"], args["lon"]) <= args["km"]


_COMPILERS: dict[str, Callable[[n.Call, RuleContext, AsOf], ir.BooleanValue]] = {
    "products_purchased": _products,
    "orders_placed": _orders,
    "events": _events,
    "campaign": _campaign,
    "within_distance": _within,
}
