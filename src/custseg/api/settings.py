"""The server's settings: defaults, overridden by ``CUSTSEG_API_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings"]


class ApiSettings(BaseSettings):
    """Limits and knobs of the REST API.

    Every field can be set by an environment variable, e.g.
    ``CUSTSEG_API_MAX_BODY_BYTES=262144``.
    """

    model_config = SettingsConfigDict(
        env_prefix="CUSTSEG_API_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    recommendations: int = Field(
        default=5, ge=0, le=50, description="Recommendations returned by GET /customers/{id}."
    )
    duckdb_threads: int | None = Field(
        default=None,
        ge=1,
        description=(
            "DuckDB worker threads for the whole server (default: DuckDB's, one per core). "
            "1 makes each point lookup cheaper and steadier, and runs and exports slower."
        ),
    )
    write_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long an export waits for a running evaluation before answering 409.",
    )
