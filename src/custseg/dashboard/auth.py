"""Dashboard login: server-side sessions behind an HttpOnly cookie, and the CSRF guard.

``POST /ui/login`` checks the token against the API's tokens and, when it is valid,
stores it in an in-memory :class:`SessionStore` under a random session id; the browser
only gets that id, in the ``custseg_session`` cookie (HttpOnly, SameSite=Strict,
Path=/, Secure over HTTPS). The token is verified again on every request, so revoking it
logs the session out; sessions expire after :data:`SESSION_SECONDS` and are lost when
the server restarts (log in again).

The cookie is registered as an API credential source (:func:`session_credential`), so
the pages' JavaScript calls the REST API with it. A request that is not GET or HEAD and
authenticates with the cookie must carry ``X-Requested-With: custseg`` (a header no
other site can make a browser send without CORS, which the app does not allow); the
dashboard's JavaScript always sends it. This guards writes on top of SameSite=Strict.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from starlette.requests import Request

from custseg.api.deps import Principal
from custseg.api.errors import ApiError
from custseg.api.state import ApiState

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "CSRF_VALUE",
    "SESSION_SECONDS",
    "LoginRequired",
    "SessionStore",
    "page_principal",
    "session_credential",
]

#: The session cookie's name.
COOKIE = "custseg_session"
#: The header (and its value) cookie-authenticated writes must carry.
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "custseg"
#: How long a session lasts after login.
SESSION_SECONDS = 12 * 3600
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class LoginRequired(Exception):
    """A page was asked for without a valid session: the handler redirects to the login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class _Session:
    token: str
    expires: float


class SessionStore:
    """Session id → API token, in memory, with expiry.

    Parameters
    ----------
    lifetime : float
        Seconds a session lasts after :meth:`create`.
    """

    def __init__(self, lifetime: float = SESSION_SECONDS) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def create(self, token: str) -> str:
        """A new session for ``token``; returns its id (the cookie value)."""
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            expired = [k for k, s in self._sessions.items() if s.expires <= now]
            for k in expired:
                del self._sessions[k]
            self._sessions[sid] = _Session(token, now + self.lifetime)
        return sid

    def token(self, sid: str | None) -> str | None:
        """The token of a live session, or None."""
        if not sid:
            return None
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                return None
            if s.expires <= time.monotonic():
                del self._sessions[sid]
                return None
            return s.token

    def drop(self, sid: str | None) -> None:
        """End a session (logout)."""
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)


def _store(request: Request) -> SessionStore:
    return request.app.state.dashboard_sessions


def session_credential(request: Request) -> str | None:
    """The API credential source of the dashboard: the token behind the session cookie.

    Raises
    ------
    ApiError
        403 when a cookie-authenticated request that is not GET/HEAD lacks the
        ``X-Requested-With: custseg`` header (the CSRF guard).
    """
    token = _store(request).token(request.cookies.get(COOKIE))
    if token is None:
        return None
    if (
        request.method not in _SAFE_METHODS
        and request.headers.get(CSRF_HEADER, "").lower() != CSRF_VALUE
    ):
        raise ApiError(
            403,
            f"a write authenticated by the dashboard's session cookie must carry the header "
            f"'{CSRF_HEADER}: {CSRF_VALUE}' (cross-site request guard); scripts should send "
            "'Authorization: Bearer <token>' instead.",
        )
    return token


def page_principal(request: Request) -> Principal:
    """The logged-in user of a dashboard page; :class:`LoginRequired` without a session.

    Used as a dependency of every page except the login form.
    """
    state: ApiState = request.app.state.api
    token = _store(request).token(request.cookies.get(COOKIE))
    found = state.tokens.verify(token) if token else None
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return Principal(token=found, via="session_credential")
