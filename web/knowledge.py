"""Saved answers on the dashboard (list, edit, use counts) and in the API.

Imports aiohttp, `cases` and `storage`. Pages need a signed-in staff person; the form
carries the CSRF token `web.security` checks; the API route needs the bearer token
(`web.api.bearer_auth`).
"""

from __future__ import annotations

from aiohttp import web

from cases.snippets import valid_name
from storage.knowledge import list_snippets, put_snippet
from web.auth import require_staff
from web.context import casebot
from web.render import redirect_with_flash, render

LOCALES = ("en", "zh")
MAX_TEXT = 4000


async def snippets_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    async with casebot(request).sessions() as session:
        items = await list_snippets(session)
    edit = request.query.get("edit", "")
    # the form starts from the variants of the answer chosen for editing
    current = next((s["variants"] for s in items if s["name"] == edit), {})
    return render(
        request,
        "snippets.html",
        {"snippets": items, "edit": edit, "current": current, "locales": LOCALES},
    )


async def snippet_save(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    app = casebot(request)
    form = await request.post()
    name = str(form.get("name", "")).strip().lower()
    locale = str(form.get("locale", ""))
    text = str(form.get("text", ""))
    if not valid_name(name) or locale not in LOCALES or len(text) > MAX_TEXT:
        t = app.engine.texts.render("desk_snippet_bad", app.config.staff.locale)
        raise redirect_with_flash("/snippets", t, "error")
    async with app.sessions() as session, session.begin():
        await put_snippet(session, name, locale, text, staff.person, app.clock.now())
    raise redirect_with_flash("/snippets", "Done.")


async def snippets_api(request: web.Request) -> web.Response:
    async with casebot(request).sessions() as session:
        return web.json_response(await list_snippets(session))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/snippets", snippets_page),
        web.post("/snippets", snippet_save),
        web.get("/api/v1/snippets", snippets_api),
    ]
