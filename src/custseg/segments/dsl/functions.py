"""The functions of the rule language: their arguments, types and the tables they read.

The checker validates calls against :data:`FUNCTIONS`; the compiler
(:mod:`~custseg.segments.dsl.matchers`) turns them into semi-joins on the raw tables.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FUNCTIONS", "ArgSpec", "FunctionSpec"]

ORDER_OPS = ("=", "!=", ">", ">=", "<", "<=")
TEXT_OPS = ("=", "!=", "in")
BOOL_OPS = ("=", "!=")


@dataclass(frozen=True)
class ArgSpec:
    """One argument a function accepts.

    Parameters
    ----------
    name
        The argument's name in the rule.
    type
        ``"number"``, ``"text"``, ``"date"`` or ``"bool"``.
    ops
        Operators allowed after the name (``"in"`` stands for ``IN (...)``).
    meaning
        One line for the documentation and messages.
    aggregate
        A condition on a per-customer total (``count``, ``quantity``, ``sum``) rather than
        a filter on rows.
    required
        The call is invalid without it.
    once
        It may appear at most once (otherwise repeated conditions are ANDed).
    bounds
        Inclusive ``(low, high)`` for numbers; ``None`` means unbounded on that side.
    tables
        Extra raw tables needed when this argument is used.
    """

    name: str
    type: str
    ops: tuple[str, ...]
    meaning: str
    aggregate: bool = False
    required: bool = False
    once: bool = False
    bounds: tuple[float | None, float | None] | None = None
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    """A function: ``name MATCHES (...)`` (``matches=True``) or ``name(...)``."""

    name: str
    matches: bool
    tables: tuple[str, ...]
    args: tuple[ArgSpec, ...]
    meaning: str

    def arg(self, name: str) -> ArgSpec | None:
        """The argument called ``name``, or None."""
        return next((a for a in self.args if a.name == name), None)

    @property
    def usage(self) -> str:
        """How a call is written, e.g. ``events MATCHES (type ..., date ..., count ...)``."""
        inner = ", ".join(f"{a.name} ..." for a in self.args)
        return f"{self.name} MATCHES ({inner})" if self.matches else f"{self.name}({inner})"


def _date(what: str) -> ArgSpec:
    return ArgSpec("date", "date", ORDER_OPS, f"the {what} date (UTC day)")


def _count(what: str) -> ArgSpec:
    return ArgSpec("count", "number", ORDER_OPS, f"number of matching {what}", aggregate=True)


FUNCTIONS: dict[str, FunctionSpec] = {
    f.name: f
    for f in (
        FunctionSpec(
            "products_purchased",
            matches=True,
            tables=("orders", "order_lines"),
            meaning="order lines (quantity > 0) of the customer's counted orders",
            args=(
                ArgSpec("sku", "text", TEXT_OPS, "the line's SKU"),
                ArgSpec("category", "text", TEXT_OPS, "the line's product category"),
                ArgSpec("brand", "text", TEXT_OPS, "the line's brand"),
                ArgSpec("product_name", "text", TEXT_OPS, "the line's product name"),
                _date("order"),
                _count("orders (distinct orders with a matching line)"),
                ArgSpec(
                    "quantity",
                    "number",
                    ORDER_OPS,
                    "units bought on matching lines (sum of quantity)",
                    aggregate=True,
                ),
            ),
        ),
        FunctionSpec(
            "orders_placed",
            matches=True,
            tables=("orders",),
            meaning="the customer's counted orders (not cancelled)",
            args=(
                _date("order"),
                ArgSpec("amount", "number", ORDER_OPS, "the order's net total (total - refunded)"),
                ArgSpec("channel", "text", TEXT_OPS, "the order's channel"),
                ArgSpec(
                    "status", "text", TEXT_OPS, "the order's status (placed, returned, refunded)"
                ),
                _count("orders"),
                ArgSpec("sum", "number", ORDER_OPS, "net total of matching orders", aggregate=True),
            ),
        ),
        FunctionSpec(
            "events",
            matches=True,
            tables=("events",),
            meaning="the customer's identified events (customer_id known)",
            args=(
                ArgSpec("type", "text", TEXT_OPS, "the event type, e.g. 'product_view'"),
                _date("event"),
                _count("events"),
            ),
        ),
        FunctionSpec(
            "campaign",
            matches=True,
            tables=("campaign_exposures",),
            meaning="the customer's campaign assignments (treatment or control arm)",
            args=(
                ArgSpec("campaign", "text", TEXT_OPS, "the campaign id"),
                ArgSpec("received", "bool", BOOL_OPS, "assigned to the treatment arm", once=True),
                ArgSpec(
                    "converted",
                    "bool",
                    BOOL_OPS,
                    "a converted outcome row for that campaign",
                    once=True,
                    tables=("campaign_outcomes",),
                ),
            ),
        ),
        FunctionSpec(
            "within_distance",
            matches=False,
            tables=(),
            meaning="the customer's address (latitude, longitude) is within km of a point",
            args=(
                ArgSpec(
                    "lat",
                    "number",
                    ("=",),
                    "latitude, degrees",
                    required=True,
                    once=True,
                    bounds=(-90, 90),
                ),
                ArgSpec(
                    "lon",
                    "number",
                    ("=",),
                    "longitude, degrees",
                    required=True,
                    once=True,
                    bounds=(-180, 180),
                ),
                ArgSpec(
                    "km",
                    "number",
                    ("=",),
                    "radius in km",
                    required=True,
                    once=True,
                    bounds=(0, None),
                ),
            ),
        ),
    )
}
