"""Product recommendations: per customer, the top N products they have not bought.

Each candidate product gets three component scores, computed in the engine:

* ``cooccurrence``: the sum, over the customer's kept purchases, of the cosine similarity
  of that product with the candidate (:mod:`custseg.actions._cooccurrence`; pairs with
  ``min_support`` baskets or more, ``neighbours`` per product);
* ``segment_lift``: the candidate's smoothed lift in the customer's segment (share of the
  segment's purchases / share of all purchases);
* ``browsing``: the customer's share of product views in the candidate's category over
  the last ``browse_days`` days (the "Netflix" signal).

Each component is divided by its largest value among the customer's candidates (so it lies
in [0, 1] per customer) and the score is their weighted mean. Customers without a kept
purchase (cold start) are ranked by ``browsing`` alone: popular products of the categories
they view, then popular products. Ties go to the more popular product, then the SKU.

Never recommended: products the customer owns (bought, kept or returned, in a counted
order) and products out of range (no sale in the last ``range_days`` days, or
``active = false`` in a products table). ``docs/recommendations.md`` has the details, the
evaluation protocol and the measured figures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from custseg.actions import _recommend_data as D
from custseg.actions import _recommend_eval as E
from custseg.actions._cooccurrence import baskets, item_neighbours
from custseg.actions._recommend_config import DEFAULT_WEIGHTS, RecommenderConfig, check_config
from custseg.actions._recommend_rank import (
    COMPONENTS,
    NANO,
    Fitted,
    OneCustomerRanker,
    profile_table,
    rank_in_engine,
)
from custseg.exceptions import NotFittedError, UsageError
from custseg.features._common import as_of_cut

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "Recommender",
    "RecommenderConfig",
    "evaluate_time_split",
    "popularity_baseline",
]

log = logging.getLogger(__name__)


def _ids_table(customer_ids: Any) -> ir.Table:
    if isinstance(customer_ids, ir.Table):
        if "customer_id" not in customer_ids.schema().names:
            raise UsageError("customer_ids as a table needs a 'customer_id' column")
        t = customer_ids
    elif isinstance(customer_ids, str) or not isinstance(customer_ids, Sequence):
        raise UsageError(
            f"customer_ids must be None, a list of ids or an Ibis table, got {customer_ids!r}; "
            "for one customer use recommend_one(customer_id)"
        )
    else:
        t = ibis.memtable(
            {"customer_id": [str(c) for c in customer_ids]}, schema={"customer_id": "string"}
        )
    t = t.filter(t.customer_id.notnull())
    return t.select(customer_id=t.customer_id.cast("string")).distinct()


class Recommender:
    """Per-customer product recommendations blending co-occurrence, segment lift and browsing.

    Parameters
    ----------
    config
        Settings; default :class:`RecommenderConfig`.

    Attributes
    ----------
    config_ : RecommenderConfig
        The checked settings (weights completed with zeros and normalised to sum 1).
    as_of_ : date
        The as-of date of the fit.
    catalog_ : ir.Table
        Every product seen: ``sku, product_name, category, popularity, in_range``.
    owned_ : ir.Table
        ``customer_id, sku, kept, last_kept``: what each customer owns.
    neighbours_, affinity_, segments_, lift_ : ir.Table or None
        The co-occurrence neighbours, browsing shares, segment per customer and segment
        lifts (None when switched off by a zero weight, or without events).

    Examples
    --------
    >>> rec = Recommender(RecommenderConfig(top_n=5)).fit(tables, as_of=date(2025, 6, 30))  # doctest: +SKIP
    >>> [r["rank"] for r in rec.recommend_one("C0000042")]  # doctest: +SKIP
    [1, 2, 3, 4, 5]
    """

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        self.config = config

    def fit(
        self,
        tables: Mapping[str, ir.Table],
        /,
        *,
        as_of: date | datetime | None = None,
        segments: ir.Table | None = None,
    ) -> Recommender:
        """Compute and cache the catalogue, co-occurrence, segment lift and browsing tables.

        Parameters
        ----------
        tables
            Canonical tables by name: ``orders`` and ``order_lines`` (required), ``events``
            (browsing), ``customers`` (who ``recommend()`` covers; default: customers with
            an order or a recent product view) and a ``products`` table (``sku``, optional
            ``product_name``, ``category``, ``active``) when the store has one.
        as_of
            Only data at or before this date (whole day, UTC) is used; default the date of
            the latest order.
        segments
            ``customer_id, segment`` for the lift, built as of the same date; a customer in
            several segments gets the alphabetically first. Default: the RFM groups
            (:func:`custseg.segments.rfm_segments`) computed from ``orders`` as of ``as_of``.

        Returns
        -------
        Recommender
            ``self``, fitted.
        """
        cfg = check_config(self.config)
        t = D.check_tables(tables)
        if as_of is None:
            from custseg.features import default_as_of

            as_of = default_as_of(t["orders"])
        cut = as_of_cut(as_of)
        w = cfg.weights
        orders, order_lines = t["orders"], t["order_lines"]
        lines = D.cached(D.order_products(orders, order_lines, cut))
        owned = D.cached(D.owned_products(lines))
        catalog = D.catalogue(
            lines, order_lines, t.get("products"), owned, cut, range_days=cfg.range_days
        )
        catalog = D.cached(catalog)
        items = D.cached(_rank_items(catalog.filter(catalog.in_range)))
        stats = owned.group_by("customer_id").aggregate(
            n_owned=owned.count(), warm=owned.kept.cast("int64").max() == 1
        )
        seeds = baskets(owned, lines, scope="customer", max_basket=cfg.max_basket)
        seeds = D.cached(seeds.select(customer_id=seeds.basket, sku=seeds.sku))
        neighbours = None
        if w["cooccurrence"] > 0:
            if cfg.scope == "customer":
                pairs = seeds.select(basket=seeds.customer_id, sku=seeds.sku)
            else:
                pairs = baskets(owned, lines, scope="order", max_basket=cfg.max_basket)
            nb = item_neighbours(
                pairs, items.select("sku"), min_support=cfg.min_support, neighbours=cfg.neighbours
            )
            neighbours = D.cached(nb.mutate(nano=(nb.similarity * NANO).round().cast("int64")))
        affinity = None
        if "events" in t:
            affinity = D.browsing_affinity(
                t["events"], catalog, cut, browse_days=cfg.browse_days, stitch=cfg.stitch_anonymous
            )
            affinity = D.cached(affinity)
        else:
            log.info("no events table: the browsing component is 0")
        seg = lift = None
        if w["segment_lift"] > 0:
            if segments is None:
                from custseg.features.behavior import rfm_summary
                from custseg.segments.rfm import rfm_segments

                rfm = rfm_segments(rfm_summary(orders, as_of=cut))
                segments = rfm.select("customer_id", segment=rfm.rfm_group)
            # only customers with a purchase use the lift (the others are ranked by browsing)
            buyers = owned.select("customer_id").distinct()
            seg = D.cached(D.customer_segments(segments).semi_join(buyers, "customer_id"))
            lf = D.segment_lift(owned, seg, catalog, prior=cfg.lift_prior)
            order = [lf.lift.desc(), lf.n_sj.desc(), lf.sku.asc()]
            rank = ibis.row_number().over(group_by=lf.segment, order_by=order)
            lift = D.cached(lf.mutate(lift_rank=(rank + 1).cast("int64")))
        if "customers" in t:
            c = t["customers"]
            universe = c.filter(c.customer_id.notnull()).select(
                customer_id=c.customer_id.cast("string")
            )
        else:
            universe = owned.select("customer_id")
            if affinity is not None:
                universe = universe.union(affinity.select("customer_id"))
        self.universe_ = universe.distinct()
        self.config_, self.as_of_ = cfg, cut.day
        self.catalog_, self.owned_ = catalog, owned
        self.neighbours_, self.affinity_, self.segments_, self.lift_ = (
            neighbours,
            affinity,
            seg,
            lift,
        )
        self._fitted = Fitted(
            items=items,
            owned=owned.select("customer_id", "sku", "kept"),
            stats=D.cached(stats),
            seeds=seeds,
            neighbours=neighbours,
            affinity=affinity,
            segments=seg,
            lift=lift,
        )
        self._one = self._profile = None
        log.info("recommender fitted as of %s", cut.day)
        return self

    def _check_fitted(self) -> Fitted:
        f = getattr(self, "_fitted", None)
        if f is None:
            raise NotFittedError(
                "This Recommender instance is not fitted yet. Call 'fit(tables, as_of=...)' "
                "before recommending."
            )
        return f

    def recommend(self, customer_ids: Sequence[str] | ir.Table | None = None) -> ir.Table:
        """The top ``top_n`` products of each customer, as an Ibis expression.

        Parameters
        ----------
        customer_ids
            The customers: a list of ids, a table with ``customer_id``, or None for every
            customer known at fit. Unknown ids get the cold-start list (popular products).

        Returns
        -------
        ir.Table
            ``customer_id, rank (1..top_n), sku, product_name, category, score`` and the
            normalised components ``cooccurrence, segment_lift, browsing`` (each in [0, 1]);
            ``score`` is their weighted mean (``browsing`` alone for customers without a
            kept purchase). Fewer than ``top_n`` rows only when fewer products are in range
            and not owned.
        """
        f = self._check_fitted()
        scope = self.universe_ if customer_ids is None else _ids_table(customer_ids)
        cfg = self.config_
        return rank_in_engine(f, scope, top_n=cfg.top_n, weights=cfg.weights)

    def recommend_one(self, customer_id: str) -> list[dict[str, Any]]:
        """The recommendations of one customer, as dicts in rank order (same as recommend()).

        The first call loads the product-level tables (products, neighbours, lifts) into
        memory and caches a per-customer profile table in the engine; each call then reads
        the customer's rows with one key lookup and ranks in Python (cost: one small query
        plus well under a millisecond of Python; figures in ``docs/recommendations.md``).
        To serve many requests, read the table written by :meth:`materialize` by key.
        """
        f = self._check_fitted()
        if not isinstance(customer_id, str) or not customer_id:
            raise UsageError(f"customer_id must be a non-empty string, got {customer_id!r}")
        if self._one is None:
            cfg = self.config_
            self._one = OneCustomerRanker(f, top_n=cfg.top_n, weights=cfg.weights)
            self._profile = D.cached(profile_table(f))
        p = self._profile
        rows = p.filter(p.customer_id == customer_id).select("kind", "key", "value")
        return self._one.rank(customer_id, rows.to_pyarrow().to_pylist())

    def materialize(self, con: Any, *, table: str = "recommendations") -> ir.Table:
        """Write every customer's recommendations to ``table`` (replaced) in ``con``.

        Rows are sorted by ``customer_id, rank`` and carry an ``as_of`` date column, so a
        reader can look a customer up by key and tell how fresh the list is.

        Returns
        -------
        ir.Table
            The written table.
        """
        self._check_fitted()
        expr = self.recommend().mutate(as_of=ibis.date(self.as_of_))
        expr = expr.order_by("customer_id", "rank")
        try:
            same = expr.get_backend() is con
        except Exception:  # noqa: BLE001 - an expression over several backends
            same = False
        out = con.create_table(table, expr if same else expr.to_pyarrow(), overwrite=True)
        log.info("wrote the recommendations as of %s to %s", self.as_of_, table)
        return out


def _rank_items(items: ir.Table) -> ir.Table:
    """Add ``pop_rank`` and ``cat_rank`` (1 = most popular; ties by SKU)."""
    order = [items.popularity.desc(), items.sku.asc()]
    return items.mutate(
        pop_rank=(ibis.row_number().over(order_by=order) + 1).cast("int64"),
        cat_rank=(ibis.row_number().over(group_by=items.category, order_by=order) + 1).cast(
            "int64"
        ),
    )


def popularity_baseline(
    tables: Mapping[str, ir.Table],
    /,
    *,
    as_of: date | datetime,
    k: int = 10,
    customer_ids: Sequence[str] | ir.Table | None = None,
) -> ir.Table:
    """The ``k`` most bought products each customer has not bought (the baseline).

    Popularity is the number of customers who kept the product in a counted order at or
    before ``as_of`` (ties by SKU); owned products (kept or returned) are skipped. No range
    filter: any product bought before counts.

    Returns
    -------
    ir.Table
        ``customer_id, rank (1..k), sku, popularity`` for the given customers (default:
        every customer with a counted order).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UsageError(f"k must be a positive integer, got {k!r}")
    t = D.check_tables(tables)
    cut = as_of_cut(as_of)
    lines = D.order_products(t["orders"], t["order_lines"], cut)
    owned = D.owned_products(lines)
    # only popularity is read from the catalogue; the baseline has no range filter
    catalog = D.catalogue(lines, t["order_lines"], None, owned, cut, range_days=1)
    scope = (
        owned.select("customer_id").distinct() if customer_ids is None else _ids_table(customer_ids)
    )
    return E.popular_for(scope, owned, catalog, k=k, in_range_only=False)


