"""The web dashboard: server-rendered pages under ``/ui/`` on the REST API's app.

:func:`mount_dashboard` adds the pages (:mod:`.routes`), the session store and the
cookie credential source (:mod:`.auth`) and a per-run cache (:mod:`.cache`) to a
:func:`custseg.api.create_app` app. Pages read their data with small, aggregated Ibis
queries (:mod:`.queries`) and draw charts with the Plotly JavaScript bundled with the
``plotly`` package; nothing is loaded from another site. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from custseg.dashboard.auth import LoginRequired, SessionStore, session_credential
from custseg.dashboard.cache import RunCache

__all__ = ["mount_dashboard"]


def mount_dashboard(app: FastAPI) -> FastAPI:
    """Add the dashboard to an app made by :func:`custseg.api.create_app`.

    Parameters
    ----------
    app : FastAPI
        The API app (``app.state.api`` set).

    Returns
    -------
    FastAPI
        The same app, with ``/`` redirecting to ``/ui/``, the pages, the session cookie
        accepted as a credential, ``app.state.dashboard_sessions`` and
        ``app.state.dashboard_cache``.
    """
    from custseg.dashboard.routes import login_redirect, router

    app.state.dashboard_sessions = SessionStore()
    app.state.dashboard_cache = RunCache()
    app.state.api.credential_sources.append(session_credential)

    async def _to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return login_redirect(exc.next_url)

    app.add_exception_handler(LoginRequired, _to_login)
    app.include_router(router)
    return app
