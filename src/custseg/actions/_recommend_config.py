"""The settings of the recommender: :class:`RecommenderConfig` and its checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from custseg.actions._recommend_rank import COMPONENTS
from custseg.exceptions import UsageError

__all__ = ["DEFAULT_WEIGHTS", "RecommenderConfig", "check_config"]

#: Default blend weights, chosen on a validation split of the demo store (see the docs).
DEFAULT_WEIGHTS: dict[str, float] = {"cooccurrence": 0.6, "segment_lift": 0.3, "browsing": 0.1}


@dataclass(frozen=True)
class RecommenderConfig:
    """Settings of :class:`Recommender` (checked when it fits).

    Parameters
    ----------
    top_n
        Products recommended per customer.
    min_support
        Least number of baskets a product pair must share to count as co-occurring.
    weights
        Blend weight of each of :data:`COMPONENTS` (missing keys weigh 0); the score is the
        weighted mean, so only the ratios matter (the fitted ``config_`` holds them
        normalised to sum 1).
    range_days
        A product with no sale in this many days up to the as-of date is not recommended.
    scope
        Co-occurrence basket: ``"customer"`` (all of a customer's kept purchases) or
        ``"order"`` (the products of one order).
    neighbours
        Most co-occurring products kept per product.
    max_basket
        Most products per basket (a customer's most recent ones) for pairs and as seeds.
    browse_days
        Window of the product views behind ``browsing``.
    stitch_anonymous
        Count a product view without ``customer_id`` for the customer its ``anonymous_id``
        (cookie) is logged in with (see ``docs/recommendations.md``).
    lift_prior
        Pseudo-purchases at the overall rate added to each segment (smooths the lift of
        small segments towards 1); 0 gives the raw lift.
    """

    top_n: int = 10
    min_support: int = 3
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    range_days: int = 90
    scope: Literal["customer", "order"] = "customer"
    neighbours: int = 100
    max_basket: int = 100
    browse_days: int = 365
    stitch_anonymous: bool = True
    lift_prior: float = 100.0


def check_config(config: RecommenderConfig | None) -> RecommenderConfig:
    cfg = RecommenderConfig() if config is None else config
    if not isinstance(cfg, RecommenderConfig):
        raise UsageError(f"config must be a RecommenderConfig, got {type(cfg).__name__}")
    for name in ("top_n", "min_support", "range_days", "neighbours", "max_basket", "browse_days"):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UsageError(f"RecommenderConfig.{name} must be a positive integer, got {v!r}")
    if not isinstance(cfg.stitch_anonymous, bool):
        raise UsageError(
            f"RecommenderConfig.stitch_anonymous must be True or False, got {cfg.stitch_anonymous!r}"
        )
    if cfg.scope not in ("customer", "order"):
        raise UsageError(
            f"RecommenderConfig.scope options are ['customer', 'order'], got {cfg.scope!r}"
        )
    if (
        isinstance(cfg.lift_prior, bool)
        or not isinstance(cfg.lift_prior, int | float)
        or not (cfg.lift_prior >= 0)
    ):
        raise UsageError(
            f"RecommenderConfig.lift_prior must be a number >= 0, got {cfg.lift_prior!r}"
        )
    if not isinstance(cfg.weights, Mapping):
        raise UsageError(f"RecommenderConfig.weights must be a dict, got {cfg.weights!r}")
    unknown = sorted(set(cfg.weights) - set(COMPONENTS))
    if unknown:
        raise UsageError(f"unknown weight(s) {unknown}; the components are {list(COMPONENTS)}")
    w = {c: cfg.weights.get(c, 0.0) for c in COMPONENTS}
    bad = {
        c: v
        for c, v in w.items()
        if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0
    }
    if bad or sum(w.values()) <= 0:
        raise UsageError(
            f"weights must be numbers >= 0 with a positive sum, got {dict(cfg.weights)!r}; "
            f"e.g. {DEFAULT_WEIGHTS}"
        )
    # Normalised to sum 1 and rounded to 12 decimals: SQL engines read a literal such as
    # 0.6 as a decimal, and only short decimals convert to exactly the double Python holds,
    # which keeps the engine's scores bit-identical to recommend_one's.
    total = float(sum(w.values()))
    return replace(cfg, weights={c: round(float(v) / total, 12) for c, v in w.items()})
