"""What a load did: rows in, loaded, repaired, quarantined, per rule."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RULES", "SourceReport", "LoadReport"]

#: Every validation rule: code -> (action, what it means). Documented in docs/ingestion.md.
RULES: dict[str, tuple[str, str]] = {
    "malformed_row": (
        "quarantine",
        "The record could not be split into the header's columns (wrong field count, broken quoting, invalid JSON).",
    ),
    "invalid_encoding": ("quarantine", "The record is not valid text in the declared encoding."),
    "missing_value": (
        "quarantine",
        "A required column (a key, the order date, a quantity ...) is empty, or holds nan/None/null.",
    ),
    "unparseable_value": (
        "quarantine",
        "A value does not parse as the column's type (a bad date, a number with letters, a number too large).",
    ),
    "lost_id": (
        "quarantine",
        "An id was turned into scientific notation by a spreadsheet (7.02255E+12): the real id is lost.",
    ),
    "duplicate_key": (
        "quarantine",
        "Another row has the same key; the survivor is the newest by updated_at/observed_at where the table has one, else the last row in the source.",
    ),
    "future_date": (
        "quarantine",
        "The order or event is dated more than ingest.future_tolerance_days after the load.",
    ),
    "unknown_currency": (
        "quarantine",
        "The currency is neither the base currency nor in ingest.fx_rates.",
    ),
    "negative_price": (
        "quarantine",
        "An order line has a negative unit price (returns are negative quantities, not prices).",
    ),
    "unknown_customer": (
        "quarantine",
        "The order's customer is not in customers and ingest.on_unknown_customer = 'quarantine'.",
    ),
    "unknown_order": (
        "quarantine",
        "An order line whose order is neither loaded nor in the same file.",
    ),
    "order_quarantined": (
        "quarantine",
        "A line of an order that was quarantined (its order-level fields failed a rule).",
    ),
    "stub_customer": (
        "repair",
        "An order's customer was unknown: a stub customer (is_stub = true) was created.",
    ),
    "guest_identified": (
        "repair",
        "A guest order (no customer id) was matched to a customer by e-mail.",
    ),
    "guest_stub": (
        "repair",
        "A guest order with an e-mail no customer has: a stub customer keyed on the e-mail hash was created.",
    ),
    "currency_converted": (
        "repair",
        "Money was converted to the base currency with ingest.fx_rates (original currency and rate kept).",
    ),
    "totals_derived": (
        "repair",
        "Order totals were derived from the lines because the export has none.",
    ),
    "event_id_derived": (
        "repair",
        "The event had no id: one was derived from a hash of its fields.",
    ),
    "guest_anonymous": (
        "kept",
        "A guest order with neither customer id nor e-mail: loaded with a null customer_id and left out of customer-level tables.",
    ),
    "return_line": ("kept", "An order line with a negative quantity (a return), kept as such."),
    "cancelled_order": ("kept", "A cancelled order, kept with status cancelled."),
    "refunded_order": (
        "kept",
        "A refunded or returned order, kept with its status and refunded amount.",
    ),
}


@dataclass
class SourceReport:
    """The outcome of loading (or validating) one source."""

    source: str
    file: str
    table: str
    mapping: str
    variant: str | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    skipped: bool = False
    dry_run: bool = False
    seconds: float = 0.0

    def add(self, rule: str, n: int) -> None:
        """Count ``n`` rows under ``rule`` in the right bucket."""
        if n <= 0:
            return
        action = RULES[rule][0]
        bucket = {"quarantine": self.quarantined, "repair": self.repaired, "kept": self.kept}[
            action
        ]
        bucket[rule] = bucket.get(rule, 0) + n

    @property
    def balanced(self) -> bool:
        """Rows in = rows loaded + rows quarantined."""
        return self.skipped or self.rows_in == self.rows_loaded + self.rows_quarantined


@dataclass
class LoadReport:
    """The outcome of one ``ingest`` or ``validate`` call."""

    sources: list[SourceReport] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return sum(s.rows_in for s in self.sources)

    @property
    def rows_loaded(self) -> int:
        return sum(s.rows_loaded for s in self.sources)

    @property
    def rows_quarantined(self) -> int:
        return sum(s.rows_quarantined for s in self.sources)

    def totals(self, bucket: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.sources:
            for k, v in getattr(s, bucket).items():
                out[k] = out.get(k, 0) + v
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "sources": [asdict(s) for s in self.sources],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)
