"""The HTTP server: one aiohttp application on `http.host:http.port` serving the
API, the staff dashboard, customer status pages, health and metrics, and the
webhook routes adapters mount through `web_routes()`.

Imports aiohttp and `web`; the running `bot.app.App` is handed in, never
imported. Middlewares run outermost first: errors, body limit, bearer auth
(/api only), CSRF (browser forms only; adapter routes exempt).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from web import api, auth, dashboard, metrics, status_pages
from web.context import ADAPTER_PATHS, APP_KEY, SECRET_KEY, TEMPLATES_KEY
from web.render import make_environment
from web.security import add_headers, body_limit, csrf, errors

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

__all__ = ["APP_KEY", "WebServer", "build_web_app"]


def build_web_app(app: Any) -> web.Application:
    http = app.config.http
    web_app = web.Application(
        middlewares=[errors, body_limit, api.bearer_auth, api.bad_input, csrf],
        client_max_size=http.max_body,
    )
    web_app[APP_KEY] = app
    if http.session_secret:
        web_app[SECRET_KEY] = http.session_secret.encode()
    else:
        # no configured secret: sessions and CSRF tokens last as long as this process
        web_app[SECRET_KEY] = secrets.token_bytes(32)
    web_app[TEMPLATES_KEY] = make_environment()
    for module in (metrics, api, auth, status_pages, dashboard):
        web_app.add_routes(module.routes())
    web_app.router.add_static("/static/", STATIC, name="static", append_version=False)
    adapter_paths: set[str] = set()
    for adapter in app.adapters.values():
        mount = getattr(adapter, "web_routes", None)
        if mount is None:
            continue
        for registered in web_app.add_routes(mount()):
            if registered.resource is not None:
                adapter_paths.add(registered.resource.canonical)
    web_app[ADAPTER_PATHS] = frozenset(adapter_paths)
    web_app.on_response_prepare.append(add_headers)
    return web_app


class WebServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        http = self.app.config.http
        self.runner = web.AppRunner(build_web_app(self.app), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, http.host, http.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else http.port
        log.info("HTTP server on %s:%s", http.host, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
