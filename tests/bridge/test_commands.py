"""Commands out: signed, with a command_id that stays the same across retries, so a
bridge that answers 429 (Retry-After) and 500 before it succeeds carries out every
command exactly once per id; other 4xx make the row dead. And pull mode: a bridge
without a url long-polls its commands and posts each result; one handed out and never
answered is handed out again after the lease."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from sqlalchemy import select

from storage.models import OutboxRow
from tests.bridge.kit import ROOM, BridgeBox
from tests.fakes.bridge_peer import SECRET, FakeBridge, check, dumps, signed


async def test_429_and_500_are_retried_and_each_command_lands_once(
    box: BridgeBox, peer: FakeBridge
) -> None:
    peer.fail_next(429, **{"Retry-After": "1"})
    peer.fail_next(500)
    peer.fail_next(503)
    started = time.monotonic()
    await box.say("alice", "the dashboard is blank", message_id="q1")
    await box.say("evan", "/case Blank dashboard", reply_to="q1")
    for n in range(5):
        await box.say("bob", f"/new question {n}")
    await box.drained(timeout=30)
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    rows = [r for r in await box.outbox() if r.platform == "wecom"]
    sent = {f"cmd_{r.id}": r for r in rows if r.status == "sent"}
    # an edit superseded by a newer one while it waited is skipped, never sent
    assert all(r.status in ("sent", "skipped") for r in rows)
    assert len(sent) >= 7  # 6 acks and at least one board
    # each command that went out was carried out once, under the id it kept on retries
    assert set(peer.deliveries) == set(sent)
    assert set(peer.deliveries.values()) == {1}
    assert sum(peer.attempts.values()) == len(peer.deliveries) + 3
    assert set(peer.attempts) - set(sent) <= {f"cmd_{r.id}" for r in rows}
    for command_id, row in sent.items():
        if row.kind == "send":
            assert row.platform_message_id == peer.message_ids[command_id]


async def test_a_4xx_answer_is_a_dead_letter(box: BridgeBox, peer: FakeBridge) -> None:
    peer.fail_next(400)
    await box.say("bob", "/new printer on fire")
    await box.drained()
    ack = next(r for r in await box.outbox() if r.purpose == "ack")
    assert ack.status == "dead" and "400" in (ack.last_error or "")
    assert ack.attempts == 1


async def pull(
    http: aiohttp.ClientSession, box: BridgeBox, after: str = "0", wait: float = 0
) -> dict[str, Any]:
    async with http.get(
        f"{box.base}/v1/bridges/wecom/commands",
        params={"after": after, "wait": str(wait)},
        headers={"Authorization": f"Bearer {SECRET}"},
    ) as response:
        assert response.status == 200, await response.text()
        batch = dict(await response.json())
    check("pulled", batch)
    return batch


async def result(
    http: aiohttp.ClientSession, box: BridgeBox, command_id: str, body: dict[str, Any]
) -> int:
    check("result", body)
    data = dumps(body)
    async with http.post(
        f"{box.base}/v1/bridges/wecom/commands/{command_id}/result",
        data=data.encode(),
        headers=signed(data, msg_id=f"r-{command_id}"),
    ) as response:
        return response.status


async def test_pull_mode_long_polls_settles_and_hands_out_again_after_the_lease(
    make_box: Any,
) -> None:
    box: BridgeBox = await make_box(pull=True)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{box.base}/v1/bridges/wecom/commands") as response:
            assert response.status == 401
        assert (await pull(http, box))["commands"] == []
        # a long poll answers as soon as there is a command
        waiting = asyncio.create_task(pull(http, box, wait=10))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await box.say("bob", "/new the VPN drops", message_id="q-vpn")
        got = await waiting
        assert time.monotonic() - started < 5
        # the acknowledgement and the room's status board (posted: no pins here)
        assert len(got["commands"]) == 2
        ack = next(c for c in got["commands"] if c["reply_to_id"] == "q-vpn")
        assert ack["type"] == "message.send" and "#1" in ack["text"]
        assert ack["reply_to_id"] == "q-vpn" and ack["chat_id"] == ROOM
        cursor = got["cursor"]
        # handed out: not again while its lease runs
        assert (await pull(http, box, after=cursor))["commands"] == []
        assert await result(http, box, ack["command_id"], {"message_id": "wx-1"}) == 200
        assert await result(http, box, "cmd_999999", {"message_id": "x"}) == 404
        assert await result(http, box, "nonsense", {"message_id": "x"}) == 404
        async with http.post(
            f"{box.base}/v1/bridges/wecom/commands/{ack['command_id']}/result",
            data=b'{"message_id": "x"}',
            headers={"content-type": "application/json"},
        ) as response:
            assert response.status == 401
        async with box.app.sessions() as session:
            row = (
                await session.execute(select(OutboxRow).where(OutboxRow.purpose == "ack"))
            ).scalar_one()
        assert row.status == "sent" and row.platform_message_id == "wx-1"
        # a command handed out and never answered comes back after the lease
        await box.say("bob", "/new and the printer", message_id="q-printer")
        fresh = (await pull(http, box, after=cursor, wait=5))["commands"]
        second = next(c for c in fresh if c["reply_to_id"] == "q-printer")
        async with box.app.sessions() as session, session.begin():
            leased = await session.get(OutboxRow, int(second["command_id"].split("_")[1]))
            assert leased is not None and leased.claimed_until is not None
            leased.claimed_until = leased.claimed_until.replace(year=2000)  # the lease ran out
        cursor = str(max(int(c["command_id"].split("_")[1]) for c in fresh))
        (again,) = (await pull(http, box, after=cursor))["commands"]
        assert again["command_id"] == second["command_id"]
        # a retryable error is retried; a permanent one is a dead letter
        assert await result(http, box, again["command_id"], {"error": "busy"}) == 200
        async with box.app.sessions() as session:
            row = await session.get(OutboxRow, int(again["command_id"].split("_")[1]))
            assert row is not None and row.status == "pending" and row.attempts == 1
        assert (
            await result(http, box, again["command_id"], {"error": "no room", "permanent": True})
            == 200
        )
        async with box.app.sessions() as session:
            row = await session.get(OutboxRow, int(again["command_id"].split("_")[1]))
            assert row is not None and row.status == "dead"
