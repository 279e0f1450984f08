"""kill -9 during a burst of webhook events, for any platform whose events casebot takes
over HTTP (a bridge, Feishu): the burst, the kill once a third were acknowledged, the
restart, the resend of what was not acknowledged (and a few that were), and the wait
until the outbox is settled. Each platform's test says what to send and checks the
platform's side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp

from tests.chaos.kit import BotProcess

Send = Callable[[int], Awaitable[int]]  # event i -> HTTP status (0: connection died)


async def wait_up(http: aiohttp.ClientSession, base: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status in (200, 503):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("casebot did not come up")


async def kill_during_burst(
    bot: BotProcess, http: aiohttp.ClientSession, base: str, send: Send, ok: int, burst: int
) -> set[int]:
    """Start the bot, send events 1..burst 16 at a time, kill -9 it once a third were
    answered `ok`; the events answered `ok`."""
    await bot.start()
    await wait_up(http, base)
    answers: dict[int, int] = {}
    gate = asyncio.Semaphore(16)
    a_third = asyncio.Event()

    async def one(i: int) -> None:
        async with gate:
            answers[i] = await send(i)
        if sum(1 for s in answers.values() if s == ok) >= burst // 3:
            a_third.set()

    tasks = [asyncio.create_task(one(i)) for i in range(1, burst + 1)]
    await asyncio.wait_for(a_third.wait(), 60)
    await bot.kill()
    await asyncio.gather(*tasks)
    accepted = {i for i, s in answers.items() if s == ok}
    assert burst // 3 <= len(accepted) < burst, answers
    return accepted


async def resend_after_restart(
    bot: BotProcess,
    http: aiohttp.ClientSession,
    base: str,
    send: Send,
    ok: int,
    burst: int,
    accepted: set[int],
    settled: Callable[[], Awaitable[bool]],
) -> None:
    """Restart, send again what was not acknowledged and every 50th that was (as a
    platform retries), wait until `settled()` (60 s at most), then stop cleanly."""
    await bot.start()
    await wait_up(http, base)
    for i in range(1, burst + 1):
        if i not in accepted or i % 50 == 0:
            status = await send(i)
            assert status == ok, (i, status)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:  # the outbox is in another process's database: polled
        if await settled() or loop.time() > deadline:
            break
        await asyncio.sleep(0.3)
    assert await bot.stop() == 0, bot.output()[-3000:]
