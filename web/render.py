"""Jinja2 rendering for the dashboard and status pages: one autoescaping
environment, filters for times and durations, and the values every page gets
(signed-in person, CSRF token, flash message).

Imports aiohttp, Jinja2 and `web`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from aiohttp import web

from web.auth import NONCE_COOKIE, csrf_token, ensure_nonce
from web.context import NONCE_KEY, STAFF_KEY, TEMPLATES_KEY, casebot

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "cb_flash"


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["ago"] = ago
    env.filters["seconds"] = human_seconds
    env.filters["label"] = lambda s: str(s or "").replace("_", " ")
    return env


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def when(value: str | datetime | None) -> str:
    at = parse_time(value)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = abs(seconds)
    if seconds < 90:
        return f"{int(seconds)}s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)}m"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def ago(value: str | datetime | None, now: datetime) -> str:
    """ "in 25m" for the future, "3.0h ago" for the past."""
    at = parse_time(value)
    if at is None:
        return "—"
    delta = (at - now).total_seconds()
    text = human_seconds(delta)
    return f"in {text}" if delta >= 0 else f"{text} ago"


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    *,
    public: bool = False,
) -> web.Response:
    """Render a page. `public` pages (customer status pages) set no cookies."""
    app = casebot(request)
    if not request.cookies.get(NONCE_COOKIE) and NONCE_KEY not in request:
        # first visit: the nonce the page's forms are signed for is set below
        request[NONCE_KEY] = secrets.token_urlsafe(24)
    flash = unquote(request.cookies.get(FLASH_COOKIE, "")) or None
    values = {
        "staff": request.get(STAFF_KEY),
        "csrf": csrf_token(request),
        "now": app.clock.now(),
        "flash": flash,
        "path": request.path,
        "timedelta": timedelta,
        **context,
    }
    body = request.app[TEMPLATES_KEY].get_template(template).render(values)
    response = web.Response(text=body, status=status, content_type="text/html")
    if not public:
        ensure_nonce(request, response)
    if flash:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def redirect_with_flash(location: str, message: str) -> web.HTTPSeeOther:
    """A redirect that shows `message` once on the next page."""
    response = web.HTTPSeeOther(location)
    response.set_cookie(
        FLASH_COOKIE, quote(message[:300]), max_age=60, path="/", httponly=True, samesite="Lax"
    )
    return response
