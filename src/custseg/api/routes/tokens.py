"""``/tokens`` (admin): list, create and revoke API tokens while the server runs.

The server holds the workspace database, so ``custseg tokens`` cannot change it
meanwhile; these routes can.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from custseg.api import tokens as store
from custseg.api.deps import StateDep, WorkspaceDep, require_scope
from custseg.api.errors import ApiError
from custseg.api.schemas import Problem, TokenCreated, TokenIn, TokensPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/tokens", tags=["tokens"], dependencies=[Depends(require_scope("admin"))]
)


@router.get("", response_model=TokensPublic)
def list_tokens(ws: WorkspaceDep) -> Any:
    """Every token (never the secret)."""
    data = [t.to_dict() for t in store.list_tokens(ws.connect())]
    return {"data": data, "count": len(data)}


@router.post("", status_code=201, response_model=TokenCreated)
def create_token(body: TokenIn, state: StateDep, ws: WorkspaceDep) -> Any:
    """Create a token; the response is the only time it is shown."""
    with state.writing() as got:
        if not got:
            raise ApiError(409, "a run is in progress; try again when it has finished.")
        info, token = store.create_token(ws.connect(), scope=body.scope, name=body.name)
        state.tokens.reload(ws.connect())
    return {**info.to_dict(), "token": token}


@router.delete("/{token_id}", status_code=204, responses={404: {"model": Problem}})
def revoke_token(
    token_id: Annotated[str, Path(max_length=100)], state: StateDep, ws: WorkspaceDep
) -> Response:
    """Revoke a token: it stops working at once."""
    con = ws.connect()
    if token_id not in {t.id for t in store.list_tokens(con)}:
        raise ApiError(404, f"no token with id {token_id!r}.")
    with state.writing() as got:
        if not got:
            raise ApiError(409, "a run is in progress; try again when it has finished.")
        store.revoke_token(con, token_id)
        state.tokens.reload(con)
    return Response(status_code=204)
