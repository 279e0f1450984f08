"""Socket Mode through `casebot run`: envelopes over a WebSocket, each acknowledged
after its commit, a redelivered one stored once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.fakes.emulate import free_port
from tests.slack.conftest import Running
from tests.slack.kit import (
    CUSTOMERS,
    Emulator,
    message_event,
    next_ts,
    query,
    slack_config,
)
from tests.slack.socket_fake import FakeSocketMode

Make = Callable[..., Awaitable[Running]]


async def test_socket_mode_stores_then_acknowledges(
    emu: Emulator, make_bot: Make, tmp_path: Path
) -> None:
    async with FakeSocketMode(emu.url) as link:
        db_url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
        raw = slack_config(emu, db_url, free_port(), mode="socket", app_token="xapp-1-test")
        raw["slack"]["base_url"] = link.base_url
        del raw["slack"]["signing_secret"]
        bot = await make_bot(raw)
        globex = emu.channels["globex"]
        ts = next_ts()
        event = message_event(globex, CUSTOMERS["alice"], "cannot log in", ts=ts)
        envelope = await link.push("events_api", event)
        await link.wait_ack(envelope)
        # acknowledged means committed
        rows = await query(
            bot.db_url, f"SELECT count(*) FROM messages WHERE platform_message_id = '{ts}'"
        )
        assert rows == [(1,)]
        again = await link.push("events_api", event, retry=1)
        await link.wait_ack(again)
        rows = await query(
            bot.db_url, f"SELECT count(*) FROM messages WHERE platform_message_id = '{ts}'"
        )
        assert rows == [(1,)]
        acks = await emu.wait_for(lambda: emu.replies(globex, ts))
        assert len(acks) == 1 and "#1" in acks[0]["text"]
        # the events route is not mounted in socket mode
        async with bot.http.post(bot.events, data=b"{}") as response:
            assert response.status in (403, 404)  # CSRF guard or no route: never taken
