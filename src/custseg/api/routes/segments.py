"""``/segments``: list, read, write, delete and preview segments; page and profile members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from custseg.api import crud
from custseg.api.deps import WorkspaceDep, require_scope
from custseg.api.schemas import (
    MembersPublic,
    PreviewIn,
    PreviewPublic,
    Problem,
    SegmentIn,
    SegmentPublic,
    SegmentsPublic,
)

__all__ = ["router"]

router = APIRouter(prefix="/segments", tags=["segments"])

Name = Annotated[str, Path(min_length=1, max_length=200, description="Segment key or title.")]
NewName = Annotated[
    str,
    Path(pattern=r"^[a-z0-9_]{1,64}$", description="Segment key: a-z, 0-9 and _, 64 at most."),
]
_404 = {404: {"model": Problem, "description": "No such segment."}}
_409 = {409: {"model": Problem, "description": "Not evaluated yet, or not a .seg segment."}}


@router.get("", response_model=SegmentsPublic)
def list_segments(ws: WorkspaceDep) -> Any:
    """Every segment (built-in, custseg.toml, segments/*.seg) with its size at the last run."""
    return crud.list_segments(ws=ws)


@router.post("/preview", response_model=PreviewPublic)
def preview_segment(body: PreviewIn, ws: WorkspaceDep) -> Any:
    """Count the customers a rule selects, their share, and a sample (writes nothing)."""
    from custseg.segments.dsl import preview
    from custseg.segments.registry import rule_context

    return preview(rule_context(ws), body.rule, sample=body.sample).to_dict()


@router.get("/{name}", response_model=SegmentPublic, responses=_404)
def get_segment(name: Name, ws: WorkspaceDep) -> Any:
    """One segment's definition, size and share."""
    return crud.segment_public(ws, crud.find_segment(ws=ws, name=name))


@router.put(
    "/{name}",
    response_model=SegmentPublic,
    dependencies=[Depends(require_scope("write"))],
    responses={201: {"model": SegmentPublic, "description": "Created."}, **_409},
    status_code=200,
)
def put_segment(name: NewName, body: SegmentIn, ws: WorkspaceDep, response: Response) -> Any:
    """Write or replace the rule segment ``segments/<name>.seg`` (the rule is checked first).

    Its members appear at the next evaluation (``POST /runs``).
    """
    created, d = crud.put_segment(ws=ws, name=name, **body.model_dump())
    if created:
        response.status_code = 201
    return crud.segment_public(ws, d)


@router.delete(
    "/{name}",
    status_code=204,
    dependencies=[Depends(require_scope("write"))],
    responses={**_404, **_409},
)
def delete_segment(name: Name, ws: WorkspaceDep) -> Response:
    """Delete a ``segments/*.seg`` segment (409 for built-in and custseg.toml segments)."""
    crud.delete_segment(ws=ws, name=name)
    return Response(status_code=204)


@router.get("/{name}/members", response_model=MembersPublic, responses={**_404, **_409})
def segment_members(
    name: Name,
    ws: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="Last id seen.")] = None,
    fields: Annotated[
        list[str], Query(max_length=50, description="customer_features columns to add.")
    ] = [],  # noqa: B006 - FastAPI copies defaults
) -> Any:
    """Members by ``customer_id``, one page at a time: pass ``next_cursor`` as ``cursor``."""
    return crud.members_page(ws=ws, name=name, limit=limit, cursor=cursor, fields=fields)


@router.get("/{name}/profile", response_model=dict[str, Any], responses={**_404, **_409})
def segment_profile(name: Name, ws: WorkspaceDep) -> Any:
    """The segment's profile against all customers (see docs/profiles.md)."""
    return crud.segment_profile(ws=ws, name=name)
