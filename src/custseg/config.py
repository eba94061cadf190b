"""Typed workspace configuration (``custseg.toml``).

One :func:`resolve` applies the precedence *defaults < file < environment <
flags*. A bad file gets a :class:`~custseg.exceptions.ConfigError` that names
the key, the line and the valid choices.

Environment variables
---------------------
``CUSTSEG_BACKEND``
    Overrides ``[workspace].backend`` (an Ibis connection URL).
``CUSTSEG_BASE_CURRENCY``
    Overrides ``[workspace].base_currency``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from custseg.exceptions import ConfigError

__all__ = [
    "CONFIG_FILE",
    "ColumnSpec",
    "CsvOptions",
    "MappingConfig",
    "SourceConfig",
    "IngestConfig",
    "WorkspaceSection",
    "Warehouse",
    "FeaturesConfig",
    "ClvConfig",
    "SegmentDefinitionConfig",
    "TiersConfig",
    "ClusteringConfig",
    "SegmentsConfig",
    "DestinationConfig",
    "ExportsConfig",
    "WebhookConfig",
    "PlaybookAction",
    "ShippingTierConfig",
    "ShippingRate",
    "ShippingConfig",
    "ActionsConfig",
    "MonitorConfig",
    "Config",
    "load_config",
    "resolve",
]

CONFIG_FILE = "custseg.toml"

TableName = Literal[
    "customers",
    "accounts",
    "orders",
    "order_lines",
    "events",
    "attributes",
    "campaigns",
    "campaign_exposures",
    "campaign_outcomes",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """How one canonical column is filled from a source.

    Exactly one of ``column``, ``const`` or ``expr`` is set. In TOML a bare
    string is shorthand for ``{ column = "..." }``.
    """

    column: str | list[str] | None = Field(
        default=None,
        description="Source column name, or a list of alternatives: the first one present in the header is used.",
    )
    const: str | int | float | bool | None = Field(default=None, description="A constant value.")
    expr: str | None = Field(
        default=None,
        description='A SQL expression over source columns (quote names with spaces: "Lineitem price" * 2).',
    )
    format: str | None = Field(
        default=None, description="strftime format for dates and timestamps, e.g. %d/%m/%Y."
    )

    @field_validator("expr")
    @classmethod
    def _expr_not_empty(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("expr must not be empty")
        return v

    def model_post_init(self, __context: Any) -> None:
        set_ = [k for k in ("column", "const", "expr") if getattr(self, k) is not None]
        if len(set_) != 1:
            raise ValueError(
                f"set exactly one of column, const or expr (got {', '.join(set_) or 'none'})"
            )

    @property
    def alternatives(self) -> list[str]:
        if self.column is None:
            return []
        return [self.column] if isinstance(self.column, str) else list(self.column)


def _coerce_columns(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: ({"column": s} if isinstance(s, str | list) else s) for k, s in v.items()}
    return v


class CsvOptions(_Strict):
    """How a CSV file is read."""

    delimiter: str = ","
    quote: str = '"'
    escape: str | None = None
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"
    header: bool = True
    compression: Literal["auto", "none", "gzip", "zstd"] = "auto"
    skip_rows: int = Field(default=0, ge=0)


class MappingConfig(_Strict):
    """A reusable column mapping (``[mappings.NAME]``)."""

    table: TableName
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    #: For line-level exports mapped to ``order_lines``: the order-level columns.
    #: Order fields are taken from the first row of each order that has them.
    orders: dict[str, ColumnSpec] = Field(default_factory=dict)

    @field_validator("columns", "orders", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return _coerce_columns(v)


class SourceConfig(_Strict):
    """One input: a file or a database table, and how it maps to a canonical table."""

    path: str | None = Field(default=None, description="File path, relative to the workspace.")
    url: str | None = Field(default=None, description="Ibis connection URL of a SQL database.")
    query_table: str | None = Field(
        default=None, description="Table to read from the database at url."
    )
    format: Literal["csv", "parquet", "json", "ndjson", "sql"] | None = None
    table: TableName | None = Field(default=None, description="Canonical table to load into.")
    mapping: str | None = Field(default=None, description="Built-in or [mappings] name.")
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    orders: dict[str, ColumnSpec] = Field(default_factory=dict)
    csv: CsvOptions = Field(default_factory=CsvOptions)
    timezone: str = Field(
        default="UTC", description="Time zone of timestamps that carry no offset."
    )
    currency: str | None = Field(
        default=None, description="Currency of money columns when the source has none per row."
    )
    date_format: str | None = Field(default=None, description="Default strftime format for dates.")

    @field_validator("columns", "orders", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return _coerce_columns(v)

    def model_post_init(self, __context: Any) -> None:
        if (self.path is None) == (self.url is None):
            raise ValueError("set exactly one of path (a file) or url (a database)")
        if self.url is not None and not self.query_table:
            raise ValueError("a database source needs query_table (the table to read)")


class IngestConfig(_Strict):
    """Validation and repair rules for ingestion (see docs/ingestion.md)."""

    on_unknown_customer: Literal["stub", "quarantine"] = "stub"
    future_tolerance_days: Annotated[int, Field(ge=0)] = 1
    fx_rates: dict[str, float] = Field(
        default_factory=dict,
        description="Rates to the base currency: base amount = amount x rate, e.g. EUR = 1.08.",
    )

    @field_validator("fx_rates")
    @classmethod
    def _rates_positive(cls, v: dict[str, float]) -> dict[str, float]:
        for k, r in v.items():
            if not re.fullmatch(r"[A-Z]{3}", k):
                raise ValueError(f"currency code {k!r} must be 3 upper-case letters (ISO 4217)")
            if not r > 0:
                raise ValueError(f"rate for {k} must be > 0, got {r}")
        return v


class Warehouse(_Strict):
    """A fulfilment location (for distances and regional fulfilment)."""

    name: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class FeaturesConfig(_Strict):
    """``[features]``: inputs of the customer feature build."""

    warehouses: list[Warehouse] = Field(default_factory=list)
    attribute_keys: list[str] = Field(
        default_factory=lambda: ["interest", "values", "lifestyle", "price_sensitivity"],
        description="Keys of the attributes table pivoted to columns (attr_<key>).",
    )
    bulk_units: int = Field(
        default=20, ge=1, description="Units per order from which an order is bulk."
    )


class ClvConfig(_Strict):
    """``[clv]``: the CLV and churn models added to customer_features."""

    enabled: bool = True
    horizon_days: int = Field(default=365, ge=1)
    annual_discount_rate: float = Field(default=0.10, ge=0, lt=1)
    penalizer: float = Field(default=0.0, ge=0)


class SegmentDefinitionConfig(_Strict):
    """One ``[segments.define.<name>]`` table: a rule segment written in the config."""

    rule: str = Field(min_length=1, description="The rule, in the segment language.")
    description: str = ""
    priority: int = Field(default=100, description="Lower wins inside an exclusive group.")
    tags: list[str] = Field(default_factory=list)
    owner: str = ""


class TiersConfig(_Strict):
    """``[segments.tiers]``: the predictive tiers built from the CLV and churn models."""

    clv_top_share: float = Field(default=0.10, gt=0, lt=1, description="Top CLV tier share.")
    clv_next_share: float = Field(default=0.20, gt=0, lt=1, description="Next CLV tier share.")
    churn_high_below: float = Field(default=0.3, gt=0, le=1, description="p_alive below: high.")
    churn_medium_below: float = Field(default=0.6, gt=0, le=1, description="p_alive below: medium.")
    due_within_days: int = Field(default=14, ge=1, description="Due for an order within N days.")
    due_min_p_alive: float = Field(default=0.5, ge=0, le=1, description="Due only if this alive.")

    @model_validator(mode="after")
    def _ordered(self) -> TiersConfig:
        if self.clv_top_share + self.clv_next_share >= 1:
            raise ValueError("clv_top_share + clv_next_share must be below 1")
        if self.churn_high_below >= self.churn_medium_below:
            raise ValueError("churn_high_below must be below churn_medium_below")
        return self


class ClusteringConfig(_Strict):
    """``[segments.clustering]``: the automatic clustering run by ``custseg segments cluster``."""

    enabled: bool = True
    features: list[str] = Field(
        default_factory=lambda: ["behavior"],
        description="Feature families and/or column names of customer_features.",
    )
    algorithm: Literal["kmeans", "gmm", "kprototypes"] = "kmeans"
    k: int | Literal["auto"] = "auto"
    k_min: int = Field(default=2, ge=2)
    k_max: int = Field(default=10, ge=2)
    sample_size: int = Field(default=200_000, ge=100)
    n_bootstrap: int = Field(default=10, ge=2)
    seed: int = 0


class SegmentsConfig(_Strict):
    """``[segments]``: segment definitions, built-in families and the overlap policy."""

    folder: str = Field(default="segments", description="Folder of *.seg rule files.")
    builtin: list[Literal["rfm", "clv_tier", "churn_risk", "due_soon", "cluster"]] = Field(
        default_factory=lambda: ["rfm", "clv_tier", "churn_risk", "due_soon", "cluster"],
        description="Built-in segment families evaluated with the defined segments.",
    )
    define: dict[str, SegmentDefinitionConfig] = Field(default_factory=dict)
    exclusive: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Named groups of segments in which a customer keeps only one (by priority).",
    )
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    clustering: ClusteringConfig = Field(default_factory=ClusteringConfig)


class DestinationConfig(_Strict):
    """One ``[exports.destinations.<name>]`` table: where a segment export goes."""

    preset: Literal["generic", "klaviyo", "mailchimp", "google_ads", "meta"] = "generic"
    pii: list[str] = Field(
        default_factory=list,
        description="PII columns this destination may receive in clear text (allow-list).",
    )
    allow_hashed: bool = Field(
        default=True, description="Whether SHA-256 hashed identifiers may be sent."
    )
    columns: list[str] = Field(
        default_factory=list, description="Extra customer_features columns to include."
    )
    require_consent: bool | None = Field(
        default=None,
        description="Only customers with e-mail consent (default: true for e-mail presets).",
    )


class ExportsConfig(_Strict):
    """``[exports]``: segment exports and their privacy rules."""

    folder: str = Field(default="exports", description="Where exports are written.")
    min_segment_size: int = Field(
        default=50, ge=0, description="Refuse to export fewer rows than this (privacy)."
    )
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)


class WebhookConfig(_Strict):
    """One ``[webhooks.<name>]`` table: POST entered/exited members to a URL after evaluation."""

    url: str = Field(description="http(s) URL that receives the JSON batches.")
    segments: list[str] = Field(
        default_factory=list, description="Segments to send (default: all)."
    )
    secret_env: str = Field(
        default="CUSTSEG_WEBHOOK_SECRET",
        description="Environment variable holding the HMAC-SHA256 signing secret.",
    )
    batch_size: int = Field(default=500, ge=1, le=100_000)
    max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_seconds: float = Field(
        default=0.5, ge=0, description="First retry delay; doubles each attempt."
    )
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not re.match(r"https?://[^\s/]+", v):
            raise ValueError(f"url {v!r} must start with http:// or https://")
        return v


Objective = Literal["retain", "upsell", "win_back", "reward", "onboard"]
Channel = Literal["email", "sms", "paid_social", "direct_mail", "phone"]


class PlaybookAction(_Strict):
    """One ``[[actions.playbook]]`` entry: what to do with one segment."""

    segment: str = Field(description="Segment key (see `custseg segments list`).")
    objective: Objective
    channel: Channel
    offer: str = Field(
        default="none",
        pattern=r"^(none|free_shipping|loyalty_points|early_access|percent_[0-9]{1,2})$",
        description="none, percent_<n>, free_shipping, loyalty_points or early_access.",
    )
    message: str = ""
    cadence: str = "once"
    budget_per_customer: float = Field(default=0.0, ge=0, description="0: no cap.")
    response_rate: float | None = Field(default=None, gt=0, le=1)


class ShippingTierConfig(_Strict):
    """One ``[[actions.shipping.tiers]]`` entry; the first tier whose rule matches wins."""

    name: str
    rule: str = Field(min_length=1)
    method: Literal["economy", "standard", "express", "next_day", "freight"]
    reason: str = ""


class ShippingRate(_Strict):
    """Cost of one shipment: ``base + per_kg x weight``."""

    base: float = Field(ge=0)
    per_kg: float = Field(default=0.0, ge=0)


def _default_rates() -> dict[str, ShippingRate]:
    return {
        "economy": ShippingRate(base=3.5, per_kg=0.3),
        "standard": ShippingRate(base=5.0, per_kg=0.5),
        "express": ShippingRate(base=12.0, per_kg=1.0),
        "next_day": ShippingRate(base=20.0, per_kg=1.5),
        "freight": ShippingRate(base=40.0, per_kg=0.4),
    }


class ShippingConfig(_Strict):
    """``[actions.shipping]``: segment-driven service levels and their costs."""

    default_tiers: bool = Field(default=True, description="Use the built-in tiers after yours.")
    tiers: list[ShippingTierConfig] = Field(default_factory=list)
    rates: dict[str, ShippingRate] = Field(default_factory=_default_rates)
    promise_radius_km: float = Field(
        default=800.0, gt=0, description="Flag customers farther than this from a warehouse."
    )
    packaging: dict[str, str] = Field(
        default_factory=lambda: {
            "gift_wrap": "tags CONTAINS 'gift'",
            "fragile": "products_purchased MATCHES (category IN ('electronics', 'kitchen'), "
            "date >= -12m)",
            "b2b_labels": "account_id IS NOT NULL",
        },
        description="Packaging and labeling flags, each a segment-language rule.",
    )


class ActionsConfig(_Strict):
    """``[actions]``: playbooks (marketing actions per segment) and shipping tiers."""

    default_playbook: bool = Field(
        default=True, description="Add the built-in actions for segments you do not cover."
    )
    playbook: list[PlaybookAction] = Field(default_factory=list)
    response_rates: dict[str, float] = Field(
        default_factory=lambda: {
            "retain": 0.08,
            "upsell": 0.05,
            "win_back": 0.03,
            "reward": 0.12,
            "onboard": 0.10,
        },
        description="Assumed response rate per objective (used when an action has none).",
    )
    channel_costs: dict[str, float] = Field(
        default_factory=lambda: {
            "email": 0.002,
            "sms": 0.02,
            "paid_social": 0.40,
            "direct_mail": 1.20,
            "phone": 6.00,
        },
        description="Cost of one contact per channel, in the base currency.",
    )
    shipping: ShippingConfig = Field(default_factory=ShippingConfig)


class MonitorConfig(_Strict):
    """``[monitor]``: drift alert thresholds (``custseg monitor``)."""

    size_change_warn: float = Field(default=0.10, gt=0, description="Relative size change.")
    size_change_alert: float = Field(default=0.25, gt=0)
    psi_warn: float = Field(default=0.10, gt=0, description="Population stability index.")
    psi_alert: float = Field(default=0.25, gt=0)
    distance_growth_warn: float = Field(
        default=0.10, gt=0, description="Relative growth of the mean cluster assignment distance."
    )
    distance_growth_alert: float = Field(default=0.25, gt=0)
    min_segment_size: int = Field(
        default=30, ge=0, description="Smaller segments are not alerted on."
    )
    fail_on: Literal["warn", "alert", "never"] = Field(
        default="alert", description="custseg monitor exits non-zero from this severity."
    )
    flows: list[list[str]] = Field(
        default_factory=lambda: [
            ["rfm_champions", "rfm_at_risk"],
            ["rfm_champions", "rfm_cant_lose_them"],
            ["rfm_loyal_customers", "rfm_at_risk"],
            ["clv_top", "churn_high"],
        ],
        description="Migrations worth flagging: [from segment, to segment] pairs.",
    )


class WorkspaceSection(_Strict):
    """``[workspace]``: name, backend and currency."""

    name: str = "custseg"
    backend: str = Field(
        default="duckdb://custseg.duckdb",
        description="Ibis connection URL; a relative duckdb path is inside the workspace.",
    )
    base_currency: str = "USD"

    @field_validator("backend")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        scheme = v.split("://", 1)[0] if "://" in v else ""
        known = ("duckdb", "pyspark", "sqlite", "postgres", "postgresql", "snowflake", "bigquery")
        if scheme not in known:
            raise ValueError(
                f"backend URL {v!r} has unknown scheme {scheme!r}; use one of: "
                + ", ".join(f"{k}://" for k in known)
            )
        return v

    @field_validator("base_currency")
    @classmethod
    def _iso(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError(f"base_currency {v!r} must be 3 upper-case letters (ISO 4217)")
        return v


class Config(_Strict):
    """The whole ``custseg.toml``."""

    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    mappings: dict[str, MappingConfig] = Field(default_factory=dict)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    clv: ClvConfig = Field(default_factory=ClvConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    exports: ExportsConfig = Field(default_factory=ExportsConfig)
    webhooks: dict[str, WebhookConfig] = Field(default_factory=dict)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)


# --------------------------------------------------------------------------- loading


def _line_of(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Best-effort line number (1-based) of the TOML key at ``loc``."""
    lines = text.splitlines()
    path = [str(p) for p in loc]
    # Walk: find the deepest [table] header that is a prefix of loc, then the key.
    best: int | None = None
    for depth in range(len(path), 0, -1):
        header = ".".join(path[:depth])
        pat = re.compile(r"^\s*\[\s*" + re.escape(header).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        for i, line in enumerate(lines):
            if pat.match(line):
                best = i + 1
                rest = path[depth:]
                if not rest:
                    return best
                key = re.compile(r"^\s*" + re.escape(rest[0]) + r"\s*=")
                for j in range(i + 1, len(lines)):
                    if lines[j].lstrip().startswith("["):
                        break
                    if key.match(lines[j]):
                        return j + 1
                return best
    # top-level key, or inline table
    key = re.compile(r"^\s*" + re.escape(path[-1]) + r"\s*=")
    for i, line in enumerate(lines):
        if key.match(line):
            return i + 1
    return best


def _valid_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The valid keys at the parent of ``loc`` (for 'did you mean' hints)."""
    cur: Any = model
    for part in loc[:-1]:
        fields = getattr(cur, "model_fields", None)
        if fields is None:
            return []
        if part in fields:
            ann = fields[part].annotation
            # unwrap dict[str, X]
            args = getattr(ann, "__args__", ())
            cur = args[1] if getattr(ann, "__origin__", None) is dict and len(args) == 2 else ann
        elif hasattr(cur, "model_fields"):
            continue  # a user-chosen name such as a source name
    return list(getattr(cur, "model_fields", {}).keys())


def _format_validation_error(exc: ValidationError, text: str, file: str) -> str:
    msgs = []
    for err in exc.errors()[:5]:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(text, loc) if loc else None
        where = f"{file}, line {line}" if line else file
        if err["type"] == "extra_forbidden":
            valid = _valid_keys(Config, loc)
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msgs.append(f"{where}: unknown key '{key}'.{hint} Valid keys here: {', '.join(valid)}.")
        else:
            got = err.get("input")
            got_s = "" if isinstance(got, dict) else f" (got {got!r})"
            msgs.append(f"{where}: key '{key}': {err['msg']}{got_s}.")
    more = len(exc.errors()) - 5
    if more > 0:
        msgs.append(f"... and {more} more problem(s).")
    return " ".join(msgs) + " Fix the file and run the command again."


def load_config(path: str | Path) -> Config:
    """Read and validate a ``custseg.toml``.

    Parameters
    ----------
    path
        The TOML file.

    Returns
    -------
    Config
        The validated, frozen configuration.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or breaks the schema. The
        message names the key and line and lists the valid choices.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {str(path)!r} not found. Run 'custseg init {path.parent}' to create one, "
            "or pass --workspace DIR."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start}). Save it as UTF-8."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}. Fix the syntax and run again.") from None
    return _validate(data, text, str(path))


