"""`casebot.chat/v1` <-> `cases`: bridge events in, bridge commands out. Standard library
and `cases` only.

`translate()` reads one event (the JSON a bridge POSTed) into an `Inbound`, or raises
`Unreadable` naming what is wrong; `commands()` turns one delivery into the commands a
bridge carries out. The JSON Schema of both directions is `bridge_schema.json` beside
this module; tests hold the two together.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from cases.commands import mentions
from cases.delivery import Delivery
from cases.model import Actor, Attachment, ChatKey, Inbound, InboundKind

SPEC = "casebot.chat/v1"

EVENT_KINDS = {
    "message.created": InboundKind.MESSAGE,
    "message.edited": InboundKind.EDIT,
    "message.deleted": InboundKind.DELETE,
    "reaction.added": InboundKind.REACTION,
    "reaction.removed": InboundKind.REACTION,
    "action.invoked": InboundKind.BUTTON,
}

# the columns these land in: a longer id would fail in the database after the event
# was taken, so it is refused up front
MAX_EVENT_ID = 128
MAX_CHAT_ID = 128
MAX_ID = 64
MAX_PERSON_ID = 150
MAX_VALUE = 200

# C0 controls other than tab and newline, and DEL (NUL breaks PostgreSQL text columns);
# bidi overrides, which make a title read backwards in a card; lone surrogates, which
# no database driver can encode
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class Unreadable(ValueError):
    """An event casebot cannot read; answered 422 and kept (`casebot failed`)."""


def clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _object(value: Any, where: str, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Unreadable(f"{where}: expected an object")
    return value


def _id(value: Any, where: str, limit: int = MAX_ID, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unreadable(f"{where}: expected a string id")
    text = str(value)
    if not text or len(text) > limit or _CONTROL.search(text) or text != text.strip():
        raise Unreadable(f"{where}: expected 1 to {limit} printable characters")
    return text


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Unreadable(f"{where}: expected a string")
    return clean(value)


def _when(value: Any, now: datetime) -> datetime:
    """The bridge's time for the event, but never far in our future (a skewed clock
    must not move SLA clocks)."""
    if value is None:
        return now
    if not isinstance(value, str):
        raise Unreadable("occurred_at: expected an ISO 8601 time")
    try:
        # RFC 3339 lets "T" and "Z" be lowercase; fromisoformat takes only uppercase
        at = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable("occurred_at: expected an ISO 8601 time") from None
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return now if at > now + timedelta(minutes=5) else at


def _attachments(value: Any) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Unreadable("message.attachments: expected a list")
    found = []
    for i, item in enumerate(value):
        item = _object(item, f"message.attachments[{i}]")
        url = _text(item.get("url"), f"message.attachments[{i}].url")
        if not url:
            raise Unreadable(f"message.attachments[{i}].url: required")
        mime = _text(item.get("mime"), f"message.attachments[{i}].mime").lower()
        kind = next(
            (
                k
                for prefix, k in (("image/", "photo"), ("video/", "video"), ("audio/", "audio"))
                if mime.startswith(prefix)
            ),
            "document",
        )
        name = _text(item.get("name"), f"message.attachments[{i}].name") or None
        found.append(Attachment(kind, url, None, name))
    return tuple(found)


def translate(platform: str, raw: Any, now: datetime) -> Inbound:
    """One bridge event as an engine event. Raises Unreadable."""
    raw = _object(raw, "event")
    if raw.get("spec") != SPEC:
        raise Unreadable(f"spec: expected {SPEC!r}")
    event_id = _id(raw.get("id"), "id", MAX_EVENT_ID)
    assert event_id is not None
    type_ = raw.get("type")
    if type_ not in EVENT_KINDS:
        raise Unreadable(f"type: expected one of {', '.join(EVENT_KINDS)}")
    kind = EVENT_KINDS[type_]
    at = _when(raw.get("occurred_at"), now)
    chat = _object(raw.get("chat"), "chat")
    chat_id = _id(chat.get("id"), "chat.id", MAX_CHAT_ID)
    assert chat_id is not None
    # an optional field sent as null, like one left out, is its default
    chat_kind = chat.get("kind")
    chat_kind = "group" if chat_kind is None else chat_kind
    if chat_kind not in ("group", "direct"):
        raise Unreadable("chat.kind: expected group or direct")
    title = _text(chat.get("title"), "chat.title") or None
    actor_raw = _object(raw.get("actor"), "actor")
    actor_id = _id(actor_raw.get("id"), "actor.id", MAX_PERSON_ID)
    assert actor_id is not None
    is_bot = actor_raw.get("is_bot")
    is_bot = False if is_bot is None else is_bot
    if not isinstance(is_bot, bool):
        raise Unreadable("actor.is_bot: expected true or false")
    actor = Actor(platform, actor_id, _text(actor_raw.get("name"), "actor.name"), None, is_bot)
    values: dict[str, Any] = {}
    thread: str | None = None
    if type_.startswith("message."):
        message = _object(raw.get("message"), "message")
        values["message_id"] = _id(message.get("id"), "message.id")
        thread = _id(message.get("thread_id"), "message.thread_id", required=False)
        values["reply_to"] = _id(message.get("reply_to_id"), "message.reply_to_id", required=False)
        if type_ != "message.deleted":
            values["text"] = _text(message.get("text"), "message.text")
            # the contract carries no mention list: the @name tokens of the text are them
            values["mentions"] = tuple(dict.fromkeys(f"@{n}" for n in mentions(values["text"])))
            values["attachments"] = _attachments(message.get("attachments"))
            if not values["text"] and not values["attachments"]:
                raise Unreadable("message: needs text or attachments")
    elif type_.startswith("reaction."):
        reaction = _object(raw.get("reaction"), "reaction")
        values["message_id"] = _id(reaction.get("message_id"), "reaction.message_id")
        emoji = _text(reaction.get("emoji"), "reaction.emoji")
        if not emoji or len(emoji) > 32:
            raise Unreadable("reaction.emoji: expected an emoji")
        values["emoji"] = emoji
        values["removed"] = type_ == "reaction.removed"
    else:
        action = _object(raw.get("action"), "action")
        values["message_id"] = _id(action.get("message_id"), "action.message_id", required=False)
        value = _text(action.get("value"), "action.value")
        if not value or len(value) > MAX_VALUE:
            raise Unreadable(f"action.value: expected 1 to {MAX_VALUE} characters")
        values["data"] = value
    return Inbound(
        kind,
        event_id,
        ChatKey(platform, chat_id, thread),
        at,
        actor,
        chat_title=title,
        chat_type=chat_kind,
        is_direct=chat_kind == "direct",
        **values,
    )


def event_id_of(raw: Any) -> str | None:
    """The event's id when it has a usable one, for keeping an unreadable event."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int):
        text = str(raw["id"])
        if 0 < len(text) <= MAX_EVENT_ID:
            return text
    return None


