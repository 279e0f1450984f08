"""The sweeper's side of storage: the indexed due query and row claims.

Imports SQLAlchemy and `cases`. Due cases are found through `ix_cases_next_due_at`
(`WHERE next_due_at <= :now ORDER BY next_due_at LIMIT :n`). On PostgreSQL the rows
are locked `FOR UPDATE SKIP LOCKED` for the claiming transaction, so two sweepers
never handle one case at once; SQLite serialises writers (BEGIN IMMEDIATE), so the
second sweeper sees the timers the first one already moved on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.records import CaseRecord
from storage.models import CaseEvent, CaseRow, FollowUp, OutboxRow
from storage.uow import case_record


async def claim_due_cases(session: AsyncSession, now: datetime, limit: int) -> list[CaseRecord]:
    """Up to `limit` cases whose earliest timer is due, earliest first, locked for
    this transaction where the database can. Caller owns the transaction."""
    lock = session.get_bind().dialect.name == "postgresql"
    query = (
        select(CaseRow)
        .where(CaseRow.next_due_at <= now)
        .order_by(CaseRow.next_due_at)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    rows = (await session.execute(query)).scalars().all()
    return [case_record(r) for r in rows]


async def due_case_ids(session: AsyncSession, now: datetime, limit: int) -> Sequence[int]:
    """The due query alone, without claiming (the bench times it; the dashboard may count)."""
    rows = await session.execute(
        select(CaseRow.id)
        .where(CaseRow.next_due_at <= now)
        .order_by(CaseRow.next_due_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def postpone(session: AsyncSession, case_id: int, until: datetime) -> None:
    """Move one case's timer on without handling it (its handling failed): it is
    retried later instead of blocking the rows behind it."""
    await session.execute(update(CaseRow).where(CaseRow.id == case_id).values(next_due_at=until))


# the sweeper changes only a case's timers and SLA bookkeeping (status changes go
# through the engine), so its bulk update names those columns alone
TIMER_COLUMNS = ("first_response_due", "next_response_due", "resolution_due", "next_due_at")
_cases_table = cast(Table, CaseRow.__table__)
_TIMER_UPDATE = (
    update(_cases_table)
    .where(_cases_table.c.id == bindparam("case_id"))
    .values({c: bindparam(c) for c in (*TIMER_COLUMNS, "sla")})
)


async def write_sweep_batch(
    session: AsyncSession,
    events: list[dict[str, Any]],
    outbox_rows: list[dict[str, Any]],
    timers: list[dict[str, Any]],
    followups: list[dict[str, Any]],
) -> None:
    """What one claiming transaction of the sweeper writes, in a few bulk statements.

    Core executemany: the ORM's bulk paths cost more than the statements themselves."""
    if events:
        await session.execute(insert(cast(Table, CaseEvent.__table__)), events)
    if outbox_rows:
        await session.execute(insert(cast(Table, OutboxRow.__table__)), outbox_rows)
    if timers:
        await session.execute(_TIMER_UPDATE, timers)
    if followups:
        await session.execute(update(FollowUp), followups)
