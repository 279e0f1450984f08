"""Frozen values the engine works with: keys, actors, inbound events, outbound actions.

Standard library only. Adapters translate platform payloads into these and back;
nothing here knows a platform SDK, and nothing holds a raw payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    """What a person is to casebot. Staff are engineers and leads."""

    CUSTOMER = "customer"
    ENGINEER = "engineer"
    LEAD = "lead"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


class MessageRole(StrEnum):
    """Who wrote a stored message, as the API and export show it."""

    CUSTOMER = "customer"
    STAFF = "staff"
    BOT = "bot"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting_on_customer"
    ON_HOLD = "on_hold"
    # waiting on a linked engineering issue (cases.links): paused like on_hold
    WAITING_ON_ISSUE = "waiting_on_issue"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_active(self) -> bool:
        return self in (
            Status.NEW,
            Status.OPEN,
            Status.WAITING,
            Status.ON_HOLD,
            Status.WAITING_ON_ISSUE,
        )


PRIORITIES = ("P1", "P2", "P3", "P4")


class ChatKind(StrEnum):
    CUSTOMER = "customer"
    TRIAGE = "triage"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChatKey:
    """A chat on a platform; `thread` is a topic or thread inside it, if any."""

    platform: str
    chat: str
    thread: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat}"

    @classmethod
    def parse(cls, text: str) -> ChatKey:
        platform, sep, chat = text.partition(":")
        if not sep or not platform or not chat:
            raise ValueError(f"not a chat key: {text!r} (expected platform:id)")
        return cls(platform, chat)

    def without_thread(self) -> ChatKey:
        return ChatKey(self.platform, self.chat)


@dataclass(frozen=True)
class Actor:
    """A person on a platform; `key` ("telegram:1001") is how config names staff."""

    platform: str
    user_id: str
    name: str = ""
    username: str | None = None
    is_bot: bool = False
    # the language the person's app is set to, as their platform reports it (Telegram's
    # `language_code`, "zh-hans"): a hint for texts only they read (`cases.people`)
    language: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"

    @property
    def display(self) -> str:
        return self.name or (f"@{self.username}" if self.username else self.key)


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo, document, voice, video, sticker, audio, animation
    file_id: str
    caption: str | None = None
    name: str | None = None


class InboundKind(StrEnum):
    MESSAGE = "message"
    COMMAND = "command"  # a chat command a platform delivers apart from messages
    EDIT = "edit"
    DELETE = "delete"
    REACTION = "reaction"
    BUTTON = "button"
    MEMBERSHIP = "membership"
    MIGRATE = "migrate"
    # an event the adapter could not read (e.g. nested too deep to parse safely): the
    # engine rejects it, so it is kept in `casebot failed` and the platform moves on
    UNREADABLE = "unreadable"
    # made by the engine itself for work no chat event carries (`Engine.act` for staff
    # on the web, `Engine.system` for the sweeper); never by an adapter
    ACTION = "action"


@dataclass(frozen=True)
class Inbound:
    """One platform event, normalised. `event_id` is unique per platform and is
    what makes a replayed event a no-op."""

    kind: InboundKind
    event_id: str
    chat: ChatKey
    at: datetime
    actor: Actor | None = None
    message_id: str | None = None
    reply_to: str | None = None
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    emoji: str | None = None
    data: str | None = None
    callback_id: str | None = None
    chat_title: str | None = None
    chat_type: str | None = None
    # a person's one-to-one chat with the bot (no support chat)
    is_direct: bool = False
    # who the message names, as its adapter read them: a person key where the platform
    # says who ("telegram:1001"), else the "@name" as written
    mentions: tuple[str, ...] = ()
    removed: bool = False  # a reaction taken back
    # membership: whether the bot is still in the chat, and what it may do there
    member_status: str | None = None
    rights: tuple[str, ...] = ()
    new_chat: str | None = None  # migrate: the chat's new id

    @property
    def bot_removed(self) -> bool:
        """A membership event saying the bot is out of the chat."""
        return self.member_status in (MEMBER_LEFT, MEMBER_REMOVED)


# the bot's membership in neutral words; adapters map their platform's states to these
MEMBER_IN = "member"
MEMBER_ADMIN = "administrator"
MEMBER_LEFT = "left"
MEMBER_REMOVED = "removed"


class ThreadMode(StrEnum):
    """How a platform keeps a case's messages together."""

    NONE = "none"
    TOPIC = "topic"  # a forum topic per case (Telegram), created on demand
    REPLY = "reply"  # a reply thread under the case's first message (bridges, Slack)


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do; the engine and the dispatcher degrade by these instead
    of failing (no buttons: a numbered text choice; no pins or edits: post anew)."""

    threads: ThreadMode = ThreadMode.NONE
    buttons: bool = False
    button_answers: bool = False  # a press can be answered with a toast
    edits: bool = False
    pins: bool = False
    direct: bool = False  # the bot can start a one-to-one chat with a person
    max_text: int = 4000
    formats: tuple[str, ...] = ("plain",)
    # the adapter's link to a message (chat id, message id), "" where it has none;
    # the engine knows no platform's URLs, so a platform without one shows no link
    permalink: Callable[[str, str], str] | None = None


@dataclass(frozen=True)
class Button:
    text: str
    data: str


class OutboundKind(StrEnum):
    SEND = "send"  # a new message in a chat
    UPSERT = "upsert"  # send once, then edit in place (cards, status boards); keyed by anchor
    DM = "dm"  # a direct message to a person, falling back to `fallback_chat`
    ANSWER = "answer"  # answer a button press
    PIN = "pin"
    TOPIC_CREATE = "topic_create"
    TOPIC_CLOSE = "topic_close"
    TOPIC_REOPEN = "topic_reopen"


@dataclass(frozen=True)
class Outbound:
    """An action for an adapter to carry out after commit."""

    kind: OutboundKind
    platform: str
    chat: str
    text: str = ""
    thread: str | None = None
    reply_to: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    anchor: str | None = None
    case_id: int | None = None
    purpose: str = "reply"
    person: str | None = None
    fallback_chat: str | None = None
    callback_id: str | None = None
    pin: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class ActionKind(StrEnum):
    ASSIGN = "assign"
    PRIORITY = "priority"
    STATUS = "status"
    NOTE = "note"
    FOLLOWUP = "followup"
    FOLLOWUP_DONE = "followup_done"
    REPLY = "reply"
    MOVE = "move"
    MERGE = "merge"
    LINK = "link"  # value: an issue URL (cases.links)
    UNLINK = "unlink"  # value: an issue URL or key; empty unlinks every one
    SEND_DRAFT = "send_draft"  # send the drafted "issue closed" message to the customer
    TAGS = "tags"  # `value`: the case's whole tag list, comma- or space-separated
    FIELD = "field"  # `field` gets `value` ("" clears it)


@dataclass(frozen=True)
class StaffAction:
    """An action on a case taken outside chat (web, API); the engine applies it with
    the same rules as the chat command. `value`: assignee key, "P1".."P4", a status,
    the note, follow-up or reply text. `owner`/`due_in` for follow-ups. `target`: the
    follow-up to mark done or the message to move (its stored id); `into`: the case a
    message moves to or the case merges into."""

    kind: ActionKind
    case_id: int
    actor: Actor
    at: datetime
    value: str = ""
    owner: str | None = None
    due_in: timedelta | None = None
    target: int | None = None
    into: int | None = None
    field: str | None = None  # the case field a FIELD action sets


class SystemKind(StrEnum):
    AUTO_RESOLVE = "auto_resolve"  # the customer never answered: tell them, resolve
    CLOSE = "close"  # resolved long enough: close
    PASS_ON = "pass_on"  # a routed case nobody took in time: the next person gets it


@dataclass(frozen=True)
class SystemAction:
    """Something casebot itself does to a case on a timer (the sweeper), not a person:
    it has no actor, answers nobody in chat and takes the engine's own status path
    (audit, pauses, card, board) like a staff action does."""

    kind: SystemKind
    case_id: int
    at: datetime
