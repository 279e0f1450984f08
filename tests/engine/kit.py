"""Helpers for the engine rule tests: reading stored rows and audit events through
the harness's own sessions. Imports the test harness, `storage` and SQLAlchemy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from cases.engine import Outcome
from cases.model import StaffAction
from storage.models import CaseRow, Chat, FollowUp, MessageEdit, MessageRow, OutboxRow
from storage.queries import all_cases, message_dict
from storage.uow import SqlUnitOfWork
from tests.harness import ACME, Harness

__all__ = ["ACME", "Harness"]


def events(case: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [e for e in case["events"] if e["type"] == type_]


def status_changes(case: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e["data"]["from"], e["data"]["to"], e["data"]["reason"])
        for e in events(case, "status_changed")
    ]


def texts_of(case: dict[str, Any]) -> list[str]:
    return [m["text"] for m in case["messages"]]


async def cases(h: Harness) -> list[dict[str, Any]]:
    async with h.sessions() as session:
        return await all_cases(session)


async def case_count(h: Harness) -> int:
    async with h.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(CaseRow))).scalar_one())


async def messages(h: Harness) -> list[dict[str, Any]]:
    """Every stored message, with its case and its chat's platform id."""
    async with h.sessions() as session:
        rows = await session.execute(
            select(MessageRow, Chat.chat).join(Chat, Chat.id == MessageRow.chat_id)
        )
        return [
            {**message_dict(m), "case_id": m.case_id, "chat": chat}
            for m, chat in sorted(rows.all(), key=lambda r: r[0].id)
        ]


async def message(h: Harness, platform_message_id: str, chat: str = ACME) -> dict[str, Any]:
    found = [
        m
        for m in await messages(h)
        if m["platform_message_id"] == platform_message_id and m["chat"] == chat
    ]
    assert len(found) == 1, found
    return found[0]


async def edits(h: Harness) -> list[tuple[int, str]]:
    async with h.sessions() as session:
        rows = (await session.execute(select(MessageEdit).order_by(MessageEdit.id))).scalars()
        return [(e.message_id, e.text) for e in rows]


async def followups(h: Harness) -> list[FollowUp]:
    async with h.sessions() as session:
        return list((await session.execute(select(FollowUp).order_by(FollowUp.id))).scalars())


async def mark(h: Harness) -> int:
    """The id of the newest outbox row, to read only what comes after it."""
    rows = await h.outbox()
    return rows[-1].id if rows else 0


async def rows_after(h: Harness, since: int) -> list[OutboxRow]:
    return [r for r in await h.outbox() if r.id > since]


async def act(h: Harness, action: StaffAction) -> Outcome:
    """Run a staff action the way the web layer does: one unit of work, committed."""
    async with h.sessions() as session, session.begin():
        return await h.engine.act(SqlUnitOfWork(session, h.ingestor.caches), action)


async def open_case(h: Harness, text: str = "my VM is down", who: str = "alice") -> int:
    """A customer asks in Acme (tag intake) and Evan tags it with a reply /case."""
    await h.say(who, text)
    out = await h.say("evan", "/case", reply_to=h.last_message_id)
    assert out.opened and out.case_id is not None
    return out.case_id
