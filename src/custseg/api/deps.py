"""Dependencies: the app state, a per-request workspace, and authentication by scope.

Authentication looks for a token in the ``Authorization: Bearer`` header, then in each
of ``ApiState.credential_sources`` (the dashboard will add its session cookie there), and
checks it against the hashed tokens. Every router under ``routes.api_router`` requires at
least ``read``; routes that change things add ``require_scope("write")`` or
``("admin")``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from custseg.api.errors import ApiError
from custseg.api.state import ApiState
from custseg.api.tokens import ApiToken
from custseg.workspace import Workspace

__all__ = [
    "Principal",
    "PrincipalDep",
    "StateDep",
    "WorkspaceDep",
    "authenticate",
    "get_state",
    "get_workspace",
    "require_scope",
]

_bearer = HTTPBearer(auto_error=False, description="A token from `custseg tokens create`.")


async def get_state(request: Request) -> ApiState:
    """The app's :class:`ApiState` (async: no thread hop on the hot path)."""
    return request.app.state.api


StateDep = Annotated[ApiState, Depends(get_state)]


def get_workspace(state: StateDep) -> Iterator[Workspace]:
    """A workspace on the request's own cursor, closed after the response."""
    ws = state.cursor_workspace()
    try:
        yield ws
    finally:
        ws.close()


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: their token's facts and where the token came from."""

    token: ApiToken
    via: str  # "bearer" or the name of a credential source


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a valid token; 401 when there is none.

    Raises
    ------
    ApiError
        401, with ``WWW-Authenticate: Bearer``, when the token is missing, malformed,
        unknown or revoked.
    """
    state: ApiState = request.app.state.api
    token, via = (bearer.credentials, "bearer") if bearer else (None, "")
    if token is None:
        for source in state.credential_sources:
            token = source(request)
            if token:
                via = getattr(source, "__name__", "credential source")
                break
    if not token:
        raise ApiError(
            401,
            "this route needs a token: send 'Authorization: Bearer <token>'; create one with "
            "`custseg tokens create --scope read`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = state.tokens.verify(token)
    if found is None:
        raise ApiError(
            401,
            "the token is not valid (unknown, malformed or revoked).",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return Principal(token=found, via=via)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through tokens whose scope includes ``scope`` (else 403).

    >>> require_scope("write").required_scope
    'write'
    """

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.token.allows(scope):
            raise ApiError(
                403,
                f"this route needs a {scope!r} token; yours has scope "
                f"{principal.token.scope!r}. Create one with "
                f"`custseg tokens create --scope {scope}`.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return principal

    check.required_scope = scope  # type: ignore[attr-defined]
    check.__name__ = f"require_{scope}"
    return check
