"""Customer status pages: `GET /status/{token}` shows one chat's active and
recent cases (ref, title, status, last update) and nothing else.

Imports aiohttp and `storage`. Customers read it, so its words come from the
bot's catalogue in the chat's account locale. The token is the chat's `status_token`: 24 random
bytes, unguessable; staff rotate it from the account page, and the old link
then answers 404. Pages are `noindex` and never cached.
"""

from __future__ import annotations

from typing import Any

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
    page["t"] = _Translator(app.engine.texts, page["locale"])
    page["lang"] = "zh-Hans" if page["locale"] == "zh" else page["locale"]
    response = render(request, "status.html", page, public=True)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


class _Translator:
    """`t(key, **params)` for templates: the catalogue in one locale."""

    def __init__(self, texts: Any, locale: str) -> None:
        self.texts = texts
        self.locale = locale

    def __call__(self, key: str, **params: object) -> str:
        return str(self.texts.render(key, self.locale, **params))


def routes() -> list[web.RouteDef]:
    return [web.get("/status/{token}", status)]
