"""The app factory: routers, the body-size limit, the error mapping, start-up and shutdown.

Request bodies above ``ApiSettings.max_body_bytes`` (1 MiB by default) get 413, whether
announced by ``Content-Length`` or streamed in chunks (:class:`BodySizeLimit`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custseg.api.errors import ApiError, install_error_handlers, problem
from custseg.api.settings import ApiSettings
from custseg.api.state import ApiState
from custseg.workspace import Workspace, open_workspace

__all__ = ["BodySizeLimit", "create_app"]

log = logging.getLogger(__name__)


class BodySizeLimit:
    """ASGI middleware: answer 413 (problem JSON) to bodies larger than ``max_bytes``.

    A ``Content-Length`` above the limit is refused before the body is read; a chunked
    body is counted as it arrives and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than the limit of {self.max_bytes:,} bytes."
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await problem(Request(scope), 413, detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, detail)  # the error mapping answers
            return message

        await self.app(scope, counted, send)


def create_app(
    workspace: Workspace | str | Path | None = None,
    *,
    settings: ApiSettings | None = None,
) -> FastAPI:
    """The custseg REST API for one workspace.

    Parameters
    ----------
    workspace : Workspace, path or None
        An opened workspace, or its folder (default: ``$CUSTSEG_WORKSPACE``, then the
        current folder). The app opens its database at start-up and keeps it open.
    settings : ApiSettings, optional
        Default: from the ``CUSTSEG_API_*`` environment variables.

    Returns
    -------
    FastAPI
        With ``app.state.api`` (:class:`~custseg.api.state.ApiState`) set once started.
        Routers are joined in :mod:`custseg.api.routes`; the dashboard's pages
        (:func:`custseg.dashboard.mount_dashboard`) are under ``/ui/`` and ``GET /``
        redirects there.
    """
    from custseg.api.routes import api_router, public_router
    from custseg.dashboard import mount_dashboard

    ws = workspace if isinstance(workspace, Workspace) else open_workspace(workspace)
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: ApiState = app.state.api
        ws.connect()
        state.start()
        log.info("serving workspace %s", ws.root)
        try:
            yield
        finally:
            state.stop()

    app = FastAPI(
        title="custseg",
        summary="Customer segments, actions and recommendations over HTTP.",
        version=_version(),
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.api = ApiState(ws=ws, settings=settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(public_router)
    app.include_router(api_router)
    mount_dashboard(app)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("custseg")
    except PackageNotFoundError:  # pragma: no cover - a source tree
        return "0"
