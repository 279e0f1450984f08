"""SQLAlchemy 2 tables for casebot. Imports SQLAlchemy and `cases` only.

Every datetime column is `UtcDateTime`: SQLite drops tzinfo, so values are stored
as naive UTC and handed back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# BIGINT on PostgreSQL, but INTEGER on SQLite so the column is a rowid alias
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(64), default="standard")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    intake: Mapped[str] = mapped_column(String(16), default="tag")
    acknowledge: Mapped[bool] = mapped_column(Boolean, default=True)
    topics: Mapped[str] = mapped_column(String(16), default="off")
    owner: Mapped[str | None] = mapped_column(String(200))
    backup: Mapped[str | None] = mapped_column(String(200))


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "chat"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="unknown")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    title: Mapped[str | None] = mapped_column(String(300))
    status_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime | None] = mapped_column()
    # the id before the platform migrated the chat (Telegram group -> supergroup), so
    # the config may keep naming the old one
    previous_chat: Mapped[str | None] = mapped_column(String(128))


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(300), default="")
    username: Mapped[str | None] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(16), default="customer")
    # a staff person known under several keys ([[staff.people]]): the key they are
    # recorded under (their first id) and their name; both unset for everyone else
    person: Mapped[str | None] = mapped_column(String(200), index=True)
    person_name: Mapped[str | None] = mapped_column(String(300))
    # the chat a bridge gave when they wrote to the bot directly: DMs to them go there
    direct_chat: Mapped[str | None] = mapped_column(String(128))


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_next_due_at", "next_due_at"),
        Index("ix_cases_chat_status", "chat_id", "status"),
        Index("ix_cases_chat_thread", "chat_id", "thread"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    thread: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[str] = mapped_column(String(4))
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    opened_by: Mapped[str | None] = mapped_column(String(200))
    source_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    first_response_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    last_customer_at: Mapped[datetime | None] = mapped_column()
    last_staff_at: Mapped[datetime | None] = mapped_column()
    status_changed_at: Mapped[datetime | None] = mapped_column()
    first_response_due: Mapped[datetime | None] = mapped_column()
    next_response_due: Mapped[datetime | None] = mapped_column()
    resolution_due: Mapped[datetime | None] = mapped_column()
    next_due_at: Mapped[datetime | None] = mapped_column()
    sla: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # case fields and tags (cases.fields) and the intake questions' progress
    # (cases.intake_questions); NULL in rows from before 0018
    category: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    questions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("chat_id", "platform_message_id"),
        Index("ix_messages_chat_at", "chat_id", "at"),
        Index("ix_messages_case", "case_id", "at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    thread: Mapped[str | None] = mapped_column(String(64))
    reply_to: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(200))
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column()
    edited_at: Mapped[datetime | None] = mapped_column()
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # how it joined its case (cases.records.Joined); NULL: untracked, or from before 0010
    joined: Mapped[str | None] = mapped_column(String(16))


class MessageEdit(Base):
    """Earlier texts of an edited message, oldest first."""

    __tablename__ = "message_edits"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column()


class CaseEvent(Base):
    """The audit log: every change to a case, who made it and when."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FollowUp(Base):
    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_pending_due", "done_at", "due_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    nudged_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()


class OutboxRow(Base):
    """Actions to carry out after commit; pending until sent, dead after the last try."""

    __tablename__ = "outbox"
    __table_args__ = (
        # due rows, with what a claim ranks them by (storage.outbox.claim_due): the
        # ranking reads this index, not each pending row past its payload
        Index(
            "ix_outbox_due",
            "status",
            "next_attempt_at",
            "claimed_until",
            "kind",
            "platform",
            "chat",
            "case_id",
        ),
        # a typed choice ("5") finds the message it answers by the message's id
        Index("ix_outbox_sent_message", "platform_message_id", "chat", "platform"),
        # an edit's newer versions (storage.outbox.superseded_rows): the anchor's rows
        # above an id, sought, not read one by one
        Index("ix_outbox_anchor_id", "anchor", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    platform: Mapped[str] = mapped_column(String(32))
    chat: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32), default="reply")
    case_id: Mapped[int | None] = mapped_column(Id, index=True)
    anchor: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column()


