"""Read-side queries for the web layer: queues, accounts, people, message search,
customer status pages and sign-in tokens (the service review is `storage.review`).

Imports SQLAlchemy, `cases` and `storage`, and works the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, delete, exists, func, or_, select, update
from sqlalchemy import text as text_sql
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import Status
from storage import search_index
from storage.models import (
    Account,
    CaseEvent,
    CaseRow,
    Chat,
    LoginFailure,
    LoginToken,
    MessageRow,
    Person,
    StaffSessionRecord,
)
from storage.queries import case_summary, iso, recorded_key

ACTIVE = [s.value for s in Status if s.is_active]
QUEUES = ("mine", "unassigned", "at_risk", "breached", "waiting", "active", "all")
AT_RISK_WITHIN = timedelta(hours=1)
BREACH_EVENT = "sla_breached"


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
        query = query.where(CaseRow.assignee == recorded_key(queue.person or ""))
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


async def breach_times(session: AsyncSession, case_ids: list[int]) -> dict[int, datetime]:
    """When each of these cases first breached an SLA target (cases that never did are
    left out): a breach happens at its due time, however late the sweeper saw it."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CaseEvent.case_id, CaseEvent.at, CaseEvent.data).where(
            CaseEvent.type == BREACH_EVENT, CaseEvent.case_id.in_(case_ids)
        )
    )
    first: dict[int, datetime] = {}
    for case_id, at, data in rows.all():
        due = (data or {}).get("due")
        when = datetime.fromisoformat(due) if isinstance(due, str) else at
        if case_id not in first or when < first[case_id]:
            first[int(case_id)] = when
    return first


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


async def chat_titles(session: AsyncSession, keys: Iterable[str]) -> dict[str, str]:
    """Titles of the chats named by key ("telegram:-100100"), for those that have one."""
    wanted = {tuple(k.split(":", 1)) for k in keys if ":" in k}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Chat.platform, Chat.chat, Chat.title).where(
            Chat.title.is_not(None), Chat.chat.in_([chat for _, chat in wanted])
        )
    )
    return {
        f"{platform}:{chat}": title
        for platform, chat, title in rows.all()
        if (platform, chat) in wanted and title
    }


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
        {
            "key": p.key,
            # a person known under several keys: each key shows their name, and
            # `person` is the key they are recorded under (the same for all of them)
            "name": p.person_name or p.name,
            "person": p.person or p.key,
            "username": p.username,
            "role": p.role,
        }
        for p in (await session.execute(query)).scalars()
    ]


async def person_role(session: AsyncSession, key: str) -> str | None:
    row = await session.execute(select(Person.role).where(Person.key == key))
    value = row.scalar_one_or_none()
    return str(value) if value is not None else None


