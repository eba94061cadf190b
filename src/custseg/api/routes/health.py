"""``GET /health``: open to everyone, says whether the server is up."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter

from custseg.api.deps import StateDep
from custseg.api.schemas import HealthPublic

__all__ = ["router"]

router = APIRouter(tags=["health"])

try:
    _VERSION = version("custseg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "unknown"


@router.get("/health", response_model=HealthPublic)
async def health(state: StateDep) -> HealthPublic:
    """The server is up (no token needed)."""
    return HealthPublic(status="ok", version=_VERSION, customers_ready=state.lookup.ready)