def evaluate_time_split(
    tables: Mapping[str, ir.Table],
    split_date: date,
    *,
    k: int = 10,
    config: RecommenderConfig | None = None,
    segments: ir.Table | None = None,
    test_days: int = 90,
) -> dict[str, Any]:
    """Hit rate and recall at ``k`` of custseg and of the popularity baseline, same run.

    The recommender (and the baseline) are fitted on data up to ``split_date`` (whole day).
    Test items are the products a customer kept in an order of the next ``test_days`` days
    and did not own at the split. Customers evaluated: a counted order on both sides of the
    split and at least one test item. A hit is at least one recommended product among the
    test items; recall is ``|top k ∩ test items| / |test items|``, averaged over customers.

    Parameters
    ----------
    tables
        As for :meth:`Recommender.fit`.
    split_date
        The split date ``D``.
    k
        Products recommended per customer (``config.top_n`` is replaced by it).
    config
        Recommender settings; default :class:`RecommenderConfig`.
    segments
        Segments for the lift, built as of ``split_date`` (never later: that would leak the
        test period); default the RFM groups as of ``split_date``.
    test_days
        Length of the test window.

    Returns
    -------
    dict
        ``split_date, test_days, k, customers_with_orders_before_and_after,
        customers_evaluated, custseg: {hit_rate@k, recall@k}, popularity: {...}``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UsageError(f"k must be a positive integer, got {k!r}")
    if isinstance(test_days, bool) or not isinstance(test_days, int) or test_days < 1:
        raise UsageError(f"test_days must be a positive integer, got {test_days!r}")
    if isinstance(split_date, datetime) or not isinstance(split_date, date):
        raise UsageError(f"split_date must be a datetime.date, got {split_date!r}")
    cfg = replace(config or RecommenderConfig(), top_n=k)
    rec = Recommender(cfg).fit(tables, as_of=split_date, segments=segments)
    return _evaluate_fitted(rec, tables, split_date, k=k, test_days=test_days)


def _evaluate_fitted(
    rec: Recommender, tables: Mapping[str, ir.Table], split_date: date, *, k: int, test_days: int
) -> dict[str, Any]:
    """Guts of :func:`evaluate_time_split` for a recommender fitted as of ``split_date``."""
    t = D.check_tables(tables)
    cut, test_cut = E.split_cuts(split_date, test_days)
    both = D.cached(E.train_test_customers(t["orders"], cut, test_cut))
    truth = E.new_items_bought(t["orders"], t["order_lines"], rec.owned_, cut, test_cut)
    truth = D.cached(truth.semi_join(both, "customer_id"))
    evaluated = D.cached(truth.select("customer_id").distinct())
    recs = rec.recommend(evaluated)
    base = E.popular_for(evaluated, rec.owned_, rec.catalog_, k=k, in_range_only=False)
    ours = E.ranking_metrics(recs, truth, evaluated, k=k)
    pop = E.ranking_metrics(base, truth, evaluated, k=k)
    n_both = int(both.count().to_pyarrow().as_py())
    return {
        "split_date": split_date.isoformat(),
        "test_days": test_days,
        "k": k,
        "customers_with_orders_before_and_after": n_both,
        "customers_evaluated": ours["customers"],
        "custseg": {f"hit_rate@{k}": ours["hit_rate"], f"recall@{k}": ours["recall"]},
        "popularity": {f"hit_rate@{k}": pop["hit_rate"], f"recall@{k}": pop["recall"]},
    }
