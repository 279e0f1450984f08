"""Inbound events the engine rejected: kept with their error, listed and retried.

Imports SQLAlchemy and `cases`. An event is stored as the plain values of its
`cases.model.Inbound`, so a retry replays exactly what the adapter saw.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import Actor, Attachment, ChatKey, Inbound, InboundKind
from storage.models import FailedEvent


def to_payload(event: Inbound) -> dict[str, Any]:
    values = asdict(event)
    values["kind"] = event.kind.value
    values["at"] = event.at.isoformat()
    return values


def from_payload(values: dict[str, Any]) -> Inbound:
    data = dict(values)
    data["kind"] = InboundKind(data["kind"])
    data["at"] = datetime.fromisoformat(data["at"]).astimezone(UTC)
    data["chat"] = ChatKey(**data["chat"])
    data["actor"] = Actor(**data["actor"]) if data.get("actor") else None
    data["attachments"] = tuple(Attachment(**a) for a in data.get("attachments") or ())
    data["rights"] = tuple(data.get("rights") or ())
    return Inbound(**data)


def record(session: AsyncSession, event: Inbound, error: str, at: datetime) -> None:
    session.add(
        FailedEvent(
            platform=event.chat.platform,
            event_id=event.event_id,
            chat=event.chat.key,
            kind=event.kind.value,
            error=error[:4000],
            payload=to_payload(event),
            failed_at=at,
        )
    )


# the kind of an event its adapter could not read: listed, never replayed
UNREADABLE = InboundKind.UNREADABLE.value


async def pending(session: AsyncSession, limit: int = 200) -> list[FailedEvent]:
    rows = await session.execute(
        select(FailedEvent)
        .where(FailedEvent.retried_at.is_(None))
        .order_by(FailedEvent.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def mark_retried(session: AsyncSession, ids: list[int], at: datetime) -> None:
    if ids:
        await session.execute(
            update(FailedEvent).where(FailedEvent.id.in_(ids)).values(retried_at=at)
        )
