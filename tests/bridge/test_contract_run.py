"""The DESIGN's bridge contract against the real `casebot run`: a config like the
DESIGN's sample (no Telegram; one person on Telegram and WeCom), events of every type
signed by `standardwebhooks` as a bridge signs them, and the cases the API shows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bridge.test_kill import free_port
from tests.chaos.burst import wait_up
from tests.chaos.kit import BotProcess
from tests.fakes.bridge_peer import SECRET, FakeBridge, dumps, signed

TOKEN = "contract-token"


def config(db: Path, port: int, url: str) -> dict[str, Any]:
    return {
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "http": {"host": "127.0.0.1", "port": port, "api_token": TOKEN},
        "scheduler": {"enabled": False},
        "dispatcher": {"idle_poll": "50ms", "base_delay": "200ms"},
        "staff": {
            "engineers": ["zhang"],
            "triage_chat": "wecom:triage-room",
            "people": [{"name": "zhang", "ids": ["telegram:1001", "wecom:zhang.wei"]}],
        },
        "accounts": [{"name": "Initech", "chats": ["wecom:room1"]}],
        "bridges": [
            {
                "name": "wecom",
                "secret": SECRET,
                "url": url,
                "capabilities": {
                    "threads": True,
                    "buttons": False,
                    "edits": True,
                    "pins": False,
                    "max_text": 4000,
                },
            }
        ],
    }


def ev(
    n: int, type_: str, actor: str = "u42", chat: str = "room1", **fields: Any
) -> dict[str, Any]:
    return {
        "spec": "casebot.chat/v1",
        "id": f"ev-{n}",
        "type": type_,
        "occurred_at": "2026-03-02T09:00:00Z",
        "chat": {"id": chat, "kind": "group", "title": "Initech support"},
        "actor": {"id": actor, "name": actor.title(), "is_bot": False},
        **fields,
    }


def msg(mid: str, text: str, reply_to: str | None = None) -> dict[str, Any]:
    return {"id": mid, "thread_id": None, "reply_to_id": reply_to, "text": text, "attachments": []}


@pytest.mark.slow
async def test_every_event_type_through_casebot_run(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeBridge() as peer, aiohttp.ClientSession() as http:
        bot = BotProcess(tmp_path, config(tmp_path / "c.db", port, peer.url))
        await bot.start()
        try:
            await wait_up(http, base)

            async def post(body: dict[str, Any]) -> int:
                data = dumps(body)
                headers = signed(data, msg_id=str(body["id"]))
                url = f"{base}/v1/bridges/wecom/events"
                async with http.post(url, data=data, headers=headers) as response:
                    return response.status

            zhang = "zhang.wei"
            steps = [
                ev(1, "message.created", message=msg("m1", "our export hangs at 99%")),
                ev(2, "message.created", zhang, message=msg("m2", "/case Export hangs", "m1")),
                ev(3, "message.edited", message=msg("m1", "our export hangs at 98%")),
                ev(4, "reaction.added", reaction={"message_id": "m1", "emoji": "👍"}),
                ev(5, "reaction.removed", reaction={"message_id": "m1", "emoji": "👍"}),
                # only the required fields: no thread, reply, attachments, title or name
                {
                    "spec": "casebot.chat/v1",
                    "id": "ev-6",
                    "type": "message.created",
                    "chat": {"id": "room1"},
                    "actor": {"id": "u43"},
                    "message": {"id": "m6", "text": "/new printer on fire"},
                },
                ev(7, "message.deleted", message={"id": "m6"}),
                {**ev(8, "message.created", zhang, chat=zhang, message=msg("m8", "/help"))},
                ev(10, "message.created", zhang, message=msg("m10", "/resolve", "m1")),
            ]
            steps[7]["chat"]["kind"] = "direct"
            for step in steps:
                assert await post(step) == 202, step
            assert await post(steps[0]) == 202  # a repeat

            async def cases() -> list[dict[str, Any]]:
                async with http.get(
                    f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {TOKEN}"}
                ) as response:
                    assert response.status == 200
                    return list(await response.json())

            for _ in range(100):
                found = await cases()
                if len(found) == 2 and "resolved" in {c["status"] for c in found}:
                    break
                await asyncio.sleep(0.1)
            card = next(c for c in peer.commands if c["chat_id"] == "triage-room")
            taken = ev(
                9,
                "action.invoked",
                zhang,
                chat="triage-room",
                action={"message_id": "b0", "value": "nothing"},
            )
            assert await post(taken) == 202 and card["buttons"] == []

            first = next(c for c in found if c["ref"] == "#1")
            assert first["chat"] == "wecom:room1" and first["account"] == "Initech"
            assert first["title"] == "Export hangs" and first["opened_by"] == "wecom:zhang.wei"
            assert first["status"] == "resolved"
            texts = [m["text"] for m in first["messages"]]
            assert "our export hangs at 98%" in texts
            second = next(c for c in found if c["ref"] == "#2")
            assert second["title"] == "printer on fire"
            help_ = next(c for c in peer.commands if c["chat_id"] == zhang)
            assert help_["reply_to_id"] == "m8" and "/case" in help_["text"]
        finally:
            assert await bot.stop() == 0, bot.output()[-3000:]
    assert "Traceback" not in bot.output()
