"""Who is who: accounts, their chats and staff roles, synced from config at start.

Imports SQLAlchemy and `cases`. The config file is the source of truth for
accounts and staff; chats the bot merely saw stay registered as unknown.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import ChatKey, ChatKind, Role
from storage.db import STARTUP_LOCK
from storage.models import Account, Chat, Person


@dataclass(frozen=True)
class AccountSpec:
    name: str
    tier: str = "standard"
    locale: str = "en"
    intake: str = "tag"
    acknowledge: bool = True
    topics: str = "off"
    owner: str | None = None
    backup: str | None = None
    chats: tuple[ChatKey, ...] = ()


@dataclass(frozen=True)
class PersonSpec:
    """One staff person known under several platform keys; `ids[0]` is the key they
    are recorded under. Every key of theirs means them: `SqlUnitOfWork.person` answers
    any of them with this key and name."""

    name: str
    ids: tuple[str, ...]


async def sync_directory(
    session: AsyncSession,
    accounts: Sequence[AccountSpec],
    staff: Mapping[str, Role],
    names: Mapping[str, str],
    triage: ChatKey | None,
    now: datetime,
    people: Sequence[PersonSpec] = (),
) -> None:
    """Make the database's accounts, chats, staff and staff people match the config.
    `staff` holds the role of every staff key, each id of a person included. No commit."""
    if session.get_bind().dialect.name == "postgresql":
        # several processes starting at once on one database (scale-out) would otherwise
        # race to insert the same accounts and chats; the lock is released at commit
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STARTUP_LOCK})
    for spec in accounts:
        account = (
            await session.execute(select(Account).where(Account.name == spec.name))
        ).scalar_one_or_none()
        if account is None:
            account = Account(name=spec.name)
            session.add(account)
        account.tier, account.locale, account.intake = spec.tier, spec.locale, spec.intake
        account.acknowledge, account.topics = spec.acknowledge, spec.topics
        account.owner, account.backup = spec.owner, spec.backup
        await session.flush()
        for key in spec.chats:
            await _upsert_chat(session, key, ChatKind.CUSTOMER, account.id, now)
    if triage is not None:
        await _upsert_chat(session, triage, ChatKind.TRIAGE, None, now)
    configured = {k for spec in accounts for k in spec.chats}
    if triage is not None:
        configured.add(triage)
    for chat in (await session.execute(select(Chat))).scalars():
        known = {ChatKey(chat.platform, chat.chat)}
        if chat.previous_chat:
            known.add(ChatKey(chat.platform, chat.previous_chat))
        if not known & configured and chat.kind != "unknown":
            chat.kind, chat.account_id = ChatKind.UNKNOWN.value, None
    await session.execute(
        update(Person)
        .where(Person.role != Role.CUSTOMER.value, Person.key.not_in(list(staff)))
        .values(role=Role.CUSTOMER.value)
    )
    belongs = {key: spec for spec in people for key in spec.ids}
    await session.execute(
        update(Person)
        .where(Person.person.is_not(None), Person.key.not_in(list(belongs)))
        .values(person=None, person_name=None)
    )
    for person_key in {**staff, **belongs}:
        person = (
            await session.execute(select(Person).where(Person.key == person_key))
        ).scalar_one_or_none()
        platform, _, user_id = person_key.partition(":")
        if person is None:
            person = Person(key=person_key, platform=platform, user_id=user_id, name="")
            session.add(person)
        person.role = staff.get(person_key, Role.CUSTOMER).value
        one = belongs.get(person_key)
        person.person = one.ids[0] if one else None
        person.person_name = one.name if one else None
        if person_key in names:
            name = names[person_key]
            person.name = name.lstrip("@")
            if name.startswith("@"):
                person.username = name[1:]
    await session.flush()


async def _upsert_chat(
    session: AsyncSession, key: ChatKey, kind: ChatKind, account_id: int | None, now: datetime
) -> None:
    chat = (
        await session.execute(
            select(Chat).where(Chat.platform == key.platform, Chat.chat == key.chat)
        )
    ).scalar_one_or_none()
    if chat is None:
        # the platform moved the chat to a new id; the config may still name the old one
        chat = (
            await session.execute(
                select(Chat).where(Chat.platform == key.platform, Chat.previous_chat == key.chat)
            )
        ).scalar_one_or_none()
    if chat is None:
        chat = Chat(
            platform=key.platform,
            chat=key.chat,
            created_at=now,
            status_token=secrets.token_urlsafe(24),
        )
        session.add(chat)
    chat.kind, chat.account_id = kind.value, account_id
    if chat.status_token is None:
        chat.status_token = secrets.token_urlsafe(24)


async def stored_chats(url: str, platform: str) -> list[tuple[str, str | None, str]]:
    """(chat id, title, kind) of every chat of a platform the database knows, for
    `casebot doctor`; an absent SQLite file is not created just to look into it."""
    from storage.db import make_engine, sqlite_path

    path = sqlite_path(url)
    if path is not None and not path.exists():
        return []
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Chat.chat, Chat.title, Chat.kind).where(Chat.platform == platform)
            )
            return [(c, t, k) for c, t, k in rows.all()]
    except Exception:  # no schema yet, or unreachable: the doctor says what it can
        return []
    finally:
        await engine.dispose()
