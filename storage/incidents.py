"""Incidents on the storage side: the engine's `IncidentPort` (a mixin of the unit of
work) and the reads of the war room, digests and reviews. Imports SQLAlchemy and `cases`.

A notice is a row per (update, chat) holding the id of the outbox row that carries it:
the fan-out is written in the transaction that decides it, so a crash either leaves
no trace of the update or every notice queued, and the outbox sends each one once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.incident_records import IncidentRecord, IncidentScope, IncidentStep
from cases.model import ChatKey, ChatKind, Outbound
from cases.records import AccountInfo, ChatInfo
from storage.models import (
    Account,
    Anchor,
    CaseRow,
    Chat,
    IncidentAccount,
    IncidentCase,
    IncidentNotice,
    IncidentRow,
    IncidentUpdate,
    OutboxRow,
)
from storage.outbox import outbox_values
from storage.queries import iso


def incident_record(row: Any) -> IncidentRecord:
    """From an IncidentRow or a row of the incidents table."""
    return IncidentRecord(
        id=row.id,
        title=row.title,
        status=row.status,
        scope=IncidentScope.from_dict(dict(row.scope or {})),
        started_at=row.started_at,
        started_by=row.started_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )


def _account(row: Account) -> AccountInfo:
    from storage.uow import account_info  # the unit of work builds on this module

    return account_info(row)


_incidents = cast(Table, IncidentRow.__table__)
_links = cast(Table, IncidentAccount.__table__)
# asked on every board refresh and case opening in a customer chat (the ingest hot
# path): a Core statement the unit of work runs on its fast path
OPEN_FOR_ACCOUNT = (
    select(_incidents)
    .join(_links, _links.c.incident_id == _incidents.c.id)
    .where(_incidents.c.status == "open", _links.c.account_id == bindparam("account_id"))
    .order_by(_incidents.c.id.desc())
    .limit(1)
)


class IncidentStore:
    """`cases.incident_records.IncidentPort` over the unit of work's session."""

    session: AsyncSession
    _exec: Callable[[Any, dict[str, Any]], Awaitable[Any]]  # `storage.uow.SqlUnitOfWork`
    # each account's open incident as read in this unit of work (a board shows its
    # banner, and ingest renders a board for nearly every other message): forgotten on
    # every incident write here and when a savepoint rolls back (`SqlUnitOfWork`).
    # Kept on inline SQLite only, whose transactions hold the write lock from BEGIN:
    # on PostgreSQL another process's incident shows in the next statement
    _open_incidents: dict[int, IncidentRecord | None]
    _raw: sqlite3.Connection | None  # `SqlUnitOfWork`: set once `_exec` has run

    async def accounts_in_scope(self, scope: IncidentScope) -> Sequence[AccountInfo]:
        query = select(Account).order_by(Account.name)
        if scope.tier is not None:
            query = query.where(Account.tier == scope.tier)
        elif scope.accounts:
            wanted = {a.casefold() for a in scope.accounts}
            query = query.where(func.lower(Account.name).in_(sorted(wanted)))
        return [_account(a) for a in (await self.session.execute(query)).scalars()]

    async def new_incident(
        self,
        title: str,
        scope: IncidentScope,
        accounts: Sequence[AccountInfo],
        at: datetime,
        actor: str | None,
    ) -> IncidentRecord:
        self._open_incidents.clear()
        row = IncidentRow(
            title=title, status="open", scope=scope.as_dict(), started_at=at, started_by=actor
        )
        self.session.add(row)
        await self.session.flush()
        if accounts:
            await self.session.execute(
                insert(IncidentAccount),
                [{"incident_id": row.id, "account_id": a.id} for a in accounts],
            )
        return incident_record(row)

    async def incident(self, incident_id: int) -> IncidentRecord | None:
        query = select(IncidentRow).where(IncidentRow.id == incident_id)
        if self.session.get_bind().dialect.name == "postgresql":
            # two staff resolving at once: the second waits and sees it resolved
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
        return incident_record(row) if row else None

    async def open_incidents(self) -> Sequence[IncidentRecord]:
        rows = await self.session.execute(
            select(IncidentRow).where(IncidentRow.status == "open").order_by(IncidentRow.id)
        )
        return [incident_record(r) for r in rows.scalars()]

    async def incident_for_account(self, account_id: int) -> IncidentRecord | None:
        if account_id in self._open_incidents:
            return self._open_incidents[account_id]
        row = (await self._exec(OPEN_FOR_ACCOUNT, {"account_id": account_id})).first()
        found = incident_record(row) if row is not None else None
        if self._raw is not None:
            self._open_incidents[account_id] = found
        return found

    async def incident_chats(self, incident_id: int) -> Sequence[ChatInfo]:
        rows = await self.session.execute(
            select(Chat, Account)
            .join(IncidentAccount, IncidentAccount.account_id == Chat.account_id)
            .join(Account, Account.id == Chat.account_id)
            .where(
                IncidentAccount.incident_id == incident_id,
                Chat.kind == ChatKind.CUSTOMER.value,
            )
            .order_by(Chat.id)
        )
        return [
            ChatInfo(
                id=chat.id,
                key=ChatKey(chat.platform, chat.chat),
                kind=ChatKind(chat.kind),
                account=_account(account),
                title=chat.title,
                status_token=chat.status_token,
            )
            for chat, account in rows.all()
        ]

    async def add_incident_update(
        self, incident_id: int, step: IncidentStep, text: str, at: datetime, actor: str | None
    ) -> int:
        self._open_incidents.clear()
        result = await self.session.execute(
            insert(IncidentUpdate)
            .values(incident_id=incident_id, kind=step.value, text=text, at=at, actor=actor)
            .returning(IncidentUpdate.id)
        )
        return int(result.scalar_one())

    async def add_incident_notices(
        self,
        incident_id: int,
        update_id: int,
        notices: Sequence[tuple[int, Outbound]],
        at: datetime,
    ) -> int:
        self._open_incidents.clear()
        known = set(
            (
                await self.session.execute(
                    select(IncidentNotice.chat_id).where(IncidentNotice.update_id == update_id)
                )
            ).scalars()
        )
        fresh = [(chat_id, action) for chat_id, action in notices if chat_id not in known]
        if not fresh:
            return 0
        # one statement per table, not per chat: a fan-out to thousands of groups is
        # one short transaction
        ids = (
            await self.session.execute(
                insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True),
                [outbox_values(action, at) for _, action in fresh],
            )
        ).scalars()
        await self.session.execute(
            insert(IncidentNotice),
            [
                {
                    "incident_id": incident_id,
                    "update_id": update_id,
                    "chat_id": chat_id,
                    "outbox_id": outbox_id,
                }
                for (chat_id, _), outbox_id in zip(fresh, ids, strict=True)
            ],
        )
        return len(fresh)

    async def chats_with_board(self, chat_ids: Sequence[int]) -> set[int]:
        keys = [f"board:{chat_id}" for chat_id in chat_ids]
        found: set[int] = set()
        for i in range(0, len(keys), 500):
            rows = await self.session.execute(
                select(Anchor.key).where(Anchor.key.in_(keys[i : i + 500]))
            )
            found.update(int(key.removeprefix("board:")) for key in rows.scalars())
        return found

    async def resolve_incident(
        self, incident: IncidentRecord, at: datetime, actor: str | None
    ) -> IncidentRecord:
        self._open_incidents.clear()
        await self.session.execute(
            update(IncidentRow)
            .where(IncidentRow.id == incident.id)
            .values(status="resolved", resolved_at=at, resolved_by=actor)
        )
        return IncidentRecord(
            id=incident.id,
            title=incident.title,
            status="resolved",
            scope=incident.scope,
            started_at=incident.started_at,
            started_by=incident.started_by,
            resolved_at=at,
            resolved_by=actor,
        )

    async def link_incident_case(self, incident_id: int, case_id: int, at: datetime) -> None:
        self._open_incidents.clear()
        await self.session.execute(
            insert(IncidentCase).values(incident_id=incident_id, case_id=case_id, linked_at=at)
        )


