"""Domain records the engine reads and changes: accounts, chats, messages, cases, follow-ups.

Standard library only. Storage loads these and saves them back; they carry plain
values, never a database session, so nothing lazy-loads after a unit of work ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cases.model import ChatKey, ChatKind, MessageRole, Status


@dataclass(frozen=True)
class AccountInfo:
    id: int
    name: str
    tier: str = "standard"
    locale: str = "en"
    intake: str = "tag"  # tag | auto
    acknowledge: bool = True
    topics: str = "off"  # off | per_case
    owner: str | None = None
    backup: str | None = None


@dataclass(frozen=True)
class ChatInfo:
    id: int
    key: ChatKey
    kind: ChatKind
    account: AccountInfo | None = None
    title: str | None = None
    status_token: str | None = None

    @property
    def locale(self) -> str:
        return self.account.locale if self.account else "en"


class Joined(StrEnum):
    """How a message came to its case. Only a message the conversation window put on a
    case may be split off into a case of its own; a reply or a thread says where it
    belongs, so moving it is a deliberate /move."""

    OPENED = "opened"  # the case was opened from it, or it was pulled in as context
    REPLY = "reply"
    THREAD = "thread"
    WINDOW = "window"
    COMMAND = "command"  # a /note about the case
    MOVED = "moved"  # /move or a merge put it there


@dataclass
class MessageRecord:
    chat_id: int
    platform_message_id: str | None
    sender: str
    role: MessageRole
    text: str
    at: datetime
    thread: str | None = None
    reply_to: str | None = None
    internal: bool = False
    case_id: int | None = None
    attachments: list[dict[str, str | None]] = field(default_factory=list)
    sender_name: str = ""
    joined: Joined | None = None
    id: int | None = None


@dataclass
class CaseRecord:
    account_id: int | None
    chat_id: int
    title: str
    created_at: datetime
    status: Status = Status.NEW
    priority: str = "P3"
    thread: str | None = None
    assignee: str | None = None
    opened_by: str | None = None
    source_message_id: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    last_customer_at: datetime | None = None
    last_staff_at: datetime | None = None
    status_changed_at: datetime | None = None
    # SLA clocks: the earliest pending one is mirrored into next_due_at (indexed)
    first_response_due: datetime | None = None
    next_response_due: datetime | None = None
    resolution_due: datetime | None = None
    next_due_at: datetime | None = None
    sla: dict[str, Any] = field(default_factory=dict)
    merged_into: int | None = None
    # the case's category (intake questions), tags and fields (cases.fields)
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    # the intake questions' progress (cases.intake_questions); {} when none are asked
    questions: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def ref(self) -> str:
        return f"#{self.id}"


@dataclass(frozen=True, slots=True)
class BoardLine:
    """An open case as the chat's status board shows it: the board is rendered on
    every status change in the chat, so it reads these four columns, not whole cases."""

    id: int
    title: str
    status: Status
    assignee: str | None

    @property
    def ref(self) -> str:
        return f"#{self.id}"


@dataclass
class FollowUpRecord:
    case_id: int
    owner: str
    text: str
    due_at: datetime
    created_by: str
    created_at: datetime
    done_at: datetime | None = None
    nudged_at: datetime | None = None
    escalated_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class PersonInfo:
    key: str
    name: str
    role: str
    username: str | None = None

    @property
    def public_name(self) -> str | None:
        """The name a customer chat may show: never the platform key, which storage
        gives as the name of a person it has no name for."""
        if self.name and self.name != self.key:
            return self.name
        return f"@{self.username}" if self.username else None


@dataclass(frozen=True)
class SimilarCase:
    """A resolved case like another one, and the answer that resolved it."""

    case_id: int
    title: str
    resolution: str

    @property
    def ref(self) -> str:
        return f"#{self.case_id}"
