"""Read-side queries: cases as the API and `export` show them, lists with filters.

Imports SQLAlchemy and `cases`. Times are ISO 8601 UTC strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.issues import issue_dict, issues_by_case
from storage.models import Account, CaseEvent, CaseRow, Chat, FollowUp, MessageRow, Person


def iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    account: str | None = None
    assignee: str | None = None
    chat_id: int | None = None
    q: str | None = None
    limit: int = 100
    offset: int = 0


def _filtered(query: Select[Any], f: CaseFilter) -> Select[Any]:
    if f.status:
        query = query.where(CaseRow.status.in_(f.status.split(",")))
    if f.account:
        query = query.where(Account.name == f.account)
    if f.assignee:
        query = query.where(CaseRow.assignee == recorded_key(f.assignee))
    if f.chat_id is not None:
        query = query.where(CaseRow.chat_id == f.chat_id)
    if f.q:
        query = query.where(CaseRow.title.ilike(f"%{f.q}%"))
    return query


def recorded_key(ref: str) -> Any:
    """SQL for the key a person given by any of their keys or by name is recorded
    under (`people.person`), else `ref` itself."""
    lowered = ref.removeprefix("@").lower()
    person = (
        select(Person.person)
        .where(or_(Person.key == ref, func.lower(Person.person_name) == lowered))
        .where(Person.person.is_not(None))
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(person, ref)


def _base() -> Select[Any]:
    return (
        select(CaseRow, Account.name, Chat.platform, Chat.chat)
        .join(Chat, Chat.id == CaseRow.chat_id)
        .outerjoin(Account, Account.id == CaseRow.account_id)
    )


async def count_cases(session: AsyncSession, f: CaseFilter) -> int:
    query = _filtered(
        select(func.count(CaseRow.id))
        .select_from(CaseRow)
        .join(Chat, Chat.id == CaseRow.chat_id)
        .outerjoin(Account, Account.id == CaseRow.account_id),
        f,
    )
    return int((await session.execute(query)).scalar_one())


async def list_cases(
    session: AsyncSession, f: CaseFilter, with_details: bool = True
) -> list[dict[str, Any]]:
    query = _filtered(_base(), f).order_by(CaseRow.id).limit(f.limit).offset(f.offset)
    rows = (await session.execute(query)).all()
    return await _as_dicts(session, rows, with_details)


async def get_case(session: AsyncSession, case_id: int) -> dict[str, Any] | None:
    rows = (await session.execute(_base().where(CaseRow.id == case_id))).all()
    if not rows:
        return None
    return (await _as_dicts(session, rows, True))[0]


async def all_cases(session: AsyncSession, chunk: int = 500) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await list_cases(session, CaseFilter(limit=chunk, offset=offset))
        result.extend(page)
        if len(page) < chunk:
            return result
        offset += chunk


def case_summary(case: CaseRow, account: str | None, platform: str, chat: str) -> dict[str, Any]:
    return {
        "id": case.id,
        "ref": f"#{case.id}",
        "account": account,
        "chat": f"{platform}:{chat}",
        "thread": case.thread,
        "title": case.title,
        "status": case.status,
        "priority": case.priority,
        "assignee": case.assignee,
        "opened_by": case.opened_by,
        "created_at": iso(case.created_at),
        "first_response_at": iso(case.first_response_at),
        "resolved_at": iso(case.resolved_at),
        "closed_at": iso(case.closed_at),
        "updated_at": iso(case.status_changed_at or case.created_at),
        "merged_into": case.merged_into,
        "sla": {
            "first_response_due": iso(case.first_response_due),
            "next_response_due": iso(case.next_response_due),
            "resolution_due": iso(case.resolution_due),
            "next_due_at": iso(case.next_due_at),
        },
        "csat": (case.sla or {}).get("csat"),
        "category": case.category,
        "tags": list(case.tags or []),
        "fields": dict(case.fields or {}),
    }


async def _as_dicts(
    session: AsyncSession, rows: Sequence[Any], with_details: bool
) -> list[dict[str, Any]]:
    ids = [row[0].id for row in rows]
    messages: dict[int, list[dict[str, Any]]] = defaultdict(list)
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    followups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if with_details and ids:
        for m in (
            await session.execute(
                select(MessageRow)
                .where(MessageRow.case_id.in_(ids))
                .order_by(MessageRow.at, MessageRow.id)
            )
        ).scalars():
            assert m.case_id is not None
            messages[m.case_id].append(message_dict(m))
        for e in (
            await session.execute(
                select(CaseEvent)
                .where(CaseEvent.case_id.in_(ids))
                .order_by(CaseEvent.at, CaseEvent.id)
            )
        ).scalars():
            events[e.case_id].append(
                {"type": e.type, "at": iso(e.at), "actor": e.actor, "data": e.data}
            )
        for fu in (
            await session.execute(
                select(FollowUp).where(FollowUp.case_id.in_(ids)).order_by(FollowUp.due_at)
            )
        ).scalars():
            followups[fu.case_id].append(
                {
                    "id": fu.id,
                    "owner": fu.owner,
                    "text": fu.text,
                    "due_at": iso(fu.due_at),
                    "done_at": iso(fu.done_at),
                    "created_by": fu.created_by,
                }
            )
    issues = await issues_by_case(session, ids) if with_details else {}
    result = []
    for case, account, platform, chat in rows:
        item = case_summary(case, account, platform, chat)
        if with_details:
            item["messages"] = messages[case.id]
            item["events"] = events[case.id]
            item["followups"] = followups[case.id]
            item["issues"] = [issue_dict(i) for i in issues.get(case.id, [])]
        result.append(item)
    return result


def message_dict(m: MessageRow) -> dict[str, Any]:
    return {
        "id": m.id,
        "platform_message_id": m.platform_message_id,
        "sender": m.sender,
        "sender_name": m.sender_name,
        "role": m.role,
        "text": m.text,
        "at": iso(m.at),
        "edited_at": iso(m.edited_at),
        "internal": m.internal,
        "attachments": m.attachments or [],
        "reply_to": m.reply_to,
    }
