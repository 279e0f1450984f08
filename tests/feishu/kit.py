"""A Feishu group in a box: a real App with its HTTP server and the Feishu adapter,
talking to the fake Open API over loopback, fed encrypted and signed callbacks by the
injector.

`await box.say("ou_alice", "oc_acme", "my VM is down")` posts a message event and
returns the HTTP status and body; `await box.api.wait_for(...)` waits for what
casebot sent.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.app import App
from bot.config import parse_config
from storage.models import OutboxRow
from tests.fakes.feishu_api import CUSTOMER_TENANT, FakeFeishu, Injector, feishu_section

ACME = "oc_acme"  # an internal group of a customer account
GLOBEX = "oc_globex"  # an external group (外部群): its people are of another tenant
TRIAGE = "oc_triage"
EVAN, ERIN, LENA = "ou_evan", "ou_erin", "ou_lena"
ALICE, BOB, WANG = "ou_alice", "ou_bob", "ou_wang"


def feishu_config(db_url: str, base_url: str, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "storage": {"url": db_url},
        "http": {"host": "127.0.0.1", "port": 0, "api_token": "feishu-token"},
        "scheduler": {"enabled": False},
        "dispatcher": {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "5s"},
        "staff": {
            "engineers": [f"feishu:{EVAN}", f"feishu:{ERIN}"],
            "leads": [f"feishu:{LENA}"],
            "triage_chat": f"feishu:{TRIAGE}",
            "names": {f"feishu:{EVAN}": "@evan", f"feishu:{ERIN}": "@erin"},
        },
        "accounts": [
            {"name": "Acme", "tier": "premium", "chats": [f"feishu:{ACME}"], "intake": "tag"},
            {
                "name": "Globex",
                "tier": "standard",
                "chats": [f"feishu:{GLOBEX}"],
                "intake": "auto",
                "locale": "zh",
            },
        ],
        "sla": {
            "premium": {"P3": {"first_response": "1h", "resolution": "2d"}},
            "standard": {"P3": {"first_response": "4h", "resolution": "5d"}},
        },
        "feishu": feishu_section(base_url),
    }
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


class FeishuBox:
    def __init__(self, api: FakeFeishu, db_url: str, **overrides: Any) -> None:
        self.api = api
        self.raw = feishu_config(db_url, api.url, **overrides)
        self.config = parse_config(copy.deepcopy(self.raw), env={})
        self.app = App(self.config)
        self.feishu = Injector(api=api)
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> FeishuBox:
        await self.app.start()
        self.http = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        await self.app.stop()

    @property
    def events_url(self) -> str:
        assert self.app.web is not None
        return f"http://127.0.0.1:{self.app.web.port}/feishu/events"

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        assert self.http is not None
        async with self.http.post(self.events_url, data=body, headers=headers) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
            return response.status, answer if isinstance(answer, dict) else {}

    async def post(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return await self.post_raw(*self.feishu.seal(event))

    async def say(
        self, who: str, chat: str, text: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        if chat == GLOBEX and who not in (EVAN, ERIN, LENA):
            kwargs.setdefault("tenant", CUSTOMER_TENANT)
        event = self.feishu.message(who, chat, text, **kwargs)
        self.last_message_id = event["event"]["message"]["message_id"]
        return await self.post(event)

    async def outbox(self) -> list[OutboxRow]:
        async with self.app.sessions() as session:
            rows = await session.execute(select(OutboxRow).order_by(OutboxRow.id))
            return list(rows.scalars())

    async def drained(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.app.sessions() as session:
                pending = (
                    await session.execute(
                        select(func.count(OutboxRow.id)).where(OutboxRow.status == "pending")
                    )
                ).scalar_one()
            if not pending:
                return
            if loop.time() > deadline:
                raise AssertionError(f"{pending} outbox rows still pending")
            self.app.dispatcher.wake()
            await asyncio.sleep(0.05)
