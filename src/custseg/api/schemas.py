"""Request and response models (pydantic): one family per resource.

Request models forbid unknown fields and bound every string and list, so a request that
validates is also a request the server is willing to work on.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ActionPublic",
    "CustomerPublic",
    "ExportIn",
    "ExportPublic",
    "HealthPublic",
    "MembersPublic",
    "PreviewIn",
    "PreviewPublic",
    "Problem",
    "RecommendationPublic",
    "RunIn",
    "RunPublic",
    "RunsPublic",
    "SegmentIn",
    "SegmentPublic",
    "SegmentRef",
    "SegmentsPublic",
    "ShippingPublic",
    "TokenCreated",
    "TokenIn",
    "TokenPublic",
    "TokensPublic",
]

#: A rule may be long, not huge.
MAX_RULE_CHARS = 20_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class HealthPublic(BaseModel):
    status: Literal["ok"]
    version: str
    customers_ready: bool = Field(description="Whether GET /customers/{id} can answer.")


# ----------------------------------------------------------------------------- segments


class SegmentPublic(BaseModel):
    name: str
    title: str
    family: str
    rule: str
    description: str = ""
    priority: int = 100
    tags: list[str] = []
    owner: str = ""
    source: str = Field(description="builtin, custseg.toml, or the .seg file (workspace-relative).")
    exclusive_group: str | None = None
    size: int | None = Field(None, description="Members at the last evaluation (None: never).")
    share: float | None = None


class SegmentsPublic(BaseModel):
    data: list[SegmentPublic]
    count: int
    total_customers: int | None
    run_id: str | None


def _one_line(v: str | None) -> str | None:
    if v is not None and ("\n" in v or "\r" in v):
        raise ValueError("must be a single line")
    return v


class SegmentIn(_In):
    """A rule segment, written to ``segments/<name>.seg``."""

    rule: str = Field(min_length=1, max_length=MAX_RULE_CHARS)
    title: str | None = Field(None, max_length=200)
    description: str = Field("", max_length=2000)
    priority: int = Field(100, ge=0, le=1_000_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    owner: str = Field("", max_length=200)

    _single = field_validator("title", "description", "owner")(_one_line)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for t in v:
            if not t.strip() or len(t) > 50 or any(c in t for c in ",\r\n"):
                raise ValueError(f"tag {t!r}: 1-50 characters, no commas or line breaks")
        return [t.strip() for t in v]


class PreviewIn(_In):
    rule: str = Field(min_length=1, max_length=MAX_RULE_CHARS)
    sample: int = Field(10, ge=0, le=100, description="How many members to return.")


class PreviewPublic(BaseModel):
    rule: str
    as_of: str
    count: int
    total: int
    share: float
    sample: list[dict[str, Any]]


class MembersPublic(BaseModel):
    segment: str
    data: list[dict[str, Any]]
    count: int = Field(description="Rows in this page.")
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end."
    )


# ----------------------------------------------------------------------------- customers


class SegmentRef(BaseModel):
    key: str
    title: str
    family: str


class RecommendationPublic(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int
    sku: str
    product_name: str | None = None
    category: str | None = None
    score: float | None = None


class ActionPublic(BaseModel):
    model_config = ConfigDict(extra="allow")
    segment: str
    rank: int
    objective: str
    channel: str
    offer: str
    message: str
    cadence: str


class ShippingPublic(BaseModel):
    model_config = ConfigDict(extra="allow")
    tier: str | None
    method: str | None
    reason: str | None = None
    nearest_warehouse: str | None = None
    distance_km: float | None = None
    beyond_promise: bool | None = None
    packaging: dict[str, bool | None] = {}


class CustomerPublic(BaseModel):
    """Everything a storefront needs to personalise a page for one customer."""

    customer_id: str
    as_of: date
    run_id: str | None = Field(description="The evaluation the segments come from.")
    is_stub: bool | None
    features: dict[str, dict[str, Any]] = Field(description="customer_features by family.")
    segments: list[SegmentRef]
    recommendations: list[RecommendationPublic]
    action: ActionPublic | None
    shipping: ShippingPublic | None


# ----------------------------------------------------------------------------- runs, exports


class RunIn(_In):
    as_of: date | None = Field(None, description="Default: the date of the latest order.")


class RunPublic(BaseModel):
    run_id: str
    status: Literal["queued", "running", "succeeded", "failed", "interrupted"]
    as_of: date | None = None
    stage: str | None = Field(None, description="The stage being run.")
    started_at: str | None = None
    finished_at: str | None = None
    stages: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")
    error: str | None = None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class ExportIn(_In):
    segment: str = Field(min_length=1, max_length=200)
    format: Literal["csv", "parquet", "json"] = "csv"
    destination: str | None = Field(None, max_length=100)
    columns: list[str] = Field(default_factory=list, max_length=100)
    hash_identifiers: bool = False
    diff_since: str | None = Field(None, max_length=100)


class ExportPublic(BaseModel):
    path: str = Field(description="The file written on the server, under the exports folder.")
    segment: str
    destination: str
    format: str
    rows: int
    excluded_no_consent: int
    excluded_no_email: int
    hashed: bool
    columns: list[str]
    diff_since: str | None = None


# ----------------------------------------------------------------------------- tokens


class TokenIn(_In):
    scope: Literal["read", "write", "admin"]
    name: str | None = Field(None, max_length=100)

    _single = field_validator("name")(_one_line)


class TokenPublic(BaseModel):
    id: str
    name: str
    scope: str
    created_at: str
    revoked: bool


class TokenCreated(TokenPublic):
    token: str = Field(description="The token; shown once, stored only as a hash.")


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int
