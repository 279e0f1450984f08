"""The outbox on the storage side: claiming due rows, recording results, listing.

Imports SQLAlchemy and `cases`. Claims are leases (`claimed_until`) taken with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers anyway), so two
processes never send the same row; a crashed claimer's lease simply runs out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Anchor, CaseRow, Chat, MessageRow, OutboxRow


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    exclude: Collection[tuple[str, str]] = (),
) -> list[OutboxRow]:
    """Lease up to `limit` due rows, taking turns between accounts: each account's
    oldest row first, then each one's second, and so on (rows of no case form one
    more turn-taker). Caller commits.

    A message is claimable only when no older message of its chat is still pending
    (messages of a chat go out in order); edits in place (cards, boards) always are.
    Chats in `exclude` (being sent to right now) are left alone entirely. Taking turns
    keeps one account's burst (a flood of cases, each with its triage card) from
    holding back every other account's cards in the shared triage chat."""
    # each chat's oldest pending message, in one pass: a per-row "is an older message
    # pending?" check over every due row (the turn-taking below ranks them all, not the
    # first `limit`) took seconds per claim at 50,000 pending rows on PostgreSQL
    older = aliased(OutboxRow)
    first_of_chat = (
        select(func.min(older.id))
        .where(older.status == "pending", older.kind != "upsert")
        .group_by(older.platform, older.chat)
    )
    free = (
        OutboxRow.status == "pending",
        OutboxRow.next_attempt_at <= now,
        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
    )
    account = func.coalesce(CaseRow.account_id, 0)
    due = (
        select(
            OutboxRow.id,
            func.row_number().over(partition_by=account, order_by=OutboxRow.id).label("turn"),
        )
        .outerjoin(CaseRow, CaseRow.id == OutboxRow.case_id)
        .where(*free, or_(OutboxRow.kind == "upsert", OutboxRow.id.in_(first_of_chat)))
    )
    if exclude:
        due = due.where(tuple_(OutboxRow.platform, OutboxRow.chat).not_in(list(exclude)))
    turns = due.subquery()
    query = (
        select(OutboxRow)
        .join(turns, turns.c.id == OutboxRow.id)
        # again on the row itself: PostgreSQL re-checks these on a row another claimer
        # has just leased and committed, where the ranking's snapshot still saw it free
        .where(*free)
        .order_by(turns.c.turn, OutboxRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxRow)
    rows = list((await session.execute(query)).scalars())
    if rows:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_([r.id for r in rows]))
            .values(claimed_until=now + lease)
        )
        for row in rows:
            row.claimed_until = now + lease
    return rows


async def superseded(session: AsyncSession, row: OutboxRow) -> bool:
    """An upsert with a newer pending upsert of the same anchor need not be sent."""
    if row.anchor is None or row.kind != "upsert":
        return False
    newer = await session.execute(
        select(func.count(OutboxRow.id)).where(
            OutboxRow.anchor == row.anchor, OutboxRow.status == "pending", OutboxRow.id > row.id
        )
    )
    return bool(newer.scalar_one())


async def anchor_message(session: AsyncSession, key: str) -> str | None:
    return (
        await session.execute(select(Anchor.platform_message_id).where(Anchor.key == key))
    ).scalar_one_or_none()


async def mark_sent(
    session: AsyncSession,
    row_id: int,
    now: datetime,
    message_id: str | None,
    note: str | None = None,
    status: str = "sent",
) -> bool:
    """Record a row's outcome; False when it was recorded sent already (a retry after
    a commit whose answer was lost), so the caller writes nothing twice."""
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.status != "sent")
        .values(
            status=status,
            sent_at=now,
            platform_message_id=message_id,
            claimed_until=None,
            last_error=note,
            attempts=OutboxRow.attempts + 1,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_failed(
    session: AsyncSession, row_id: int, now: datetime, error: str, retry_at: datetime | None
) -> None:
    """Schedule a retry at `retry_at`, or make the row dead when it is None."""
    values: dict[str, Any] = {
        "attempts": OutboxRow.attempts + 1,
        "last_error": error[:2000],
        "claimed_until": None,
    }
    if retry_at is None:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(**values))


async def release(session: AsyncSession, row_ids: Sequence[int]) -> None:
    """Give leased rows back to the queue at once."""
    if row_ids:
        await session.execute(
            update(OutboxRow).where(OutboxRow.id.in_(list(row_ids))).values(claimed_until=None)
        )


async def save_anchor(
    session: AsyncSession, key: str, platform: str, chat: str, message_id: str, now: datetime
) -> None:
    await session.execute(delete(Anchor).where(Anchor.key == key))
    session.add(
        Anchor(
            key=key, platform=platform, chat=chat, platform_message_id=message_id, updated_at=now
        )
    )


async def record_bot_message(
    session: AsyncSession, row: OutboxRow, chat: str, message_id: str | None, now: datetime
) -> None:
    """Keep what the bot said in the transcript, so replies to it find their case."""
    chat_row = (
        await session.execute(
            select(Chat.id, Chat.kind).where(Chat.platform == row.platform, Chat.chat == chat)
        )
    ).first()
    # only support chats have transcripts: a private chat's DMs (nudges, sign-in links,
    # whose token must never be stored readable) are kept nowhere
    if chat_row is None or chat_row.kind not in ("customer", "triage"):
        return
    case_id = row.case_id
    if case_id is not None and chat_row.kind == "customer":
        exists = await session.execute(select(CaseRow.id).where(CaseRow.id == case_id))
        case_id = exists.scalar_one_or_none()
    session.add(
        MessageRow(
            chat_id=chat_row.id,
            platform_message_id=message_id,
            thread=row.payload.get("thread"),
            reply_to=row.payload.get("reply_to"),
            sender=f"{row.platform}:bot",
            sender_name="casebot",
            role="bot",
            text=row.payload.get("text", ""),
            at=now,
            internal=chat_row.kind != "customer",
            case_id=case_id if chat_row.kind == "customer" else None,
        )
    )


async def link_relayed_message(session: AsyncSession, message_id: int, sent_id: str) -> None:
    """A staff message the bot relayed (a reply from the web) is the message the chat
    saw: it takes the sent message's platform id instead of a second, bot copy."""
    await session.execute(
        update(MessageRow)
        .where(MessageRow.id == message_id, MessageRow.platform_message_id.is_(None))
        .values(platform_message_id=sent_id)
    )


async def set_case_thread(session: AsyncSession, case_id: int, thread: str) -> None:
    await session.execute(update(CaseRow).where(CaseRow.id == case_id).values(thread=thread))


async def list_rows(
    session: AsyncSession, statuses: Sequence[str], limit: int = 200
) -> list[OutboxRow]:
    rows = await session.execute(
        select(OutboxRow)
        .where(OutboxRow.status.in_(list(statuses)))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def retry_rows(session: AsyncSession, row_ids: Sequence[int] | None, now: datetime) -> int:
    """Put dead rows (all, or the given ids) back in the queue."""
    query = update(OutboxRow).where(OutboxRow.status == "dead")
    if row_ids is not None:
        query = query.where(OutboxRow.id.in_(list(row_ids)))
    result = await session.execute(
        query.values(status="pending", next_attempt_at=now, claimed_until=None, attempts=0)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxRow.status, func.count(OutboxRow.id)).group_by(OutboxRow.status)
    )
    return {status: int(n) for status, n in rows.all()}
