"""Read-side queries for the web layer: queues, accounts, people, service-review
figures, message search, customer status pages and sign-in tokens.

Imports SQLAlchemy, `cases` and `storage`. Works the same on SQLite and
PostgreSQL: aggregation that the two dialects spell differently (week buckets,
percentiles) is done in Python over the few columns it needs.
"""

from __future__ import annotations

import secrets
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import Status
from storage.models import (
    Account,
    CaseEvent,
    CaseRow,
    Chat,
    LoginToken,
    MessageRow,
    Person,
)
from storage.queries import case_summary, iso

ACTIVE = [s.value for s in Status if s.is_active]
QUEUES = ("mine", "unassigned", "at_risk", "breached", "waiting", "active", "all")
AT_RISK_WITHIN = timedelta(hours=1)
BREACH_EVENT = "sla_breached"
# first-response histogram buckets (upper bounds) for the service review
RESPONSE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 5m", timedelta(minutes=5)),
    ("< 15m", timedelta(minutes=15)),
    ("< 1h", timedelta(hours=1)),
    ("< 4h", timedelta(hours=4)),
    ("< 1d", timedelta(days=1)),
    ("1d+", None),
)


@dataclass(frozen=True)
class Queue:
    """Which cases a dashboard queue shows. `person` is the viewer (for "mine")."""

    name: str = "active"
    person: str | None = None
    account: str | None = None
    limit: int = 100
    offset: int = 0


def _breached() -> Any:
    return exists().where(CaseEvent.case_id == CaseRow.id, CaseEvent.type == BREACH_EVENT)


def _queue_where(query: Select[Any], queue: Queue, now: datetime) -> Select[Any]:
    name = queue.name
    if name != "all":
        query = query.where(CaseRow.status.in_(ACTIVE))
    if name == "mine":
        query = query.where(CaseRow.assignee == (queue.person or ""))
    elif name == "unassigned":
        query = query.where(CaseRow.assignee.is_(None))
    elif name == "at_risk":
        query = query.where(
            CaseRow.next_due_at.is_not(None),
            CaseRow.next_due_at <= now + AT_RISK_WITHIN,
            CaseRow.status != Status.WAITING.value,
        )
    elif name == "breached":
        query = query.where(_breached())
    elif name == "waiting":
        query = query.where(CaseRow.status == Status.WAITING.value)
    if queue.account:
        query = query.where(Account.name == queue.account)
    return query


async def queue_cases(
    session: AsyncSession, queue: Queue, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    """One page of a queue (summaries, soonest deadline first) and the queue's size."""
    base = (
        select(CaseRow, Account.name, Chat.platform, Chat.chat)
        .join(Chat, Chat.id == CaseRow.chat_id)
        .outerjoin(Account, Account.id == CaseRow.account_id)
    )
    query = _queue_where(base, queue, now)
    query = query.order_by(CaseRow.next_due_at.is_(None), CaseRow.next_due_at, CaseRow.id.desc())
    rows = (await session.execute(query.limit(queue.limit).offset(queue.offset))).all()
    counted = _queue_where(
        select(func.count(CaseRow.id))
        .select_from(CaseRow)
        .join(Chat, Chat.id == CaseRow.chat_id)
        .outerjoin(Account, Account.id == CaseRow.account_id),
        queue,
        now,
    )
    total = int((await session.execute(counted)).scalar_one())
    return [case_summary(*row) for row in rows], total


async def queue_sizes(session: AsyncSession, person: str | None, now: datetime) -> dict[str, int]:
    sizes = {}
    for name in QUEUES:
        _, sizes[name] = await queue_cases(session, Queue(name, person, limit=0), now)
    return sizes


async def cases_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(CaseRow.status, func.count(CaseRow.id)).group_by(CaseRow.status)
    )
    counts = {s.value: 0 for s in Status}
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


async def sla_breaches(session: AsyncSession) -> int:
    query = select(func.count(CaseEvent.id)).where(CaseEvent.type == BREACH_EVENT)
    return int((await session.execute(query)).scalar_one())


