"""A bridge room in a box: a real App with its HTTP server, the bridge adapter and the
dispatcher, talking to a recording fake bridge over loopback.

`await box.say("alice", "my VM is down")` POSTs a signed `message.created` as that
person and returns the HTTP answer; `await box.peer.wait_for(n)` waits until casebot
sent `n` commands. Time is the wall clock: the Standard Webhooks timestamps are.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.app import App
from bot.config import parse_config
from storage.models import OutboxRow
from tests.fakes.bridge_peer import SECRET, FakeBridge, dumps, event, signed
from tests.harness import PEOPLE, base_config

BRIDGE = "wecom"
ROOM = "room1"
TRIAGE_ROOM = "triage1"
STAFF = {"evan", "erin", "lena"}


def bridge_config(
    db_url: str,
    url: str | None,
    capabilities: dict[str, Any] | None = None,
    triage_on_bridge: bool = False,
    telegram: dict[str, Any] | None = None,
    public_url: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    raw = base_config(**overrides)
    raw["storage"] = {"url": db_url}
    raw["http"] = {"host": "127.0.0.1", "port": 0}
    if public_url is not None:
        raw["http"]["public_url"] = public_url
    raw["scheduler"] = {"enabled": False}
    raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "5s"}
    staff = raw["staff"]
    staff["engineers"] = [*staff["engineers"], f"{BRIDGE}:1001", f"{BRIDGE}:1002"]
    staff["leads"] = [*staff["leads"], f"{BRIDGE}:2001"]
    staff["names"] = {**staff["names"], f"{BRIDGE}:1001": "@evan"}
    if triage_on_bridge:
        staff["triage_chat"] = f"{BRIDGE}:{TRIAGE_ROOM}"
    raw["accounts"] = [
        *raw["accounts"],
        {"name": "Initech", "tier": "premium", "chats": [f"{BRIDGE}:{ROOM}"], "intake": "tag"},
    ]
    bridge: dict[str, Any] = {"name": BRIDGE, "secret": SECRET}
    if url is not None:
        bridge["url"] = url
    bridge["capabilities"] = capabilities or {
        "threads": True,
        "buttons": True,
        "edits": True,
        "pins": False,
        "max_text": 4000,
    }
    raw["bridges"] = [bridge]
    if telegram is not None:
        raw["telegram"] = telegram
    return raw


class BridgeBox:
    def __init__(self, peer: FakeBridge | None, db_url: str, **options: Any) -> None:
        self.peer = peer
        self.raw = copy.deepcopy(bridge_config(db_url, peer.url if peer else None, **options))
        self.config = parse_config(copy.deepcopy(self.raw), env={})
        self.app = App(self.config)
        self._ids = itertools.count(1)
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> BridgeBox:
        await self.app.start()
        self.http = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        await self.app.stop()

    async def outbox(self) -> list[OutboxRow]:
        async with self.app.sessions() as session:
            rows = await session.execute(select(OutboxRow).order_by(OutboxRow.id))
            return list(rows.scalars())

    async def drained(self, timeout: float = 10.0) -> None:
        """Wait until the dispatcher settled every outbox row of the bridge (sent,
        skipped or dead); rows for Telegram, which no adapter here sends, stay."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.app.sessions() as session:
                pending = (
                    await session.execute(
                        select(func.count(OutboxRow.id)).where(
                            OutboxRow.status == "pending", OutboxRow.platform == BRIDGE
                        )
                    )
                ).scalar_one()
            if not pending:
                return
            if loop.time() > deadline:
                raise AssertionError(f"{pending} outbox rows still pending")
            self.app.dispatcher.wake()
            await asyncio.sleep(0.05)

    @property
    def base(self) -> str:
        assert self.app.web is not None
        return f"http://127.0.0.1:{self.app.web.port}"

    def new_id(self, prefix: str = "e") -> str:
        return f"{prefix}{next(self._ids)}"

    async def post(
        self,
        body: Any,
        *,
        bridge: str = BRIDGE,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, Any]]:
        assert self.http is not None
        data = raw if raw is not None else dumps(body).encode()
        hdrs = headers if headers is not None else signed(data, msg_id=self.new_id("w"))
        async with self.http.post(
            f"{self.base}/v1/bridges/{bridge}/events", data=data, headers=hdrs
        ) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
            return response.status, answer if isinstance(answer, dict) else {}

    def message(
        self,
        who: str,
        text: str,
        *,
        chat: str = ROOM,
        message_id: str | None = None,
        thread: str | None = None,
        reply_to: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        user_id, name, _ = PEOPLE[who]
        return event(
            "message.created",
            event_id or self.new_id(),
            chat,
            user_id,
            name=name,
            message={
                "id": message_id or self.new_id("m"),
                "thread_id": thread,
                "reply_to_id": reply_to,
                "text": text,
                "attachments": [],
            },
        )

    async def say(self, who: str, text: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.post(self.message(who, text, **kwargs))

    async def press(
        self, who: str, value: str, message_id: str | None, chat: str = TRIAGE_ROOM
    ) -> tuple[int, dict[str, Any]]:
        """`action.invoked`: a button of a message casebot sent, pressed."""
        user_id, name, _ = PEOPLE[who]
        return await self.post(
            event(
                "action.invoked",
                self.new_id(),
                chat,
                user_id,
                name=name,
                action={"message_id": message_id, "value": value},
            )
        )
