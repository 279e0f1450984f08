"""HTTP safety for every response: security headers, body-size limits, CSRF checks
on forms, and error bodies (JSON under /api, a plain page elsewhere).

Imports aiohttp, `web.auth` and `web.locale` only. Error pages speak the request's
locale; JSON errors stay English (programs read them).
"""

from __future__ import annotations

import html
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web

from web.auth import CSRF_FIELD, CSRF_HEADER, cookies_secure, csrf_ok
from web.context import ADAPTER_PATHS, APP_KEY
from web.locale import html_lang, page_locale

log = logging.getLogger(__name__)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# No inline script or style anywhere: pages load /static/app.js and /static/app.css.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, "status": status, **extra}, status=status)


def page_error(
    status: int, message: str, locale: str = "en", home: str = "casebot"
) -> web.Response:
    body = (
        f"<!doctype html><html lang='{html_lang(locale)}'><head><meta charset='utf-8'>"
        "<title>casebot</title>"
        "<link rel='stylesheet' href='/static/app.css'></head><body class='bare'>"
        f"<main class='narrow'><h1>{status}</h1><p>{html.escape(message)}</p>"
        f"<p><a href='/'>{html.escape(home)}</a></p></main></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


def localised(request: web.Request, key: str, fallback: str, **params: object) -> str:
    """A text in the request's page locale; `fallback` if the catalogue lacks `key`."""
    try:
        text = request.app[APP_KEY].engine.texts.render(key, page_locale(request), **params)
    except KeyError:
        return fallback
    return str(text)


def page_error_for(request: web.Request, status: int, message: str) -> web.Response:
    """An error page in the request's locale. aiohttp's own reasons ("Not Found") are
    translated by status; a handler's reason is already in the page's locale."""
    if message == HTTPStatus(status).phrase:
        message = localised(request, f"desk_http_{status}", message)
    home = localised(request, "desk_back_home", "casebot")
    return page_error(status, message, page_locale(request), home)


def error_response(
    request: web.Request, status: int, message: str, key: str | None = None
) -> web.Response:
    """JSON under /api (in English), else a page; `key` names the page's text."""
    if is_api(request):
        return json_error(status, message)
    return page_error_for(request, status, localised(request, key, message) if key else message)


def _is_adapter_route(request: web.Request) -> bool:
    route = request.match_info.route
    resource = route.resource
    return resource is not None and resource.canonical in request.app[ADAPTER_PATHS]


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn aiohttp's HTTP errors into bodies people and programs can read, and an
    unexpected exception into a logged 500 that reveals nothing."""
    try:
        return await handler(request)
    except web.HTTPRedirection:
        raise
    except web.HTTPException as exc:
        if _is_adapter_route(request):
            raise
        if exc.status == 413:
            return error_response(request, 413, "request body too large", "desk_err_too_large")
        if exc.content_type == "application/json":
            raise
        return error_response(request, exc.status, exc.reason)
    except Exception:
        log.exception("error serving %s %s", request.method, request.path)
        return error_response(request, 500, "internal error", "desk_err_internal")


@web.middleware
async def body_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse a declared oversized body before reading it (aiohttp's own
    client_max_size catches bodies that lie about their length)."""
    limit = request.app[APP_KEY].config.http.max_body
    if request.content_length is not None and request.content_length > limit:
        return error_response(request, 413, "request body too large", "desk_err_too_large")
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every state-changing request from a browser must carry the CSRF token bound
    to its nonce cookie. The API (bearer token, no cookies) and adapters' webhooks
    (their own secrets) are exempt."""
    if request.method not in UNSAFE or is_api(request) or _is_adapter_route(request):
        return await handler(request)
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD, "")
        given = value if isinstance(value, str) else ""
    if not csrf_ok(request, given):
        message = "The form expired or did not come from this site; reload it."
        return page_error_for(request, 403, localised(request, "desk_err_form_expired", message))
    return await handler(request)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    cookies = response.headers.getall("Set-Cookie", [])
    if cookies and cookies_secure(request):
        # every cookie, whoever set or deleted it (the flash, a sign-out's expiry);
        # aiohttp has written them into the headers by the time this hook runs
        del response.headers["Set-Cookie"]
        for cookie in cookies:
            secure = any(p.strip().lower() == "secure" for p in cookie.split(";"))
            response.headers.add("Set-Cookie", cookie if secure else f"{cookie}; Secure")