# ------------------------------------------------------------------ reads


def _incident_dict(row: IncidentRow) -> dict[str, Any]:
    record = incident_record(row)
    return {
        "id": row.id,
        "ref": record.ref,
        "title": row.title,
        "status": row.status,
        "scope": dict(row.scope or {}),
        "started_at": row.started_at,
        "started_by": row.started_by,
        "resolved_at": row.resolved_at,
        "resolved_by": row.resolved_by,
    }


async def list_incidents(session: AsyncSession, limit: int = 100) -> list[dict[str, Any]]:
    rows = await session.execute(select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit))
    found = [_incident_dict(r) for r in rows.scalars()]
    for item in found:
        item["accounts"] = await _account_names(session, item["id"])
    return found


async def _account_names(session: AsyncSession, incident_id: int) -> list[str]:
    rows = await session.execute(
        select(Account.name)
        .join(IncidentAccount, IncidentAccount.account_id == Account.id)
        .where(IncidentAccount.incident_id == incident_id)
        .order_by(Account.name)
    )
    return list(rows.scalars())


async def incident_exists(session: AsyncSession, incident_id: int) -> bool:
    """One primary-key read: what an API step checks first (the war room it answers
    with grows with every group told)."""
    found = await session.execute(select(IncidentRow.id).where(IncidentRow.id == incident_id))
    return found.scalar_one_or_none() is not None


