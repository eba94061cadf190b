"""The canonical tables custseg works on, and their column types.

Every source is mapped onto these tables by :mod:`custseg.ingest`. Every later
stage (features, segments, actions, monitoring) reads them. The same
definitions generate ``docs/data-model.md`` (see :func:`data_model_markdown`),
so the documentation cannot drift from the code.

Conventions
-----------
* ids are strings;
* money is ``decimal(18, 2)`` in the workspace's base currency (the original
  currency and the rate used are kept beside it);
* timestamps are timezone-aware UTC (``timestamp('UTC')``);
* dates without a time (birth dates) are ``date``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt

__all__ = [
    "Column",
    "TableSchema",
    "TABLES",
    "MONEY",
    "TIMESTAMP",
    "table_schema",
    "ibis_schema",
    "data_model_markdown",
]

MONEY = dt.Decimal(18, 2)
TIMESTAMP = dt.Timestamp(timezone="UTC")
STRING = dt.string
INT = dt.int64
FLOAT = dt.float64
BOOL = dt.boolean
DATE = dt.date


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name
        Column name.
    dtype
        Ibis data type of the stored column.
    description
        One line saying what the column holds.
    required
        A row without a value here is quarantined.
    system
        Filled by custseg itself (never mapped from a source).
    """

    name: str
    dtype: dt.DataType
    description: str
    required: bool = False
    system: bool = False

    @property
    def type_name(self) -> str:
        """Short, human-readable type name used in docs and messages."""
        if isinstance(self.dtype, dt.Decimal):
            return f"decimal({self.dtype.precision},{self.dtype.scale})"
        if isinstance(self.dtype, dt.Timestamp):
            return "timestamp (UTC)"
        return str(self.dtype).replace("!", "")


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: its columns, key and meaning."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: For child tables (order_lines): the parent key column. A load that
    #: brings any row of a parent replaces all of that parent's rows.
    replace_by: str | None = None
    #: Columns compared to decide the survivor among duplicate keys: the row
    #: with the greatest value wins; ties go to the last row in the source.
    survivor_order: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, dtype: dt.DataType, description: str, **kw: bool) -> Column:
    return Column(name, dtype, description, **kw)


CUSTOMERS = TableSchema(
    name="customers",
    description="One row per known customer (person or B2B buyer).",
    key=("customer_id",),
    survivor_order=("updated_at",),
    columns=(
        _c("customer_id", STRING, "Stable customer id from the source system.", required=True),
        _c("email", STRING, "E-mail address, trimmed and lower-cased."),
        _c("phone", STRING, "Phone number as given (E.164 when the source has it)."),
        _c("first_name", STRING, "Given name."),
        _c("last_name", STRING, "Family name."),
        _c("created_at", TIMESTAMP, "When the customer record was created."),
        _c(
            "updated_at",
            TIMESTAMP,
            "When the source last changed the record (picks the survivor among duplicates).",
        ),
        _c("birth_date", DATE, "Date of birth (age is derived as of a date, never stored)."),
        _c("gender", STRING, "Gender as declared (free text, e.g. female, male, non-binary)."),
        _c("income_band", STRING, "Declared or CRM income band, e.g. '50-75k'."),
        _c("education", STRING, "Highest education level."),
        _c("marital_status", STRING, "Marital status."),
        _c("household", STRING, "Household type, e.g. 'family with children'."),
        _c("occupation", STRING, "Occupation or job title."),
        _c("language", STRING, "Preferred language (ISO 639-1)."),
        _c("country", STRING, "Country, ISO 3166-1 alpha-2 (e.g. US, DE)."),
        _c("region", STRING, "Region, state or province."),
        _c("city", STRING, "City."),
        _c("postal_code", STRING, "Postal or ZIP code, as text (leading zeros kept)."),
        _c("latitude", FLOAT, "Latitude of the customer's address, degrees."),
        _c("longitude", FLOAT, "Longitude of the customer's address, degrees."),
        _c("account_id", STRING, "B2B account the customer buys for (joins accounts)."),
        _c("tags", STRING, "Comma-separated tags, e.g. 'vip, wholesale'."),
        _c("accepts_email_marketing", BOOL, "E-mail marketing consent."),
        _c("accepts_sms_marketing", BOOL, "SMS marketing consent."),
        _c(
            "is_stub",
            BOOL,
            "True when custseg created the row for an order whose customer was unknown, or for a guest identified by e-mail.",
            system=True,
        ),
    ),
)

