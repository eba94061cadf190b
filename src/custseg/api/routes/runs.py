"""``/runs``: start the pipeline in the background and follow it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response

from custseg import pipeline
from custseg.api.deps import StateDep, WorkspaceDep, require_scope
from custseg.api.errors import ApiError
from custseg.api.runs import RunStatus
from custseg.api.schemas import Problem, RunIn, RunPublic, RunsPublic

__all__ = ["router"]

router = APIRouter(prefix="/runs", tags=["runs"])

RunId = Annotated[str, Path(min_length=1, max_length=100)]


@router.post(
    "",
    status_code=202,
    response_model=RunPublic,
    dependencies=[Depends(require_scope("write"))],
    responses={409: {"model": Problem, "description": "A run or an export is in progress."}},
)
def start_run(
    state: StateDep, response: Response, body: Annotated[RunIn | None, Body()] = None
) -> Any:
    """Run the pipeline (features, segments, actions, deliveries) in the background.

    Answers 202 at once with the run id; follow it with ``GET /runs/{id}``.
    """
    status = state.runs.start(as_of=body.as_of if body else None)
    if status is None:
        raise ApiError(409, "a run or an export is in progress; try again when it has finished.")
    response.headers["Location"] = f"/runs/{status.run_id}"
    return status.to_dict()


@router.get("", response_model=RunsPublic)
def list_runs(ws: WorkspaceDep) -> Any:
    """The recorded runs, newest first (at most 100).

    Statuses: ``running``, ``succeeded``, ``failed`` (rolled back) and ``interrupted``
    (the process died mid-run; rolled back). ``GET /runs/current`` is the one served.
    """
    data = [RunStatus.from_result(r).to_dict() for r in pipeline.list_runs(ws, limit=100)]
    return {"data": data, "count": len(data)}


@router.get("/current", response_model=RunPublic, responses={404: {"model": Problem}})
def get_current_run(ws: WorkspaceDep) -> Any:
    """The current run: the latest succeeded one, whose tables the API serves.

    A failed or killed run is rolled back, so it never becomes current; a killed run is
    listed as ``running`` until the next run starts and marks it ``interrupted``.
    """
    now = pipeline.current_run(ws)
    if now is None:
        raise ApiError(404, "no run has succeeded yet; start one with POST /runs.")
    return RunStatus.from_result(now).to_dict()


@router.get("/{run_id}", response_model=RunPublic, responses={404: {"model": Problem}})
def get_run(run_id: RunId, state: StateDep, ws: WorkspaceDep) -> Any:
    """A run's status, stage timings and error."""
    mine = state.runs.get(run_id)
    if mine is not None:
        return mine.to_dict()
    recorded = pipeline.get_run(ws, run_id)
    if recorded is None:
        raise ApiError(404, f"no run with id {run_id!r}; GET /runs lists them.")
    return RunStatus.from_result(recorded).to_dict()
