"""SIGKILL at random (seeded) moments during bursts, five rounds, of a `casebot run`
subprocess polling the fake Bot API: every message is stored exactly once and every
outbox action is sent. A kill between a send and its record can repeat that one send
(the dispatcher's documented window): the test counts such repeats and bounds them
by the kills, and prints the figures for the README's Reliability section."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest

from tests.chaos.kit import TOKEN, BotProcess, Traffic, add_chats, chaos_config, drained
from tests.fakes.telegram_api import FakeBotApi

ROUNDS = int(os.environ.get("CASEBOT_CHAOS_ROUNDS", "5"))
PER_ROUND = 300
RATE = 200.0  # messages per second during a burst
SEED = int(os.environ.get("CASEBOT_CHAOS_SEED", "20260302"))


@pytest.mark.slow
async def test_sigkill_during_bursts(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    started = time.monotonic()
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        add_chats(api)
        bot = BotProcess(tmp_path, chaos_config(api, url))
        traffic = Traffic(api)
        await bot.start()
        moments: list[float] = []
        for _ in range(ROUNDS):
            # a burst lasts 1.5 s; the kill lands anywhere from the restart (migrations, getMe)
            # to just after the burst
            moment = rng.uniform(0.1, 1.6)
            moments.append(round(moment, 2))
            burst = asyncio.create_task(traffic.burst(PER_ROUND, RATE))
            await asyncio.sleep(moment)
            await bot.kill()
            await burst
            await bot.start()
        result = await drained(api, traffic, url, timeout=60)
        code = await bot.stop()
    elapsed = time.monotonic() - started

    assert code == 0, bot.output()[-3000:]
    assert api.errors == []
    assert len(traffic.pushed) == ROUNDS * PER_ROUND
    assert result.missing == [], "every acknowledged message stored"
    assert result.doubled == [], "and stored once"
    assert result.settled, result.outbox
    assert result.cases == traffic.news + 1, "every /new a case (and Globex's first message)"
    assert result.acked_cases == result.cases, "every case acknowledged"
    # a kill can land between a send and its record in each chat being sent to (three)
    assert len(result.repeated_sends) <= 3 * bot.kills, result.repeated_sends
    print(
        f"\nchaos sigkill: seed {SEED}, {bot.kills} SIGKILLs at {moments}s into bursts; "
        f"{len(traffic.pushed)} messages: {len(result.missing)} lost, "
        f"{len(result.doubled)} stored twice; {sum(result.outbox.values())} outbox rows "
        f"{dict(result.outbox)}; {result.sends} sends, {len(result.repeated_sends)} repeated "
        f"(send-then-kill window); {result.acks} acks for {result.acked_cases} cases; "
        f"{elapsed:.1f}s"
    )
