"""The web dashboard: HTML pages served by the API's process, for the same API keys.

Log-in takes an API key, verifies it exactly as the API does (:class:`KeyCache`) and keeps it
in an HttpOnly, SameSite=Strict cookie; every page verifies it again (revocation takes effect
at once). A page of an account the key does not see answers 404, as the API does. Pages load
scripts from this server only (plotly.js from the installed plotly package, no CDN) under a
Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from portmargin.core import PortmarginError, ms_to_datetime
from portmargin.io.figures import figure_json, row_name
from portmargin.service._auth import Caller, UnauthorizedError
from portmargin.service._cascade import run_stored_cascade
from portmargin.service._dashboard_account import account_page, whatif_rows
from portmargin.service._dashboard_cascade import cascade_form, cascade_view
from portmargin.service._dashboard_list import LIST_ROWS, account_list
from portmargin.service._dashboard_snapshot import snapshot_page
from portmargin.service._deps import Services
from portmargin.service._liqprice import AccountLiquidation
from portmargin.store import NotFound

__all__ = ["COOKIE", "add_dashboard"]

COOKIE = "portmargin_key"
"""Name of the cookie holding the API key (HttpOnly, SameSite=Strict, path /)."""

COOKIE_SECONDS = 8 * 3600
"""Lifetime of the log-in cookie."""

FORM_ROWS_MAX = 50
"""Most trade rows a what-if form may post."""

LIQUIDATION_ON_THE_FLY = 20
"""Most accounts of the list page whose liquidation prices are solved for one page load (the
others are solved when their page is opened, or by later loads)."""

_STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _amount(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) < 5e-10:
        return "0"
    return f"{x:,.2f}" if abs(x) >= 1000 else f"{x:.6g}"


def _signed(x: float) -> str:
    text = _amount(x)
    return text if text.startswith("-") or text in ("0", "n/a") else "+" + text


def _ratio(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _percent(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def _pct_number(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.2f}%"


def _utc(ms: int | None) -> str:
    return "n/a" if ms is None else ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M:%S")


def _figure_markup(figure: Any) -> Markup:
    """A figure's JSON, safe inside ``<script type="application/json">`` (see
    :func:`~portmargin.io.figures.figure_json`)."""
    return Markup(figure_json(figure))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portmargin.service", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        amount=_amount,
        signed=_signed,
        ratio=_ratio,
        percent=_percent,
        pct_number=_pct_number,
        utc=_utc,
        row_name=row_name,
        figure_json=_figure_markup,
    )
    return env


def plotly_js_path() -> Path:
    """``plotly.min.js`` of the installed plotly package."""
    return Path(str(files("plotly").joinpath("package_data", "plotly.min.js")))


@dataclass(frozen=True, slots=True)
class _Page:
    """A request's view of the site: where it is mounted and who is logged in."""

    request: Request
    caller: Caller | None

    def url(self, path: str) -> str:
        return str(self.request.scope.get("root_path", "")) + path

    def account_url(self, account: str) -> str:
        return self.url("/accounts/" + quote(account, safe=""))

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        values = {
            "page_url": self.url,
            "static_url": lambda name: self.url("/static/" + name),
            "account_url": self.account_url,
            "key_id": None if self.caller is None else self.caller.key_id,
            "admin": self.caller is not None and "admin" in self.caller.scopes,
            "plots": False,
            **context,
        }
        html = _environment().get_template(template).render(values)
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    def not_found(self, what: str) -> HTMLResponse:
        return self.render("error.html", status=404, title="Not found", message=what)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _caller(request: Request) -> Caller | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return _services(request).keys.caller(f"Bearer {token}")
    except UnauthorizedError:
        return None


