"""``GET /customers/{id}``: the call a storefront makes to personalise a page."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from custseg.api.deps import StateDep
from custseg.api.errors import ApiError
from custseg.api.schemas import CustomerPublic, Problem

__all__ = ["router"]

router = APIRouter(prefix="/customers", tags=["customers"])

CustomerId = Annotated[str, Path(min_length=1, max_length=200, description="customer_id")]


@router.get(
    "/{customer_id}",
    response_model=CustomerPublic,
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def get_customer(customer_id: CustomerId, state: StateDep) -> Response:
    """The customer's features by family, segments, top recommendations, action and shipping tier.

    Served from the customer lookup (see ``custseg.api.lookup``): one indexed point query,
    as of the last pipeline run.
    """
    if not state.lookup.ready:
        raise ApiError(
            409,
            "customer_features has not been built in this workspace; run the pipeline "
            "(POST /runs or `custseg features`) first.",
        )
    body = state.lookup.get(customer_id)
    if body is None:
        raise ApiError(404, f"no customer with customer_id {customer_id!r}.")
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")
