"""``POST /exports``: write a segment to a file in the workspace's exports folder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from custseg.actions.exports import export_segment
from custseg.api.deps import StateDep, WorkspaceDep, require_scope
from custseg.api.errors import ApiError
from custseg.api.schemas import ExportIn, ExportPublic, Problem

__all__ = ["router"]

router = APIRouter(prefix="/exports", tags=["exports"])


@router.post(
    "",
    status_code=201,
    response_model=ExportPublic,
    dependencies=[Depends(require_scope("write"))],
    responses={
        409: {"model": Problem, "description": "Not evaluated yet, or a run is in progress."},
        422: {"model": Problem, "description": "Invalid, or refused by a privacy rule."},
    },
)
def create_export(body: ExportIn, state: StateDep, ws: WorkspaceDep) -> Any:
    """Export a segment (CSV, Parquet or JSON) with the destination's privacy rules.

    The file goes to the default place, ``<workspace>/exports/<segment>[-<destination>].<format>``;
    the API never writes elsewhere.
    """
    with state.writing() as got:
        if not got:
            raise ApiError(409, "a run is in progress; export again when it has finished.")
        result = export_segment(ws, body.segment, **body.model_dump(exclude={"segment"}))
    return result.to_dict()
