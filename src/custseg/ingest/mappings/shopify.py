"""Shopify's customer and order CSV exports (every header version seen, V1-V4 and 73-79 columns)."""

from __future__ import annotations

from custseg.config import ColumnSpec as C
from custseg.ingest.mapping import Mapping, When

__all__ = ["SHOPIFY_CUSTOMERS", "SHOPIFY_ORDERS"]

_DIGITS = "regexp_replace({col}, '[^0-9+]', '', 'g')"

#: V1/V2 have no Customer ID: key on the lower-cased e-mail, else on the phone digits.
_KEY_FROM_CONTACT = (
    "CASE WHEN nullif(trim(\"Email\"), '') IS NOT NULL THEN 'email:' || lower(trim(\"Email\")) "
    "WHEN nullif(trim(regexp_replace(\"Phone\", '^''', '')), '') IS NOT NULL THEN 'phone:' || "
    + _DIGITS.format(col='"Phone"')
    + " END"
)

SHOPIFY_CUSTOMERS = Mapping(
    name="shopify_customers",
    table="customers",
    description="Shopify Admin > Customers > Export (V1 2018, V2 2022, V3 2023, V4 2024+ headers).",
    strip_apostrophe=True,
    variants=(
        ("v4", "Default Address Country Code"),
        ("v3", "Customer ID"),
        ("v2", "Accepts Email Marketing"),
        ("v1", "Accepts Marketing"),
    ),
    columns={
        # Customer ID (V3, V4) or the e-mail/phone key (V1, V2): see `when` below.
        "customer_id": C(column="Customer ID"),
        "email": C(column="Email"),
        "phone": C(column=["Phone", "Default Address Phone"]),
        "first_name": C(column="First Name"),
        "last_name": C(column="Last Name"),
        "city": C(column=["Default Address City", "City"]),
        "region": C(column=["Default Address Province Code", "Province Code", "Province"]),
        "country": C(column=["Default Address Country Code", "Country Code", "Country"]),
        "postal_code": C(column=["Default Address Zip", "Zip"]),
        "tags": C(column="Tags"),
        "accepts_email_marketing": C(column=["Accepts Email Marketing", "Accepts Marketing"]),
        "accepts_sms_marketing": C(column="Accepts SMS Marketing"),
    },
    when=(
        When(
            "customer_id",
            C(expr=_KEY_FROM_CONTACT),
            requires=("Email", "Phone"),
            unless=("Customer ID",),
        ),
    ),
)

_STATUS = (
    "CASE WHEN nullif(trim(\"Cancelled at\"), '') IS NOT NULL THEN 'cancelled' "
    "WHEN lower(\"Financial Status\") = 'refunded' THEN 'refunded' "
    "WHEN \"Financial Status\" IS NULL THEN NULL ELSE 'placed' END"
)
_STATUS_NO_CANCEL = (
    "CASE WHEN lower(\"Financial Status\") IN ('refunded', 'voided') THEN lower(\"Financial Status\") "
    "WHEN \"Financial Status\" IS NULL THEN NULL ELSE 'placed' END"
)
_CHANNEL = (
    "CASE lower(\"Source\") WHEN 'web' THEN 'web' WHEN 'iphone' THEN 'app' WHEN 'android' THEN 'app' "
    "WHEN 'pos' THEN 'store' WHEN 'sell-on-amazon' THEN 'marketplace' "
    "WHEN 'shopify_draft_order' THEN 'phone' ELSE lower(\"Source\") END"
)
SHOPIFY_ORDERS = Mapping(
    name="shopify_orders",
    table="order_lines",
    description=(
        "Shopify Admin > Orders > Export: one row per line item, order fields on the first row "
        "(79-, 78-, 75- and 73-column headers, or any subset with Name, Created at, "
        "Lineitem quantity and Lineitem price)."
    ),
    strip_apostrophe=True,
    variants=(
        ("79 cols", "Payment References"),
        ("78 cols", "Next Payment Due At"),
        ("75 cols", "Shipping Province Name"),
        ("subset", "Name"),
    ),
    columns={
        "order_id": C(column="Name"),
        "sku": C(column="Lineitem sku"),
        "product_name": C(column="Lineitem name"),
        "brand": C(column="Vendor"),
        "quantity": C(column="Lineitem quantity"),
        "unit_price": C(column="Lineitem price"),
        "discount": C(column="Lineitem discount"),
    },
    orders={
        "email": C(column="Email"),
        "ordered_at": C(column="Created at"),
        "currency": C(column="Currency"),
        "subtotal": C(column="Subtotal"),
        "discount": C(column="Discount Amount"),
        "shipping": C(column="Shipping"),
        "tax": C(column="Taxes"),
        "total": C(column="Total"),
        "refunded": C(column="Refunded Amount"),
        "ship_country": C(column="Shipping Country"),
        "ship_region": C(column="Shipping Province"),
        "ship_city": C(column="Shipping City"),
        "ship_postal_code": C(column="Shipping Zip"),
        "shipping_method": C(column="Shipping Method"),
    },
    when=(
        When(
            "status", C(expr=_STATUS), requires=("Cancelled at", "Financial Status"), part="orders"
        ),
        When("status", C(expr=_STATUS_NO_CANCEL), requires=("Financial Status",), part="orders"),
        When("channel", C(expr=_CHANNEL), requires=("Source",), part="orders"),
    ),
)
