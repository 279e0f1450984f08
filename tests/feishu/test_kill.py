"""kill -9 of `casebot run` during a burst of encrypted, signed Feishu events: every
event answered 200 is stored after the restart, and once; Feishu sends the others
again (as it does for any event not answered 200) and they are stored once too. The
messages the outbox owed go out after the restart, none twice: each send carries its
outbox row's uuid, which Feishu (and the fake) drops when repeated."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.bridge.test_kill import counts, free_port
from tests.chaos.burst import kill_during_burst, resend_after_restart
from tests.chaos.kit import BotProcess
from tests.fakes.feishu_api import FakeFeishu, Injector
from tests.feishu.kit import ACME, ALICE, BOB, feishu_config

BURST = 300
EVERY = 20  # every 20th event is a customer's /new: an ack, a card and a board


async def post(http: aiohttp.ClientSession, url: str, sealed: tuple[bytes, dict[str, str]]) -> int:
    body, headers = sealed
    try:
        async with http.post(url, data=body, headers=headers) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0  # the connection died with the process: not acknowledged


@pytest.mark.slow
async def test_kill_9_during_a_burst_of_feishu_events(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/feishu/events"
    async with FakeFeishu(per_chat=1000) as api, aiohttp.ClientSession() as http:
        raw = feishu_config(db_url, api.url)
        raw["http"] = {"host": "127.0.0.1", "port": port}
        raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "3s"}
        raw["cases"] = {"open_per_customer": 0, "open_per_chat": 0}
        raw["feishu"]["rate_per_chat"] = 1000.0
        raw["feishu"]["rate_per_app"] = 1000.0
        feishu = Injector(api=api)
        # each event is made once: a resend is the same event (same event_id and body)
        events = {
            i: feishu.message(
                ALICE if i % 2 else BOB,
                ACME,
                f"/new problem {i}" if i % EVERY == 0 else f"message {i}",
                message_id=f"om_m{i}",
                event_id=f"ev-{i}",
            )
            for i in range(1, BURST + 1)
        }
        bot = BotProcess(tmp_path, raw)

        async def send(i: int) -> int:
            return await post(http, url, feishu.seal(events[i]))

        accepted = await kill_during_burst(bot, http, base, send, 200, BURST)
        messages, _ = await counts(db_url)
        # answered 200 means committed: each is there already, before any restart
        assert all(messages.get(f"om_m{i}") == 1 for i in accepted)

        async def settled() -> bool:
            return set((await counts(db_url))[1]) <= {"sent", "skipped"}

        # Feishu sends again whatever was not answered 200, and a few that were
        await resend_after_restart(bot, http, base, send, 200, BURST, accepted, settled)
        messages, outbox = await counts(db_url)
    assert {f"om_m{i}" for i in range(1, BURST + 1)} <= set(messages)
    assert [m for m, n in messages.items() if n != 1] == []
    assert set(outbox) <= {"sent", "skipped"}, outbox
    acks = [m for m in api.in_chat(ACME) if m["parent_id"] and m["msg_type"] == "text"]
    # one ack per /new, none shown twice (a repeated send kept its uuid and was dropped)
    assert sorted(m["parent_id"] for m in acks) == sorted(
        f"om_m{i}" for i in range(EVERY, BURST + 1, EVERY)
    )
