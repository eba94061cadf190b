"""Customer features (``custseg.features``): one wide row per customer, as of a date.

:func:`build` reads the canonical tables of a workspace and joins the feature
families on ``customer_id``, starting from every row of ``customers``
(prospects and stubs included). Each family is a module of pure
table-to-table Ibis functions that can be used on their own:

* :mod:`~custseg.features.behavior`: RFM, windows, baskets, CLV inputs;
* :mod:`~custseg.features.engagement`: e-mail, sessions, views, carts;
* :mod:`~custseg.features.geo`: address, warehouse distance, destinations;
* :mod:`~custseg.features.demographic`: age and declared profile fields;
* :mod:`~custseg.features.technographic`: devices, channels, sources;
* :mod:`~custseg.features.psychographic`: attributes and purchase traits;
* :mod:`~custseg.features.b2b`: accounts and order volume.

Null conventions: counts and sums (``number_of_orders``, ``amount_spent``,
``orders_<n>d``, ``spend_<n>d``, event counts, ``shipping_destinations``,
``b2b_order_volume``) are 0 for a customer with nothing to count; every other
behavioural feature (dates, averages, rates, shares, modes, CLV inputs) is null.
See ``docs/features.md`` for every column.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.config import FeaturesConfig
from custseg.exceptions import UsageError
from custseg.features import (
    b2b,
    behavior,
    demographic,
    engagement,
    geo,
    psychographic,
    technographic,
)
from custseg.features._common import AsOf, as_of_cut
from custseg.schema import ibis_schema

__all__ = [
    "ZERO_WHEN_MISSING",
    "b2b",
    "behavior",
    "build",
    "build_from_tables",
    "default_as_of",
    "demographic",
    "engagement",
    "geo",
    "materialize",
    "psychographic",
    "technographic",
]

log = logging.getLogger(__name__)

FEATURES_TABLE = "customer_features"

#: Columns set to 0 (not null) for customers with nothing to count.
ZERO_WHEN_MISSING: tuple[str, ...] = (
    "number_of_orders",
    "amount_spent",
    *[f"{k}_{n}d" for k in ("orders", "spend") for n in behavior.WINDOWS],
    *engagement.EVENT_COUNTS,
    "shipping_destinations",
    "b2b_order_volume",
)

_INPUTS = ("customers", "accounts", "orders", "order_lines", "events", "attributes")


def _table(con: Any, name: str) -> ir.Table:
    if name in con.list_tables():
        return con.table(name)
    log.info("table %s is missing; its features are null", name)
    return ibis.memtable(ibis_schema(name).to_pyarrow().empty_table())


def default_as_of(orders: ir.Table) -> date:
    """The date of the latest order (UTC); today when there are no orders."""
    latest = orders.ordered_at.max().to_pyarrow().as_py()
    if latest is None:
        return datetime.now(UTC).date()
    if isinstance(latest, datetime):
        latest = latest.astimezone(UTC) if latest.tzinfo else latest
        return latest.date()
    return latest


def build_from_tables(
    tables: dict[str, ir.Table],
    *,
    as_of: date | datetime | AsOf,
    config: FeaturesConfig | None = None,
    lookback_days: int = 365,
) -> ir.Table:
    """Join every feature family onto ``customers``; the tables are given directly.

    Parameters
    ----------
    tables
        Canonical tables by name: ``customers, accounts, orders, order_lines, events,
        attributes`` (all required; pass empty tables for missing data).
    as_of
        Date (whole day, UTC) or instant the features are computed at.
    config
        ``[features]`` settings (warehouses, attribute keys, bulk units); default
        :class:`~custseg.config.FeaturesConfig`.
    lookback_days
        Window of the event-based features.

    Returns
    -------
    ir.Table
        One row per row of ``customers``; see ``docs/features.md`` for the columns.
    """
    missing = [n for n in _INPUTS if n not in tables]
    if missing:
        raise UsageError(
            f"build_from_tables needs the tables {', '.join(_INPUTS)}; missing: "
            f"{', '.join(missing)}. Pass an empty table with custseg.schema.ibis_schema(name)."
        )
    cfg = config or FeaturesConfig()
    cut = as_of_cut(as_of)
    c, o, lines = tables["customers"], tables["orders"], tables["order_lines"]
    ev, attrs = tables["events"], tables["attributes"]

    base = c.select(
        "customer_id",
        "is_stub",
        "tags",
        "accepts_email_marketing",
        "accepts_sms_marketing",
        "created_at",
    )
    parts: list[ir.Table] = [
        behavior.rfm_summary(o, as_of=cut),
        behavior.basket_summary(o, lines, as_of=cut),
        engagement.engagement_summary(ev, o, as_of=cut, lookback_days=lookback_days),
        geo.location(c, warehouses=cfg.warehouses),
        geo.shipping_summary(o, as_of=cut),
        demographic.demographics(c, as_of=cut),
        technographic.technographics(ev, o, as_of=cut, lookback_days=lookback_days),
        psychographic.attribute_pivot(attrs, keys=cfg.attribute_keys, as_of=cut),
        psychographic.purchase_traits(o, lines, as_of=cut),
        b2b.account_profile(c, tables["accounts"]),
        b2b.order_volume(o, lines, as_of=cut, bulk_units=cfg.bulk_units),
    ]
    t = base
    for p in parts:
        t = t.left_join(p, "customer_id")
        if "customer_id_right" in t.columns:
            t = t.drop("customer_id_right")
    zero = {
        n: t[n].fill_null(0.0 if t[n].type().is_floating() else 0)
        for n in ZERO_WHEN_MISSING
        if n in t.columns
    }
    return t.mutate(**zero, as_of=ibis.date(cut.day))


def build(
    workspace: Any,
    *,
    as_of: date | datetime | None = None,
    lookback_days: int = 365,
) -> ir.Table:
    """The ``customer_features`` table of a workspace, as an Ibis expression.

    Parameters
    ----------
    workspace
        A :class:`custseg.workspace.Workspace`; its backend, ``[features]`` and ``[clv]``
        config are used.
    as_of
        Only orders, events and attributes at or before this date (whole day, UTC) or
        instant count. Default: the date of the latest order in the data.
    lookback_days
        Window of the event-based features (engagement, technographic).

    Returns
    -------
    ir.Table
        One row per customer (every row of ``customers``), unique ``customer_id``: the
        feature families, the RFM scores and group (:func:`custseg.segments.score_rfm`)
        and, when ``[clv] enabled``, the predictive columns
        (:func:`custseg.features.predictive.add_predictions`). Small queries run to fit
        the models and find the top categories; the rest stays lazy.
    """
    base, as_of_date = _base(workspace, as_of=as_of, lookback_days=lookback_days)
    return _enrich(workspace, base, as_of_date)


def _base(
    workspace: Any, *, as_of: date | datetime | None, lookback_days: int
) -> tuple[ir.Table, date]:
    con = workspace.connect()
    tables = {n: _table(con, n) for n in _INPUTS}
    if as_of is None:
        as_of = default_as_of(tables["orders"])
    base = build_from_tables(
        tables, as_of=as_of, config=workspace.config.features, lookback_days=lookback_days
    )
    as_of_date = as_of.date() if isinstance(as_of, datetime) else as_of
    return base, as_of_date


def _enrich(workspace: Any, table: ir.Table, as_of: date) -> ir.Table:
    """RFM scores and group, then the predictive columns."""
    from custseg.features.predictive import add_predictions
    from custseg.segments.rfm import score_rfm

    table = score_rfm(table)
    if workspace.config.clv.enabled:
        table, _ = add_predictions(table, config=workspace.config.clv, as_of=as_of)
    return table


def materialize(
    workspace: Any,
    *,
    as_of: date | datetime | None = None,
    lookback_days: int = 365,
) -> int:
    """Write ``customer_features`` into the workspace backend (overwrite); return its rows.

    The feature families are computed once into a temporary table; the RFM scores and the
    predictive models are then computed from it. Parameters are those of :func:`build`.
    """
    con = workspace.connect()
    base, as_of_date = _base(workspace, as_of=as_of, lookback_days=lookback_days)
    staged = con.create_table("_customer_features_base", base, temp=True, overwrite=True)
    try:
        con.create_table(FEATURES_TABLE, _enrich(workspace, staged, as_of_date), overwrite=True)
    finally:
        con.drop_table("_customer_features_base", force=True)
    n = con.table(FEATURES_TABLE).count().to_pyarrow().as_py()
    log.info("wrote %s: %d rows", FEATURES_TABLE, n)
    return int(n)
