"""Shared fixtures: a database per test on SQLite and, when reachable, PostgreSQL.

Set CASEBOT_TEST_PG (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to use
another server; set it to "off" to skip the PostgreSQL runs. CI requires them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import make_engine, migrate
from storage.models import Base

PG_URL = os.environ.get("CASEBOT_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _run(make: Any) -> None:
    """Run a coroutine function to completion on its own loop in a worker thread,
    so session fixtures work even when first requested from inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(make())).result()


def _pg_reachable() -> bool:
    if PG_URL == "off":
        return False
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


PG_AVAILABLE = _pg_reachable()
if os.environ.get("CI") and PG_URL != "off" and not PG_AVAILABLE:
    raise RuntimeError("CI needs the PostgreSQL server on 127.0.0.1:5432")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    _run(build)
    return path


@pytest.fixture(scope="session")
def pg_database() -> str | None:
    """A fresh database on the PostgreSQL server for this test session, migrated."""
    if not PG_AVAILABLE:
        return None
    name = f"casebot_test_{uuid.uuid4().hex[:10]}"
    admin_url = PG_URL

    async def setup() -> None:
        admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        engine = make_engine(_pg_url(name))
        await migrate(engine)
        await engine.dispose()

    _run(setup)
    yield _pg_url(name)

    async def teardown() -> None:
        admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    _run(teardown)


def _pg_url(database: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{database}"


async def truncate_pg(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A migrated, empty database URL: once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "casebot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pg = request.getfixturevalue("pg_database")
    if pg is None:
        pytest.skip("PostgreSQL not reachable")
    await truncate_pg(pg)
    yield pg


@pytest.fixture
async def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "casebot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"