ACCOUNTS = TableSchema(
    name="accounts",
    description="B2B accounts (companies) that customers buy for.",
    key=("account_id",),
    columns=(
        _c("account_id", STRING, "Account id.", required=True),
        _c("company_name", STRING, "Company name."),
        _c("industry", STRING, "Industry."),
        _c("employee_band", STRING, "Company size band, e.g. '50-249'."),
        _c("tier", STRING, "Commercial tier, e.g. 'gold'."),
    ),
)

ORDERS = TableSchema(
    name="orders",
    description="One row per order. Cancelled, returned and refunded orders are kept with their status.",
    key=("order_id",),
    columns=(
        _c(
            "order_id",
            STRING,
            "Order id (for Shopify, the order name such as #1001).",
            required=True,
        ),
        _c("customer_id", STRING, "Customer id; null for anonymous guest orders."),
        _c("email", STRING, "E-mail on the order, used to identify guest orders."),
        _c("ordered_at", TIMESTAMP, "When the order was placed.", required=True),
        _c(
            "currency", STRING, "Currency of the money columns: always the workspace base currency."
        ),
        _c("original_currency", STRING, "Currency the source gave (ISO 4217)."),
        _c("fx_rate", FLOAT, "Rate applied: base amount = original amount x fx_rate."),
        _c("subtotal", MONEY, "Sum of line amounts after line discounts, before shipping and tax."),
        _c("discount", MONEY, "Order-level discount amount (positive number)."),
        _c("shipping", MONEY, "Shipping charged."),
        _c("tax", MONEY, "Tax charged (or included, for tax-inclusive shops)."),
        _c("total", MONEY, "Amount charged: subtotal + shipping (+ tax where exclusive)."),
        _c("refunded", MONEY, "Amount refunded so far. Net revenue = total - refunded."),
        _c("status", STRING, "placed, cancelled, returned or refunded."),
        _c("channel", STRING, "web, app, store, marketplace or phone."),
        _c("device", STRING, "desktop, mobile or tablet, when known."),
        _c("ship_country", STRING, "Shipping country, ISO 3166-1 alpha-2."),
        _c("ship_region", STRING, "Shipping region, state or province."),
        _c("ship_city", STRING, "Shipping city."),
        _c("ship_postal_code", STRING, "Shipping postal code."),
        _c("shipping_method", STRING, "Shipping method, e.g. standard, express."),
        _c("items_count", INT, "Number of units in the order."),
        _c("weight_kg", FLOAT, "Shipped weight in kilograms."),
        _c("is_guest", BOOL, "True when the source had no customer id for the order.", system=True),
    ),
)

ORDER_LINES = TableSchema(
    name="order_lines",
    description="One row per order line (item). A negative quantity is a return line.",
    key=("order_id", "line_no"),
    replace_by="order_id",
    columns=(
        _c("order_id", STRING, "Order the line belongs to.", required=True),
        _c("line_no", INT, "Line number within the order, from 1.", required=True),
        _c("sku", STRING, "Product SKU."),
        _c("product_name", STRING, "Product name."),
        _c("category", STRING, "Product category."),
        _c("brand", STRING, "Brand or vendor."),
        _c("quantity", INT, "Units; negative for a return line.", required=True),
        _c("unit_price", MONEY, "List price of one unit before discounts.", required=True),
        _c("discount", MONEY, "The line's share of discounts (positive number)."),
        _c("returned_qty", INT, "Units of this line returned later."),
    ),
)

EVENTS = TableSchema(
    name="events",
    description="Web and app events: sessions, views, carts, checkouts, e-mail opens and clicks, searches.",
    key=("event_id",),
    columns=(
        _c(
            "event_id",
            STRING,
            "Event id; derived from a hash of the row when the source has none.",
            required=True,
        ),
        _c("customer_id", STRING, "Known customer id (login), when the visitor is identified."),
        _c("anonymous_id", STRING, "Cookie or device id (GA4 user_pseudo_id)."),
        _c("ts", TIMESTAMP, "When the event happened.", required=True),
        _c(
            "type",
            STRING,
            "session, page_view, product_view, add_to_cart, checkout, purchase, email_open, email_click, search, or the source's own name.",
            required=True,
        ),
        _c("device", STRING, "desktop, mobile or tablet."),
        _c("os", STRING, "Operating system."),
        _c("browser", STRING, "Browser."),
        _c("source", STRING, "Traffic source, e.g. google, newsletter."),
        _c("medium", STRING, "Traffic medium, e.g. organic, cpc, email."),
        _c("product_id", STRING, "Product (SKU) the event is about."),
        _c("url", STRING, "Page URL."),
    ),
)

