"""`casebot run` with `[[bridges]] name = "matrix"`, the reference bridge, and real Synapse:
a case opened in a Matrix room, acknowledged there, answered, resolved and rated by
numbered text choice (Matrix has no buttons)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridges.matrix.bridge import MatrixBridge
from tests.bridge_matrix.kit import SECRET, World, running, wait_until
from tests.bridge_matrix.synapse import free_port

API_TOKEN = "matrix-e2e-api-token"
# a choice numbered 1 and one numbered 5, not "#1" (the case) nor part of a longer number
CHOICE_1 = re.compile(r"(?<![#\d])1(?!\d)")
CHOICE_5 = re.compile(r"(?<![#\d])5(?!\d)")
CASEBOT = str(Path(sys.executable).with_name("casebot"))


def casebot_toml(world: World, port: int) -> str:
    return f"""
[storage]
url = "sqlite+aiosqlite:///{world.tmp / "casebot.db"}"

[http]
host = "127.0.0.1"
port = {port}
api_token = "{API_TOKEN}"

[staff]
engineers = ["matrix:{world.staff.user_id}"]

[[accounts]]
name = "Acme"
tier = "premium"
chats = ["matrix:{world.room_id}"]
intake = "tag"

[[bridges]]
name = "matrix"
secret = "{SECRET}"
capabilities = {{ threads = true, buttons = false, edits = true, pins = false, max_text = 4000 }}

[sla.premium]
P3 = {{ first_response = "1h", resolution = "2d" }}
"""


@pytest.fixture
async def desk(world: World) -> AsyncIterator[str]:
    """casebot running on the world's room; its base URL. Skips, naming the route, on a
    casebot without the bridge's pull route."""
    port = free_port()
    config = world.tmp / "casebot.toml"
    config.write_text(casebot_toml(world, port))
    log = (world.tmp / "casebot.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        CASEBOT, "run", "--config", str(config),
        cwd=world.tmp, stdout=log, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def up() -> bool:
                try:
                    async with http.get(f"{base}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_until(up, 30, "casebot's /healthz")
            route = f"{base}/v1/bridges/matrix/commands"
            headers = {"Authorization": f"Bearer {SECRET}"}
            async with http.get(route, params={"wait": "0"}, headers=headers) as response:
                if response.status == 404:
                    pytest.skip("casebot answers 404 to GET /v1/bridges/{name}/commands")
                assert response.status == 200, await response.text()
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
        log.close()


async def _bot_messages(world: World) -> list[dict[str, Any]]:
    return [
        event
        for event in await world.customer.timeline(world.room_id)
        if event["sender"] == world.bot.user_id and event["type"] == "m.room.message"
    ]


async def test_a_matrix_room_case_from_question_to_rating(world: World, desk: str) -> None:
    room, customer, staff = world.room_id, world.customer, world.staff
    api = {"Authorization": f"Bearer {API_TOKEN}"}
    async with (
        running(MatrixBridge(world.bridge_config(desk, mode="pull", wait="2s"))),
        aiohttp.ClientSession() as http,
    ):
        question = await customer.say(room, "Our exports fail since 9:00")
        await staff.say(room, "/case Exports fail", reply_to=question)

        async def acknowledged() -> dict[str, Any] | None:
            for event in await _bot_messages(world):
                if "#1" in event["content"].get("body", ""):
                    return event
            return None

        ack = await wait_until(acknowledged, 20, "the acknowledgement naming #1")
        relates = ack["content"].get("m.relates_to") or {}
        in_reply = (relates.get("m.in_reply_to") or {}).get("event_id")
        assert question in (in_reply, relates.get("event_id")), ack["content"]

        async def the_case() -> dict[str, Any] | None:
            async with http.get(f"{desk}/api/v1/cases", headers=api) as response:
                body = await response.json()
            items = body["items"] if isinstance(body, dict) else body
            if not items:
                return None
            async with http.get(f"{desk}/api/v1/cases/{items[0]['id']}", headers=api) as r:
                return dict(await r.json())

        case = await wait_until(the_case, 10, "the case in the API")
        assert case["ref"] == "#1" and case["account"] == "Acme"
        assert case["first_response_at"] is None

        await staff.say(room, "Looking into it now", reply_to=question)

        async def answered() -> dict[str, Any] | None:
            found = await the_case()
            return found if found and found["first_response_at"] else None

        case = await wait_until(answered, 10, "the staff reply as first response")
        before = {event["event_id"] for event in await _bot_messages(world)}
        await staff.say(room, "/resolve", reply_to=question)

        async def rating_prompt() -> dict[str, Any] | None:
            for event in await _bot_messages(world):
                body = event["content"].get("body", "")
                if (
                    event["event_id"] not in before
                    and CHOICE_1.search(body)
                    and CHOICE_5.search(body)
                ):
                    return event
            return None

        prompt = await wait_until(rating_prompt, 20, "the rating asked by numbered choice")
        await customer.say(room, "5", reply_to=prompt["event_id"])

        async def rated() -> dict[str, Any] | None:
            found = await the_case()
            scores = [e["data"].get("score") for e in (found or {}).get("events", [])]
            return found if 5 in scores else None

        case = await wait_until(rated, 15, "the customer's rating recorded")
    assert case["status"] == "resolved"
    assert any(e["type"] == "csat" and e["data"]["score"] == 5 for e in case["events"])
