"""The engine's unit of work over one SQLAlchemy session. Imports SQLAlchemy and `cases`.

Repositories never commit: the caller owns the transaction (and the savepoint
per event in group commit). Rows are turned into `cases.records` values, so
nothing lazy-loads after the session closes. Statements are Core, not ORM
units, because ingest runs thousands of them a second.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    and_,
    bindparam,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import Actor, ChatKey, ChatKind, MessageRole, Outbound, Role, Status
from cases.records import (
    AccountInfo,
    BoardLine,
    CaseRecord,
    ChatInfo,
    FollowUpRecord,
    Joined,
    MessageRecord,
    PersonInfo,
)
from storage.fastpath import FastStatement, raw_sqlite
from storage.incidents import IncidentStore
from storage.issues import IssueStore
from storage.knowledge import KnowledgeQueries
from storage.models import (
    Account,
    Anchor,
    CaseEvent,
    CaseRow,
    Chat,
    FollowUp,
    LoginToken,
    MessageEdit,
    MessageRow,
    OutboxRow,
    Person,
    ProcessedEvent,
)
from storage.outbox import choices as outbox_choices
from storage.outbox import outbox_values

# Core tables, not ORM entities: ORM-enabled statements cost several times more per call
accounts_t = cast(Table, Account.__table__)
anchors_t = cast(Table, Anchor.__table__)
events_t = cast(Table, CaseEvent.__table__)
cases_t = cast(Table, CaseRow.__table__)
chats_t = cast(Table, Chat.__table__)
followups_t = cast(Table, FollowUp.__table__)
login_t = cast(Table, LoginToken.__table__)
edits_t = cast(Table, MessageEdit.__table__)
messages_t = cast(Table, MessageRow.__table__)
outbox_t = cast(Table, OutboxRow.__table__)
people_t = cast(Table, Person.__table__)
processed_t = cast(Table, ProcessedEvent.__table__)
_CASE_FIELDS = [c.key for c in cases_t.columns]
_CASE_FIELD_SET = frozenset(_CASE_FIELDS)
# the columns save_case compares as JSON text, and those it compares as they are
_JSON_FIELDS = ("sla", "tags", "fields", "questions")
_JSON_INDEX = [(k, _CASE_FIELDS.index(k)) for k in _JSON_FIELDS]
_PLAIN_FIELDS = [
    k for k in _CASE_FIELDS if k not in ("id", "status", "sla", "tags", "fields", "questions")
]
_plain_values = attrgetter(*_PLAIN_FIELDS)
_raw_json = itemgetter(*(i for _, i in _JSON_INDEX))
# the order of save_case's snapshots (`_comparable`)
_SNAPSHOT_FIELDS = (*_PLAIN_FIELDS, "status", *_JSON_FIELDS)
_SNAPSHOT_INDEX = {k: i for i, k in enumerate(_SNAPSHOT_FIELDS)}


class Caches:
    """Per-process caches of facts that change rarely: chats and people's roles.

    Only values read from committed rows enter; a write drops the entry, so a
    rolled-back savepoint never leaves a phantom behind.
    """

    def __init__(self) -> None:
        self.chats: dict[tuple[str, str], ChatInfo] = {}
        self.chats_by_id: dict[int, ChatInfo] = {}
        self.roles: dict[str, Role] = {}
        self.people_seen: set[tuple[str, str, str | None]] = set()

    def forget_chat(self, key: tuple[str, str]) -> None:
        info = self.chats.pop(key, None)
        if info is not None:
            self.chats_by_id.pop(info.id, None)

    def clear(self) -> None:
        self.chats.clear()
        self.chats_by_id.clear()
        self.roles.clear()
        self.people_seen.clear()


def account_info(row: Any) -> AccountInfo:
    return AccountInfo(
        id=row.id,
        name=row.name,
        tier=row.tier,
        locale=row.locale,
        intake=row.intake,
        acknowledge=row.acknowledge,
        topics=row.topics,
        owner=row.owner,
        backup=row.backup,
    )


async def all_accounts(session: AsyncSession) -> list[AccountInfo]:
    rows = (await session.execute(select(accounts_t).order_by(accounts_t.c.name))).all()
    return [account_info(r) for r in rows]


def case_record(row: Any) -> CaseRecord:
    as_dict = getattr(row, "_asdict", None)  # a row; else an ORM CaseRow
    values = as_dict() if as_dict is not None else {}
    if values.keys() != _CASE_FIELD_SET:  # also a row with more than the case's columns
        values = {k: getattr(row, k) for k in _CASE_FIELDS}
    values["status"] = Status(values["status"])
    values["sla"] = dict(values["sla"] or {})
    values["tags"] = list(values["tags"] or [])
    values["fields"] = dict(values["fields"] or {})
    values["questions"] = dict(values["questions"] or {})
    return CaseRecord(**values)


def _comparable(case: CaseRecord, raw: Sequence[Any] | None = None) -> tuple[Any, ...]:
    """A case's columns (`_SNAPSHOT_FIELDS`) in a form that does not change with the
    case: what save_case compares with to write only what changed. The JSON columns as
    JSON text, so a change deep inside one shows (`sla["clocks"]` is changed in place):
    `raw`, the row as SQLite gave it, has that text already (SQLAlchemy wrote it with
    json.dumps, and a dict read back dumps to the same text); a key order changed, or a
    NULL read back as {}, at worst writes a column unchanged."""
    if raw is not None:
        texts = _raw_json(raw)
    else:
        texts = (
            _json_text(case.sla),
            _json_text(case.tags),
            _json_text(case.fields),
            _json_text(case.questions),
        )
    return (*_plain_values(case), case.status.value, *texts)


def _json_text(value: Any) -> str:
    """json.dumps, with the empty values most cases hold made without the encoder."""
    if not value and type(value) is dict:
        return "{}"
    if not value and type(value) is list:
        return "[]"
    return json.dumps(value)


def case_values(case: CaseRecord) -> dict[str, Any]:
    """A case's columns as written (the statement serialises them at once)."""
    values = dict(zip(_PLAIN_FIELDS, _plain_values(case), strict=True))
    values["status"] = case.status.value
    for name, _ in _JSON_INDEX:
        values[name] = getattr(case, name)
    return values


