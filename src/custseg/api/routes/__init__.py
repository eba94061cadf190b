"""The routers, joined in one place: ``public_router`` and ``api_router``.

``api_router`` requires a valid token (scope ``read`` at least) for every route in every
router it includes; routes that change things ask for more. Only ``public_router``
(``/health``) and FastAPI's own ``/docs`` and ``/openapi.json`` are open. A new resource
is one module here and one ``include_router`` line below.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from custseg.api.deps import require_scope
from custseg.api.routes import customers, exports, health, runs, segments, tokens
from custseg.api.schemas import Problem

__all__ = ["api_router", "public_router"]

public_router = APIRouter()
public_router.include_router(health.router)

api_router = APIRouter(
    dependencies=[Depends(require_scope("read"))],
    responses={
        401: {"model": Problem, "description": "No valid token."},
        403: {"model": Problem, "description": "The token's scope is too low."},
        422: {"model": Problem, "description": "The request is not valid."},
    },
)
for _module in (segments, customers, runs, exports, tokens):
    api_router.include_router(_module.router)
