"""Two processes recording the same send on PostgreSQL (the first one's lease ran out
mid-send and the second claimed the row and sent it too): the one that commits second
must see the row sent and write nothing, as `mark_sent`'s row count made sure before
the group commit. Its pre-read of the statuses locked only rows already sent, so a row
the other transaction was marking sent at that moment passed as fresh and its transcript
message, anchor and notes were written a second time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from cases.delivery import Receipt
from storage import outbox
from storage.db import make_engine, make_sessions
from storage.models import Chat, MessageRow, OutboxRow
from tests.conftest import truncate_pg

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _blocked_on_a_lock(sessions: object) -> bool:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with sessions() as session:  # type: ignore[operator]
        return bool((await session.execute(query)).scalar_one())


async def test_a_send_recorded_by_two_processes_at_once_is_recorded_once(
    pg_database: str | None,
) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable")
    await truncate_pg(pg_database)
    engine = make_engine(pg_database)
    sessions = make_sessions(engine)
    try:
        async with sessions() as session, session.begin():
            session.add(Chat(platform="telegram", chat="-100", kind="customer"))
            row = OutboxRow(
                created_at=NOW,
                platform="telegram",
                chat="-100",
                kind="send",
                payload={"text": "hello"},
                next_attempt_at=NOW,
            )
            session.add(row)
        async with sessions() as session:
            first = await session.get(OutboxRow, row.id)
            second = await session.get(OutboxRow, row.id)
        assert first is not None and second is not None

        async def record(copy: OutboxRow, message_id: str) -> None:
            async with sessions() as session, session.begin():
                await outbox.record_sent(session, copy, Receipt(message_id=message_id), NOW)

        a = await sessions().__aenter__()
        try:
            await a.begin()
            await outbox.record_sent(a, first, Receipt(message_id="11"), NOW)
            b = asyncio.create_task(record(second, "12"))
            for _ in range(100):  # until b waits for a's row
                if await _blocked_on_a_lock(sessions) or b.done():
                    break
                await asyncio.sleep(0.05)
            await a.commit()
        finally:
            await a.close()
        await b

        async with sessions() as session:
            said = (await session.execute(select(func.count(MessageRow.id)))).scalar_one()
            stored = await session.get(OutboxRow, row.id)
        assert stored is not None and stored.platform_message_id == "11"
        assert said == 1
    finally:
        await engine.dispose()