async def staff_person(session: AsyncSession, ref: str) -> tuple[str, str] | None:
    """(recorded key, name) of the staff member a key or a person's name means, or None
    when it means no one on the team: a dashboard sign-in is that person's."""
    lowered = ref.removeprefix("@").lower()
    row = (
        await session.execute(
            select(Person)
            .where(or_(Person.key == ref, func.lower(Person.person_name) == lowered))
            .where(Person.role != "customer")
            .order_by(Person.key != ref, Person.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return row.person or row.key, row.person_name or row.name or row.key


# ------------------------------------------------------------ search


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_terms(text: str) -> list[str]:
    """`disk "full on" db-1` -> ["full on", "disk", "db-1"]; an unpaired quote is text.
    Control characters separate terms: no stored text holds a NUL (PostgreSQL refuses
    one), and FTS5 reads a NUL as the end of its query ("unterminated string")."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    phrases = re.findall(r'"([^"]+)"', text)
    rest = re.sub(r'"[^"]+"', " ", text)
    return [p.strip() for p in phrases if p.strip()] + rest.split()


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


async def search_messages(
    session: AsyncSession, text: str, limit: int = 50
) -> list[dict[str, Any]]:
    """Messages holding every term of `text` (case-insensitive), newest first. Terms
    are split at spaces; a "quoted phrase" is one term.

    Terms of three characters or more go through the trigram index where there is
    one (FTS5 on SQLite; on PostgreSQL pg_trgm serves ILIKE itself); shorter ones,
    which trigrams cannot find, are matched row by row among those hits."""
    terms = search_terms(text)
    if not terms:
        return []
    query = (
        select(MessageRow, Chat.platform, Chat.chat, Chat.title, Account.name)
        .join(Chat, Chat.id == MessageRow.chat_id)
        .outerjoin(Account, Account.id == Chat.account_id)
        .order_by(MessageRow.at.desc(), MessageRow.id.desc())
        .limit(limit)
    )
    indexed = [t for t in terms if len(t) >= 3] if await search_index.has_index(session) else []
    if indexed:
        # the index's hits, and the newest messages it does not hold yet
        candidates = text_sql(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match"
            " UNION ALL SELECT id FROM messages WHERE id > :upto"
        ).bindparams(
            match=" AND ".join(_fts_phrase(t) for t in indexed),
            upto=await search_index.indexed_upto(session),
        )
        query = query.where(MessageRow.id.in_(candidates.columns(rowid=Integer)))
    # every term as text too: exact for the hits, and the filter for the tail
    query = query.where(*(MessageRow.text.ilike(_like(t), escape="\\") for t in terms))
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
    found = (
        await session.execute(
            select(Chat, Account.locale, Account.name)
            .outerjoin(Account, Account.id == Chat.account_id)
            .where(Chat.status_token == token)
        )
    ).first()
    if found is None or found[0].kind != "customer":
        return None
    chat, locale, account = found
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
                "id": case.id,
                "ref": f"#{case.id}",
                "title": case.title,
                "status": case.status,
                "active": case.status in ACTIVE,
                "created_at": case.created_at,
                "updated_at": updated,
            }
        )
    return {
        "chat_id": chat.id,
        "chat_title": chat.title,
        "account": account,
        "cases": cases,
        "locale": locale or "en",
    }


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


@dataclass(frozen=True)
class LoginAttempt:
    """A password try, counted before the password is checked: `allowed` is False
    when the name is locked (then `locked_since` is its oldest counted try)."""

    allowed: bool
    attempt_id: int | None = None
    locked_since: datetime | None = None


async def begin_login_attempt(
    session: AsyncSession,
    name: str,
    now: datetime,
    window: timedelta,
    limit: int,
    address: str | None = None,
    address_limit: int | None = None,
) -> LoginAttempt:
    """Count a try for `name` from `address` unless `limit` tries are already counted for
    the name, or `address_limit` for the address, within `window` (random names from one
    address pass the first, not the second). Tries of one name, and of one address, take
    turns (PostgreSQL advisory locks, name first; SQLite writes are serial anyway), so a
    burst of parallel requests cannot all slip under a limit. The caller commits, checks
    the password, and calls `forget_login_attempt` when it was right."""
    name = name[:200]
    address = address[:64] if address else None
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext("casebot-login:" + name)))
        )
        if address is not None:
            await session.execute(
                select(func.pg_advisory_xact_lock(func.hashtext("casebot-address:" + address)))
            )
    await session.execute(delete(LoginFailure).where(LoginFailure.at < now - window))
    for column, value, most in (
        (LoginFailure.name, name, limit),
        (LoginFailure.address, address, address_limit),
    ):
        if value is None or most is None:
            continue
        counted = (
            (
                await session.execute(
                    select(LoginFailure.at)
                    .where(column == value, LoginFailure.at >= now - window)
                    .order_by(LoginFailure.at)
                    .limit(most)
                )
            )
            .scalars()
            .all()
        )
        if len(counted) >= most:
            return LoginAttempt(False, locked_since=counted[0])
    attempt = LoginFailure(name=name, at=now, address=address)
    session.add(attempt)
    await session.flush()
    return LoginAttempt(True, attempt_id=attempt.id)


async def forget_login_attempt(session: AsyncSession, attempt_id: int) -> None:
    """The password was right: the try does not count against the name."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))


# ------------------------------------------------------------ dashboard sessions


async def start_staff_session(
    session: AsyncSession, id_hash: str, person: str, now: datetime, expires_at: datetime
) -> None:
    """Record a sign-in (sessions past their end are dropped on the way)."""
    await session.execute(delete(StaffSessionRecord).where(StaffSessionRecord.expires_at < now))
    session.add(
        StaffSessionRecord(id_hash=id_hash, person=person, created_at=now, expires_at=expires_at)
    )


async def staff_session_live(
    session: AsyncSession, id_hash: str, person: str, now: datetime
) -> bool:
    """Whether a sign-in of `person` is recorded, unrevoked and unexpired; reads only."""
    row = await session.execute(
        select(StaffSessionRecord.id_hash).where(
            StaffSessionRecord.id_hash == id_hash,
            StaffSessionRecord.person == person,
            StaffSessionRecord.revoked_at.is_(None),
            StaffSessionRecord.expires_at > now,
        )
    )
    return row.first() is not None


async def revoke_staff_sessions(
    session: AsyncSession, now: datetime, id_hash: str | None = None
) -> int:
    """Revoke one sign-in, or with no `id_hash` every live one; returns how many."""
    query = update(StaffSessionRecord).where(
        StaffSessionRecord.revoked_at.is_(None), StaffSessionRecord.expires_at > now
    )
    if id_hash is not None:
        query = query.where(StaffSessionRecord.id_hash == id_hash)
    result = await session.execute(query.values(revoked_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def login_token_usable(session: AsyncSession, token_hash: str, now: datetime) -> bool:
    """Whether a sign-in token could still be spent (known, unused, unexpired); reads only."""
    row = await session.execute(
        select(LoginToken.token_hash).where(
            LoginToken.token_hash == token_hash,
            LoginToken.used_at.is_(None),
            LoginToken.expires_at > now,
        )
    )
    return row.first() is not None


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
