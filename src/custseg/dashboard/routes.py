"""The dashboard's routes: the pages under ``/ui/``, their small JSON helpers and static files.

Pages are server-rendered (Jinja2) and need a session (:mod:`.auth`); without one they
redirect to ``/ui/login?next=...``. The JSON helpers under ``/ui/api/`` authenticate
like the REST API (bearer header or the session cookie). Static files, the login form
and ``GET /`` (a redirect to ``/ui/``) are open.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from custseg.api.deps import Principal, StateDep, WorkspaceDep, require_scope
from custseg.api.errors import ApiError
from custseg.dashboard import queries
from custseg.dashboard.auth import COOKIE, SESSION_SECONDS, page_principal
from custseg.dashboard.cache import RunCache
from custseg.dashboard.figures import (
    figure_json,
    migration_figure,
    projection_figure,
    size_history_figure,
    sparkline_svg,
)
from custseg.exceptions import (
    CustsegError,
    NotFittedError,
    PrivacyError,
    UsageError,
    WorkspaceError,
)
from custseg.workspace import Workspace

__all__ = ["NAV", "router"]

log = logging.getLogger(__name__)

_PACKAGE = files("custseg.dashboard")
_TEMPLATES = Path(str(_PACKAGE / "templates"))
_STATIC = Path(str(_PACKAGE / "static"))

#: The navigation bar: (key, label, path).
NAV: tuple[tuple[str, str, str], ...] = (
    ("overview", "Overview", "/ui/"),
    ("segments", "Segments", "/ui/segments"),
    ("builder", "Builder", "/ui/builder"),
    ("clusters", "Clusters", "/ui/clusters"),
    ("campaigns", "Campaigns", "/ui/campaigns"),
)
#: Members per page on a segment's page.
MEMBERS_PER_PAGE = 50
#: Columns shown in the members table.
MEMBER_FIELDS = ("rfm_group", "number_of_orders", "amount_spent", "clv_365d", "p_alive", "country")

templates = Jinja2Templates(directory=str(_TEMPLATES))

router = APIRouter(include_in_schema=False)

PageUser = Annotated[Principal, Depends(page_principal)]
SegmentKey = Annotated[str, PathParam(min_length=1, max_length=200)]


# ----------------------------------------------------------------------------- formatting


def _fmt_int(x: Any) -> str:
    return "–" if x is None else f"{int(x):,}"


def _fmt_pct(x: Any, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * float(x):.{digits}f}%"


def _fmt_money(x: Any) -> str:
    return "–" if x is None else f"{float(x):,.0f}"


def _fmt_num(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != x:
            return "–"
        return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def _fmt_change(k: queries.Kpi) -> str:
    c = k.change
    if c is None:
        return k.note or "–"
    if k.kind == "share":
        return f"{100 * c:+.1f} pts vs previous run"
    if k.kind == "money":
        return f"{c:+,.0f} vs previous run"
    return f"{c:+,.0f} vs previous run"


def _fmt_kpi(k: queries.Kpi) -> str:
    if k.kind == "share":
        return _fmt_pct(k.value)
    if k.kind == "money":
        return _fmt_money(k.value)
    return _fmt_int(k.value)


templates.env.filters.update(
    fmt_int=_fmt_int,
    fmt_pct=_fmt_pct,
    fmt_money=_fmt_money,
    fmt_num=_fmt_num,
    fmt_change=_fmt_change,
    fmt_kpi=_fmt_kpi,
    sparkline=sparkline_svg,
    figure=figure_json,
)


def _render(
    request: Request,
    name: str,
    user: Principal | None,
    *,
    page: str,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "nav": NAV,
            "page": page,
            "title": title,
            "scope": user.token.scope if user else None,
            "user": user,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _error(
    request: Request, user: Principal | None, status: int, message: str, *, title: str = "Error"
) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        user,
        page="",
        title=title,
        status_code=status,
        status=status,
        message=message,
    )


def _cache(request: Request) -> RunCache:
    return request.app.state.dashboard_cache


def _cached(request: Request, ws: Workspace, key: Any, compute: Any) -> Any:
    return _cache(request).get(queries.evaluation_run(ws), key, compute)


def _status(exc: CustsegError) -> int:
    """The HTTP status of a custseg error, as the API maps it."""
    if isinstance(exc, PrivacyError):
        return 422
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, WorkspaceError | NotFittedError):
        return 409
    return 500


def _stats(request: Request, ws: Workspace) -> dict[str, Any]:
    return _cached(request, ws, "stats", lambda: queries.segment_stats(ws))


def _safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/ui/"
    return target


# ----------------------------------------------------------------------------- open routes


@router.get("/")
def root() -> RedirectResponse:
    """The dashboard lives under ``/ui/``."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/static/{filename}")