def _person_info(row: Row[Any]) -> PersonInfo:
    """Any key of a staff person answers as that person: their key and their name."""
    return PersonInfo(
        key=row.person or row.key,
        name=row.person_name or row.name or row.key,
        role=row.role,
        username=row.username,
    )


def message_record(row: Row[Any] | Any) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        chat_id=row.chat_id,
        platform_message_id=row.platform_message_id,
        sender=row.sender,
        sender_name=row.sender_name,
        role=MessageRole(row.role),
        text=row.text,
        at=row.at,
        thread=row.thread,
        reply_to=row.reply_to,
        internal=row.internal,
        case_id=row.case_id,
        attachments=list(row.attachments or []),
        joined=Joined(row.joined) if row.joined else None,
    )


def followup_record(row: Any) -> FollowUpRecord:
    return FollowUpRecord(
        id=row.id,
        case_id=row.case_id,
        owner=row.owner,
        text=row.text,
        due_at=row.due_at,
        created_by=row.created_by,
        created_at=row.created_at,
        done_at=row.done_at,
        nudged_at=row.nudged_at,
        escalated_at=row.escalated_at,
    )


def _bp(table: Any, name: str, key: str | None = None) -> Any:
    return bindparam(key or name, type_=table.c[name].type)


class _Statements:
    """Statements built once per dialect and run with parameters: building a
    statement costs more than running it (see bench/ingest.py)."""

    def __init__(self, dialect: str) -> None:
        # ON CONFLICT statements of the dialects are not cacheable in SQLAlchemy 2.0, so
        # each run would compile anew (about a millisecond); text() is compiled once
        self.claim = text(
            "INSERT INTO processed_events (platform, event_id) VALUES (:platform, :event_id)"
            " ON CONFLICT DO NOTHING"
        ).bindparams(_bp(processed_t, "platform"), _bp(processed_t, "event_id"))
        self.message_fields = [c.key for c in messages_t.columns if c.key != "id"]
        self.add_message = (
            text(
                f"INSERT INTO messages ({', '.join(self.message_fields)})"
                f" VALUES ({', '.join(':' + k for k in self.message_fields)})"
                " ON CONFLICT (chat_id, platform_message_id) DO NOTHING RETURNING id"
            )
            .bindparams(*(_bp(messages_t, k) for k in self.message_fields))
            .columns(id=Integer)
        )
        self.message = select(messages_t).where(
            messages_t.c.chat_id == bindparam("chat_id"),
            messages_t.c.platform_message_id == bindparam("pmid"),
        )
        self.case = select(cases_t).where(cases_t.c.id == bindparam("_id"))
        # a message with its case in one statement (SQLite only: SqlUnitOfWork.message)
        self.message_with_case = (
            select(messages_t, cases_t)
            .select_from(messages_t.outerjoin(cases_t, cases_t.c.id == messages_t.c.case_id))
            .where(
                messages_t.c.chat_id == bindparam("chat_id"),
                messages_t.c.platform_message_id == bindparam("pmid"),
            )
        )
        self.case_by_thread = (
            select(cases_t)
            .where(
                cases_t.c.chat_id == bindparam("chat_id"),
                cases_t.c.thread == bindparam("thread"),
                cases_t.c.merged_into.is_(None),
            )
            .order_by(cases_t.c.id.desc())
            .limit(1)
        )
        if dialect == "postgresql":
            # a case read to be changed is locked until commit: another process's
            # sweeper (SKIP LOCKED) passes it by instead of recording a reminder that
            # this transaction's write of the `sla` column would then erase, so the
            # reminder fired twice. SQLite's write transactions are serial already.
            self.case = self.case.with_for_update()
            self.case_by_thread = self.case_by_thread.with_for_update()
        self.save_case = (
            update(cases_t)
            .where(cases_t.c.id == bindparam("_id"))
            .values({k: _bp(cases_t, k) for k in _CASE_FIELDS if k != "id"})
        )
        self.new_case = (
            insert(cases_t)
            .values({k: _bp(cases_t, k) for k in _CASE_FIELDS if k != "id"})
            .returning(cases_t.c.id)
        )
        self.link = (
            update(messages_t)
            .where(messages_t.c.id == bindparam("_id"))
            .values(case_id=bindparam("case_id"), joined=bindparam("joined"))
        )
        self.event = insert(events_t).values(
            {k: _bp(events_t, k) for k in ("case_id", "type", "at", "actor", "data")}
        )
        self.outbox_fields = [c.key for c in outbox_t.columns if c.key != "id"]
        self.enqueue = insert(outbox_t).values({k: _bp(outbox_t, k) for k in self.outbox_fields})
        # a literal list, not an expanding IN, so the fast path can run it as compiled
        active = ", ".join(f"'{st.value}'" for st in Status if st.is_active)
        self.open_cases = (
            select(cases_t)
            .where(cases_t.c.chat_id == bindparam("chat_id"), text(f"cases.status IN ({active})"))
            .order_by(cases_t.c.id)
        )
        self.board_lines = (
            select(
                cases_t.c.id,
                cases_t.c.title,
                cases_t.c.status,
                cases_t.c.assignee,
                # a scalar subquery, run once: a window over the rows made SQLite
                # read and sort every open case before the limit (294 against 89 us
                # at 180 open)
                select(func.count())
                .select_from(cases_t)
                .where(
                    cases_t.c.chat_id == bindparam("chat_id"),
                    text(f"cases.status IN ({active})"),
                )
                .scalar_subquery()
                .label("total"),
            )
            .where(cases_t.c.chat_id == bindparam("chat_id"), text(f"cases.status IN ({active})"))
            .order_by(cases_t.c.id)
            .limit(bindparam("limit"))
        )
        self.person = select(people_t).where(people_t.c.key == bindparam("key"))
        self.role = select(people_t.c.role).where(people_t.c.key == bindparam("key"))
        person_fields = ("key", "platform", "user_id", "name", "username", "role")
        # another process may insert the same new person at the same moment
        self.add_person = text(
            f"INSERT INTO people ({', '.join(person_fields)})"
            f" VALUES ({', '.join(':' + k for k in person_fields)})"
            " ON CONFLICT (key) DO NOTHING"
        ).bindparams(*(_bp(people_t, k) for k in person_fields))
        self.rename_person = (
            update(people_t)
            .where(people_t.c.key == bindparam("_key"))
            .values(name=bindparam("name"), username=bindparam("username"))
        )
        self._last: dict[tuple[bool, bool, bool], Any] = {}
        self._by_key: dict[tuple[str, ...], Any] = {}

    def cases_opened(self, in_chat: bool, by_person: bool) -> Any:
        key = ("cases_opened", str(in_chat), str(by_person))
        if key not in self._by_key:
            query = select(func.count(cases_t.c.id), func.max(cases_t.c.id)).where(
                cases_t.c.created_at >= _bp(cases_t, "created_at", "since")
            )
            if in_chat:
                query = query.where(cases_t.c.chat_id == bindparam("chat_id"))
            if by_person:
                query = query.where(cases_t.c.opened_by == bindparam("opened_by"))
            self._by_key[key] = query
        return self._by_key[key]

    def save_case_columns(self, columns: tuple[str, ...], json_text: bool = False) -> Any:
        """The update of these columns; `json_text`: the JSON columns given as their
        JSON text (SQLite stores that text as it is)."""
        key = ("save_case", str(json_text)) + columns
        if key not in self._by_key:
            self._by_key[key] = (
                update(cases_t)
                .where(cases_t.c.id == bindparam("_id"))
                .values(
                    {
                        k: bindparam(k, type_=String())
                        if json_text and k in _JSON_FIELDS
                        else _bp(cases_t, k)
                        for k in columns
                    }
                )
            )
        return self._by_key[key]

    def last_message(self, thread: bool, sender: bool, with_case: bool) -> Any:
        key = (thread, sender, with_case)
        if key not in self._last:
            conditions = [
                messages_t.c.chat_id == bindparam("chat_id"),
                messages_t.c.at >= _bp(messages_t, "at", "since"),
                messages_t.c.thread == bindparam("thread")
                if thread
                else messages_t.c.thread.is_(None),
                messages_t.c.internal.is_(False),
            ]
            if sender:
                conditions.append(messages_t.c.sender == bindparam("sender"))
            if with_case:
                conditions.append(messages_t.c.case_id.is_not(None))
            self._last[key] = (
                select(messages_t)
                .where(and_(*conditions))
                .order_by(messages_t.c.at.desc(), messages_t.c.id.desc())
                .limit(1)
            )
        return self._last[key]