async def war_room(session: AsyncSession, incident_id: int) -> dict[str, Any] | None:
    """An incident as its war room shows it: the affected accounts with their open
    cases, every update, and per group and update whether it was delivered and when."""
    row = await session.get(IncidentRow, incident_id)
    if row is None:
        return None
    found = _incident_dict(row)
    found["accounts"] = await _account_names(session, incident_id)
    updates = await session.execute(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(IncidentUpdate.id)
    )
    found["updates"] = [
        {"id": u.id, "kind": u.kind, "text": u.text, "at": u.at, "actor": u.actor}
        for u in updates.scalars()
    ]
    notices = await session.execute(
        select(
            IncidentNotice.update_id,
            Chat.platform,
            Chat.chat,
            Chat.title,
            Account.name,
            OutboxRow.status,
            OutboxRow.sent_at,
            OutboxRow.attempts,
            OutboxRow.last_error,
        )
        .join(Chat, Chat.id == IncidentNotice.chat_id)
        .outerjoin(Account, Account.id == Chat.account_id)
        .outerjoin(OutboxRow, OutboxRow.id == IncidentNotice.outbox_id)
        .where(IncidentNotice.incident_id == incident_id)
        .order_by(Account.name, Chat.id, IncidentNotice.update_id)
    )
    groups: dict[str, dict[str, Any]] = {}
    for n in notices.all():
        key = f"{n.platform}:{n.chat}"
        group = groups.setdefault(
            key, {"chat": key, "title": n.title, "account": n.name, "told": {}}
        )
        group["told"][n.update_id] = {
            "state": n.status or "unknown",
            "at": n.sent_at,
            "attempts": n.attempts or 0,
            "error": n.last_error,
        }
    found["groups"] = list(groups.values())
    found["delivery"] = await delivery_counts(session, incident_id)
    cases = await session.execute(
        select(CaseRow.id, CaseRow.title, CaseRow.status, CaseRow.priority, Account.name)
        .join(IncidentAccount, IncidentAccount.account_id == CaseRow.account_id)
        .join(Account, Account.id == CaseRow.account_id)
        .where(
            IncidentAccount.incident_id == incident_id,
            CaseRow.status.in_(["new", "open", "waiting_on_customer", "on_hold"]),
            CaseRow.merged_into.is_(None),
        )
        .order_by(Account.name, CaseRow.id)
        .limit(1000)
    )
    linked = set(
        (
            await session.execute(
                select(IncidentCase.case_id).where(IncidentCase.incident_id == incident_id)
            )
        ).scalars()
    )
    found["open_cases"] = [
        {
            "id": c.id,
            "ref": f"#{c.id}",
            "title": c.title,
            "status": c.status,
            "priority": c.priority,
            "account": c.name,
            "linked": c.id in linked,
        }
        for c in cases.all()
    ]
    found["linked_cases"] = sorted(linked)
    return found


