"""A disk that takes no more writes: `/healthz` answers 503 while casebot cannot commit
what customers write, and 200 again once it can, with nothing lost.

The disk fills for the bot's process alone: its file-size limit (RLIMIT_FSIZE, which
Python's SIGXFSZ handling turns into EFBIG, so SQLite reports "database or disk is
full") drops to one byte while it runs. That holds even for root, which read-only file
permissions do not stop; and unlike another process holding SQLite's write lock, a
commit fails at once instead of blocking the event loop for the busy timeout.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.badinput.live import free_port
from tests.chaos.kit import TOKEN, BotProcess, Traffic, add_chats, chaos_config, drained
from tests.fakes.telegram_api import FakeBotApi


async def _health(port: int) -> tuple[int | None, dict[str, Any]]:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status, await response.json()
    except (aiohttp.ClientError, TimeoutError):
        return None, {}


async def _until_health(port: int, status: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got, body = await _health(port)
        if got == status:
            return body
        assert time.monotonic() < deadline, (got, body)
        await asyncio.sleep(0.2)


@dataclass
class Running:
    api: FakeBotApi
    bot: BotProcess
    traffic: Traffic
    url: str
    port: int
    pid: int


@asynccontextmanager
async def _running(tmp_path: Path) -> AsyncIterator[Running]:
    """`casebot run` with its HTTP server against the fake Bot API, healthy; its
    file-size limit is lifted again however the test ends."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    port = free_port()
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        add_chats(api)
        bot = BotProcess(tmp_path, chaos_config(api, url, http={"enabled": True, "port": port}))
        await bot.start()
        assert bot.proc is not None
        pid = bot.proc.pid
        try:
            await _until_health(port, 200, 30)
            yield Running(api, bot, Traffic(api), url, port, pid)
        finally:
            unlimited = resource.RLIM_INFINITY
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
            await bot.stop()


@pytest.mark.slow
async def test_healthz_is_503_while_commits_fail_and_recovers(tmp_path: Path) -> None:
    async with _running(tmp_path) as run:
        api, bot, traffic, url, port, pid = (
            run.api, run.bot, run.traffic, run.url, run.port, run.pid
        )  # fmt: skip
        await traffic.burst(10, 200.0)
        await drained(api, traffic, url, timeout=30)

        resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        failing_at = time.monotonic()
        await traffic.burst(10, 200.0)
        body = await _until_health(port, 503, 30)
        noticed = time.monotonic() - failing_at
        assert body["database"] == "ok"  # reading still works: only the commits tell
        assert body["commits"].startswith("failing"), body

        resource.prlimit(
            pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        )
        freed_at = time.monotonic()
        await _until_health(port, 200, 30)
        recovered = time.monotonic() - freed_at
        result = await drained(api, traffic, url, timeout=30)
    output = bot.output()
    assert bot.proc is not None and bot.proc.returncode == 0, output[-3000:]
    assert result.missing == [] and result.doubled == [], "every message stored once"
    print(
        f"\ncommit health: 503 {noticed:.1f}s after the disk filled "
        f"({body['commits'][:120]}); 200 {recovered:.1f}s after it was freed; "
        f"{len(traffic.pushed)} messages, none lost"
    )


@pytest.mark.slow
async def test_healthz_sees_the_dispatchers_commits_fail_too(tmp_path: Path) -> None:
    """The disk fills while replies are on their way and no customer writes meanwhile:
    only the dispatcher commits (recording what it sent, leasing what is due), and
    when those fail `/healthz` must say so as well, and recover with them."""
    async with _running(tmp_path) as run:
        unlimited = resource.RLIM_INFINITY
        run.api.delay("sendMessage", 1.0)  # replies leave, their answers are late
        await run.traffic.burst(10, 200.0)
        await asyncio.sleep(0.5)  # the burst is committed; its replies are out
        resource.prlimit(run.pid, resource.RLIMIT_FSIZE, (1, unlimited))
        body = await _until_health(run.port, 503, 20)
        assert body["database"] == "ok" and body["commits"].startswith("failing"), body
        resource.prlimit(run.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        run.api.delay("sendMessage", 0)
        await _until_health(run.port, 200, 30)
    assert run.bot.proc is not None and run.bot.proc.returncode == 0, run.bot.output()[-3000:]