_STATEMENTS: dict[str, _Statements] = {}
_COMPILED: dict[int, FastStatement] = {}


class _FastResult:
    """The parts of SQLAlchemy's Result that the unit of work uses; `raw` has the rows
    as SQLite gave them."""

    __slots__ = ("rowcount", "raw", "_rows")

    def __init__(self, statement: FastStatement, cursor: sqlite3.Cursor) -> None:
        self.rowcount = cursor.rowcount
        if cursor.description is None:  # a write without RETURNING
            self.raw = self._rows = []
            return
        self.raw = raw = cursor.fetchall()
        self._rows = statement.rows(raw) if raw else []

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return self._rows

    def scalar_one_or_none(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]


def statements(session: AsyncSession) -> _Statements:
    dialect = session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        _STATEMENTS[dialect] = _Statements(dialect)
    return _STATEMENTS[dialect]


class SqlUnitOfWork(IncidentStore, IssueStore, KnowledgeQueries):
    """`cases.ports.UnitOfWork` over one AsyncSession."""

    def __init__(self, session: AsyncSession, caches: Caches | None = None) -> None:
        self.session = session
        self.caches = caches or Caches()
        self.sql = statements(session)
        self._snapshots: dict[int, tuple[Any, ...]] = {}
        self._raw: sqlite3.Connection | None = None
        self._raw_checked = False
        # event keys claimed with the batch (claim_events): True if this claimed it
        self._claims: dict[tuple[str, str], bool] = {}
        self._open_incidents = {}
        # the case read with the last message (`message`), and the connection's count of
        # changed rows then: `case` answers from it if nothing was written since
        self._prefetched: tuple[int, Any, Sequence[Any], int] | None = None
        # audit events not written yet (buffered_events), as the statement's parameters
        self._event_rows: list[Sequence[Any]] | None = None

    def _fast(self, statement: Any) -> FastStatement:
        compiled = _COMPILED.get(id(statement))
        if compiled is None:
            compiled = _COMPILED[id(statement)] = FastStatement(
                statement, self.session.get_bind().dialect
            )
        return compiled

    async def _inline(self) -> sqlite3.Connection | None:
        """The session's inline SQLite connection (storage.fastpath), or None; asked
        once per unit of work."""
        if not self._raw_checked:
            self._raw, self._raw_checked = await raw_sqlite(self.session), True
        return self._raw

    async def _exec(self, statement: Any, params: dict[str, Any]) -> Any:
        """Run a prebuilt statement: straight on SQLite's connection when inline
        (see storage.fastpath), else through the session."""
        if not self._raw_checked:
            self._raw, self._raw_checked = await raw_sqlite(self.session), True
        if self._raw is None:
            return await self.session.execute(statement, params)
        compiled = _COMPILED.get(id(statement)) or self._fast(statement)
        self._prefetched = None
        if self._event_rows and compiled.touches_events:
            self.flush_events()
        return _FastResult(compiled, self._raw.execute(compiled.sql, compiled.params(params)))

    @contextlib.asynccontextmanager
    async def buffered_events(self) -> AsyncIterator[None]:
        """On inline SQLite, hold the audit events (`add_event`) and write them in one
        statement (`flush_events`): before any statement that names case_events, before
        any statement through the session, and at the end of the block, which must then
        flush them itself to see a failure as its own. Elsewhere it does nothing. Only
        for a transaction without savepoints: events held across a savepoint's rollback
        would be written after it."""
        if await self._inline() is None:
            yield
            return
        connection = (await self.session.connection()).sync_connection

        def before_statement(*_: Any) -> None:
            self.flush_events()

        event.listen(connection, "before_cursor_execute", before_statement)
        self._event_rows = []
        try:
            yield
        finally:
            self._event_rows = None
            event.remove(connection, "before_cursor_execute", before_statement)

    def flush_events(self) -> None:
        """Write the audit events held by `buffered_events`, in the order they came."""
        rows = self._event_rows
        if rows and self._raw is not None:
            self._raw.executemany(self._fast(self.sql.event).sql, rows)
            rows.clear()

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """One event's savepoint: raw on inline SQLite, the session's elsewhere."""
        raw = await self._inline()
        self._prefetched = None
        if raw is None:  # nothing is remembered across statements there (IncidentStore)
            async with self.session.begin_nested():
                yield
            return
        raw.execute("SAVEPOINT casebot_event")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK TO casebot_event")
            raw.execute("RELEASE casebot_event")
            self._open_incidents.clear()  # it may have read what was rolled back
            self._prefetched = None
            raise
        raw.execute("RELEASE casebot_event")
        self._prefetched = None

    # --------------------------------------------------------------- events

    async def claim_event(self, platform: str, event_id: str) -> bool:
        claimed = self._claims.pop((platform, event_id), None)
        if claimed is not None:  # claimed with its batch (claim_events)
            return claimed
        # ON CONFLICT DO NOTHING costs one statement; a savepoint would cost three
        result = await self._exec(self.sql.claim, {"platform": platform, "event_id": event_id})
        return bool(result.rowcount)

    async def claim_events(self, keys: Sequence[tuple[str, str]]) -> None:
        """On inline SQLite, claim a batch's events in one statement per 400 instead of
        one each; each `claim_event` of them then answers from what this found (a key
        given twice is claimed by its first `claim_event`, the second finds it taken).
        Elsewhere it does nothing. Only for a transaction without savepoints: a
        rolled-back savepoint would keep the claims made before it."""
        raw = await self._inline()
        if raw is None:
            return
        unique = sorted(set(keys))
        for i in range(0, len(unique), 400):
            chunk = unique[i : i + 400]
            values = ", ".join(["(?, ?)"] * len(chunk))
            inserted = raw.execute(
                f"INSERT INTO processed_events (platform, event_id) VALUES {values}"
                " ON CONFLICT DO NOTHING RETURNING platform, event_id",
                [v for key in chunk for v in key],
            ).fetchall()
            self._claims.update(dict.fromkeys(chunk, False))
            self._claims.update(dict.fromkeys(((p, e) for p, e in inserted), True))

    def unused_claims(self) -> bool:
        """Whether a key claimed by `claim_events` was not asked for by `claim_event`."""
        return any(self._claims.values())

    # ---------------------------------------------------------------- chats

    async def _chat_info(self, row: Any) -> ChatInfo:
        account = None
        if row.account_id is not None:
            acc = (
                await self.session.execute(
                    select(accounts_t).where(accounts_t.c.id == row.account_id)
                )
            ).first()
            account = account_info(acc) if acc else None
        return ChatInfo(
            id=row.id,
            key=ChatKey(row.platform, row.chat),
            kind=ChatKind(row.kind),
            account=account,
            title=row.title,
            status_token=row.status_token,
        )

    async def chat(self, key: ChatKey) -> ChatInfo | None:
        cache_key = (key.platform, key.chat)
        cached = self.caches.chats.get(cache_key)
        if cached is not None:
            return cached
        row = (
            await self.session.execute(
                select(chats_t).where(
                    chats_t.c.platform == key.platform, chats_t.c.chat == key.chat
                )
            )
        ).first()
        if row is None:
            return None
        info = await self._chat_info(row)
        self.caches.chats[cache_key] = info
        self.caches.chats_by_id[info.id] = info
        return info

    async def chat_by_id(self, chat_id: int) -> ChatInfo | None:
        cached = self.caches.chats_by_id.get(chat_id)
        if cached is not None:
            return cached
        row = (await self.session.execute(select(chats_t).where(chats_t.c.id == chat_id))).first()
        if row is None:
            return None
        info = await self._chat_info(row)
        self.caches.chats_by_id[chat_id] = info
        return info

    async def register_chat(self, key: ChatKey, kind: ChatKind, title: str | None) -> ChatInfo:
        existing = await self.chat(key)
        if existing is not None:
            return existing
        result = await self.session.execute(
            insert(chats_t)
            .values(
                platform=key.platform,
                chat=key.chat,
                kind=kind.value,
                title=title,
                status_token=secrets.token_urlsafe(24),
            )
            .returning(chats_t.c.id)
        )
        return ChatInfo(id=result.scalar_one(), key=key, kind=kind, title=title)

    async def retitle_chat(self, chat: ChatInfo, title: str) -> ChatInfo:
        await self.session.execute(
            update(chats_t).where(chats_t.c.id == chat.id).values(title=title)
        )
        # read again after commit: a rolled-back rename must not linger in the cache
        self.caches.forget_chat((chat.key.platform, chat.key.chat))
        return replace(chat, title=title)

    async def migrate_chat(self, old: ChatKey, new_chat: str) -> None:
        clash = await self.chat(ChatKey(old.platform, new_chat))
        if clash is not None:
            return
        info = await self.chat(old)
        if info is None:
            return
        await self.session.execute(
            update(chats_t)
            .where(chats_t.c.id == info.id)
            .values(chat=new_chat, previous_chat=old.chat)
        )
        # the new chat numbers its messages from 1 again: retire the old ids so they
        # neither clash with new ones nor catch replies meant for new messages
        await self.session.execute(
            update(messages_t)
            .where(messages_t.c.chat_id == info.id, messages_t.c.platform_message_id.is_not(None))
            .values(platform_message_id=f"{old.chat}/" + messages_t.c.platform_message_id)
        )
        # what the bot pinned or edits in place lives in the old chat
        await self.session.execute(
            delete(anchors_t).where(
                anchors_t.c.platform == old.platform, anchors_t.c.chat == old.chat
            )
        )
        self.caches.forget_chat((old.platform, old.chat))
        self.caches.forget_chat((old.platform, new_chat))

    # --------------------------------------------------------------- people

    async def role_of(self, person: str) -> Role:
        cached = self.caches.roles.get(person)
        if cached is not None:
            return cached
        role = (await self._exec(self.sql.role, {"key": person})).scalar_one_or_none()
        value = Role(role) if role else Role.CUSTOMER
        self.caches.roles[person] = value
        return value

    async def remember_person(self, actor: Actor) -> None:
        seen = (actor.key, actor.name, actor.username)
        if seen in self.caches.people_seen:
            return
        existing = (await self._exec(self.sql.person, {"key": actor.key})).first()
        if existing is None:
            await self._exec(
                self.sql.add_person,
                {
                    "key": actor.key,
                    "platform": actor.platform,
                    "user_id": actor.user_id,
                    "name": actor.name,
                    "username": actor.username,
                    "role": Role.CUSTOMER.value,
                },
            )
        elif existing.name != actor.name or existing.username != actor.username:
            await self._exec(
                self.sql.rename_person,
                {
                    "_key": actor.key,
                    "name": actor.name or existing.name,
                    "username": actor.username or existing.username,
                },
            )
        self.caches.people_seen.add(seen)

    async def remember_direct_chat(self, person: str, chat: str) -> None:
        await self.session.execute(
            update(people_t)
            .where(
                people_t.c.key == person,
                or_(people_t.c.direct_chat.is_(None), people_t.c.direct_chat != chat),
            )
            .values(direct_chat=chat)
        )

    async def person(self, key: str) -> PersonInfo | None:
        row = (await self.session.execute(select(people_t).where(people_t.c.key == key))).first()
        return _person_info(row) if row is not None else None

    async def find_person(self, platform: str, username: str) -> PersonInfo | None:
        """The person with this username on `platform`; else the staff person of that
        name, or with that username on another of their platforms. Staff first: an
        @name in a command means a colleague rather than a customer of the same name."""
        lowered = username.lower()
        rows = (
            await self.session.execute(
                select(people_t).where(
                    (func.lower(people_t.c.username) == lowered)
                    & ((people_t.c.platform == platform) | people_t.c.person.is_not(None))
                    | (func.lower(people_t.c.person_name) == lowered)
                )
            )
        ).all()
        if not rows:
            return None
        best = min(
            rows,
            key=lambda r: (
                r.role == Role.CUSTOMER.value,
                not (r.platform == platform and (r.username or "").lower() == lowered),
                (r.person_name or "").lower() != lowered,
                r.id,
            ),
        )
        return _person_info(best)

    async def identities(self, person: str) -> Sequence[str]:
        found = (
            await self.session.execute(
                select(people_t.c.key).where(people_t.c.person == person).order_by(people_t.c.id)
            )
        ).scalars()
        others = [k for k in found if k != person]
        return (person, *others)

    # ------------------------------------------------------------- messages

    async def add_message(self, message: MessageRecord) -> MessageRecord | None:
        """Store a message; None if this chat already has one with that platform id
        (a platform re-sent it under a new event id)."""
        values = {
            "chat_id": message.chat_id,
            "platform_message_id": message.platform_message_id,
            "thread": message.thread,
            "reply_to": message.reply_to,
            "sender": message.sender,
            "sender_name": message.sender_name,
            "role": message.role.value,
            "text": message.text,
            "at": message.at,
            "edited_at": None,
            "internal": message.internal,
            "case_id": message.case_id,
            "attachments": message.attachments or None,
            "joined": message.joined.value if message.joined else None,
        }
        result = await self._exec(self.sql.add_message, values)
        new_id = result.scalar_one_or_none()
        if new_id is None:
            return None
        message.id = new_id
        return message

    async def message(self, chat_id: int, platform_message_id: str) -> MessageRecord | None:
        params = {"chat_id": chat_id, "pmid": platform_message_id}
        raw = await self._inline()
        if raw is None:
            row = (await self._exec(self.sql.message, params)).first()
            return message_record(row) if row else None
        # on SQLite its case comes along: a reply's case is what is read next (the
        # attach rule), and a statement costs more in Python than the join in SQLite
        result = await self._exec(self.sql.message_with_case, params)
        if not result.raw:
            return None
        values = tuple(result.all()[0])
        width = len(messages_t.columns)
        message = message_record(self._fast(self.sql.message)._make(values[:width]))
        if message.case_id is not None and values[width] is not None:
            case_row = self._fast(self.sql.case)._make(values[width:])
            raw_case = result.raw[0][width:]
            self._prefetched = (message.case_id, case_row, raw_case, raw.total_changes)
        return message

    async def edit_message(self, message: MessageRecord, text: str, at: datetime) -> None:
        assert message.id is not None
        await self.session.execute(
            insert(edits_t).values(message_id=message.id, text=message.text, replaced_at=at)
        )
        await self.session.execute(
            update(messages_t).where(messages_t.c.id == message.id).values(text=text, edited_at=at)
        )
        message.text = text

    async def link_message(self, message_id: int, case_id: int | None, joined: Joined) -> None:
        await self._exec(
            self.sql.link, {"_id": message_id, "case_id": case_id, "joined": joined.value}
        )

    async def last_message(
        self,
        chat_id: int,
        thread: str | None,
        since: datetime,
        sender: str | None = None,
        with_case: bool = True,
    ) -> MessageRecord | None:
        stmt = self.sql.last_message(thread is not None, sender is not None, with_case)
        params: dict[str, Any] = {"chat_id": chat_id, "since": since}
        if thread is not None:
            params["thread"] = thread
        if sender is not None:
            params["sender"] = sender
        row = (await self._exec(stmt, params)).first()
        return message_record(row) if row else None

    async def untracked_messages(
        self, chat_id: int, thread: str | None, since: datetime, sender: str | None, limit: int
    ) -> Sequence[MessageRecord]:
        conditions = [
            messages_t.c.chat_id == chat_id,
            messages_t.c.at >= since,
            messages_t.c.case_id.is_(None),
            messages_t.c.internal.is_(False),
            messages_t.c.thread.is_(None) if thread is None else messages_t.c.thread == thread,
        ]
        if sender is not None:
            conditions.append(messages_t.c.sender == sender)
        rows = (
            await self.session.execute(
                select(messages_t)
                .where(and_(*conditions))
                .order_by(messages_t.c.at.desc(), messages_t.c.id.desc())
                .limit(limit)
            )
        ).all()
        return [message_record(r) for r in reversed(rows)]

    async def case_messages(self, case_id: int) -> Sequence[MessageRecord]:
        rows = (
            await self.session.execute(
                select(messages_t)
                .where(messages_t.c.case_id == case_id)
                .order_by(messages_t.c.at, messages_t.c.id)
            )
        ).all()
        return [message_record(r) for r in rows]

    # ---------------------------------------------------------------- cases

    def _loaded(self, case: CaseRecord, raw: Sequence[Any] | None = None) -> CaseRecord:
        """Remember a case as read (`raw`: its row as SQLite gave it), so save_case
        writes only what changed."""
        assert case.id is not None
        self._snapshots[case.id] = _comparable(case, raw)
        return case

    async def _cases(self, statement: Any, params: dict[str, Any]) -> list[CaseRecord]:
        result = await self._exec(statement, params)
        raw = getattr(result, "raw", None)  # none through the session
        rows = result.all()
        return [
            self._loaded(case_record(row), raw[i] if raw is not None else None)
            for i, row in enumerate(rows)
        ]

    async def new_case(self, case: CaseRecord) -> CaseRecord:
        result = await self._exec(self.sql.new_case, case_values(case))
        case.id = result.scalar_one()
        return self._loaded(case)

    async def save_case(self, case: CaseRecord) -> None:
        # only changed columns: SQLite rewrites every index whose columns are SET
        assert case.id is not None
        now = _comparable(case)
        before = self._snapshots.get(case.id)
        if before is None:
            changed = sorted(_SNAPSHOT_FIELDS)
        elif now == before:
            return
        else:
            changed = sorted(
                k for k, v, was in zip(_SNAPSHOT_FIELDS, now, before, strict=True) if v != was
            )
        if self._raw is not None:
            # the JSON text just compared is what SQLAlchemy's JSON type would write
            # (json.dumps): no second encoding of it
            statement = self.sql.save_case_columns(tuple(changed), json_text=True)
            params = {k: now[_SNAPSHOT_INDEX[k]] for k in changed}
        else:
            statement = self.sql.save_case_columns(tuple(changed))
            values = case_values(case)
            params = {k: values[k] for k in changed}
        params["_id"] = case.id
        await self._exec(statement, params)
        self._snapshots[case.id] = now

    async def case(self, case_id: int) -> CaseRecord | None:
        prefetched, self._prefetched = self._prefetched, None
        if (
            prefetched is not None
            and prefetched[0] == case_id
            and self._raw is not None
            and self._raw.total_changes == prefetched[3]
        ):
            return self._loaded(case_record(prefetched[1]), prefetched[2])
        found = await self._cases(self.sql.case, {"_id": case_id})
        return found[0] if found else None

    async def case_by_thread(self, chat_id: int, thread: str) -> CaseRecord | None:
        found = await self._cases(self.sql.case_by_thread, {"chat_id": chat_id, "thread": thread})
        return found[0] if found else None

    async def open_cases(self, chat_id: int) -> Sequence[CaseRecord]:
        return await self._cases(self.sql.open_cases, {"chat_id": chat_id})

    async def board_lines(self, chat_id: int, limit: int) -> tuple[Sequence[BoardLine], int]:
        rows = (await self._exec(self.sql.board_lines, {"chat_id": chat_id, "limit": limit})).all()
        lines = [BoardLine(i, title, Status(status), who) for i, title, status, who, _ in rows]
        return lines, int(rows[0][4]) if rows else 0

    async def cases_opened(
        self, chat_id: int | None, since: datetime, opened_by: str | None
    ) -> tuple[int, int | None]:
        params: dict[str, Any] = {"since": since}
        if chat_id is not None:
            params["chat_id"] = chat_id
        if opened_by is not None:
            params["opened_by"] = opened_by
        statement = self.sql.cases_opened(chat_id is not None, opened_by is not None)
        count, latest = (await self._exec(statement, params)).first()
        return int(count), latest

    async def has_event(self, case_id: int, type: str, since: datetime) -> bool:
        found = await self.session.execute(
            select(events_t.c.id)
            .where(events_t.c.case_id == case_id, events_t.c.type == type, events_t.c.at >= since)
            .limit(1)
        )
        return found.first() is not None

    async def add_event(
        self, case_id: int, type: str, at: datetime, actor: str | None, data: dict[str, Any]
    ) -> None:
        values = {"case_id": case_id, "type": type, "at": at, "actor": actor, "data": data}
        if self._event_rows is not None:
            self._event_rows.append(self._fast(self.sql.event).params(values))
            return
        await self._exec(self.sql.event, values)

    # --------------------------------------------------------------- outbox

    async def enqueue(self, action: Outbound, at: datetime) -> None:
        values = outbox_values(action, at)
        await self._exec(self.sql.enqueue, {k: values.get(k) for k in self.sql.outbox_fields})

    async def choices(self, platform: str, chat: str, message_id: str) -> Sequence[str]:
        return await outbox_choices(self.session, platform, chat, message_id)

    # ------------------------------------------------------------ follow-ups

    async def add_followup(self, followup: FollowUpRecord) -> FollowUpRecord:
        result = await self.session.execute(
            insert(followups_t)
            .values(
                case_id=followup.case_id,
                owner=followup.owner,
                text=followup.text,
                due_at=followup.due_at,
                created_by=followup.created_by,
                created_at=followup.created_at,
            )
            .returning(followups_t.c.id)
        )
        followup.id = result.scalar_one()
        return followup

    async def followups(self, case_id: int, pending_only: bool = True) -> Sequence[FollowUpRecord]:
        query = select(followups_t).where(followups_t.c.case_id == case_id)
        if pending_only:
            query = query.where(followups_t.c.done_at.is_(None))
        rows = (await self.session.execute(query.order_by(followups_t.c.due_at))).all()
        return [followup_record(r) for r in rows]

    async def save_followup(self, followup: FollowUpRecord) -> None:
        await self.session.execute(
            update(followups_t)
            .where(followups_t.c.id == followup.id)
            .values(
                done_at=followup.done_at,
                nudged_at=followup.nudged_at,
                escalated_at=followup.escalated_at,
                due_at=followup.due_at,
            )
        )

    # ---------------------------------------------------------------- login

    async def add_login_token(
        self, person: str, token_hash: str, at: datetime, expires_at: datetime
    ) -> None:
        await self.session.execute(
            insert(login_t).values(
                token_hash=token_hash, person=person, created_at=at, expires_at=expires_at
            )
        )
