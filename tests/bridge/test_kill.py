"""kill -9 of `casebot run` during a burst of signed bridge events: every event that
got 202 is stored after the restart, and once; the bridge sends the others again (as
its contract says) and they are stored once too. The commands the outbox owed go out
after the restart, each under the command_id it had before."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.bridge.kit import BRIDGE, ROOM, bridge_config
from tests.chaos.burst import kill_during_burst, resend_after_restart
from tests.chaos.kit import BotProcess
from tests.fakes.bridge_peer import FakeBridge, dumps, event, signed

BURST = 300
EVERY = 20  # every 20th event is a customer's /new: an ack, a card and a board


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(i: int) -> bytes:
    text_ = f"/new problem {i}" if i % EVERY == 0 else f"message {i}"
    who = "5001" if i % 2 else "5002"
    return dumps(
        event("message.created", f"ev-{i}", ROOM, who, message={"id": f"m-{i}", "text": text_})
    ).encode()


async def post(http: aiohttp.ClientSession, url: str, data: bytes, i: int) -> int:
    try:
        async with http.post(url, data=data, headers=signed(data, msg_id=f"w-{i}")) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0  # the connection died with the process: not acknowledged


async def counts(db_url: str) -> tuple[dict[str, int], dict[str, int]]:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            stored = await conn.execute(
                text(
                    "SELECT m.platform_message_id, count(*) FROM messages m "
                    "WHERE m.role != 'bot' GROUP BY m.platform_message_id"
                )
            )
            messages = {str(mid): int(n) for mid, n in stored.all()}
            rows = await conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status"))
            outbox = {str(s): int(n) for s, n in rows.all()}
    finally:
        await engine.dispose()
    return messages, outbox


@pytest.mark.slow
async def test_kill_9_during_a_burst_of_signed_events(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    events_url = f"{base}/v1/bridges/{BRIDGE}/events"
    async with FakeBridge() as peer, aiohttp.ClientSession() as http:
        raw = bridge_config(db_url, peer.url, triage_on_bridge=True)
        raw["http"] = {"host": "127.0.0.1", "port": port}
        raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "3s"}
        # one customer opens every case of the burst: main's opening limits would hold
        # most back (as tests/chaos/kit.py turns them off for its bursts too)
        raw["cases"] = {"open_per_customer": 0, "open_per_chat": 0}
        bot = BotProcess(tmp_path, raw)

        async def send(i: int) -> int:
            return await post(http, events_url, body(i), i)

        accepted = await kill_during_burst(bot, http, base, send, 202, BURST)
        messages, _ = await counts(db_url)
        # acknowledged means committed: each is there already, before any restart
        assert all(messages.get(f"m-{i}") == 1 for i in accepted)

        async def settled() -> bool:
            return set((await counts(db_url))[1]) <= {"sent", "skipped"}

        # the bridge sends again whatever was not acknowledged, and a few that were
        await resend_after_restart(bot, http, base, send, 202, BURST, accepted, settled)
        messages, outbox = await counts(db_url)
    assert {f"m-{i}" for i in range(1, BURST + 1)} <= set(messages)
    assert [m for m, n in messages.items() if n != 1] == []
    assert set(outbox) <= {"sent", "skipped"}, outbox
    acks = [c for c in peer.sent(chat=ROOM) if c["reply_to_id"]]
    assert len({c["reply_to_id"] for c in acks}) == BURST // EVERY
    # a command repeated after the kill (sent, then killed before it was recorded) kept
    # its id, so the bridge could drop it
    assert len(acks) - len({c["command_id"] for c in acks}) <= 1
