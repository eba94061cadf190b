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

from custseg.config import ClvConfig, FeaturesConfig
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
from custseg.features._common import AsOf, as_of_cut, counted_orders
from custseg.schema import ibis_schema

__all__ = [
    "ZERO_WHEN_MISSING",
    "add_scores_and_predictions",
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


_CUSTOMER_COLUMNS = (
    "customer_id",
    "is_stub",
    "tags",
    "accepts_email_marketing",
    "accepts_sms_marketing",
    "created_at",
)
_ACCOUNT_COLUMNS = ("account_id", "company_size", "industry", "account_tier")
_COUNTED_COLUMNS = (
    "order_id",
    "customer_id",
    "ordered_at",
    "order_date",
    "net",
    "discount",
    "channel",
    "ship_postal_code",
    "ship_city",
    "items_count",
)
_RFM_INPUTS = ("days_since_last_order", "number_of_orders", "amount_spent")
_EVENT_COLUMNS = ("customer_id", "ts", "type", "device", "os", "browser", "source")


def build_from_tables(
    tables: dict[str, ir.Table],
    *,
    as_of: date | datetime | AsOf,
    config: FeaturesConfig | None = None,
    lookback_days: int = 365,
) -> ir.Table:
    """Join every feature family onto ``customers``; the tables are given directly.

    The families share their intermediate tables (counted orders, their per-order line
    statistics, units per customer and category, the window's events): each is one
    subexpression of the result, which the engine computes once.

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
        One small query runs while building: the top categories.
    """
    missing = [n for n in _INPUTS if n not in tables]
    if missing:
        raise UsageError(
            f"build_from_tables needs the tables {', '.join(_INPUTS)}; missing: "
            f"{', '.join(missing)}. Pass an empty table with custseg.schema.ibis_schema(name)."
        )
    cfg = config or FeaturesConfig()
    cut = as_of_cut(as_of)
    c = tables["customers"]

    # shared intermediates, with only the columns the families read (a subquery used
    # several times is materialized whole by the engine)
    counted = counted_orders(tables["orders"], cut).select(*_COUNTED_COLUMNS)
    lines = behavior._lines_of(counted, tables["order_lines"])
    stats = behavior._order_stats(lines)
    cat_units = behavior._category_units(lines)
    events = engagement.window_events(
        tables["events"], as_of=cut, lookback_days=lookback_days
    ).select(*_EVENT_COLUMNS)

    # per-customer columns of customers itself (no join needed)
    people = demographic._with_demographics(geo._with_location(c, cfg.warehouses), cut)
    accounts = tables["accounts"].select(
        "account_id", company_size="employee_band", industry="industry", account_tier="tier"
    )
    people = people.left_join(accounts, "account_id").drop("account_id_right")

    parts: list[ir.Table] = [
        behavior._rfm_from_counted(counted, cut, behavior.WINDOWS),
        behavior._basket(counted, lines, stats, cat_units, categories=None, max_categories=12),
        engagement._engagement(events, counted, cut, lookback_days=lookback_days),
        geo._shipping(counted),
        technographic._technographics(events, counted),
        psychographic.attribute_pivot(tables["attributes"], keys=cfg.attribute_keys, as_of=cut),
        psychographic._traits(
            counted, lines, stats, cat_units, novelty_days=psychographic.NOVELTY_DAYS
        ),
        b2b._volume(
            b2b._order_units(counted, stats), cut, bulk_units=cfg.bulk_units, volume_days=365
        ),
    ]
    t = people
    for p in parts:
        t = t.left_join(p, "customer_id")
        if "customer_id_right" in t.columns:
            t = t.drop("customer_id_right")
    rfm, basket, engaged, shipping, techno, attrs, traits, volume = (
        [col for col in part.columns if col != "customer_id"] for part in parts
    )
    order = [
        *_CUSTOMER_COLUMNS,
        *rfm,
        *basket,
        *engaged,
        *geo.LOCATION_COLUMNS,
        *shipping,
        *demographic.DEMOGRAPHIC_COLUMNS,
        *techno,
        *attrs,
        *traits,
        *_ACCOUNT_COLUMNS,
        *volume,
    ]
    zero = {
        n: t[n].fill_null(0.0 if t[n].type().is_floating() else 0)
        for n in ZERO_WHEN_MISSING
        if n in t.columns
    }
    t = t.mutate(**zero, as_of=ibis.date(cut.day))
    return t.select(*order, "as_of")


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
    return add_scores_and_predictions(table, as_of=as_of, clv=workspace.config.clv)


def add_scores_and_predictions(
    features: ir.Table, *, as_of: date, clv: ClvConfig | None = None
) -> ir.Table:
    """Add the RFM scores and group, then (when ``clv.enabled``) the predictive columns.

    What :func:`build` and :func:`materialize` do after :func:`build_from_tables`; call it
    on a ``build_from_tables`` result (better: a materialized copy of it, since it is read
    several times) to get the whole ``customer_features`` table on any backend.

    Parameters
    ----------
    features
        One row per customer with the behavioural columns (``build_from_tables``).
    as_of
        The as-of date of ``features`` (the next order date counts from it).
    clv
        ``[clv]`` settings; default :class:`~custseg.config.ClvConfig`.

    Returns
    -------
    ir.Table
        ``features`` plus ``r_score, f_score, m_score, rfm_score, rfm_group``
        (:func:`custseg.segments.score_rfm`) and the columns of
        :func:`custseg.features.predictive.add_predictions`. Small queries run to check
        the data and fit the models.
    """
    from custseg.features.predictive import add_predictions
    from custseg.segments.rfm import SCORE_COLUMNS, score_rfm

    cfg = clv or ClvConfig()
    # the scores' windows sort their rows: score the columns they need, then join (sorting
    # the whole wide table once per window costs far more than the join)
    rfm = features.select("customer_id", *_RFM_INPUTS)
    scores = score_rfm(rfm).select("customer_id", *SCORE_COLUMNS)
    table = features.drop(*[c for c in SCORE_COLUMNS if c in features.columns])
    table = table.left_join(scores, "customer_id")
    if "customer_id_right" in table.columns:
        table = table.drop("customer_id_right")
    if cfg.enabled:
        table, _ = add_predictions(table, config=cfg, as_of=as_of)
    return table


#: DuckDB's working memory while materializing; beyond it, it spills to ``.custseg-tmp``.
DUCKDB_MEMORY_LIMIT = "3GB"


def _limit_memory(workspace: Any) -> None:
    """Cap an embedded DuckDB's memory (by default it takes up to 80% of the RAM)."""
    if not getattr(workspace, "is_duckdb", False):
        return
    tmp = workspace.root / ".custseg-tmp"
    tmp.mkdir(exist_ok=True)
    con = workspace.connect()
    con.raw_sql(f"SET temp_directory = '{tmp}'")
    con.raw_sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")


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
    _limit_memory(workspace)
    base, as_of_date = _base(workspace, as_of=as_of, lookback_days=lookback_days)
    staged = con.create_table("_customer_features_base", base, temp=True, overwrite=True)
    try:
        con.create_table(FEATURES_TABLE, _enrich(workspace, staged, as_of_date), overwrite=True)
    finally:
        con.drop_table("_customer_features_base", force=True)
    n = con.table(FEATURES_TABLE).count().to_pyarrow().as_py()
    # the materialised segment frame was built from the previous features
    from custseg.segments.registry import invalidate_frame

    invalidate_frame(workspace)
    log.info("wrote %s: %d rows", FEATURES_TABLE, n)
    return int(n)
