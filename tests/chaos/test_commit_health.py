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


@pytest.mark.slow
async def test_healthz_is_503_while_commits_fail_and_recovers(tmp_path: Path) -> None:
    db = tmp_path / "casebot.db"
    url = f"sqlite+aiosqlite:///{db}"
    port = free_port()
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        add_chats(api)
        bot = BotProcess(tmp_path, chaos_config(api, url, http={"enabled": True, "port": port}))
        traffic = Traffic(api)
        await bot.start()
        assert bot.proc is not None
        pid = bot.proc.pid
        try:
            await _until_health(port, 200, 30)
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
        finally:
            unlimited = resource.RLIM_INFINITY
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
            code = await bot.stop()
    output = bot.output()
    assert code == 0, output[-3000:]
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
    db = tmp_path / "casebot.db"
    url = f"sqlite+aiosqlite:///{db}"
    port = free_port()
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        add_chats(api)
        bot = BotProcess(tmp_path, chaos_config(api, url, http={"enabled": True, "port": port}))
        traffic = Traffic(api)
        await bot.start()
        assert bot.proc is not None
        pid = bot.proc.pid
        unlimited = resource.RLIM_INFINITY
        try:
            await _until_health(port, 200, 30)
            api.delay("sendMessage", 1.0)  # replies leave, their answers are late
            await traffic.burst(10, 200.0)
            await asyncio.sleep(0.5)  # the burst is committed; its replies are out
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, unlimited))
            body = await _until_health(port, 503, 20)
            assert body["database"] == "ok" and body["commits"].startswith("failing"), body
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
            api.delay("sendMessage", 0)
            await _until_health(port, 200, 30)
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
            code = await bot.stop()
    assert code == 0, bot.output()[-3000:]