def static(filename: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]) -> Response:
    """The dashboard's own files and Plotly's bundled ``plotly.min.js``."""
    if filename == "plotly.min.js":
        path = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    else:
        path = _STATIC / filename
        if filename.startswith(".") or not path.is_file():
            raise ApiError(404, f"no static file {filename!r}.")
    media = "text/javascript" if filename.endswith(".js") else None
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/ui/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The token form."""
    return _render(request, "login.html", None, page="login", title="Log in", next=_safe_next(next))


@router.post("/ui/login")
def login(
    request: Request,
    state: StateDep,
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
) -> Response:
    """Check the token; on success start a session and go to ``next``."""
    found = state.tokens.verify(token.strip()) if token.strip() else None
    if found is None:
        return _render(
            request,
            "login.html",
            None,
            page="login",
            title="Log in",
            next=_safe_next(next),
            error=(
                "That token is not valid (unknown, malformed or revoked). Create one with "
                "`custseg tokens create --scope read` (or write, to save and export)."
            ),
        )
    sid = request.app.state.dashboard_sessions.create(token.strip())
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    log.info("dashboard login with token %s (%s)", found.id, found.scope)
    return response


@router.post("/ui/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    request.app.state.dashboard_sessions.drop(request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# ----------------------------------------------------------------------------- pages


@router.get("/ui/")
def overview(request: Request, user: PageUser, ws: WorkspaceDep) -> HTMLResponse:
    """Headline figures, segment families, drift alerts and the last runs."""
    alerts, note = _cached(request, ws, "alerts", lambda: queries.run_alerts(ws))
    return _render(
        request,
        "overview.html",
        user,
        page="overview",
        title="Overview",
        kpis=queries.kpis(ws),
        families=queries.families(ws, _stats(request, ws)["sizes"]),
        alerts=alerts[:50],
        alerts_note=note,
        runs=queries.recent_runs(ws, limit=10),
        run_id=queries.evaluation_run(ws),
    )


@router.get("/ui/segments")
def segments(request: Request, user: PageUser, ws: WorkspaceDep) -> HTMLResponse:
    """Every segment: type, size, share, revenue share and size trend."""
    trends = _cached(request, ws, "trends", lambda: queries.size_trends(ws))
    rows = queries.segment_rows(ws, _stats(request, ws), trends)
    tags = sorted({t for r in rows for t in r["tags"]})
    return _render(
        request, "segments.html", user, page="segments", title="Segments", rows=rows, tags=tags
    )


@router.get("/ui/builder")
def builder(
    request: Request,
    user: PageUser,
    ws: WorkspaceDep,
    rule: Annotated[str, Query(max_length=10_000)] = "",
) -> HTMLResponse:
    """The rule editor with live count, autocomplete, sample members and save."""
    clusters = _cached(request, ws, "cluster_rules", lambda: queries.cluster_rules(ws))
    return _render(
        request,
        "builder.html",
        user,
        page="builder",
        title="Segment builder",
        rule=rule,
        clusters=clusters,
        can_write=user.token.allows("write"),
    )


@router.get("/ui/segments/{key}")
def segment_page(
    request: Request,
    user: PageUser,
    ws: WorkspaceDep,
    key: SegmentKey,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """One segment: profile charts, action, shipping, members, exports, history, migration."""
    from custseg.api import crud
    from custseg.profiles import charts

    try:
        d = crud.find_segment(ws=ws, name=key)
    except ApiError as exc:
        return _error(request, user, 404, str(exc.detail), title="No such segment")
    rows = queries.segment_rows(ws, _stats(request, ws), {})
    size_row = next((r for r in rows if r["key"] == d.name), None)
    evaluated = size_row is not None and size_row["size"] is not None
    figs: list[tuple[str, Any]] = []
    profile = None
    if evaluated and size_row["size"]:
        profile = _cached(request, ws, ("profile", d.name), lambda: queries.segment_profile(ws, d))
    if profile is not None:
        figs = [
            ("distinguishing", charts.distinguishing_features(profile)),
            ("top-items", charts.top_items(profile)),
            ("geography", charts.geography(profile)),
            ("devices", charts.devices_channels(profile)),
            ("rfm-mix", charts.rfm_mix(profile)),
            ("clv", charts.clv_distribution(profile)),
        ]
    members = None
    if evaluated:
        fields = [c for c in MEMBER_FIELDS if c in ws.connect().table("customer_features").columns]
        members = crud.members_page(
            ws=ws, name=d.name, limit=MEMBERS_PER_PAGE, cursor=cursor, fields=fields
        )
    history = queries.segment_history(ws, d.name)
    migration = _cached(
        request, ws, ("migration", d.name), lambda: queries.segment_migration(ws, d.name, d.family)
    )
    return _render(
        request,
        "segment.html",
        user,
        page="segments",
        title=d.title,
        d=d,
        row=size_row,
        evaluated=evaluated,
        figures=figs,
        action=_cached(request, ws, ("action", d.name), lambda: queries.segment_action(ws, d.name)),
        shipping=(
            _cached(request, ws, ("shipping", d.name), lambda: queries.segment_shipping(ws, d.name))
            if evaluated
            else []
        ),
        members=members,
        member_fields=[c for c in MEMBER_FIELDS],
        cursor=cursor,
        history=history,
        history_fig=size_history_figure(history, f"{d.title}: size by run") if history else None,
        migration=migration,
        migration_fig=(
            migration_figure(migration, f"In and out, {migration['run_a']} → {migration['run_b']}")
            if migration and (migration["sources"] or migration["targets"])
            else None
        ),
        can_write=user.token.allows("write"),
    )


@router.get("/ui/segments/{key}/export")
def segment_export(
    request: Request,
    user: PageUser,
    state: StateDep,
    ws: WorkspaceDep,
    key: SegmentKey,
    format: Annotated[str, Query(pattern=r"^(csv|klaviyo|mailchimp)$")] = "csv",
    hashed: Annotated[bool, Query()] = False,
) -> Response:
    """Export the segment (write scope) and send the file as an attachment.

    ``format=csv`` is the generic export (ids and segment); ``klaviyo`` and ``mailchimp``
    use those presets (consenting customers with an e-mail). The privacy rules and the
    minimum size apply as for ``POST /exports``; a refusal is shown as a page.
    """
    from custseg.actions.exports import export_segment

    if not user.token.allows("write"):
        return _error(
            request,
            user,
            403,
            f"exports need a 'write' token; yours has scope {user.token.scope!r}. Log in with "
            "one made by `custseg tokens create --scope write`.",
            title="Not allowed",
        )
    destination = None if format == "csv" else format
    try:
        with state.writing() as got:
            if not got:
                return _error(
                    request, user, 409, "a run is in progress; export again when it has finished."
                )
            result = export_segment(ws, key, destination=destination, hash_identifiers=hashed)
    except CustsegError as exc:
        return _error(request, user, _status(exc), str(exc), title="Export refused")
    name = result.path.name if not hashed else result.path.stem + "-hashed" + result.path.suffix
    return FileResponse(
        result.path,
        media_type="text/csv",
        filename=name,
        content_disposition_type="attachment",
    )


@router.get("/ui/customers/{customer_id}")
def customer_page(
    request: Request,
    user: PageUser,
    state: StateDep,
    ws: WorkspaceDep,
    customer_id: Annotated[str, PathParam(min_length=1, max_length=200)],
) -> HTMLResponse:
    """One customer: features by family, segments, CLV, orders, events, recommendations."""
    if not state.lookup.ready:
        return _error(
            request,
            user,
            409,
            "customer_features has not been built in this workspace; run `custseg run` first.",
        )
    card = state.lookup.get(customer_id)
    if card is None:
        return _error(
            request, user, 404, f"no customer with customer_id {customer_id!r}.", title="Not found"
        )
    predictive = card["features"].get("predictive", {})
    clv_key = next((k for k in predictive if k.startswith("clv_") and k.endswith("d")), None)
    return _render(
        request,
        "customer.html",
        user,
        page="",
        title=f"Customer {customer_id}",
        c=card,
        clv_key=clv_key,
        clv=predictive.get(clv_key) if clv_key else None,
        p_alive=predictive.get("p_alive"),
        orders=queries.customer_orders(ws, customer_id),
        events=queries.customer_events(ws, customer_id),
    )


@router.get("/ui/clusters")
def clusters_page(request: Request, user: PageUser, ws: WorkspaceDep) -> HTMLResponse:
    """The clustering: k curve, stability, names, projection and explaining rules."""
    from custseg.report import cluster_section
    from custseg.segments.registry import load_cluster_model

    model = load_cluster_model(ws)
    if model is None:
        return _render(
            request, "clusters.html", user, page="clusters", title="Clusters", model=None
        )

    def compute() -> dict[str, Any]:
        return {
            "overview": queries.cluster_overview(model),
            "k_curve": cluster_section(model).figures[0],
            "rules": queries.cluster_rules(ws),
            "projection": projection_figure(queries.cluster_projection(ws, model)),
        }

    data = _cached(request, ws, "clusters", compute)
    return _render(
        request, "clusters.html", user, page="clusters", title="Clusters", model=model, **data
    )


@router.get("/ui/campaigns")
def campaigns_page(
    request: Request,
    user: PageUser,
    ws: WorkspaceDep,
    campaign: Annotated[str | None, Query(max_length=200)] = None,
    by: Annotated[str, Query(pattern=r"^[a-z_]{1,40}$")] = "rfm",
) -> HTMLResponse:
    """Lift by segment with intervals (a forest plot), and the holdout form."""
    rows = queries.campaigns(ws)
    chosen = campaign or (rows[0]["campaign_id"] if rows else None)
    forest = lifts = None
    error = None
    if chosen is not None:
        try:
            forest, lifts = _cached(
                request, ws, ("forest", chosen, by), lambda: queries.campaign_forest(ws, chosen, by)
            )
        except CustsegError as exc:
            error = str(exc)
    all_rows = queries.segment_rows(ws, _stats(request, ws), {})
    segments = [(r["key"], r["title"]) for r in all_rows if r["size"]]
    families = sorted({r["family"] for r in all_rows if r["size"]})
    return _render(
        request,
        "campaigns.html",
        user,
        page="campaigns",
        title="Campaigns",
        campaigns=rows,
        chosen=chosen,
        by=by,
        forest=forest,
        lifts=lifts or [],
        error=error,
        segments=segments,
        families=families,
        can_write=user.token.allows("write"),
    )


# ----------------------------------------------------------------------------- JSON helpers

_read = [Depends(require_scope("read"))]


@router.get("/ui/api/fields", dependencies=_read)
def api_fields(request: Request, ws: WorkspaceDep) -> dict[str, Any]:
    """Fields, functions and operators for the builder's autocomplete."""
    fields = _cached(request, ws, "fields", lambda: queries.rule_fields(ws))
    return {"fields": fields, "operators": list(queries.OPERATORS)}