async def delivery_counts(session: AsyncSession, incident_id: int) -> dict[int, dict[str, int]]:
    """Per update: how many notices are sent, pending, dead (or skipped)."""
    rows = await session.execute(
        select(IncidentNotice.update_id, OutboxRow.status, func.count(IncidentNotice.id))
        .outerjoin(OutboxRow, OutboxRow.id == IncidentNotice.outbox_id)
        .where(IncidentNotice.incident_id == incident_id)
        .group_by(IncidentNotice.update_id, OutboxRow.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for update_id, status, n in rows.all():
        counts.setdefault(update_id, {})[status or "unknown"] = int(n)
    return counts


async def incidents_between(
    session: AsyncSession, since: datetime, until: datetime | None, account_id: int | None = None
) -> list[dict[str, Any]]:
    """Incidents open at any time in [since, until), for digests and reviews; with
    `account_id`, only those that affected it (with its linked cases counted)."""
    query = select(IncidentRow).where(
        (IncidentRow.resolved_at.is_(None)) | (IncidentRow.resolved_at >= since)
    )
    if until is not None:
        query = query.where(IncidentRow.started_at < until)
    if account_id is not None:
        query = query.join(
            IncidentAccount,
            and_(
                IncidentAccount.incident_id == IncidentRow.id,
                IncidentAccount.account_id == account_id,
            ),
        )
    rows = list((await session.execute(query.order_by(IncidentRow.id))).scalars())
    found = []
    for row in rows:
        item = _incident_dict(row)
        cases = select(func.count(IncidentCase.case_id)).where(IncidentCase.incident_id == row.id)
        if account_id is not None:
            cases = cases.join(CaseRow, CaseRow.id == IncidentCase.case_id).where(
                CaseRow.account_id == account_id
            )
        item["cases"] = int((await session.execute(cases)).scalar_one())
        item["accounts"] = len(await _account_names(session, row.id))
        found.append(item)
    return found


async def chat_incidents(
    session: AsyncSession, chat_id: int, since: datetime
) -> list[dict[str, Any]]:
    """What a customer's status page shows of incidents: those affecting the chat's
    account, open or resolved since `since`, with the latest update's text."""
    account = (
        await session.execute(select(Chat.account_id).where(Chat.id == chat_id))
    ).scalar_one_or_none()
    if account is None:
        return []
    found = await incidents_between(session, since, None, account)
    shown = []
    for item in found:
        latest = (
            await session.execute(
                select(IncidentUpdate.text)
                .where(IncidentUpdate.incident_id == item["id"], IncidentUpdate.kind != "start")
                .order_by(IncidentUpdate.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        shown.append(
            {
                "title": item["title"],
                "open": item["status"] == "open",
                "started_at": item["started_at"],
                "resolved_at": item["resolved_at"],
                "latest": latest or "",
            }
        )
    return shown


async def incident_summaries(
    session: AsyncSession, since: datetime, until: datetime, account_id: int | None = None
) -> list[dict[str, Any]]:
    """`incidents_between` as digests and reviews carry it: plain values, ISO times."""
    found = await incidents_between(session, since, until, account_id)
    return [
        {
            "id": i["id"],
            "ref": i["ref"],
            "title": i["title"],
            "status": i["status"],
            "started_at": iso(i["started_at"]),
            "resolved_at": iso(i["resolved_at"]),
            "accounts": i["accounts"],
            "cases": i["cases"],
        }
        for i in found
    ]
