"""A running App with `[trackers.*]` configured, behind aiohttp's test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.config import parse_config
from cases.clock import FrozenClock
from tests.web.conftest import Site, web_config
from web.server import build_web_app

SECRET = "tracker-secret-0123"


def trackers(**overrides: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        name: {"webhook_secret": SECRET} for name in ("github", "gitlab", "jira", "linear")
    }
    found.update(overrides)
    return found


async def tracker_site(url: str, raw_trackers: dict[str, Any]) -> AsyncIterator[Site]:
    raw = web_config(url)
    raw["trackers"] = raw_trackers
    # a GitHub issue event is some 10 kB: more than the web tests' small limit
    raw["http"]["max_body"] = 1_048_576
    app = App(parse_config(raw, env={}), FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    await app.prepare()
    client = TestClient(TestServer(build_web_app(app)))
    await client.start_server()
    try:
        yield Site(app, client)
    finally:
        await client.close()
        await app.trackers.close()
        await app.db.dispose()