def _login_redirect(request: Request) -> RedirectResponse:
    response = RedirectResponse(str(request.scope.get("root_path", "")) + "/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _same_origin(request: Request) -> bool:
    """A form post from this site: its ``Origin`` (when the browser sends one) is this host."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _trades(form: FormData) -> tuple[list[tuple[str, str]], list[tuple[str, float]], str | None]:
    """The what-if form's rows as typed, the trades, and what is wrong with them (or None)."""
    names = [str(v).strip() for v in form.getlist("instrument")]
    texts = [str(v).strip() for v in form.getlist("quantity")]
    if len(names) != len(texts) or len(names) > FORM_ROWS_MAX:
        return [], [], f"the form posts up to {FORM_ROWS_MAX} rows of instrument and quantity"
    typed = list(zip(names, texts, strict=True))
    trades = []
    for k, (name, text) in enumerate(typed, start=1):
        if not name and not text:
            continue
        try:
            quantity = float(text.replace(",", ""))
        except ValueError:
            quantity = math.nan
        if not name or not math.isfinite(quantity) or quantity == 0:
            return (
                typed,
                [],
                (
                    f"row {k}: instrument {name!r}, quantity {text!r}; expected an instrument name "
                    "and a non-zero number"
                ),
            )
        trades.append((name, quantity))
    if not trades:
        return typed, [], "enter at least one trade (instrument and quantity)"
    return typed, trades, None


async def _static(name: str) -> Response:
    if name == "plotly.min.js":
        return FileResponse(
            plotly_js_path(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )
    if name not in _STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    body = files("portmargin.service").joinpath("static", name).read_bytes()
    return Response(body, media_type=_STATIC[name], headers={"Cache-Control": "no-cache"})


def _liquidation(
    services: Services, accounts: list[str], limit: int | None = None
) -> tuple[dict[str, AccountLiquidation], str]:
    """Liquidation prices of ``accounts`` (cached ones, then at most ``limit`` solved), or
    none with the reason."""
    try:
        return services.liquidation.accounts(
            services.store, services.desk, accounts, limit=limit
        ), ""
    except PortmarginError as exc:
        return {}, f"Not solved: {exc}"


def _router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/static/{name}", _static, methods=["GET"])

    @router.get("/login")
    def login_form(request: Request) -> Response:
        if _caller(request) is not None:
            return RedirectResponse(_Page(request, None).url("/"), 303)
        return _Page(request, None).render("login.html", error=None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        page = _Page(request, None)
        if not _same_origin(request):
            return page.render("login.html", status=403, error="log in from this site's page")
        token = str((await request.form()).get("api_key", "")).strip()
        try:  # argon2 verification takes tens of milliseconds: not on the event loop
            await run_in_threadpool(_services(request).keys.caller, f"Bearer {token}")
        except UnauthorizedError:
            return page.render("login.html", status=401, error="This API key is not valid.")
        response = RedirectResponse(page.url("/"), 303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=COOKIE_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        return _login_redirect(request)

    @router.get("/")
    def accounts(request: Request, order: str = "asc") -> Response:
        caller = _caller(request)
        if caller is None:
            return _login_redirect(request)
        services = _services(request)
        page = _Page(request, caller)
        ascending = order != "desc"
        try:
            rows, errors = account_list(
                services.store,
                services.desk,
                None if caller.all_accounts else caller.key.accounts,
                ascending,
            )
        except PortmarginError as exc:
            return page.render("error.html", status=409, title="No margin yet", message=str(exc))
        shown = rows[:LIST_ROWS]
        liq, _ = _liquidation(services, [r.account for r in shown], LIQUIDATION_ON_THE_FLY)
        return page.render(
            "accounts.html",
            liq=liq,
            liq_solved=LIQUIDATION_ON_THE_FLY,
            rows=shown,
            total=len(rows),
            errors=errors,
            order="asc" if ascending else "desc",
            method=services.desk.default_method,
        )

    def account(request: Request, account_id: str, form: FormData | None) -> Response:
        caller = _caller(request)
        if caller is None:
            return _login_redirect(request)
        page = _Page(request, caller)
        services = _services(request)
        if not caller.sees(account_id) or services.store.account(account_id) is None:
            return page.not_found(str(NotFound("account", account_id)))
        if form is not None and not _same_origin(request):
            return page.render("error.html", status=403, title="Refused", message="cross-site form")
        typed: list[tuple[str, str]] = []
        result, error = None, None
        if form is not None:
            typed, trades, error = _trades(form)
            if error is None:
                try:
                    result = whatif_rows(services.desk.what_if(account_id, trades))
                except PortmarginError as exc:
                    error = str(exc)
        try:
            view = account_page(services.store, services.desk, account_id, typed)
        except PortmarginError as exc:
            return page.render("error.html", status=409, title="No margin yet", message=str(exc))
        liq, liq_error = _liquidation(services, [account_id])
        return page.render(
            "account.html",
            page=view,
            liq=liq.get(account_id),
            liq_error=liq_error,
            whatif=result,
            whatif_error=error,
            plots=True,
        )

    @router.get("/accounts/{account_id:path}")
    def account_get(request: Request, account_id: str) -> Response:
        return account(request, account_id, None)

    @router.post("/accounts/{account_id:path}")
    async def account_whatif(request: Request, account_id: str) -> Response:
        form = await request.form()
        return await run_in_threadpool(account, request, account_id, form)

    @router.get("/snapshot")
    def snapshot(request: Request) -> Response:
        caller = _caller(request)
        if caller is None:
            return _login_redirect(request)
        page = _Page(request, caller)
        services = _services(request)
        try:
            view = snapshot_page(services.store, services.desk)
        except PortmarginError as exc:
            return page.render("error.html", status=409, title="No snapshot", message=str(exc))
        return page.render("snapshot.html", page=view, plots=True)

    def cascade(request: Request, posted: FormData | None) -> Response:
        caller = _caller(request)
        if caller is None:
            return _login_redirect(request)
        page = _Page(request, caller)
        if "admin" not in caller.scopes:
            return page.not_found("no such page")
        if posted is not None and not _same_origin(request):
            return page.render("error.html", status=403, title="Refused", message="cross-site form")
        services = _services(request)
        try:
            _, market = services.desk.market()
        except PortmarginError as exc:
            return page.render("error.html", status=409, title="No snapshot", message=str(exc))
        form, spec, error = cascade_form(tuple(sorted(market.index_prices)), posted)
        view = None
        if spec is not None:
            try:
                view = cascade_view(run_stored_cascade(services.store, services.desk, spec))
            except PortmarginError as exc:
                error = str(exc)
        return page.render(
            "cascade.html",
            status=200 if error is None else 422,
            form=form,
            view=view,
            error=error,
            plots=view is not None,
        )

    @router.get("/cascade")
    def cascade_get(request: Request) -> Response:
        return cascade(request, None)

    @router.post("/cascade")
    async def cascade_run(request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(cascade, request, form)

    return router


def add_dashboard(app: FastAPI) -> None:
    """Add the dashboard pages (``/``, ``/login``, ``/logout``, ``/accounts/{id}``,
    ``/snapshot``, ``/cascade`` for admin keys) and their static files (``/static/...``) to ``app``.

    ``app.state.services`` must hold the service's :class:`Services` (store, desk, key cache).
    """
    app.include_router(_router())
