"""A full intake through the real `casebot run`, on a bridge without buttons (so every
choice is a numbered text choice): keywords pick the category, the bot asks in the
case's thread, a bad answer is asked again, a typed number answers a choice, the
answers are case fields in the API, staff tag the case from chat and set a field
through the API, and /resolve waits for the required field."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bridge.test_contract_run import ev, msg
from tests.bridge.test_kill import free_port
from tests.chaos.burst import wait_up
from tests.chaos.kit import BotProcess
from tests.fakes.bridge_peer import SECRET, FakeBridge, dumps, signed

TOKEN = "intake-token"

CONFIG = """
[storage]
url = "sqlite+aiosqlite:///{db}"

[http]
host = "127.0.0.1"
port = {port}
api_token = "{token}"

[scheduler]
enabled = false

[dispatcher]
idle_poll = "50ms"
base_delay = "200ms"

[staff]
engineers = ["wecom:zhang.wei"]
triage_chat = "wecom:triage-room"

[[accounts]]
name = "Initech"
chats = ["wecom:room1"]
intake = "auto"

[[bridges]]
name = "wecom"
secret = "{secret}"
url = "{url}"
capabilities = {{ threads = true, buttons = false, edits = true, pins = false, max_text = 4000 }}

[[fields]]
name = "invoice"
type = "pattern"
pattern = "INV-[0-9]+"
required = true
categories = ["billing"]

[[fields]]
name = "region"
type = "choice"
choices = ["eu-west", "cn-north"]

[[intake.categories]]
name = "billing"
keywords = ["invoice", "发票", "refund"]
questions = [
  {{ field = "invoice", ask = "Which invoice is it about?", hint = "it looks like INV-1234." }},
  {{ field = "payment", ask = "How did you pay?", choices = ["card", "transfer"] }},
]
"""


@pytest.mark.slow
async def test_a_full_intake_through_casebot_run(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with FakeBridge() as peer, aiohttp.ClientSession() as http:
        bot = BotProcess(tmp_path, {})
        bot.config.write_text(
            CONFIG.format(
                db=tmp_path / "c.db", port=port, token=TOKEN, secret=SECRET, url=peer.url
            ),
            encoding="utf-8",
        )
        await bot.start()
        try:
            await wait_up(http, base)
            n = iter(range(1, 100))

            async def post(actor: str, mid: str, text: str) -> None:
                body = ev(next(n), "message.created", actor, message=msg(mid, text))
                data = dumps(body)
                async with http.post(
                    f"{base}/v1/bridges/wecom/events",
                    data=data,
                    headers=signed(data, msg_id=str(body["id"])),
                ) as response:
                    assert response.status == 202

            async def said(fragment: str) -> dict[str, Any]:
                """The room's message holding `fragment`, once it is sent."""
                for _ in range(100):
                    found = [c for c in peer.sent(chat="room1") if fragment in c["text"]]
                    if found:
                        return found[-1]
                    await asyncio.sleep(0.1)
                raise AssertionError(f"{fragment!r} never sent: {peer.sent(chat='room1')}")

            async def case() -> dict[str, Any]:
                async with http.get(f"{base}/api/v1/cases/1", headers=auth) as response:
                    assert response.status == 200
                    return dict(await response.json())

            await post("u42", "m1", "our March invoice is wrong")
            question = await said("Which invoice")
            assert question["text"] == "Case #1: Which invoice is it about? (or say skip)"
            # in the case's thread, and no Skip as a numbered choice ("1" is an answer)
            assert question["thread_id"] == "m1" and question["buttons"] == []
            await post("u42", "m2", "the one from March")
            again = await said("Sorry, that answer does not fit")
            assert again["text"].startswith(
                "Sorry, that answer does not fit: it looks like INV-1234.\nCase #1: Which"
            )
            await post("u42", "m3", "INV-1001")
            choice = await said("How did you pay?")
            assert choice["text"].endswith("Reply with a number (1–2): 1. card  2. transfer")
            ack = next(c for c in peer.sent(chat="room1") if c["reply_to_id"] == "m1")
            assert ack["text"] == "Thanks, we are on it: this is case #1."
            await post("u42", "m4", "2")
            await said("that is all we need for case #1")
            for _ in range(50):
                found = await case()
                if found["fields"].get("payment"):
                    break
                await asyncio.sleep(0.1)
            assert found["category"] == "billing"
            assert found["fields"] == {"invoice": "INV-1001", "payment": "transfer"}

            await post("zhang.wei", "m5", "/tag refund")
            async with http.post(
                f"{base}/api/v1/cases/1/fields",
                json={"field": "region", "value": "mars"},
                headers={**auth, "X-Casebot-Actor": "wecom:zhang.wei"},
            ) as response:
                assert response.status == 422
            async with http.post(
                f"{base}/api/v1/cases/1/fields",
                json={"field": "region", "value": "EU-West"},
                headers={**auth, "X-Casebot-Actor": "wecom:zhang.wei"},
            ) as response:
                assert response.status == 200, await response.text()
                body = await response.json()
            assert body["fields"]["region"] == "eu-west"
            for _ in range(50):
                found = await case()
                if found["tags"]:
                    break
                await asyncio.sleep(0.1)
            assert found["tags"] == ["refund"]
            types = [e["type"] for e in found["events"]]
            assert {"category_set", "field_set", "tagged", "intake_done"} <= set(types)
        finally:
            assert await bot.stop() == 0, bot.output()[-3000:]
    assert "Traceback" not in bot.output()
