"""Customer status pages: `GET /status/{token}` shows one chat's active and
recent cases (ref, title, status, last update), and the incidents that affect its
account (open, or resolved in the last week, with the latest update), under the vendor's name
(`http.vendor_name`) and the account's, in the account's time zone, and nothing else.

Imports aiohttp and `storage`. Customers read it, so its words come from the
bot's catalogue in the chat's account locale. The token is the chat's `status_token`: 24 random
bytes, unguessable; staff rotate it from the account page, and the old link
then answers 404. Pages are `noindex` and never cached.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from storage.incidents import chat_incidents
from storage.issues import issues_by_case
from storage.stats import status_page
from web.context import casebot
from web.locale import html_lang
from web.render import Translator, account_zone, render
from web.security import localised, page_error_for

RECENT = timedelta(days=7)


async def status(request: web.Request) -> web.StreamResponse:
    app = casebot(request)
    now = app.clock.now()
    async with app.sessions() as session:
        page = await status_page(session, request.match_info["token"], now)
        if page is not None:
            # an outage the desk announced: open ones, and those resolved this week
            page["incidents"] = await chat_incidents(session, page["chat_id"], now - RECENT)
        shown = getattr(app.config, "trackers", None)
        if page is not None and shown is not None and shown.status_page:
            linked = await issues_by_case(session, [c["id"] for c in page["cases"]])
            for c in page["cases"]:
                # title and state only: keys and URLs of engineering trackers stay inside
                c["issues"] = [
                    {"title": i.title, "state": i.state}
                    for i in linked.get(c["id"], [])
                    if i.title
                ]
    if page is None:
        # no chat, so no account's locale: the browser's
        message = "This status link is not valid (it may have been replaced)."
        return page_error_for(request, 404, localised(request, "desk_err_status_link", message))
    page["t"] = Translator(app.engine.texts, page["locale"])
    page["lang"] = html_lang(page["locale"])
    page["vendor"] = app.config.http.vendor_name
    page["zone"] = account_zone(app, page["account"])
    response = render(request, "status.html", page, public=True)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/status/{token}", status)]