def _validate(data: dict[str, Any], text: str, file: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, text, file)) from None


def resolve(
    path: str | Path | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Build the effective config: defaults < file < environment < flags.

    Parameters
    ----------
    path
        ``custseg.toml`` to read; ``None`` uses the defaults only.
    env
        Environment to read ``CUSTSEG_*`` variables from (default: ``os.environ``).
    overrides
        Values from command-line flags, as a nested dict like the file's.
    """
    env = dict(os.environ if env is None else env)
    if path is not None:
        cfg = load_config(path)
        data = cfg.model_dump(exclude_unset=True)
        text = Path(path).read_text(encoding="utf-8")
        file = str(path)
    else:
        data, text, file = {}, "", "(defaults)"
    ws = dict(data.get("workspace", {}))
    for var, key in (("CUSTSEG_BACKEND", "backend"), ("CUSTSEG_BASE_CURRENCY", "base_currency")):
        if env.get(var):
            try:
                WorkspaceSection.model_validate({key: env[var]})
            except ValidationError as e:
                msg = e.errors()[0]["msg"]
                raise ConfigError(
                    f"environment variable {var}={env[var]!r}: {msg}. Fix or unset it."
                ) from None
            ws[key] = env[var]
    if ws:
        data["workspace"] = ws
    for section, values in (overrides or {}).items():
        data[section] = {**data.get(section, {}), **values}
    return _validate(data, text, file)
