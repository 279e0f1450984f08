"""A pooled PostgreSQL connection the server ended is replaced before use, without a
round trip per checkout (`storage.db._drop_closed`, instead of `pool_pre_ping`)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import make_engine
from tests.conftest import PG_AVAILABLE, PG_URL

pytestmark = pytest.mark.skipif(not PG_AVAILABLE, reason="PostgreSQL not reachable")


async def test_a_connection_the_server_ended_is_replaced_without_a_ping() -> None:
    engine = make_engine(PG_URL)
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda c: pings.append(c) or ping(c)  # type: ignore[method-assign]
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            raw = (await conn.get_raw_connection()).driver_connection
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the loop reads the server's goodbye
            if raw.is_closed():
                break
            await asyncio.sleep(0.01)
        assert raw.is_closed()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
        assert pings == [], "a ping per checkout: three round trips per transaction"
    finally:
        await engine.dispose()
        await admin.dispose()
