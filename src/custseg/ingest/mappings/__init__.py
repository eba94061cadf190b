"""Built-in mappings for the exports stores really have.

Each mapping selects columns by header name, never by position, and lists the
alternative names every known version of the export uses, so one mapping
reads all of them (see ``docs/ingestion.md`` and ``../shared/formats``).
"""

from __future__ import annotations

from custseg.ingest.mapping import Mapping
from custseg.ingest.mappings.crm import CRM_CONTACTS
from custseg.ingest.mappings.ga4 import GA4_EVENTS
from custseg.ingest.mappings.shopify import SHOPIFY_CUSTOMERS, SHOPIFY_ORDERS

__all__ = ["BUILTIN"]

BUILTIN: dict[str, Mapping] = {
    m.name: m for m in (SHOPIFY_CUSTOMERS, SHOPIFY_ORDERS, GA4_EVENTS, CRM_CONTACTS)
}
