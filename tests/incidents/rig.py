"""A fan-out rig for incident mode: a real `casebot run` subprocess with many customer
groups, half on the fake Telegram Bot API and half on a fake bridge, both in this
process on 127.0.0.1, and the API to start, update and resolve an incident.

Used by `tests/incidents/test_fanout.py` (500 groups) and `bench/incident.py` (more).
Imports the test fakes, aiohttp and SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.chaos.kit import BotProcess
from tests.fakes.bridge_peer import SECRET, FakeBridge
from tests.fakes.telegram_api import FakeBotApi

TOKEN = "123456:INCIDENT-token"
API_TOKEN = "incident-api-token-0123456789"
BRIDGE = "wecom"
STAFF = "telegram:1001"
TRIAGE = -100500
GROUPS_PER_ACCOUNT = 10  # half on each platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Limits:
    """The pace the bot is configured to keep, per platform (messages a second) and
    per Telegram group (a minute)."""

    telegram_per_second: float = 100.0
    telegram_per_group_minute: int = 20
    bridge_per_second: float = 100.0


def telegram_chat(i: int) -> int:
    return -1_000_000_000 - i


def bridge_chat(i: int) -> str:
    return f"room{i}"


def rig_config(
    api: FakeBotApi, peer: FakeBridge, db_url: str, groups: int, limits: Limits, port: int
) -> dict[str, Any]:
    """`groups` customer groups in accounts of ten (five per platform), every other
    account in Chinese and every third on the premium tier."""
    accounts = []
    for a in range(max(1, groups // GROUPS_PER_ACCOUNT)):
        first = a * GROUPS_PER_ACCOUNT
        chats = [
            f"telegram:{telegram_chat(i)}" if i % 2 == 0 else f"{BRIDGE}:{bridge_chat(i)}"
            for i in range(first, min(groups, first + GROUPS_PER_ACCOUNT))
        ]
        accounts.append(
            {
                "name": f"Customer {a:04d}",
                "tier": "premium" if a % 3 == 0 else "standard",
                "locale": "zh" if a % 2 else "en",
                "chats": chats,
            }
        )
    return {
        "storage": {"url": db_url},
        "http": {"host": "127.0.0.1", "port": port, "api_token": API_TOKEN},
        "scheduler": {"enabled": False},
        "dispatcher": {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "3s"},
        "telegram": {
            "token": api.token,
            "base_url": api.base_url,
            "poll_timeout": "1s",
            "rate_per_second": limits.telegram_per_second,
            "rate_per_group_minute": limits.telegram_per_group_minute,
            "board_min_interval": "0s",
        },
        "bridges": [
            {
                "name": BRIDGE,
                "secret": SECRET,
                "url": peer.url,
                "rate_per_second": limits.bridge_per_second,
                "capabilities": {"threads": True, "buttons": False, "edits": True, "pins": False},
            }
        ],
        "staff": {
            "engineers": [STAFF],
            "triage_chat": f"telegram:{TRIAGE}",
            "names": {STAFF: "@evan"},
        },
        "accounts": accounts,
    }


class FanoutRig:
    def __init__(
        self, workdir: Path, api: FakeBotApi, peer: FakeBridge, groups: int, limits: Limits
    ) -> None:
        self.api = api
        self.peer = peer
        self.groups = groups
        self.limits = limits
        self.db_url = f"sqlite+aiosqlite:///{workdir / 'casebot.db'}"
        self.port = free_port()
        api.add_chat(TRIAGE, title="Triage")
        for i in range(0, groups, 2):
            api.add_chat(telegram_chat(i), title=f"Group {i}")
        self.bot = BotProcess(
            workdir, rig_config(api, peer, self.db_url, groups, limits, self.port)
        )
        self.http: aiohttp.ClientSession | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60.0) -> None:
        await self.bot.start()
        if self.http is None:
            self.http = aiohttp.ClientSession()
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get(f"{self.base}/healthz") as r:
                    if r.status == 200:
                        return
            if time.monotonic() > deadline or (self.bot.proc and self.bot.proc.returncode):
                raise AssertionError(f"casebot did not come up:\n{self.bot.output()[-3000:]}")
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self.bot.proc is not None and self.bot.proc.returncode is None:
            await self.bot.stop()
        if self.http is not None:
            await self.http.close()

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {API_TOKEN}", "X-Casebot-Actor": STAFF}
        async with self.http.post(f"{self.base}{path}", json=body, headers=headers) as r:
            answer = await r.json()
            assert r.status in (200, 201), answer
            return dict(answer)

    async def pending(self) -> int:
        """Outbox rows (notices, boards) not yet settled."""
        engine = create_async_engine(self.db_url)
        try:
            async with engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT count(*) FROM outbox WHERE status = 'pending'")
                )
                return int(found.scalar_one())
        finally:
            await engine.dispose()

    async def drained(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while await self.pending():
            if time.monotonic() > deadline:
                raise AssertionError(f"{await self.pending()} outbox rows still pending")
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------ at the fakes

    def told(self, *markers: str) -> Counter[str]:
        """How many messages containing any of `markers` each group got, by group key."""
        counts: Counter[str] = Counter()
        for m in self.api.sent:
            said = m.get("text", "")
            if any(k in said for k in markers) and m["chat"]["id"] != TRIAGE:
                counts[f"telegram:{m['chat']['id']}"] += 1
        for c in self.peer.sent():
            said = c.get("text") or ""
            if any(k in said for k in markers):
                counts[f"{BRIDGE}:{c['chat_id']}"] += 1
        return counts

    async def wait_told(self, count: int, *markers: str, timeout: float = 120.0) -> None:
        """Until `count` messages with any of `markers` reached the groups."""
        deadline = time.monotonic() + timeout
        while sum(self.told(*markers).values()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{sum(self.told(*markers).values())} of {count} told")
            await asyncio.sleep(0.02)

    def group_keys(self) -> set[str]:
        return {
            f"telegram:{telegram_chat(i)}" if i % 2 == 0 else f"{BRIDGE}:{bridge_chat(i)}"
            for i in range(self.groups)
        }

    def telegram_times(self) -> list[float]:
        return [at for m, at in zip(self.api.sent, self.api.sent_at, strict=True) if m]

    def telegram_times_by_chat(self) -> dict[int, list[float]]:
        found: dict[int, list[float]] = defaultdict(list)
        for m, at in zip(self.api.sent, self.api.sent_at, strict=True):
            found[int(m["chat"]["id"])].append(at)
        return found


def busiest(times: list[float], window: float) -> int:
    """The most sends inside any window of `window` seconds."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most