class Anchor(Base):
    """Messages the bot edits in place (case cards, status boards), by key."""

    __tablename__ = "anchors"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat: Mapped[str] = mapped_column(String(128))
    platform_message_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column()


class ProcessedEvent(Base):
    """Keys of inbound events already handled: a replay changes nothing."""

    __tablename__ = "processed_events"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class LoginToken(Base):
    """One-time sign-in links the bot sends staff by DM; only a hash is kept."""

    __tablename__ = "login_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class LoginFailure(Base):
    """A wrong password for a sign-in name from a client address: kept in the database,
    so the throttle holds across every process behind a load balancer; rows older than
    the window go."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_name_at", "name", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(index=True)
    address: Mapped[str | None] = mapped_column(String(64))


class StaffSessionRecord(Base):
    """A dashboard sign-in. The cookie carries a random id of which only a hash is kept;
    signing out revokes the row, so every process refuses the cookie from then on."""

    __tablename__ = "staff_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()


class FailedEvent(Base):
    """An inbound event the engine rejected: rolled back alone, acknowledged to the
    platform (a replay would fail the same way), and kept here to be retried."""

    __tablename__ = "failed_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(128))
    chat: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column()
    failed_at: Mapped[datetime] = mapped_column()
    retried_at: Mapped[datetime | None] = mapped_column()


class IncidentRow(Base):
    """An outage told to many customer groups at once (`cases.incidents`). `scope` is
    how staff named the affected accounts ({"all": true}, {"tier": "premium"} or
    {"accounts": [...]}); the accounts it meant at the start are kept apart, so a later
    config change does not move who was told."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(index=True)
    started_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class IncidentAccount(Base):
    __tablename__ = "incident_accounts"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id"), primary_key=True, index=True
    )


class IncidentUpdate(Base):
    """The incident's audit log: its start, each update and its resolution, by whom."""

    __tablename__ = "incident_updates"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # start | update | resolve
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str | None] = mapped_column(String(200))


class IncidentNotice(Base):
    """One group told one update: the outbox row that carries it says whether and when
    it was delivered. Unique per update and chat, so nobody is told an update twice."""

    __tablename__ = "incident_notices"
    __table_args__ = (UniqueConstraint("update_id", "chat_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("incident_updates.id"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    outbox_id: Mapped[int | None] = mapped_column(Id, index=True)


class IncidentCase(Base):
    """A case opened in an affected group while the incident was open."""

    __tablename__ = "incident_cases"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    linked_at: Mapped[datetime] = mapped_column()


class IssueRow(Base):
    """An engineering issue (GitHub, GitLab, Jira, Linear) that cases link to: one row
    per tracker and key, whichever cases and accounts link it."""

    __tablename__ = "issues"
    __table_args__ = (UniqueConstraint("tracker", "key", name="uq_issues_tracker_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tracker: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    state_at: Mapped[datetime | None] = mapped_column()
    checked_at: Mapped[datetime | None] = mapped_column()


class IssueLinkRow(Base):
    """A case's link to an issue, with the customer draft written when it closed."""

    __tablename__ = "issue_links"
    __table_args__ = (UniqueConstraint("case_id", "issue_id", name="uq_issue_links_case_issue"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column()
    linked_by: Mapped[str | None] = mapped_column(String(200))
    draft: Mapped[str | None] = mapped_column(Text)
    drafted_at: Mapped[datetime | None] = mapped_column()
    draft_sent_at: Mapped[datetime | None] = mapped_column()


class TrackerDelivery(Base):
    """A tracker's webhook delivery, kept (and so deduplicated by its id) before the
    tracker hears 2xx."""

    __tablename__ = "tracker_deliveries"
    tracker: Mapped[str] = mapped_column(String(16), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column()


class RouteTurn(Base):
    """Whom a round-robin route gave a case last (see cases.routing)."""

    __tablename__ = "route_turns"
    route: Mapped[str] = mapped_column(String(200), primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column()


class SnippetRow(Base):
    """A saved answer, one row per name and locale (see cases.snippets)."""

    __tablename__ = "snippets"
    __table_args__ = (UniqueConstraint("name", "locale", name="uq_snippets_name_locale"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    uses: Mapped[int] = mapped_column(Integer, default=0)


class SimilarDoc(Base):
    """A resolved case's search terms and resolution (see storage.similar)."""

    __tablename__ = "similar_docs"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    terms: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column()