async def breached_case_ids(session: AsyncSession, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    rows = await session.execute(
        select(CaseEvent.case_id)
        .where(CaseEvent.type == BREACH_EVENT, CaseEvent.case_id.in_(case_ids))
        .distinct()
    )
    return {int(r) for r in rows.scalars()}


# ------------------------------------------------------------ directory


async def accounts(session: AsyncSession) -> list[dict[str, Any]]:
    """Accounts with their chats and active-case counts."""
    rows = await session.execute(
        select(CaseRow.account_id, func.count(CaseRow.id))
        .where(CaseRow.status.in_(ACTIVE))
        .group_by(CaseRow.account_id)
    )
    open_counts: dict[int | None, int] = {acc: int(n) for acc, n in rows.all()}
    chats: dict[int, list[dict[str, Any]]] = {}
    for chat in (await session.execute(select(Chat).order_by(Chat.id))).scalars():
        if chat.account_id is not None:
            chats.setdefault(chat.account_id, []).append(chat_dict(chat))
    result = []
    for acc in (await session.execute(select(Account).order_by(Account.name))).scalars():
        result.append(
            {
                "name": acc.name,
                "tier": acc.tier,
                "locale": acc.locale,
                "intake": acc.intake,
                "owner": acc.owner,
                "open_cases": int(open_counts.get(acc.id, 0)),
                "chats": chats.get(acc.id, []),
            }
        )
    return result


def chat_dict(chat: Chat) -> dict[str, Any]:
    return {"id": chat.id, "chat": f"{chat.platform}:{chat.chat}", "title": chat.title}


async def account_named(session: AsyncSession, name: str) -> Account | None:
    row = await session.execute(select(Account).where(Account.name == name))
    return row.scalar_one_or_none()


async def chats_of(session: AsyncSession, account_id: int) -> list[Chat]:
    rows = await session.execute(
        select(Chat).where(Chat.account_id == account_id).order_by(Chat.id)
    )
    return list(rows.scalars())


async def people(session: AsyncSession, role: str | None = None) -> list[dict[str, Any]]:
    query = select(Person).order_by(Person.role, Person.name, Person.key)
    if role == "staff":
        query = query.where(Person.role != "customer")
    elif role:
        query = query.where(Person.role == role)
    return [
        {"key": p.key, "name": p.name, "username": p.username, "role": p.role}
        for p in (await session.execute(query)).scalars()
    ]


async def person_role(session: AsyncSession, key: str) -> str | None:
    row = await session.execute(select(Person.role).where(Person.key == key))
    value = row.scalar_one_or_none()
    return str(value) if value is not None else None


# ------------------------------------------------------------ service review


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def week_start(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def service_review(
    session: AsyncSession, account: Account, since: datetime, until: datetime
) -> dict[str, Any]:
    """Figures for an account's service review over [since, until): volume per week,
    first-response times, SLA compliance and CSAT. Times in seconds."""
    cases = list(
        (
            await session.execute(
                select(CaseRow).where(
                    CaseRow.account_id == account.id,
                    CaseRow.created_at >= since,
                    CaseRow.created_at < until,
                    CaseRow.merged_into.is_(None),
                )
            )
        ).scalars()
    )
    resolved_in = list(
        (
            await session.execute(
                select(CaseRow.resolved_at).where(
                    CaseRow.account_id == account.id,
                    CaseRow.resolved_at >= since,
                    CaseRow.resolved_at < until,
                )
            )
        ).scalars()
    )
    ids = [c.id for c in cases]
    breached = await breached_case_ids(session, ids)

    weeks: dict[datetime, dict[str, int]] = {}
    cursor = week_start(since)
    while cursor < until:
        weeks[cursor] = {"opened": 0, "resolved": 0}
        cursor += timedelta(days=7)
    for case in cases:
        weeks.setdefault(week_start(case.created_at), {"opened": 0, "resolved": 0})
        weeks[week_start(case.created_at)]["opened"] += 1
    for at in resolved_in:
        if at is not None:
            weeks.setdefault(week_start(at), {"opened": 0, "resolved": 0})
            weeks[week_start(at)]["resolved"] += 1

    responses: list[float] = []
    buckets: Counter[str] = Counter()
    met = judged = 0
    for case in cases:
        if case.first_response_at is not None:
            waited = case.first_response_at - case.created_at
            responses.append(waited.total_seconds())
            for label, bound in RESPONSE_BUCKETS:
                if bound is None or waited < bound:
                    buckets[label] += 1
                    break
        if case.first_response_due is not None or case.id in breached:
            judged += 1
            first_ok = case.first_response_at is not None and (
                case.first_response_due is None
                or case.first_response_at <= case.first_response_due
            )
            if first_ok and case.id not in breached:
                met += 1
    scores = [
        int(c.sla["csat"]) for c in cases if c.sla and isinstance(c.sla.get("csat"), int | float)
    ]
    top_open = sorted(
        (c for c in cases if c.status in ACTIVE),
        key=lambda c: (c.priority, c.created_at),
    )[:10]
    return {
        "account": account.name,
        "since": iso(since),
        "until": iso(until),
        "opened": len(cases),
        "resolved": len(resolved_in),
        "still_open": sum(1 for c in cases if c.status in ACTIVE),
        "weeks": [{"week": iso(w), **n} for w, n in sorted(weeks.items())],
        "first_response": {
            "count": len(responses),
            "median_seconds": statistics.median(responses) if responses else None,
            "p90_seconds": _percentile(responses, 0.9),
            "buckets": [
                {"label": label, "count": buckets[label]} for label, _ in RESPONSE_BUCKETS
            ],
        },
        "sla": {
            "judged": judged,
            "met": met,
            "breached": len(breached),
            "compliance_percent": round(100 * met / judged, 1) if judged else None,
        },
        "csat": {
            "responses": len(scores),
            "average": round(statistics.fmean(scores), 2) if scores else None,
            "distribution": [{"score": n, "count": scores.count(n)} for n in range(1, 6)],
        },
        "top_open": [
            {
                "id": c.id,
                "ref": f"#{c.id}",
                "title": c.title,
                "priority": c.priority,
                "status": c.status,
                "created_at": iso(c.created_at),
            }
            for c in top_open
        ],
    }


# ------------------------------------------------------------ search


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_messages(
    session: AsyncSession, text: str, limit: int = 50
) -> list[dict[str, Any]]:
    """Messages whose text contains `text` (case-insensitive), newest first."""
    pattern = _like(text)
    query = (
        select(MessageRow, Chat.platform, Chat.chat, Chat.title, Account.name)
        .join(Chat, Chat.id == MessageRow.chat_id)
        .outerjoin(Account, Account.id == Chat.account_id)
        .where(or_(MessageRow.text.ilike(pattern, escape="\\")))
        .order_by(MessageRow.at.desc(), MessageRow.id.desc())
        .limit(limit)
    )
    result = []
    for m, platform, chat, title, account in (await session.execute(query)).all():
        result.append(
            {
                "case_id": m.case_id,
                "chat": f"{platform}:{chat}",
                "chat_title": title,
                "account": account,
                "sender": m.sender,
                "sender_name": m.sender_name,
                "role": m.role,
                "internal": m.internal,
                "text": m.text,
                "at": iso(m.at),
            }
        )
    return result


# ------------------------------------------------------------ status pages


RECENT = timedelta(days=30)


async def status_page(session: AsyncSession, token: str, now: datetime) -> dict[str, Any] | None:
    """What a customer's status link shows: that chat's active cases and those
    resolved or closed in the last 30 days, with ref, title, status and last update.
    Nothing else leaves: no assignee, no internal notes, no other chat."""
    if not token:
        return None
    chat = (
        await session.execute(select(Chat).where(Chat.status_token == token))
    ).scalar_one_or_none()
    if chat is None or chat.kind != "customer":
        return None
    rows = await session.execute(
        select(CaseRow)
        .where(
            CaseRow.chat_id == chat.id,
            CaseRow.merged_into.is_(None),
            or_(
                CaseRow.status.in_(ACTIVE),
                CaseRow.resolved_at >= now - RECENT,
                CaseRow.closed_at >= now - RECENT,
            ),
        )
        .order_by(CaseRow.id.desc())
        .limit(200)
    )
    cases = []
    for case in rows.scalars():
        last = await session.execute(
            select(func.max(MessageRow.at)).where(
                MessageRow.case_id == case.id, MessageRow.internal.is_(False)
            )
        )
        updated = max(
            a for a in (last.scalar_one_or_none(), case.status_changed_at, case.created_at) if a
        )
        cases.append(
            {
                "ref": f"#{case.id}",
                "title": case.title,
                "status": case.status,
                "active": case.status in ACTIVE,
                "created_at": case.created_at,
                "updated_at": updated,
            }
        )
    return {"chat_title": chat.title, "cases": cases}


async def rotate_status_token(session: AsyncSession, chat_id: int) -> str | None:
    """Give a chat a new status link; the old one stops working at commit."""
    token = secrets.token_urlsafe(24)
    result = await session.execute(
        update(Chat).where(Chat.id == chat_id).values(status_token=token)
    )
    return token if result.rowcount else None  # type: ignore[attr-defined]


async def chat_by_id(session: AsyncSession, chat_id: int) -> Chat | None:
    return await session.get(Chat, chat_id)


# ------------------------------------------------------------ sign-in links


async def consume_login_token(session: AsyncSession, token_hash: str, now: datetime) -> str | None:
    """Mark a one-time sign-in token used and return its person, or None when it is
    unknown, expired or already used. One UPDATE, so two clicks cannot both win."""
    result = await session.execute(
        update(LoginToken)
        .where(
            LoginToken.token_hash == token_hash,
            LoginToken.used_at.is_(None),
            LoginToken.expires_at > now,
        )
        .values(used_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    row = await session.execute(
        select(LoginToken.person).where(LoginToken.token_hash == token_hash)
    )
    return str(row.scalar_one())
