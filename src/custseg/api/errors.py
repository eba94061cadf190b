"""The one error mapping: every error becomes an ``application/problem+json`` body (RFC 9457).

Body: ``type``, ``title``, ``status``, ``detail`` and ``instance`` (the request path), plus
``errors`` for validation errors and ``position``/``line``/``column``/``suggestion`` for
rule errors.

========================  ======  ==============================================
error                     status  type
========================  ======  ==============================================
missing or bad token      401     ``urn:custseg:problem:unauthorized``
scope too low             403     ``urn:custseg:problem:forbidden``
unknown resource          404     ``urn:custseg:problem:not-found``
state conflict / busy     409     ``urn:custseg:problem:conflict``
body too large            413     ``urn:custseg:problem:too-large``
request validation        422     ``urn:custseg:problem:validation``
``RuleError``             422     ``urn:custseg:problem:rule``
``PrivacyError``          422     ``urn:custseg:problem:privacy``
``UsageError``            400     ``urn:custseg:problem:usage``
``WorkspaceError``        409     ``urn:custseg:problem:workspace``
``NotFittedError``        409     ``urn:custseg:problem:not-fitted``
``ConfigError``           500     ``urn:custseg:problem:config``
other ``CustsegError``    500     ``urn:custseg:problem:error``
anything else             500     ``urn:custseg:problem:internal`` (no detail)
========================  ======  ==============================================

A privacy refusal is 422, not 403: the caller is allowed to export, but not this data to
this destination, and 403 stays reserved for a token's scope.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from custseg.exceptions import (
    ConfigError,
    CustsegError,
    NotFittedError,
    PrivacyError,
    UsageError,
    WorkspaceError,
)

__all__ = ["PROBLEM_JSON", "ApiError", "install_error_handlers", "problem"]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_HTTP_TYPES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    422: "validation",
}

#: Most specific first: the first class an error is an instance of decides.
_CUSTSEG: tuple[tuple[type[CustsegError], int, str], ...] = (
    (PrivacyError, 422, "privacy"),
    (UsageError, 400, "usage"),
    (WorkspaceError, 409, "workspace"),
    (NotFittedError, 409, "not-fitted"),
    (ConfigError, 500, "config"),
    (CustsegError, 500, "error"),
)


class ApiError(StarletteHTTPException):
    """An HTTP error raised by a route, with optional extra problem members.

    Parameters
    ----------
    status : int
        The HTTP status.
    detail : str
        What went wrong and what to do, for people.
    **extra
        More members of the problem body (e.g. ``errors``).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.extra = extra


def problem(
    request: Request,
    status: int,
    detail: str | None,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": f"urn:custseg:problem:{kind or _HTTP_TYPES.get(status, 'http')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    extra = getattr(exc, "extra", {})
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem(request, exc.status_code, detail, headers=exc.headers, **extra)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    detail = f"{where}: {first['msg']}" + (
        f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    )
    return problem(request, 422, detail, errors=errors)


def _custseg_error(request: Request, exc: Exception) -> JSONResponse:
    from custseg.segments.dsl import RuleError

    if isinstance(exc, RuleError):
        return problem(
            request,
            422,
            exc.message,
            kind="rule",
            rule=exc.rule,
            position=exc.position,
            line=exc.line,
            column=exc.column,
            suggestion=exc.suggestion,
        )
    status, kind = next((s, k) for cls, s, k in _CUSTSEG if isinstance(exc, cls))
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    return problem(request, status, str(exc), kind=kind)


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        request,
        500,
        "internal error; the server log has the details. This is a bug in custseg.",
        kind="internal",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app``."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(CustsegError, _custseg_error)
    app.add_exception_handler(Exception, _internal_error)