def chat_id_of(raw: Any) -> str | None:
    """The event's chat id when it has a usable one, for keeping an unreadable event."""
    chat = raw.get("chat") if isinstance(raw, dict) else None
    if isinstance(chat, dict) and isinstance(chat.get("id"), str | int):
        text = str(chat["id"])
        if 0 < len(text) <= MAX_CHAT_ID:
            return text
    return None


# ------------------------------------------------------------------ out


def command_id(delivery_id: int, step: str = "") -> str:
    """Stable across retries: derived from the outbox row (and the step of a row that
    takes two commands, a board sent and then pinned)."""
    return f"cmd_{delivery_id}{'_' + step if step else ''}"


def delivery_of(command: str) -> int | None:
    """The outbox row a command id came from; None for ids casebot never made."""
    match = re.fullmatch(r"cmd_([0-9]{1,18})(?:_[a-z]+)?", command)
    return int(match.group(1)) if match else None


def trim(text: str, limit: int) -> str:
    """One part of at most `limit` characters, marked as cut (the full text is stored)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def command(
    delivery: Delivery,
    type_: str,
    *,
    step: str = "",
    text: str = "",
    message_id: str | None = None,
    buttons: bool = True,
    max_text: int = 4000,
    chat: str | None = None,
) -> dict[str, Any]:
    """One command in `casebot.chat/v1` form; every field is present (null when unused)."""
    return {
        "spec": SPEC,
        "command_id": command_id(delivery.id, step),
        "type": type_,
        "chat_id": chat or delivery.chat,
        "thread_id": delivery.thread,
        "reply_to_id": delivery.reply_to if type_ == "message.send" else None,
        "message_id": message_id,
        "text": trim(text, max_text),
        "buttons": (
            [{"label": b.text, "value": b.data} for row in delivery.buttons for b in row]
            if buttons
            else []
        ),
    }
