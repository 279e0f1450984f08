"""A delivery: one outbox row as an adapter carries it out, and the receipt it answers
with. Standard library and `cases` only.

`storage.outbox` is the one place that turns an `Outbound` into a row and a row into
a `Delivery`; adapters read the typed fields and never the stored payload's layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cases.model import Button


@dataclass(frozen=True)
class Delivery:
    """One outbox row as an adapter sees it. `payload` is the stored form of the same
    values, for adapters written before the typed fields."""

    id: int
    kind: str
    platform: str
    chat: str
    purpose: str
    payload: dict[str, Any]
    case_id: int | None = None
    anchor: str | None = None
    anchor_message_id: str | None = None  # for upserts: the message to edit, if sent before
    attempts: int = 0
    thread: str | None = None
    reply_to: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    pin: bool = False
    person: str | None = None
    fallback_chat: str | None = None
    # for DMs on a platform whose direct chats have ids of their own (a bridge): the
    # chat the person last wrote to the bot from, None when they never did
    direct_chat: str | None = None
    callback_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.payload.get("text", ""))


@dataclass(frozen=True)
class Receipt:
    message_id: str | None = None
    thread: str | None = None  # a forum topic created for the case
    chat: str | None = None  # where it went, when not the row's own chat (fallbacks)
    notes: tuple[str, ...] = field(default_factory=tuple)
