"""Human names for clusters, from their most distinguishing features.

For every cluster and feature (scaled numerics and one-hot levels), the *effect* is the
cluster mean minus the population mean, divided by the population standard deviation.
The features with the largest absolute effect become words through :data:`VOCABULARY`
(``amount_spent`` high: "High spend"); a one-hot level counts only when over-represented
and reads as its value ("Mobile"). Two features of one concept (``discount_share`` and
``full_price_share``) never both appear. Words are ranked by absolute effect, the RFM
concepts (:data:`CORE_CONCEPTS`) weighted by :data:`CORE_WEIGHT`. Names have 2 words, and a third when its effect
is at least :data:`THIRD_WORD_EFFECT`; effects under :data:`MIN_EFFECT` give no word.
Names shared by several clusters get further words until they differ, then a number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "MIN_EFFECT",
    "THIRD_WORD_EFFECT",
    "TYPICAL",
    "VOCABULARY",
    "feature_word",
    "name_clusters",
]

#: Minimum absolute effect (in population standard deviations) for a third word.
THIRD_WORD_EFFECT = 0.5
#: Concepts marketers read first (recency, frequency, monetary): their effects are
#: multiplied by :data:`CORE_WEIGHT` when ranking the words.
CORE_CONCEPTS = frozenset({"recency", "frequency", "spend"})
CORE_WEIGHT = 1.25
#: Features that differ by less than this (population standard deviations) give no word.
MIN_EFFECT = 0.1
#: The name of a cluster that differs from the population in nothing.
TYPICAL = "Typical customers"
SEPARATOR = " · "

#: column: (word when high, word when low, concept). ``None``: no word that way.
VOCABULARY: dict[str, tuple[str | None, str | None, str]] = {
    "number_of_orders": ("Frequent", "Occasional", "frequency"),
    "repeat_purchase_days": ("Frequent", "Occasional", "frequency"),
    "clv_frequency": ("Frequent", "Occasional", "frequency"),
    "f_score": ("Frequent", "Occasional", "frequency"),
    "orders_365d": ("Active this year", "Inactive this year", "recency"),
    "orders_90d": ("Active lately", "Inactive lately", "recency"),
    "orders_30d": ("Active this month", "Inactive this month", "recency"),
    "days_since_last_order": ("Lapsed", "Recent", "recency"),
    "r_score": ("Recent", "Lapsed", "recency"),
    "amount_spent": ("High spend", "Low spend", "spend"),
    "m_score": ("High spend", "Low spend", "spend"),
    "spend_365d": ("High spend this year", "Low spend this year", "recent_spend"),
    "spend_90d": ("High recent spend", "Low recent spend", "recent_spend"),
    "spend_30d": ("High spend this month", "Low spend this month", "recent_spend"),
    "avg_order_value": ("Big tickets", "Small tickets", "order_value"),
    "mean_repeat_order_value": ("Big tickets", "Small tickets", "order_value"),
    "tenure_days": ("Long-standing", "New", "tenure"),
    "clv_T": ("Long-standing", "New", "tenure"),
    "discount_share": ("Deal seekers", "Full price", "price"),
    "full_price_share": ("Full price", "Deal seekers", "price"),
    "price_sensitivity_score": ("Price sensitive", "Price insensitive", "price"),
    "relative_price_level": ("Premium", "Budget", "price_level"),
    "return_rate": ("High returns", "Few returns", "returns"),
    "avg_basket_units": ("Big baskets", "Small baskets", "basket"),
    "units_per_order": ("Bulk buyers", "Small orders", "basket"),
    "bulk_order_share": ("Bulk buyers", None, "basket"),
    "b2b_order_volume": ("High B2B volume", None, "b2b"),
    "basket_diversity": ("Varied baskets", "Single-category baskets", "variety"),
    "category_breadth": ("Broad range", "Narrow range", "variety"),
    "brand_loyalty": ("Brand loyal", "Brand explorers", "brand"),
    "novelty_seeking": ("Trend seekers", "Classics", "novelty"),
    "email_opens": ("Newsletter readers", None, "email"),
    "email_clicks": ("Engaged", "Unengaged", "email"),
    "sessions": ("Frequent visitors", "Rare visitors", "visits"),
    "product_views": ("Browsers", None, "visits"),
    "add_to_carts": ("Cart builders", None, "carts"),
    "add_to_cart_rate": ("Cart builders", None, "carts"),
    "view_to_buy_rate": ("Decisive", "Window shoppers", "conversion"),
    "mobile_session_share": ("Mobile", "Desktop", "device"),
    "p_alive": ("Likely active", "Likely churned", "churn"),
    "churn_probability": ("At risk", "Likely active", "churn"),
    "age": ("Older", "Younger", "age"),
    "distance_to_warehouse_km": ("Far away", "Nearby", "distance"),
    "shipping_destinations": ("Many addresses", None, "addresses"),
}

_PREFIXES: tuple[tuple[str, tuple[str | None, str | None, str]], ...] = (
    ("clv_", ("High value", "Low value", "value")),
    ("expected_orders_", ("Likely to buy", "Unlikely to buy", "expected")),
)


def _pretty(text: str) -> str:
    words = str(text).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "(empty)"


def feature_word(column: str, level: str | None, high: bool) -> tuple[str, str] | None:
    """The word and concept for a feature in one direction, or ``None`` for no word.

    Parameters
    ----------
    column
        The feature column.
    level
        The one-hot level of a text column, ``None`` for a numeric column.
    high
        True when the cluster is above the population.

    Examples
    --------
    >>> feature_word("amount_spent", None, True)
    ('High spend', 'spend')
    >>> feature_word("main_device", "mobile", True)
    ('Mobile', 'main_device')
    >>> feature_word("units_sold", None, False)
    ('Low units sold', 'units_sold')
    """
    if level is not None:
        return (_pretty(level), column) if high else None
    if column.startswith("share_") and len(column) > 6:
        cat = _pretty(column[6:])
        return (f"{cat} lovers", column) if high else None
    entry = VOCABULARY.get(column)
    if entry is None:
        for prefix, e in _PREFIXES:
            if column.startswith(prefix) and column.endswith("d"):
                entry = e
                break
    if entry is None:
        words = column.replace("_", " ")
        return (f"High {words}" if high else f"Low {words}", column)
    word = entry[0] if high else entry[1]
    return (word, entry[2]) if word else None


def name_clusters(
    z: np.ndarray,
    columns: Sequence[tuple[str, str | None]],
    labels: np.ndarray,
    k: int,
) -> dict[int, str]:
    """A unique name for each cluster.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_features)
        Scaled numerics and one-hot columns of the sample.
    columns
        ``(column, level)`` of each column of ``z`` (``level`` None for numerics).
    labels : ndarray of shape (n_samples,)
        The cluster of each row.
    k
        The number of clusters.

    Returns
    -------
    dict of int to str
        Names such as ``"High spend · Frequent · Mobile"``.
    """
    mean = z.mean(axis=0)
    std = z.std(axis=0)
    safe = np.where(std > 0, std, 1.0)
    ranked: dict[int, list[tuple[str, str, float]]] = {}
    for c in range(k):
        members = labels == c
        if not members.any():
            ranked[c] = []
            continue
        effect = np.where(std > 0, (z[members].mean(axis=0) - mean) / safe, 0.0)
        cands: list[tuple[float, str, str, float]] = []
        for j in np.flatnonzero(np.abs(effect) >= MIN_EFFECT):
            column, level = columns[j]
            w = feature_word(column, level, bool(effect[j] > 0))
            if w is not None:
                size = float(abs(effect[j]))
                weight = CORE_WEIGHT if w[1] in CORE_CONCEPTS else 1.0
                cands.append((size * weight, w[0], w[1], size))
        cands.sort(key=lambda x: -x[0])
        words: list[tuple[str, str, float]] = []
        seen: set[str] = set()
        for _, word, concept, size in cands:
            if concept in seen or word in {x[0] for x in words}:
                continue
            seen.add(concept)
            words.append((word, concept, size))
        ranked[c] = words
    used = {c: _initial_length(ranked[c]) for c in range(k)}
    names = {c: _join(ranked[c], used[c], c) for c in range(k)}
    while True:
        groups: dict[str, list[int]] = {}
        for c, n in names.items():
            groups.setdefault(n, []).append(c)
        clashes = [cs for cs in groups.values() if len(cs) > 1]
        extendable = [c for cs in clashes for c in cs if used[c] < len(ranked[c])]
        if not extendable:
            break
        for c in extendable:
            used[c] += 1
            names[c] = _join(ranked[c], used[c], c)
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    counts: dict[str, int] = {}
    for c in range(k):
        base = names[c]
        if base in repeated:
            counts[base] = counts.get(base, 0) + 1
            names[c] = f"{base} ({counts[base]})"
    return names


def _initial_length(words: list[tuple[str, str, float]]) -> int:
    n = min(2, len(words))
    if len(words) > 2 and words[2][2] >= THIRD_WORD_EFFECT:
        n = 3
    return n


def _join(words: list[tuple[str, str, float]], n: int, c: int) -> str:
    return SEPARATOR.join(w[0] for w in words[:n]) if n else TYPICAL
