"""The HTTP server: one aiohttp application on `http.host:http.port` serving the
API, the staff dashboard, customer status pages, health and metrics, and the
webhook routes adapters mount through `web_routes()`.

Imports aiohttp and `web`; the running `bot.app.App` is handed in, never
imported. Connections pass through `web.guard` (deadlines, connection limits).
Middlewares run outermost first: deadlines, errors, body limit, bearer auth
(/api only), CSRF (browser forms only; adapter routes exempt).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from web import api, auth, dashboard, incidents, knowledge, metrics, status_pages
from web.context import ADAPTER_PATHS, APP_KEY, SECRET_KEY, TEMPLATES_KEY
from web.guard import (
    GUARD_KEY,
    AcceptErrorLog,
    ConnectionGuard,
    GuardedSite,
    TrustedProxies,
    deadlines,
)
from web.render import make_environment
from web.security import add_headers, body_limit, csrf, errors

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

__all__ = ["APP_KEY", "WebServer", "build_web_app"]


def build_web_app(app: Any) -> web.Application:
    http = app.config.http
    web_app = web.Application(
        middlewares=[deadlines, errors, body_limit, api.bearer_auth, api.bad_input, csrf],
        client_max_size=http.max_body,
    )
    web_app[APP_KEY] = app
    web_app[GUARD_KEY] = ConnectionGuard(
        header_timeout=http.header_timeout.total_seconds(),
        body_timeout=http.body_timeout.total_seconds(),
        per_client=http.max_connections_per_client,
        total=http.max_connections,
        trusted=TrustedProxies(http.trusted_proxies),
    )
    if http.session_secret:
        web_app[SECRET_KEY] = http.session_secret.encode()
    else:
        # no configured secret: sessions and CSRF tokens last as long as this process
        web_app[SECRET_KEY] = secrets.token_bytes(32)
    web_app[TEMPLATES_KEY] = make_environment()
    web_app[auth.PASSWORDS_KEY] = auth.PasswordChecks()
    web_app.on_cleanup.append(auth.close_password_checks)
    for module in (metrics, api, auth, status_pages, dashboard, incidents, knowledge):
        web_app.add_routes(module.routes())
    web_app.router.add_static("/static/", STATIC, name="static", append_version=False)
    adapter_paths: set[str] = set()
    for adapter in (*app.adapters.values(), *getattr(app, "route_sources", ())):
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
        self.accept_errors: AcceptErrorLog | None = None

    async def start(self) -> None:
        http = self.app.config.http
        web_app = build_web_app(self.app)
        guard = web_app[GUARD_KEY]
        self.runner = web.AppRunner(
            web_app,
            access_log=None,
            # a handler whose client has gone is cancelled, not left holding its work
            handler_cancellation=True,
            keepalive_timeout=http.keepalive_timeout.total_seconds(),
        )
        await self.runner.setup()
        site = GuardedSite(self.runner, http.host, http.port, guard)
        await site.start()
        self.accept_errors = AcceptErrorLog(asyncio.get_running_loop())
        self.accept_errors.install()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else http.port
        log.info(
            "HTTP server on %s:%s (at most %d connections, %d per client)",
            http.host,
            self.port,
            guard.total,
            guard.per_client,
        )

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        if self.accept_errors is not None:
            self.accept_errors.uninstall()
            self.accept_errors = None