@router.get("/ui/api/values", dependencies=_read)
def api_values(
    request: Request,
    ws: WorkspaceDep,
    field: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=queries.MAX_VALUES)] = 20,
) -> dict[str, Any]:
    """The most frequent values of a text or boolean field (at most ``limit``)."""
    values = _cached(
        request, ws, ("values", field, limit), lambda: queries.field_values(ws, field, limit)
    )
    return {"field": field, "values": values}


class HoldoutIn(BaseModel):
    """A holdout to create."""

    model_config = ConfigDict(extra="forbid")

    segment: str = Field(min_length=1, max_length=200)
    fraction: float = Field(gt=0, lt=1)
    seed: int = Field(0, ge=0, le=2**31 - 1)


@router.post("/ui/api/holdouts", dependencies=[Depends(require_scope("write"))], status_code=201)
def api_holdout(body: HoldoutIn, state: StateDep, ws: WorkspaceDep) -> dict[str, Any]:
    """Create a holdout (a control group) of a segment or family, stored and exported."""
    from custseg.monitor import create_holdout

    with state.writing() as got:
        if not got:
            raise ApiError(409, "a run is in progress; try again when it has finished.")
        h = create_holdout(ws, body.segment, body.fraction, body.seed)
    return h.to_dict()


def login_redirect(next_url: str) -> RedirectResponse:
    """Where a page without a session goes."""
    return RedirectResponse(f"/ui/login?next={quote(next_url, safe='/')}", status_code=303)
