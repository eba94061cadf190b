"""The planted personas: the ground truth a segmentation should recover.

Each customer gets exactly one persona. The personas are built to be far apart
in the behavioural features a segmentation uses (recency, frequency, monetary
value, average order value, discount share, basket size, category breadth,
return rate, sessions), so that k-means on those features recovers them.

Purchasing follows a Pareto/NBD-like process: between a customer's first order
and the moment they drop out (their last order), orders arrive as a Poisson
process whose rate is gamma-distributed across customers of the persona.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Persona", "PERSONAS", "PERSONA_NAMES", "CHANNELS", "column"]

#: Order channels, in the order of :attr:`Persona.channel_p`.
CHANNELS: tuple[str, ...] = ("web", "app", "store", "marketplace", "phone")


@dataclass(frozen=True)
class Persona:
    """Behavioural parameters of one persona.

    Day ranges are *days before the end date* and are drawn uniformly.

    Attributes
    ----------
    name, description
        Identifier and one-line meaning.
    share
        Expected share of the customer base.
    order_model
        ``process`` (Pareto/NBD-like: first and last order drawn, Poisson orders between
        them at a gamma-distributed rate), ``one`` (exactly one order), ``few`` (1-3 orders)
        or ``zero_or_one`` (no order, except ``one_order_p`` of them with a single one).
    first_order_days, recency_days
        When the first and the last order fall.
    orders_per_month, rate_shape
        Mean and gamma shape of the purchase rate (``process`` only).
    extra_lines
        Lines per order are ``1 + Poisson(extra_lines)``.
    bulk
        Buys case packs (6-120 units per line) rather than single units.
    price_factor
        Preferred price relative to the category median.
    discount_p, discount_rate
        Probability that an order is discounted, and the range of the discount rate.
    breadth
        Range of the number of categories the customer buys from.
    return_p
        Probability that an order is returned.
    sessions
        Mean number of browsing sessions (negative binomial, heavy-tailed).
    product_views, cart_p
        Mean product views per session; chance a session adds to cart.
    email_opens_per_month
        Newsletter opens per month (opted-in customers).
    channel_p
        Probabilities of the order channels in :data:`CHANNELS`.
    control_rate, treatment_rate
        True conversion probability of the spring campaign without and with the e-mail.
    campaign_revenue
        Median revenue (USD) of a converted customer.
    one_order_p
        ``zero_or_one`` only: share with a single order (placed at least 30 days before the
        end and after registration; the day ranges above are not used).
    """

    name: str
    description: str
    share: float
    order_model: str
    first_order_days: tuple[float, float]
    recency_days: tuple[float, float]
    orders_per_month: float
    rate_shape: float
    extra_lines: float
    bulk: bool
    price_factor: float
    discount_p: float
    discount_rate: tuple[float, float]
    breadth: tuple[int, int]
    return_p: float
    sessions: float
    product_views: float
    cart_p: float
    email_opens_per_month: float
    channel_p: tuple[float, float, float, float, float]
    control_rate: float
    treatment_rate: float
    campaign_revenue: float
    one_order_p: float = 0.0


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="champion",
        description="Frequent, recent, high spend across many categories; rarely uses discounts.",
        share=0.08, order_model="process", first_order_days=(420, 900), recency_days=(0, 21),
        orders_per_month=2.0, rate_shape=8.0, extra_lines=1.5, bulk=False, price_factor=2.2,
        discount_p=0.12, discount_rate=(0.10, 0.20), breadth=(6, 9), return_p=0.025,
        sessions=10.0, product_views=1.5, cart_p=0.15, email_opens_per_month=0.3,
        channel_p=(0.50, 0.35, 0.10, 0.03, 0.02),
        control_rate=0.20, treatment_rate=0.21, campaign_revenue=180.0,
    ),
    Persona(
        name="bargain_hunter",
        description="Discount-driven: most orders 25-50% off, low order value, many returns.",
        share=0.14, order_model="process", first_order_days=(400, 900), recency_days=(0, 60),
        orders_per_month=0.8, rate_shape=8.0, extra_lines=1.0, bulk=False, price_factor=0.55,
        discount_p=0.85, discount_rate=(0.25, 0.50), breadth=(3, 5), return_p=0.22,
        sessions=6.0, product_views=1.5, cart_p=0.20, email_opens_per_month=0.4,
        channel_p=(0.50, 0.25, 0.0, 0.23, 0.02),
        control_rate=0.08, treatment_rate=0.15, campaign_revenue=35.0,
    ),
    Persona(
        name="lapsed_loyal",
        description="Used to buy often; no order in the last ~9 months (280-450 days).",
        share=0.12, order_model="process", first_order_days=(600, 900), recency_days=(300, 500),
        orders_per_month=1.4, rate_shape=5.0, extra_lines=1.0, bulk=False, price_factor=1.0,
        discount_p=0.12, discount_rate=(0.10, 0.20), breadth=(2, 3), return_p=0.04,
        sessions=3.0, product_views=1.2, cart_p=0.10, email_opens_per_month=0.1,
        channel_p=(0.60, 0.20, 0.15, 0.03, 0.02),
        control_rate=0.02, treatment_rate=0.13, campaign_revenue=90.0,
    ),
    Persona(
        name="one_time",
        description="Exactly one small order, one to two years ago; hardly ever visits.",
        share=0.25, order_model="one", first_order_days=(365, 730), recency_days=(365, 730),
        orders_per_month=0.0, rate_shape=1.0, extra_lines=0.15, bulk=False, price_factor=0.8,
        discount_p=0.0, discount_rate=(0.10, 0.20), breadth=(1, 1), return_p=0.0,
        sessions=1.5, product_views=1.2, cart_p=0.10, email_opens_per_month=0.03,
        channel_p=(0.70, 0.10, 0.10, 0.10, 0.0),
        control_rate=0.01, treatment_rate=0.03, campaign_revenue=45.0,
    ),
    Persona(
        name="new_customer",
        description="First order in the last two months; one to three orders so far.",
        share=0.10, order_model="few", first_order_days=(5, 60), recency_days=(0, 60),
        orders_per_month=0.0, rate_shape=1.0, extra_lines=1.0, bulk=False, price_factor=1.0,
        discount_p=0.25, discount_rate=(0.10, 0.15), breadth=(1, 3), return_p=0.0,
        sessions=4.0, product_views=1.8, cart_p=0.15, email_opens_per_month=0.3,
        channel_p=(0.60, 0.30, 0.05, 0.05, 0.0),
        control_rate=0.06, treatment_rate=0.11, campaign_revenue=70.0,
    ),
    Persona(
        name="b2b_bulk",
        description="Buys for a company account: many lines of case packs, contract discount.",
        share=0.03, order_model="process", first_order_days=(300, 900), recency_days=(0, 45),
        orders_per_month=1.3, rate_shape=10.0, extra_lines=3.0, bulk=True, price_factor=0.6,
        discount_p=1.0, discount_rate=(0.08, 0.15), breadth=(1, 3), return_p=0.02,
        sessions=3.0, product_views=1.5, cart_p=0.10, email_opens_per_month=0.05,
        channel_p=(0.60, 0.0, 0.0, 0.0, 0.40),
        control_rate=0.05, treatment_rate=0.05, campaign_revenue=1500.0,
    ),
    Persona(
        name="browser",
        description="Many sessions and product views, but no order (a few have a single one).",
        share=0.28, order_model="zero_or_one", first_order_days=(30, 600), recency_days=(30, 600),
        orders_per_month=0.0, rate_shape=1.0, extra_lines=0.3, bulk=False, price_factor=0.9,
        discount_p=0.0, discount_rate=(0.10, 0.20), breadth=(1, 2), return_p=0.0,
        sessions=12.0, product_views=2.0, cart_p=0.25, email_opens_per_month=0.1,
        channel_p=(0.80, 0.20, 0.0, 0.0, 0.0),
        control_rate=0.005, treatment_rate=0.02, campaign_revenue=50.0, one_order_p=0.03,
    ),
)  # fmt: skip

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)

if abs(sum(p.share for p in PERSONAS) - 1.0) > 1e-9:  # pragma: no cover - a coding error
    raise RuntimeError("the persona shares must add up to 1")


def column(attr: str) -> np.ndarray:
    """The attribute ``attr`` of every persona as an array indexed by persona number."""
    return np.array([getattr(p, attr) for p in PERSONAS])