ATTRIBUTES = TableSchema(
    name="attributes",
    description="Survey answers and CRM fields as key/value pairs (the psychographic input).",
    key=("customer_id", "key", "source"),
    survivor_order=("observed_at",),
    columns=(
        _c("customer_id", STRING, "Customer the answer belongs to.", required=True),
        _c(
            "key",
            STRING,
            "Attribute name, e.g. interest, values, lifestyle, price_sensitivity.",
            required=True,
        ),
        _c("value", STRING, "Attribute value as text."),
        _c("source", STRING, "Where it came from, e.g. survey_2024, hubspot.", required=True),
        _c("observed_at", TIMESTAMP, "When the answer was given or the field last changed."),
    ),
)

CAMPAIGNS = TableSchema(
    name="campaigns",
    description="Marketing campaigns.",
    key=("campaign_id",),
    columns=(
        _c("campaign_id", STRING, "Campaign id.", required=True),
        _c("name", STRING, "Campaign name."),
        _c("channel", STRING, "email, sms, paid_social, direct_mail or phone."),
        _c("started_at", TIMESTAMP, "When sending started."),
        _c("description", STRING, "What was offered."),
    ),
)

CAMPAIGN_EXPOSURES = TableSchema(
    name="campaign_exposures",
    description="Who was assigned to each campaign, and to which arm.",
    key=("campaign_id", "customer_id"),
    columns=(
        _c("campaign_id", STRING, "Campaign.", required=True),
        _c("customer_id", STRING, "Customer.", required=True),
        _c("arm", STRING, "treatment or control (held out).", required=True),
        _c("sent_at", TIMESTAMP, "When the message was sent (null for control)."),
    ),
)

CAMPAIGN_OUTCOMES = TableSchema(
    name="campaign_outcomes",
    description="Observed outcome per customer and campaign.",
    key=("campaign_id", "customer_id"),
    columns=(
        _c("campaign_id", STRING, "Campaign.", required=True),
        _c("customer_id", STRING, "Customer.", required=True),
        _c("converted", BOOL, "Whether the customer converted in the attribution window."),
        _c("revenue", MONEY, "Revenue attributed in the window."),
        _c("observed_at", TIMESTAMP, "When the outcome was measured."),
    ),
)

TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        CUSTOMERS,
        ACCOUNTS,
        ORDERS,
        ORDER_LINES,
        EVENTS,
        ATTRIBUTES,
        CAMPAIGNS,
        CAMPAIGN_EXPOSURES,
        CAMPAIGN_OUTCOMES,
    )
}


def table_schema(name: str) -> TableSchema:
    """Return the canonical table called ``name``.

    Raises
    ------
    custseg.exceptions.UsageError
        If there is no such table; the message lists the valid names.
    """
    from custseg.exceptions import UsageError

    try:
        return TABLES[name]
    except KeyError:
        raise UsageError(
            f"unknown table {name!r}; the canonical tables are: {', '.join(TABLES)}"
        ) from None


def ibis_schema(name: str) -> ibis.Schema:
    """The Ibis schema of canonical table ``name`` (all columns nullable)."""
    return ibis.schema({c.name: c.dtype for c in table_schema(name).columns})


def data_model_markdown() -> str:
    """Render the data model as Markdown (the body of ``docs/data-model.md``)."""
    out = []
    for t in TABLES.values():
        out.append(f"## `{t.name}`\n")
        out.append(f"{t.description}\n")
        key = ", ".join(f"`{k}`" for k in t.key)
        out.append(
            f"Key: {key}."
            + (
                f" A load replaces all rows of each `{t.replace_by}` it brings."
                if t.replace_by
                else ""
            )
            + "\n"
        )
        out.append("| column | type | required | meaning |")
        out.append("| --- | --- | --- | --- |")
        for c in t.columns:
            req = "yes" if c.required else ("set by custseg" if c.system else "no")
            out.append(f"| `{c.name}` | {c.type_name} | {req} | {c.description} |")
        out.append("")
    return "\n".join(out)
