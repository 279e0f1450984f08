"""Keys that the web modules share on the aiohttp application. Imports aiohttp only.

`APP_KEY` holds the running `bot.app.App` (typed loosely: `web/` never imports
`bot`, which wires `web`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

APP_KEY = web.AppKey("casebot", Any)
# canonical paths of routes mounted by adapters (webhooks): they check their own
# secrets, so CSRF and error rewriting leave them alone
ADAPTER_PATHS = web.AppKey("adapter_paths", frozenset)
SECRET_KEY = web.AppKey("session_secret", bytes)
TEMPLATES_KEY = web.AppKey("templates", Any)


def casebot(request: web.Request) -> Any:
    return request.app[APP_KEY]


STAFF_KEY = web.RequestKey("staff", Any)  # the signed-in StaffSession or None
NONCE_KEY = web.RequestKey("nonce", str)  # a CSRF nonce made during this request
