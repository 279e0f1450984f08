"""Customer status pages: `GET /status/{token}` shows one chat's active and
recent cases (ref, title, status, last update) and nothing else.

Imports aiohttp and `storage`. The token is the chat's `status_token`: 24 random
bytes, unguessable; staff rotate it from the account page, and the old link
then answers 404. Pages are `noindex` and never cached.
"""

from __future__ import annotations

from aiohttp import web

from storage.stats import status_page
from web.context import casebot
from web.render import render
from web.security import page_error


async def status(request: web.Request) -> web.StreamResponse:
    app = casebot(request)
    async with app.sessions() as session:
        page = await status_page(session, request.match_info["token"], app.clock.now())
    if page is None:
        return page_error(404, "This status link is not valid (it may have been replaced).")
    response = render(request, "status.html", page, public=True)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/status/{token}", status)]
