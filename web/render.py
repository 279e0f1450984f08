"""Jinja2 rendering for the dashboard and status pages: one autoescaping
environment, filters for times and durations, and the values every page gets
(signed-in person, CSRF token, flash message and its kind, the page's time zone,
the catalogue in the page's locale, and which adapters are down).

Imports aiohttp, Jinja2 and `web`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from cases import dates
from web.auth import NONCE_COOKIE, csrf_token, ensure_nonce
from web.context import NONCE_KEY, STAFF_KEY, TEMPLATES_KEY, casebot
from web.locale import html_lang, page_locale
from web.metrics import adapter_states

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
    env.filters["when"] = _when_in_zone
    env.filters["ago"] = _ago_in_words
    env.filters["seconds"] = _seconds_in_words
    env.filters["label"] = lambda s: str(s or "").replace("_", " ")
    return env


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def when(
    value: str | datetime | None,
    zone: ZoneInfo | None = None,
    locale: str = "en",
    now: datetime | None = None,
) -> str:
    """A full date and time in `zone` (UTC when none), its zone abbreviated:
    "2026-12-02 09:00 UTC"; in Chinese "12月2日 09:00 UTC" (the year only when it is
    not `now`'s)."""
    at = parse_time(value)
    if at is None:
        return "—"
    local = at.astimezone(zone or UTC)
    today = now.astimezone(zone or UTC).date() if now else None
    return f"{dates.day_time(local, locale, today)} {local:%Z}"


def _locale_of(context: Any) -> str:
    t = context.get("t")
    return t.locale if isinstance(t, Translator) else "en"


@jinja2.pass_context
def _when_in_zone(context: Any, value: str | datetime | None) -> str:
    return when(value, context.get("zone"), _locale_of(context), context.get("now"))


@jinja2.pass_context
def _ago_in_words(context: Any, value: str | datetime | None, now: datetime) -> str:
    t = context.get("t")
    return ago(value, now, t if isinstance(t, Translator) else None)


@jinja2.pass_context
def _seconds_in_words(context: Any, seconds: float | None) -> str:
    t = context.get("t")
    return human_seconds(seconds, t if isinstance(t, Translator) else None)


class Translator:
    """`t(key, **params)` for pages: the catalogue in one locale."""

    def __init__(self, texts: Any, locale: str) -> None:
        self.texts = texts
        self.locale = locale

    def __call__(self, key: str, **params: object) -> str:
        return str(self.texts.render(key, self.locale, **params))


def refusal(exc: Exception, t: Translator) -> str:
    """Why an action was refused, for a page: the engine's English message on an English
    page, the same reason from the catalogue (`ActionRejected.key`) on any other."""
    key = getattr(exc, "key", "")
    if key and t.locale != "en":
        return t(key, **getattr(exc, "params", {}))
    return str(exc)


def zone_named(name: str | None) -> ZoneInfo:
    """The config's zone names were checked at start; a missing one means UTC."""
    return ZoneInfo(name or "UTC")


def desk_zone(app: Any) -> ZoneInfo:
    """The desk's own zone (`scheduler.timezone`): where staff read times."""
    return zone_named(app.config.scheduler.timezone)


def account_zone(app: Any, account: str | None) -> ZoneInfo:
    """An account's `timezone`, else the desk's."""
    for configured in app.config.accounts:
        if configured.name == account and configured.timezone:
            return zone_named(configured.timezone)
    return desk_zone(app)


def local_time(at: datetime, zone: ZoneInfo, now: datetime, t: Translator) -> str:
    """ "10:00 Tue" within three days of `now`, "2026-03-20 10:00" further off, in `zone`:
    seven days around today, so a weekday never names two dates on one page."""
    local, today = at.astimezone(zone), now.astimezone(zone)
    hm = local.strftime("%H:%M")
    if abs((local.date() - today.date()).days) <= 3:
        day = t("desk_weekdays").split()[local.weekday()]
        return t("desk_time_near", hm=hm, day=day)
    return t("desk_time_far", hm=hm, date=dates.day(local.date(), t.locale, today.date()))


def span(seconds: float, t: Translator) -> str:
    """A duration in words: "12 min", "3 h 5 min", "2 d 4 h"."""
    minutes = max(1, round(abs(seconds) / 60))
    if minutes < 60:
        return t("desk_span_min", n=minutes)
    if minutes < 48 * 60:
        return t("desk_span_h", n=minutes // 60, m=minutes % 60)
    return t("desk_span_d", n=minutes // 1440, h=minutes % 1440 // 60)


def human_seconds(seconds: float | None, t: Translator | None = None) -> str:
    """ "45s", "25m", "3.0h", "2.1d" (in Chinese "25 分钟", "3.0 小时", ...)."""
    if seconds is None:
        return "—"
    seconds = abs(seconds)
    if seconds < 90:
        n, unit = str(int(seconds)), "s"
    elif seconds < 90 * 60:
        n, unit = str(round(seconds / 60)), "m"
    elif seconds < 36 * 3600:
        n, unit = f"{seconds / 3600:.1f}", "h"
    else:
        n, unit = f"{seconds / 86400:.1f}", "d"
    return t(f"desk_unit_{unit}", n=n) if t else f"{n}{unit}"


def ago(value: str | datetime | None, now: datetime, t: Translator | None = None) -> str:
    """ "in 25m" for the future, "3.0h ago" for the past (in Chinese "25 分钟后",
    "3.0 小时前")."""
    at = parse_time(value)
    if at is None:
        return "—"
    delta = (at - now).total_seconds()
    text = human_seconds(delta, t)
    if t is not None:
        return t("desk_in" if delta >= 0 else "desk_ago", span=text)
    return f"in {text}" if delta >= 0 else f"{text} ago"


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    *,
    public: bool = False,
) -> web.Response:
    """Render a page. `public` pages (customer status pages) set no cookies; they
    bring their own `t`, `lang` and `zone` (the account's), staff pages get the desk's
    zone and the locale `web.locale.page_locale` picks."""
    app = casebot(request)
    if not request.cookies.get(NONCE_COOKIE) and NONCE_KEY not in request:
        # first visit: the nonce the page's forms are signed for is set below
        request[NONCE_KEY] = secrets.token_urlsafe(24)
    notice = unquote(request.cookies.get(FLASH_COOKIE, ""))
    kind, _, flash = notice.partition(":")
    if kind not in ("ok", "error"):  # a notice set before notices had kinds
        kind, flash = "ok", notice
    staff = request.get(STAFF_KEY)
    locale = page_locale(request)
    values = {
        "staff": staff,
        "csrf": csrf_token(request),
        "now": app.clock.now(),
        "flash": flash or None,
        "flash_kind": "error" if kind == "error" else "ok",
        "path": request.path,
        "timedelta": timedelta,
        "zone": desk_zone(app),
        "t": Translator(app.engine.texts, locale),
        "lang": html_lang(locale),
        # what /healthz answers about adapters, shown to staff on every page
        "adapters_down": sorted(n for n, up in adapter_states(app).items() if not up)
        if staff and not public
        else [],
        **context,
    }
    body = request.app[TEMPLATES_KEY].get_template(template).render(values)
    response = web.Response(text=body, status=status, content_type="text/html")
    if not public:
        ensure_nonce(request, response)
    if flash:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def page_translator(request: web.Request) -> Translator:
    """The catalogue in the locale of this request's pages."""
    return Translator(casebot(request).engine.texts, page_locale(request))


def redirect_with_flash(
    location: str, message: str, kind: Literal["ok", "error"] = "ok"
) -> web.HTTPSeeOther:
    """A redirect that shows `message` once on the next page, styled as a success
    (`ok`) or a refusal (`error`)."""
    response = web.HTTPSeeOther(location)
    response.set_cookie(
        FLASH_COOKIE,
        quote(f"{kind}:{message[:300]}"),
        max_age=60,
        path="/",
        httponly=True,
        samesite="Lax",
    )
    return response
