"""Which family each ``customer_features`` column belongs to.

Clustering picks its feature set by family, profiles group features by family and
the dashboard lists them that way. The table below follows ``docs/features.md``;
columns made from data (``share_<category>``, ``attr_<key>``, ``clv_<h>d``,
``expected_orders_<h>d``) are matched by prefix.
"""

from __future__ import annotations

__all__ = ["FAMILIES", "IDENTITY_COLUMNS", "columns_of_family", "feature_family"]

#: The feature families, in the order the docs and reports list them.
FAMILIES: tuple[str, ...] = (
    "behavior",
    "engagement",
    "geo",
    "demographic",
    "technographic",
    "psychographic",
    "b2b",
    "rfm",
    "predictive",
)

#: Columns that identify or describe the row rather than measure the customer.
IDENTITY_COLUMNS: tuple[str, ...] = ("customer_id", "is_stub", "as_of")

_EXACT: dict[str, str] = {
    "tags": "customer",
    "accepts_email_marketing": "customer",
    "accepts_sms_marketing": "customer",
    "created_at": "customer",
    **dict.fromkeys(
        [
            "number_of_orders",
            "amount_spent",
            "avg_order_value",
            "first_order_date",
            "last_order_date",
            "days_since_last_order",
            "tenure_days",
            "repeat_purchase_days",
            "mean_repeat_order_value",
            "mean_interpurchase_days",
            "std_interpurchase_days",
            "clv_frequency",
            "clv_recency",
            "clv_T",
            "clv_monetary",
            "return_rate",
            "discount_share",
            "full_price_share",
            "top_category",
            "brand_loyalty",
            "avg_basket_units",
            "basket_diversity",
        ],
        "behavior",
    ),
    **dict.fromkeys(
        [
            "email_opens",
            "email_clicks",
            "sessions",
            "product_views",
            "add_to_carts",
            "add_to_cart_rate",
            "view_to_buy_rate",
        ],
        "engagement",
    ),
    **dict.fromkeys(
        [
            "country",
            "region",
            "city",
            "postal_code",
            "latitude",
            "longitude",
            "distance_to_warehouse_km",
            "nearest_warehouse",
            "shipping_destinations",
        ],
        "geo",
    ),
    **dict.fromkeys(
        [
            "age",
            "age_band",
            "gender",
            "income_band",
            "education",
            "marital_status",
            "household",
            "occupation",
            "language",
        ],
        "demographic",
    ),
    **dict.fromkeys(
        [
            "main_device",
            "main_os",
            "main_browser",
            "mobile_session_share",
            "main_channel",
            "main_traffic_source",
        ],
        "technographic",
    ),
    **dict.fromkeys(
        ["relative_price_level", "price_sensitivity_score", "novelty_seeking", "category_breadth"],
        "psychographic",
    ),
    **dict.fromkeys(
        [
            "account_id",
            "company_size",
            "industry",
            "account_tier",
            "units_per_order",
            "bulk_order_share",
            "b2b_order_volume",
        ],
        "b2b",
    ),
    **dict.fromkeys(["r_score", "f_score", "m_score", "rfm_score", "rfm_group"], "rfm"),
    **dict.fromkeys(
        ["p_alive", "churn_probability", "next_order_date"],
        "predictive",
    ),
}

_PREFIXES: tuple[tuple[str, str, str], ...] = (
    # (prefix, suffix, family)
    ("orders_", "d", "behavior"),
    ("spend_", "d", "behavior"),
    ("share_", "", "behavior"),
    ("attr_", "", "psychographic"),
    ("clv_", "d", "predictive"),
    ("expected_orders_", "d", "predictive"),
)


def feature_family(column: str) -> str:
    """The family of a ``customer_features`` column.

    Parameters
    ----------
    column : str
        A column name of ``customer_features``.

    Returns
    -------
    str
        One of :data:`FAMILIES`, ``"customer"`` for the customer's own fields
        (tags, consent, creation date), ``"id"`` for :data:`IDENTITY_COLUMNS`, or
        ``"other"`` for a column this catalog does not know.
    """
    if column in IDENTITY_COLUMNS:
        return "id"
    if column in _EXACT:
        return _EXACT[column]
    for prefix, suffix, family in _PREFIXES:
        if column.startswith(prefix) and column.endswith(suffix) and len(column) > len(prefix):
            middle = column[len(prefix) : len(column) - len(suffix)] if suffix else "x"
            if not suffix or middle.isdigit():
                return family
    return "other"


def columns_of_family(columns: list[str] | tuple[str, ...], family: str) -> list[str]:
    """The columns of ``columns`` in ``family``, in their given order.

    Parameters
    ----------
    columns : sequence of str
        Column names, usually ``customer_features.columns``.
    family : str
        One of :data:`FAMILIES` (or ``"customer"``).

    Returns
    -------
    list of str
    """
    return [c for c in columns if feature_family(c) == family]
