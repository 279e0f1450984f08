"""A Telegram group in a box: the fake Bot API server, a real App and its real adapter.

`box.say("alice", "my VM is down")` pushes an update into the fake as that person;
`await box.settle()` waits until casebot acknowledged every update and the
dispatcher has sent what was due. The clock is frozen (at the wall time when the
box opened, moved forward to the wall time on each settle so Telegram's message
dates are never in its future), and moves only when told to otherwise.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app import App
from bot.config import parse_config
from cases.clock import FrozenClock
from storage.models import CaseEvent, MessageRow, OutboxRow
from storage.queries import get_case
from tests.fakes.telegram_api import FakeBotApi
from tests.harness import ACME, GLOBEX, PEOPLE, TRIAGE, base_config

TOKEN = "123456:TEST-token"
CHATS = {"acme": int(ACME), "globex": int(GLOBEX), "triage": int(TRIAGE)}


def telegram_config(api: FakeBotApi, **telegram: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "token": api.token,
        "base_url": api.base_url,
        "poll_timeout": "1s",
        "board_min_interval": "0s",
        "rate_per_second": 1000.0,
        "rate_per_group_minute": 1000,
    }
    section.update(telegram)
    return section


class TgBox:
    def __init__(self, api: FakeBotApi, db_url: str, **overrides: Any) -> None:
        self.api = api
        telegram = overrides.pop("telegram", {})
        raw = base_config(**overrides)
        raw["storage"] = {"url": db_url}
        raw["telegram"] = telegram_config(api, **telegram)
        raw["http"] = {**raw.get("http", {}), "enabled": False, **overrides.get("http", {})}
        raw["scheduler"] = {"enabled": False}
        raw["dispatcher"] = {"enabled": False, "base_delay": "1s"}
        self.raw = copy.deepcopy(raw)
        self.config = parse_config(raw, env={})
        self.clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        self.app = App(self.config, self.clock)
        self.last_update = 0

    async def start(self, web: bool = False) -> TgBox:
        self.api.add_chat(CHATS["acme"], title="Acme support")
        self.api.add_chat(CHATS["globex"], title="Globex 支持")
        self.api.add_chat(CHATS["triage"], title="Triage")
        await self.app.start(web=web, scheduler=False)
        return self

    async def stop(self) -> None:
        await self.app.stop()

    @property
    def adapter(self) -> Any:
        return self.app.adapters["telegram"]

    # ------------------------------------------------------------ updates

    @staticmethod
    def user(who: str) -> tuple[int, str, str]:
        user_id, name, username = PEOPLE[who]
        return int(user_id), name, username

    def push(self, update: dict[str, Any]) -> int:
        self.last_update = self.api.push_update(update)
        return self.last_update

    def say(self, who: str, text: str | None, chat: str = "acme", **kwargs: Any) -> int:
        """Push a message; returns its message id."""
        user_id, name, username = self.user(who)
        update = self.api.message(
            CHATS.get(chat, 0) or int(chat),
            user_id,
            text,
            first_name=name,
            username=username,
            **kwargs,
        )
        self.push(update)
        return int(update["message"]["message_id"])

    def press(self, who: str, message_id: int, data: str, chat: str = "triage") -> str:
        user_id, name, username = self.user(who)
        update = self.api.callback_query(
            CHATS[chat], user_id, message_id, data, first_name=name, username=username
        )
        self.push(update)
        return str(update["callback_query"]["id"])

    def react(self, who: str, message_id: int, emoji: str = "🎫", chat: str = "acme") -> None:
        user_id, name, username = self.user(who)
        self.push(
            self.api.reaction(
                CHATS[chat], user_id, message_id, emoji, first_name=name, username=username
            )
        )

    async def settle(self, timeout: float = 5.0) -> None:
        if self.last_update:
            await self.api.wait_confirmed(self.last_update, timeout)
        self.clock.set(max(self.clock.now(), datetime.now(UTC)))
        while await self.app.dispatcher.run_once():
            pass

    # ------------------------------------------------------------ reading

    def sent(self, chat: str) -> list[dict[str, Any]]:
        return self.api.sent_to(CHATS.get(chat) or int(chat))

    def texts(self, chat: str) -> list[str]:
        return [m.get("text", "") for m in self.sent(chat)]

    def current(self, chat: str, message_id: int) -> dict[str, Any]:
        message = self.api.get_message(CHATS.get(chat) or int(chat), message_id)
        assert message is not None, f"no message {message_id} in {chat}"
        return message

    async def case(self, case_id: int) -> dict[str, Any]:
        async with self.app.sessions() as session:
            result = await get_case(session, case_id)
        assert result is not None, f"no case {case_id}"
        return result

    async def rows(self, model: Any = OutboxRow) -> list[Any]:
        async with self.app.sessions() as session:
            return list((await session.execute(select(model).order_by(model.id))).scalars())

    async def messages(self) -> list[MessageRow]:
        return await self.rows(MessageRow)

    async def events(self, type_: str | None = None) -> list[CaseEvent]:
        events = await self.rows(CaseEvent)
        return [e for e in events if type_ is None or e.type == type_]

    def card_id(self, case_id: int) -> int:
        """The triage card's message id for a case (the first triage message naming it)."""
        for m in self.sent("triage"):
            if m.get("text", "").startswith(f"#{case_id} "):
                return int(m["message_id"])
        raise AssertionError(f"no card for #{case_id} in {self.texts('triage')}")


@contextlib.asynccontextmanager
async def web_server(answer: web.Response) -> AsyncIterator[str]:
    """A web server on 127.0.0.1 giving this answer to every path: a base_url that is not
    (or not quite) the Bot API. Yields that base_url."""

    async def handle(_: web.Request) -> web.Response:
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type
        )

    async with serving(handle) as port:
        yield f"http://127.0.0.1:{port}/bot"


@contextlib.asynccontextmanager
async def serving(handle: Any) -> AsyncIterator[int]:
    """A web server on 127.0.0.1 answering every method and path with `handle`; yields
    its port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
