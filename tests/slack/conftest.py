"""Fixtures: an emulated Slack workspace per test and `casebot run` on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.chaos.kit import BotProcess
from tests.fakes.emulate import free_port
from tests.slack.kit import Emulator, slack_config


@pytest.fixture
async def emu(tmp_path: Path) -> AsyncIterator[Emulator]:
    async with Emulator(tmp_path) as emulator:
        yield emulator


async def wait_up(
    http: aiohttp.ClientSession, base: str, bot: BotProcess, timeout: float = 30
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        assert bot.proc is not None
        if bot.proc.returncode is not None:
            raise AssertionError(f"casebot exited: {bot.output()[-3000:]}")
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status in (200, 503):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("casebot did not come up")


class Running:
    def __init__(
        self, bot: BotProcess, base: str, http: aiohttp.ClientSession, db_url: str
    ) -> None:
        self.bot = bot
        self.db_url = db_url
        self.base = base
        self.events = f"{base}/slack/events"
        self.http = http


@pytest.fixture
async def make_bot(
    emu: Emulator, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    started: list[Running] = []
    async with aiohttp.ClientSession() as http:

        async def make(raw: dict[str, Any] | None = None, **slack: Any) -> Running:
            port = free_port()
            db_url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
            config = raw or slack_config(emu, db_url, port, **slack)
            port = int(config["http"]["port"])
            bot = BotProcess(tmp_path, config)
            await bot.start()
            base = f"http://127.0.0.1:{port}"
            await wait_up(http, base, bot)
            running = Running(bot, base, http, config["storage"]["url"])
            started.append(running)
            return running

        yield make
        for running in started:
            await running.bot.stop()
