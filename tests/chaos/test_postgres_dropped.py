"""The PostgreSQL connections dropped mid-run: while `casebot run` ingests a burst
into a fresh database, a separate admin connection terminates every backend of that
database (`pg_terminate_backend`) several times. casebot reconnects; nothing is lost,
nothing is stored twice, every outbox row is sent."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.chaos.kit import TOKEN, BotProcess, Traffic, add_chats, chaos_config, drained
from tests.conftest import PG_AVAILABLE, PG_URL
from tests.fakes.telegram_api import FakeBotApi

DROPS = 4


@pytest.fixture
async def admin() -> AsyncIterator[AsyncEngine]:
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL not reachable")
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    yield engine
    await engine.dispose()


@pytest.fixture
async def fresh_database(admin: AsyncEngine) -> AsyncIterator[tuple[str, str]]:
    """An empty database (casebot migrates it itself); its name and URL."""
    name = f"casebot_chaos_{uuid.uuid4().hex[:10]}"
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield name, PG_URL.rpartition("/")[0] + "/" + name
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def terminate_backends(admin: AsyncEngine, database: str) -> int:
    """End every connection casebot has to `database`, once it has at least one."""
    async with admin.connect() as conn:
        for _ in range(100):
            count = await conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                {"name": database},
            )
            if count.scalar_one():
                break
            await asyncio.sleep(0.05)
        result = await conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": database},
        )
        return int(result.scalar_one())


@pytest.mark.slow
@pytest.mark.postgres
async def test_connections_dropped_mid_run(
    tmp_path: Path, admin: AsyncEngine, fresh_database: tuple[str, str]
) -> None:
    name, url = fresh_database
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        add_chats(api)
        bot = BotProcess(tmp_path, chaos_config(api, url))
        traffic = Traffic(api)
        await bot.start()
        await traffic.burst(40, 200.0)
        await drained(api, traffic, url, timeout=30)
        burst = asyncio.create_task(traffic.burst(400, 200.0))
        terminated = 0
        for _ in range(DROPS):
            await asyncio.sleep(0.4)
            terminated += await terminate_backends(admin, name)
        await burst
        ended = time.monotonic()
        result = await drained(api, traffic, url, timeout=60)
        caught_up = time.monotonic() - ended
        traffic.one()
        after = await drained(api, traffic, url, timeout=20)
        code = await bot.stop()

    output = bot.output()
    assert code == 0, output[-3000:]
    assert terminated >= DROPS, "each drop ended at least one of casebot's connections"
    assert result.missing == [] and result.doubled == [], "every message stored once"
    assert result.settled, dict(result.outbox)
    assert after.missing == [] and after.settled, "and casebot keeps working"
    assert result.acked_cases == result.cases
    assert result.repeated_sends == [], result.repeated_sends
    print(
        f"\nchaos postgres: {DROPS} drops terminated {terminated} connections during a burst; "
        f"{len(traffic.pushed)} messages, {len(result.missing)} lost, {len(result.doubled)} "
        f"stored twice; outbox {dict(result.outbox)}, {len(result.repeated_sends)} repeated "
        f"sends; caught up {caught_up:.1f}s after the burst"
    )
