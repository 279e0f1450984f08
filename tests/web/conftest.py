"""Fixtures for the web tests: a real App (storage, engine, frozen clock) behind
aiohttp's test server, with people and chats from `tests.harness`."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.config import parse_config
from cases.clock import FrozenClock
from cases.engine import Outcome
from cases.model import ChatKey, Inbound, InboundKind
from tests.harness import ACME, GLOBEX, PEOPLE, base_config
from web.auth import hash_password
from web.server import build_web_app

TOKEN = "test-api-token-0123456789"
PASSWORD = "correct horse battery"
LEAD = "telegram:2001"
ENGINEER = "telegram:1001"


class Site:
    """The running web app plus helpers to make chat traffic and sign in."""

    def __init__(self, app: App, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.clock: FrozenClock = app.clock  # type: ignore[assignment]
        self._ids = itertools.count(1)
        self._mids = itertools.count(1)

    async def say(
        self, who: str, text: str, chat: str = ACME, reply_to: str | None = None
    ) -> tuple[str, Outcome]:
        self.clock.advance(timedelta(seconds=30))
        user_id, name, username = PEOPLE[who]
        from cases.model import Actor

        mid = str(next(self._mids))
        outcome = await self.app.ingestor.handle(
            Inbound(
                InboundKind.MESSAGE,
                f"w{next(self._ids)}",
                ChatKey("telegram", chat),
                self.clock.now(),
                Actor("telegram", user_id, name, username),
                message_id=mid,
                reply_to=reply_to,
                text=text,
            )
        )
        return mid, outcome

    async def open_case(self, text: str, chat: str = ACME, who: str = "alice") -> int:
        """A customer message made a case (by tag in Acme, automatically in Globex);
        an hour apart, so the conversation window never joins two."""
        self.clock.advance(timedelta(hours=1))
        mid, outcome = await self.say(who, text, chat=chat)
        if outcome.case_id is None:
            _, outcome = await self.say("evan", "/case", chat=chat, reply_to=mid)
        assert outcome.case_id is not None
        return outcome.case_id

    async def csrf(self, path: str = "/login") -> str:
        page = await (await self.client.get(path)).text()
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match, page[:500]
        return match.group(1)

    async def sign_in(self, name: str = "lena", password: str = PASSWORD) -> None:
        token = await self.csrf()
        response = await self.client.post(
            "/login",
            data={"csrf": token, "name": name, "password": password, "next": "/"},
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()

    async def add_login_token(
        self, person: str, token: str, ttl: timedelta = timedelta(minutes=15)
    ) -> None:
        """A one-time sign-in link's token, as `/login` in chat would store it."""
        import hashlib

        from storage.models import LoginToken

        now = self.clock.now()
        async with self.app.sessions() as session, session.begin():
            session.add(
                LoginToken(
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    person=person,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )

    def api_headers(self, actor: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if actor:
            headers["X-Casebot-Actor"] = actor
        return headers


def web_config(url: str, **http: Any) -> dict[str, Any]:
    raw = base_config()
    raw["storage"] = {"url": url}
    raw["http"] = {
        "api_token": TOKEN,
        "public_url": "http://127.0.0.1:8080",
        "session_secret": "test-secret",
        "max_body": 4096,
        "users": [
            {
                "name": "lena",
                "person": LEAD,
                "password_hash": hash_password(PASSWORD, iterations=1000),
            },
            {
                "name": "evan",
                "person": ENGINEER,
                "password_hash": hash_password(PASSWORD, iterations=1000),
            },
        ],
        **http,
    }
    raw["dispatcher"] = {"enabled": False}
    raw["scheduler"] = {"enabled": False}
    return raw


async def make_site(
    url: str,
    adapters: dict[str, Any] | None = None,
    accounts: dict[str, dict[str, Any]] | None = None,
    staff: dict[str, Any] | None = None,
    sections: dict[str, Any] | None = None,
    **http: Any,
) -> AsyncIterator[Site]:
    """`accounts` adds keys to the harness's accounts by name (a time zone, say),
    `staff` to its `[staff]`, `sections` whole top-level sections (`fields`, `trackers`)."""
    raw = web_config(url, **http)
    raw.update(sections or {})
    for account in raw["accounts"]:
        account.update((accounts or {}).get(account["name"], {}))
    raw["staff"].update(staff or {})
    config = parse_config(raw, env={})
    app = App(config, FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), adapters=adapters)
    await app.prepare()
    client = TestClient(TestServer(build_web_app(app)))
    await client.start_server()
    try:
        yield Site(app, client)
    finally:
        await client.close()
        await app.trackers.close()
        await app.db.dispose()


@pytest.fixture
async def site(db_url: str) -> AsyncIterator[Site]:
    async for s in make_site(db_url):
        yield s


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[Site]:
    """SQLite only, for tests about HTTP behaviour rather than storage."""
    async for s in make_site(sqlite_url):
        yield s


__all__ = ["ACME", "GLOBEX", "ENGINEER", "LEAD", "TOKEN", "Site"]
