"""Per-event working state of the engine and what handling an event returns.

Standard library and `cases` only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cases.model import (
    Inbound,
    Outbound,
    Role,
)
from cases.ports import UnitOfWork
from cases.records import AccountInfo, ChatInfo, MessageRecord

log = logging.getLogger(__name__)

LOGIN_TTL = timedelta(minutes=15)


class ActionRejected(ValueError):
    """A staff action that cannot apply (unknown case, bad value); nothing changed.

    The message is English (the API's error, which programs read); `key` and `params`
    name the same reason in the catalogue, so a dashboard page says it in its reader's
    language."""

    def __init__(self, message: str, key: str = "", **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


class ActionConflict(ActionRejected):
    """A well-formed staff action that the case's state makes a no-op or refuses (resolve
    a resolved case, take a case one already has); the message is the engine's own
    reason in English. Nothing changed."""


class EventFailed(Exception):
    """The engine could not handle an event; it was rolled back on its own and the
    rest of its batch went on. Adapters acknowledge it (a replay would fail again)."""


class Unreadable(EventFailed):
    """An event its adapter could not read (InboundKind.UNREADABLE): always rejected, so
    it is kept with its reason among the failed events."""


class AlreadyStored(Exception):
    """The message is on record already (a platform re-sent it): handle nothing."""


@dataclass
class Outcome:
    """What handling one event did; used by tests, the demo and metrics."""

    duplicate: bool = False
    ignored: str | None = None
    message_id: int | None = None
    case_id: int | None = None
    opened: bool = False
    actions: list[Outbound] = field(default_factory=list)
    # a timer of a case this event touched is already due (a P1 outside business
    # hours pages on-call at once): the host should sweep now, not at the next tick
    due_now: bool = False


@dataclass
class Ctx:
    """Per-event working state, so helpers need not pass ten arguments."""

    uow: UnitOfWork
    event: Inbound
    chat: ChatInfo
    role: Role
    outcome: Outcome
    message: MessageRecord | None = None
    quiet: bool = False  # actions from the web answer through the Outcome, not the chat
    # accounts of other chats whose cases this event touches (acting from triage)
    case_accounts: dict[int, AccountInfo | None] = field(default_factory=dict)

    @property
    def actor_key(self) -> str | None:
        return self.event.actor.key if self.event.actor else None

    @property
    def now(self) -> datetime:
        return self.event.at
