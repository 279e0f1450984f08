"""The Bot API failing for a window while customers keep writing: flood control
(429 with retry_after), server errors (500), and timeouts (answers later than the
client waits). Afterwards every message is stored once and every outbox action is
sent; nothing is dead.

CI uses a 6 s window (CASEBOT_CHAOS_OUTAGE overrides it; the README's Reliability section has the
30 s figures run by hand). The window covers the sending methods throughout and
getUpdates for its first two seconds, so both directions see the outage.

A timeout is the one failure the bot cannot see through: the fake applies the call
and only answers late, exactly like Telegram when the network drops the answer, so
a retried sendMessage can show twice. The test bounds such repeats by the sends that
timed out and reports them.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tests.chaos.kit import TOKEN, BotProcess, Traffic, add_chats, chaos_config, drained
from tests.fakes.telegram_api import FakeBotApi

WINDOW = float(os.environ.get("CASEBOT_CHAOS_OUTAGE", "6"))
OUTBOUND = ("sendMessage", "editMessageText", "pinChatMessage", "answerCallbackQuery")
CLIENT_TIMEOUT = 5.0  # python-telegram-bot's default read timeout
MESSAGES = 150


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["429", "500", "timeout"])
async def test_bot_api_outage_then_everything_once(tmp_path: Path, failure: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        add_chats(api)
        # retries every <= 1 s, and enough of them to outlast the window
        dispatcher = {"base_delay": "200ms", "max_delay": "1s", "max_attempts": 200}
        bot = BotProcess(tmp_path, chaos_config(api, url, dispatcher=dispatcher))
        traffic = Traffic(api)
        await bot.start()
        await traffic.burst(40, 200.0)
        await drained(api, traffic, url, timeout=30)
        sends_before = api.call_count("sendMessage")

        started = time.monotonic()
        if failure == "timeout":
            for method in OUTBOUND:
                api.delay(method, CLIENT_TIMEOUT + 1)
        else:
            status = int(failure)
            retry_after = 1 if status == 429 else None
            for method in OUTBOUND:
                api.fail_for(method, WINDOW, status, retry_after=retry_after)
            api.fail_for("getUpdates", 2.0, status, retry_after=retry_after)
        await traffic.burst(MESSAGES, MESSAGES / (WINDOW / 2))
        await asyncio.sleep(max(0.0, WINDOW - (time.monotonic() - started)))
        attempted = api.call_count("sendMessage") - sends_before
        for method in OUTBOUND:
            api.delay(method, 0)
        recovered_at = time.monotonic()
        result = await drained(api, traffic, url, timeout=60)
        recovery = time.monotonic() - recovered_at
        code = await bot.stop()

    assert code == 0, bot.output()[-3000:]
    assert api.errors == []
    assert result.missing == [] and result.doubled == [], "every message stored once"
    assert result.settled, f"nothing pending or dead: {dict(result.outbox)}"
    assert result.acked_cases == result.cases, "every case acknowledged"
    if failure == "timeout":
        # only a send whose answer was lost may show twice
        assert len(result.repeated_sends) <= attempted
    else:
        assert result.repeated_sends == [], "a refused call has no effect, so no repeats"
    print(
        f"\nchaos outage {failure}: {WINDOW:g}s window, {len(traffic.pushed)} messages, "
        f"{len(result.missing)} lost, {len(result.doubled)} stored twice; outbox "
        f"{dict(result.outbox)}; {result.sends} sends, {attempted} attempted in the window, "
        f"{len(result.repeated_sends)} repeated; {result.acks} acks for {result.acked_cases} "
        f"cases; settled {recovery:.1f}s after the window"
    )
