"""Item-to-item co-occurrence: the bounded neighbour table of the recommender.

Two products co-occur when the same *basket* holds both: a customer's kept purchases
(``scope="customer"``) or the kept products of one order (``scope="order"``). For products
``i != j``::

    support(i, j)    = number of baskets holding both
    similarity(i, j) = support(i, j) / sqrt(n_i * n_j)        (cosine; n_i = baskets with i)

Pairs with ``support < min_support`` are dropped, and each product keeps only its
``neighbours`` most similar products (ties: higher support, then SKU), so the table has at
most ``products x neighbours`` rows whatever the number of order lines. Baskets are capped
at ``max_basket`` products (a customer's most recently kept ones; an order's first SKUs
alphabetically), which bounds the self-join at ``baskets x max_basket**2`` pairs.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["baskets", "item_neighbours"]


def baskets(owned: ir.Table, lines: ir.Table, *, scope: str, max_basket: int) -> ir.Table:
    """The baskets co-occurrence is counted in: ``basket (string), sku``, capped.

    Parameters
    ----------
    owned
        ``customer_id, sku, kept, last_kept`` (:func:`~._recommend_data.owned_products`).
    lines
        ``order_id, sku, kept`` (:func:`~._recommend_data.order_products`).
    scope
        ``"customer"`` or ``"order"``.
    max_basket
        Most products per basket.
    """
    if scope == "customer":
        t = owned.filter(owned.kept).select(
            basket=owned.customer_id, sku=owned.sku, _t=owned.last_kept
        )
        order = [t._t.desc(), t.sku.asc()]
    else:
        t = lines.filter(lines.kept).select(basket=lines.order_id, sku=lines.sku).distinct()
        order = [t.sku.asc()]
    t = t.mutate(_rn=ibis.row_number().over(group_by=t.basket, order_by=order))
    return t.filter(t._rn < max_basket).select("basket", "sku")


def item_neighbours(
    basket: ir.Table, items: ir.Table, *, min_support: int, neighbours: int
) -> ir.Table:
    """The top co-occurring products of each product.

    Parameters
    ----------
    basket
        ``basket, sku`` (:func:`baskets`).
    items
        ``sku`` of the products that may be recommended (the neighbour side is limited to
        them; the seed side is not).
    min_support
        Least number of baskets a pair must share.
    neighbours
        Most neighbours kept per product.

    Returns
    -------
    ir.Table
        ``sku, neighbour, support (int64), similarity (float64)``.
    """
    n = basket.group_by("sku").aggregate(n=basket.count())
    a = basket
    b = basket.view()
    pairs = a.join(b, [a.basket == b.basket, a.sku != b.sku]).select(sku=a.sku, neighbour=b.sku)
    pairs = pairs.semi_join(items, pairs.neighbour == items.sku)
    support = pairs.group_by(["sku", "neighbour"]).aggregate(support=pairs.count())
    support = support.filter(support.support >= min_support)
    ni = n.select(sku=n.sku, n_i=n.n)
    nj = n.select(neighbour=n.sku, n_j=n.n)
    s = support.join(ni, "sku").join(nj, "neighbour")
    sim = s.support.cast("float64") / (s.n_i.cast("float64") * s.n_j.cast("float64")).sqrt()
    s = s.select("sku", "neighbour", support=s.support.cast("int64"), similarity=sim)
    rn = ibis.row_number().over(
        group_by=s.sku, order_by=[s.similarity.desc(), s.support.desc(), s.neighbour.asc()]
    )
    s = s.mutate(_rn=rn)
    return s.filter(s._rn < neighbours).drop("_rn")
