"""Feishu/Lark events (schema 2.0, decrypted) -> `cases` events. Standard library and
`cases` only.

`translate()` reads one event into an `Inbound`, None for an event casebot does not
track, or raises `Unreadable`. Keys: chats by `chat_id` (`oc_...`), people by
`open_id` (`ou_...`). A message inside a reply thread carries its thread's root
message as `ChatKey.thread`, which is what a case's thread is on a reply-thread
platform (its first message), so the replies there join the case.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from cases.commands import KNOWN_COMMANDS
from cases.model import (
    MEMBER_IN,
    MEMBER_REMOVED,
    Actor,
    Attachment,
    ChatKey,
    Inbound,
    InboundKind,
)

PLATFORM = "feishu"

MESSAGE = "im.message.receive_v1"
RECALLED = "im.message.recalled_v1"
REACTION_ADDED = "im.message.reaction.created_v1"
REACTION_REMOVED = "im.message.reaction.deleted_v1"
BOT_ADDED = "im.chat.member.bot.added_v1"
BOT_REMOVED = "im.chat.member.bot.deleted_v1"
CARD_ACTION = "card.action.trigger"
EVENT_TYPES = frozenset(
    {MESSAGE, RECALLED, REACTION_ADDED, REACTION_REMOVED, BOT_ADDED, BOT_REMOVED, CARD_ACTION}
)
# a bot in a Feishu group sees every message (im:message.group_msg), may pin, and has
# reply threads: none of the rights casebot asks a Telegram group for is missing
RIGHTS = ("admin", "pin", "topics")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
MEDIA = {"image": "photo", "file": "document", "audio": "audio", "media": "video"}


class Unreadable(ValueError):
    """An event casebot cannot read; kept as failed (`casebot failed`)."""


def clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unreadable(f"{where}: expected an object")
    return value


def _str(value: Any, where: str, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise Unreadable(f"{where}: required")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Unreadable(f"{where}: expected a string")
    text = str(value)
    if len(text) > 128 or _CONTROL.search(text):
        raise Unreadable(f"{where}: expected an id")
    return text


def _when(millis: Any, now: datetime) -> datetime:
    """Feishu's event time (milliseconds as a string), never in our future."""
    try:
        at = datetime.fromtimestamp(int(str(millis)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return now if at > now + timedelta(minutes=5) else at


def sub(raw: Any, key: str) -> dict[str, Any]:
    """`raw[key]` when it is an object, else an empty one."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def header_of(raw: dict[str, Any]) -> dict[str, Any]:
    return sub(raw, "header")


def event_type(raw: dict[str, Any]) -> str | None:
    kind = header_of(raw).get("event_type")
    return kind if isinstance(kind, str) else None


def event_id(raw: dict[str, Any]) -> str | None:
    """`header.event_id`; a schema 1.0 event has its id in `uuid` instead."""
    value = header_of(raw).get("event_id") or raw.get("uuid")
    return str(value)[:128] if isinstance(value, str | int) and str(value) else None


def _person(ids: Any, where: str) -> str:
    ids = _obj(ids, where)
    open_id = _str(ids.get("open_id"), f"{where}.open_id")
    assert open_id is not None
    return open_id


def content_text(
    message_type: str, content: dict[str, Any], mentions: dict[str, tuple[str, str]]
) -> tuple[str, list[Attachment]]:
    """The words of a message and its attachments. `mentions` maps `@_user_N` to
    (open_id, name) so an `at` element of a post reads as the same key."""
    if message_type == "text":
        text = content.get("text")
        return (text if isinstance(text, str) else ""), []
    if message_type == "post":
        post: Any = content
        if "content" not in post:  # the send form: {"zh_cn": {"title", "content"}}
            post = next((v for v in post.values() if isinstance(v, dict)), {})
        lines: list[str] = []
        files: list[Attachment] = []
        title = post.get("title")
        if isinstance(title, str) and title:
            lines.append(title)
        for row in post.get("content") or []:
            if not isinstance(row, list):
                continue
            words = []
            for item in row:
                if not isinstance(item, dict):
                    continue
                tag = item.get("tag")
                if tag in ("text", "a", "md"):
                    words.append(str(item.get("text", "")))
                elif tag == "at":
                    key = str(item.get("user_id", ""))
                    name = item.get("user_name") or (mentions.get(key, ("", ""))[1])
                    words.append(key if key in mentions else f"@{name}")
                elif tag == "img" and item.get("image_key"):
                    files.append(Attachment("photo", str(item["image_key"])))
                elif tag == "media" and item.get("file_key"):
                    files.append(Attachment("video", str(item["file_key"])))
                elif tag == "emotion":
                    words.append(f"[{item.get('emoji_type', '')}]")
            lines.append("".join(words))
        return "\n".join(lines).strip(), files
    if message_type in MEDIA:
        file_key = content.get("image_key") or content.get("file_key")
        given = content.get("file_name")
        if file_key:
            file_name = str(given) if given else None
            return "", [Attachment(MEDIA[message_type], str(file_key), None, file_name)]
    return "", []


def _commands_by_mention(text: str, bot_key: str | None) -> str:
    """`@casebot case Title` as `/case Title`: a mention of the bot at the start makes
    the words after it a command when the first is one; elsewhere it is dropped."""
    if bot_key is None or bot_key not in text:
        return text
    stripped = text.strip()
    if stripped.startswith(bot_key):
        rest = stripped[len(bot_key) :].replace(bot_key, "").strip()
        first = rest.split(maxsplit=1)[0].lstrip("/／").lower() if rest else ""
        if first in KNOWN_COMMANDS:
            return "/" + rest.lstrip("/／")
        return rest
    return " ".join(text.replace(bot_key, " ").split())


def _message(raw: dict[str, Any], at: datetime, bot_open_id: str | None) -> Inbound | None:
    ev = _obj(raw.get("event"), "event")
    sender = _obj(ev.get("sender"), "event.sender")
    message = _obj(ev.get("message"), "event.message")
    message_id = _str(message.get("message_id"), "event.message.message_id")
    chat_id = _str(message.get("chat_id"), "event.message.chat_id")
    assert chat_id is not None
    sender_type = sender.get("sender_type")
    open_id = _person(sender.get("sender_id"), "event.sender.sender_id")
    is_bot = sender_type == "app" or (bot_open_id is not None and open_id == bot_open_id)
    raw_content = message.get("content")
    try:
        content = json.loads(raw_content) if isinstance(raw_content, str) else {}
    except (ValueError, RecursionError):
        raise Unreadable("event.message.content: not JSON") from None
    if not isinstance(content, dict):
        content = {}
    mentions: dict[str, tuple[str, str]] = {}
    bot_key = None
    for i, m in enumerate(message.get("mentions") or []):
        if not isinstance(m, dict) or not isinstance(m.get("key"), str):
            continue
        ids = sub(m, "id")
        mention_open_id = str(ids.get("open_id") or "")
        name = clean(str(m.get("name") or "")) or f"user{i + 1}"
        if bot_open_id is not None and mention_open_id == bot_open_id:
            bot_key = m["key"]
        mentions[m["key"]] = (mention_open_id, name)
    message_type = str(message.get("message_type") or "text")
    text, attachments = content_text(message_type, content, mentions)
    if bot_key is None and bot_open_id is None:
        # the bot's own open_id is not known (bot info unanswered): a mention that opens
        # the text and is followed by a command word is taken to be the bot's
        first, _, rest = text.strip().partition(" ")
        word = rest.split(maxsplit=1)[0].lstrip("/／").lower() if rest.strip() else ""
        if first in mentions and word in KNOWN_COMMANDS:
            bot_key = first
    text = _commands_by_mention(clean(text), bot_key)
    keys: list[str] = []
    # longest keys first: @_user_10 must not be read as @_user_1 and a 0
    for key in sorted(mentions, key=len, reverse=True):
        if key == bot_key or key not in text:
            continue
        open_id_of, name = mentions[key]
        text = text.replace(key, f"@{name}")
        if open_id_of:
            keys.append(f"{PLATFORM}:{open_id_of}")
    if not text and not attachments:
        return None  # a sticker, a shared chat card: nothing to track
    chat_type = str(message.get("chat_type") or "group")
    # inside a reply thread: the thread is its root message; a plain quote is a reply
    thread = _str(message.get("root_id"), "root_id", False) if message.get("thread_id") else None
    return Inbound(
        InboundKind.MESSAGE,
        str(event_id(raw)),
        ChatKey(PLATFORM, chat_id, thread),
        at,
        Actor(PLATFORM, open_id, "", None, is_bot),
        message_id=message_id,
        reply_to=_str(message.get("parent_id"), "parent_id", False),
        text=text,
        attachments=tuple(attachments),
        chat_type=chat_type,
        is_direct=chat_type == "p2p",
        mentions=tuple(dict.fromkeys(keys)),
    )


def _reaction(raw: dict[str, Any], at: datetime, chat_id: str | None) -> Inbound | None:
    ev = _obj(raw.get("event"), "event")
    if ev.get("operator_type") not in (None, "user"):
        return None  # an app's reaction (ours included)
    message_id = _str(ev.get("message_id"), "event.message_id")
    if chat_id is None:
        raise Unreadable("event.message_id: the message's chat is not known")
    emoji = _obj(ev.get("reaction_type"), "event.reaction_type").get("emoji_type")
    if not isinstance(emoji, str) or not emoji or len(emoji) > 32:
        raise Unreadable("event.reaction_type.emoji_type: expected an emoji type")
    return Inbound(
        InboundKind.REACTION,
        str(event_id(raw)),
        ChatKey(PLATFORM, chat_id),
        at,
        Actor(PLATFORM, _person(ev.get("user_id"), "event.user_id")),
        message_id=message_id,
        emoji=emoji,
        removed=event_type(raw) == REACTION_REMOVED,
    )


def _recalled(raw: dict[str, Any], at: datetime) -> Inbound:
    ev = _obj(raw.get("event"), "event")
    chat_id = _str(ev.get("chat_id"), "event.chat_id")
    assert chat_id is not None
    # Feishu does not say who recalled it, only in what role (owner, group admin, ...)
    who = str(ev.get("recall_type") or "message_owner")
    return Inbound(
        InboundKind.DELETE,
        str(event_id(raw)),
        ChatKey(PLATFORM, chat_id),
        at,
        Actor(PLATFORM, f"recall:{who}"[:64], who),
        message_id=_str(ev.get("message_id"), "event.message_id"),
    )


def _membership(raw: dict[str, Any], at: datetime) -> Inbound:
    ev = _obj(raw.get("event"), "event")
    chat_id = _str(ev.get("chat_id"), "event.chat_id")
    assert chat_id is not None
    added = event_type(raw) == BOT_ADDED
    operator = ev.get("operator_id")
    actor = None
    if isinstance(operator, dict) and operator.get("open_id"):
        actor = Actor(PLATFORM, str(operator["open_id"]))
    name = ev.get("name")
    return Inbound(
        InboundKind.MEMBERSHIP,
        str(event_id(raw)),
        ChatKey(PLATFORM, chat_id),
        at,
        actor,
        chat_title=clean(name) if isinstance(name, str) and name else None,
        chat_type="group",
        member_status=MEMBER_IN if added else MEMBER_REMOVED,
        rights=RIGHTS if added else (),
    )


def _card_action(raw: dict[str, Any], at: datetime) -> Inbound | None:
    ev = _obj(raw.get("event"), "event")
    operator = _obj(ev.get("operator"), "event.operator")
    action = _obj(ev.get("action"), "event.action")
    # the callback's context; older card callbacks put its ids beside the action
    context = sub(ev, "context") or ev
    value = action.get("value")
    data = value.get("casebot") if isinstance(value, dict) else value
    if not isinstance(data, str) or not data or len(data) > 200:
        return None  # a button of a card casebot did not make
    chat_id = _str(context.get("open_chat_id"), "event.context.open_chat_id")
    assert chat_id is not None
    token = ev.get("token")
    return Inbound(
        InboundKind.BUTTON,
        str(event_id(raw)),
        ChatKey(PLATFORM, chat_id),
        at,
        Actor(PLATFORM, _person(operator, "event.operator")),
        message_id=_str(context.get("open_message_id"), "event.context.open_message_id", False),
        data=data,
        # answered in the callback's own response; the id only has to be there
        callback_id=str(token) if token else str(event_id(raw)),
    )


def translate(
    raw: Any, now: datetime, *, bot_open_id: str | None = None, chat_id: str | None = None
) -> Inbound | None:
    """One decrypted event as an engine event; None when there is nothing to track.
    `chat_id` is the chat of a reaction's message (its event does not say)."""
    raw = _obj(raw, "event")
    kind = event_type(raw)
    if "header" not in raw and "uuid" in raw:
        # an event subscribed in its old version: say which to subscribe instead
        old = sub(raw, "event").get("type")
        raise Unreadable(
            f"a schema 1.0 event ({str(old)[:64]}): casebot reads schema 2.0 events; "
            "subscribe to im.message.receive_v1 and the others README names"
        )
    if event_id(raw) is None:
        raise Unreadable("header.event_id: required")
    at = _when(header_of(raw).get("create_time"), now)
    if kind == MESSAGE:
        return _message(raw, at, bot_open_id)
    if kind in (REACTION_ADDED, REACTION_REMOVED):
        return _reaction(raw, at, chat_id)
    if kind == RECALLED:
        return _recalled(raw, at)
    if kind in (BOT_ADDED, BOT_REMOVED):
        return _membership(raw, at)
    if kind == CARD_ACTION:
        return _card_action(raw, at)
    return None


def reaction_message(raw: Any) -> str | None:
    """The message a reaction event is about, whose chat must be looked up."""
    if not isinstance(raw, dict) or event_type(raw) not in (REACTION_ADDED, REACTION_REMOVED):
        return None
    ev = raw.get("event")
    value = ev.get("message_id") if isinstance(ev, dict) else None
    return value if isinstance(value, str) and value else None


def chat_of(raw: Any) -> str | None:
    """The chat an event is in, where it says so (for keeping an unreadable one)."""
    ev = raw.get("event") if isinstance(raw, dict) else None
    if not isinstance(ev, dict):
        return None
    for holder in (ev.get("message"), ev, ev.get("context")):
        if isinstance(holder, dict):
            for key in ("chat_id", "open_chat_id"):
                if isinstance(holder.get(key), str) and holder[key]:
                    return str(holder[key])[:128]
    return None
