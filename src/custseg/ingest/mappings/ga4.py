"""GA4's BigQuery event export, flattened to NDJSON (one event per line)."""

from __future__ import annotations

from custseg.config import ColumnSpec as C
from custseg.ingest.mapping import Mapping, When

__all__ = ["GA4_EVENTS"]


def _param(key: str, kind: str = "string_value") -> str:
    """The value of one ``event_params`` entry."""
    return (
        "struct_extract(struct_extract(list_extract(list_filter(event_params, "
        f"p -> struct_extract(p, 'key') = '{key}'), 1), 'value'), '{kind}')"
    )


#: GA4 event names -> custseg event types (others keep their GA4 name).
_TYPE = (
    "CASE event_name WHEN 'session_start' THEN 'session' WHEN 'view_item' THEN 'product_view' "
    "WHEN 'begin_checkout' THEN 'checkout' WHEN 'view_search_results' THEN 'search' "
    "ELSE event_name END"
)

GA4_EVENTS = Mapping(
    name="ga4_events",
    table="events",
    format="ndjson",
    description=(
        "GA4 BigQuery export (events_YYYYMMDD) as NDJSON: identity is user_id when set, "
        "the cookie id user_pseudo_id is kept as anonymous_id."
    ),
    columns={
        "customer_id": C(column="user_id"),
        "anonymous_id": C(column="user_pseudo_id"),
        # INT64 arrives as a string in JSON exports: cast before converting µs to a timestamp
        "ts": C(expr="make_timestamp(CAST(event_timestamp AS BIGINT))"),
        "type": C(expr=_TYPE),
    },
    when=(
        When("device", C(expr="struct_extract(device, 'category')"), requires=("device",)),
        When("os", C(expr="struct_extract(device, 'operating_system')"), requires=("device",)),
        When(
            "browser",
            C(
                expr="coalesce(struct_extract(struct_extract(device, 'web_info'), 'browser'), "
                "struct_extract(device, 'browser'))"
            ),
            requires=("device",),
        ),
        When(
            "source",
            C(expr="struct_extract(traffic_source, 'source')"),
            requires=("traffic_source",),
        ),
        When(
            "medium",
            C(expr="struct_extract(traffic_source, 'medium')"),
            requires=("traffic_source",),
        ),
        When(
            "product_id",
            C(expr="struct_extract(list_extract(items, 1), 'item_id')"),
            requires=("items",),
        ),
        When("url", C(expr=_param("page_location")), requires=("event_params",)),
    ),
)
