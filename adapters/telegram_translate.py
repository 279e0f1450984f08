"""Telegram updates -> `cases.model.Inbound`. Imports python-telegram-bot (`telegram`) and `cases`.

`translate()` takes one raw update (the JSON dict Telegram sent) and returns the
engine event, or None for what casebot does not track (service messages,
unsubscribed or unknown update types). It raises `Malformed` for updates it
cannot read at all; callers log those, acknowledge them and move on, so one
poison update never blocks the ones behind it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import telegram

from cases.model import (
    MEMBER_ADMIN,
    MEMBER_IN,
    MEMBER_LEFT,
    MEMBER_REMOVED,
    Actor,
    Attachment,
    ChatKey,
    Inbound,
    InboundKind,
)

PLATFORM = "telegram"


def permalink(chat: str, message_id: str) -> str:
    """A t.me link to a message: only supergroups and channels ("-100…") have one that
    works for members; a basic group or a private chat has none."""
    if chat.startswith("-100") and chat[4:].isdigit() and message_id.isdigit():
        return f"https://t.me/c/{chat[4:]}/{message_id}"
    return ""


# Subscribed explicitly: `allowed_updates=None` would keep Telegram's previous subscription,
# whose default leaves out message_reaction.
ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "message_reaction",
    "callback_query",
    "my_chat_member",
)

# C0 controls other than tab and newline, and DEL: NUL is rejected by PostgreSQL text columns,
# the rest only corrupt logs and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bidi embeddings, overrides and isolates can make a title read backwards in the triage card;
# the plain marks (LRM/RLM) that right-to-left writers need are kept.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_COMMAND_HEAD = re.compile(r"^\s*/[A-Za-z_]+@([A-Za-z0-9_]+)")
# A command addressed to another bot is made plain text with this invisible prefix, so the
# engine's parser (which accepts /cmd@anyone) does not take it for ours.
NOT_A_COMMAND = "\u2060"


# Telegram's updates nest a dozen levels at most (a reply quoting a pinned message...);
# anything far deeper is hostile, and recursive code (ours, PTB's, json's) would hit
# Python's recursion limit on it every time it is read
MAX_DEPTH = 64
# a string, or an unterminated one to the end of the body: every attempt succeeds, so
# the scan stays linear (a pattern that could fail would rescan the rest of the body
# from every escaped quote of a hostile one)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')
_BRACKET = re.compile(rb"[\[\]{}]")
_UPDATE_ID = re.compile(rb'"update_id"\s*:\s*(\d{1,20})')


def nested_too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed JSON value nests deeper than `limit`, found without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def raw_too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """The same for a JSON body before it is parsed: brackets outside strings."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def unreadable(update_id: int | None, raw: Any, now: datetime) -> Inbound:
    """The event for an update too deep to read: the engine rejects it, so it is kept in
    `casebot failed` and acknowledged, and the updates behind it go on."""
    chat = "unknown"
    message = raw.get("message") if isinstance(raw, dict) else None
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        chat_id = message["chat"].get("id")
        chat = str(chat_id) if isinstance(chat_id, int) else chat
    return Inbound(
        InboundKind.UNREADABLE,
        str(update_id if update_id is not None else "unknown"),
        ChatKey(PLATFORM, chat),
        now,
        text=f"update nested deeper than {MAX_DEPTH} levels; not read",
    )


_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
# what a too-deep update of a getUpdates answer is replaced with, before json.loads
TOO_DEEP = "casebot_too_deep"


def shallow_updates(body: bytes, limit: int = MAX_DEPTH) -> bytes:
    """A getUpdates answer (`{"ok": true, "result": [update, ...]}`) with every update
    that nests deeper than `limit` replaced by `{"update_id": N, "casebot_too_deep":
    true}`, found by scanning brackets outside strings, so that json.loads, which would
    recurse past Python's limit on it, never sees it and the others are still read."""
    parts: list[bytes] = []
    last = depth = deepest = 0
    start: int | None = None
    for token in _TOKEN.finditer(body):
        bracket = token.group()
        if bracket.startswith(b'"'):
            continue
        if bracket in (b"[", b"{"):
            depth += 1
            if depth == 3:  # an update: the body is 1, its result array 2
                start, deepest = token.start(), 3
            deepest = max(deepest, depth)
            continue
        if depth == 3 and start is not None:
            if deepest - 2 > limit:
                update_id = update_id_in(body[start : token.end()])
                parts += [
                    body[last:start],
                    b'{"update_id":%d,"%s":true}'
                    % (update_id if update_id is not None else -1, TOO_DEEP.encode()),
                ]
                last = token.end()
            start = None
        depth -= 1
    parts.append(body[last:])
    return b"".join(parts)


def update_id_in(body: bytes) -> int | None:
    """The update id of a raw body that is not parsed (Telegram writes it first)."""
    found = _UPDATE_ID.search(body[:200])
    return int(found.group(1)) if found else None


class Malformed(ValueError):
    """An update that cannot be read; acknowledged and skipped."""


def clean_text(text: str | None) -> str:
    if not text:
        return ""
    return _BIDI.sub("", _CONTROL.sub("", text))


def _at(value: datetime | None, now: datetime) -> datetime:
    """The platform's time for an event, but never in the future of our clock by much
    (a forged or skewed date must not move SLA clocks)."""
    if value is None:
        return now
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return now if value > now + timedelta(minutes=5) else value


def actor_of(user: telegram.User | None, sender_chat: telegram.Chat | None = None) -> Actor | None:
    if sender_chat is not None and (user is None or user.is_bot):
        # anonymous group admins and linked channels speak as a chat
        return Actor(PLATFORM, str(sender_chat.id), sender_chat.title or "", sender_chat.username)
    if user is None:
        return None
    name = " ".join(p for p in (user.first_name, user.last_name) if p)
    return Actor(
        PLATFORM,
        str(user.id),
        clean_text(name),
        user.username,
        is_bot=user.is_bot,
        language=user.language_code or None,
    )


def _chat_key(chat: telegram.Chat, thread: str | None = None) -> ChatKey:
    return ChatKey(PLATFORM, str(chat.id), thread)


def attachments_of(message: telegram.Message) -> tuple[Attachment, ...]:
    caption = clean_text(message.caption) or None
    found: list[Attachment] = []
    if message.photo:
        largest = message.photo[-1]
        found.append(Attachment("photo", largest.file_id, caption))
    if message.animation is not None:
        found.append(
            Attachment(
                "animation", message.animation.file_id, caption, message.animation.file_name
            )
        )
    elif message.document is not None:  # an animation also comes as a document
        found.append(
            Attachment("document", message.document.file_id, caption, message.document.file_name)
        )
    if message.voice is not None:
        found.append(Attachment("voice", message.voice.file_id, caption))
    if message.video is not None:
        found.append(Attachment("video", message.video.file_id, caption, message.video.file_name))
    if message.audio is not None:
        found.append(Attachment("audio", message.audio.file_id, caption, message.audio.file_name))
    if message.sticker is not None:
        found.append(Attachment("sticker", message.sticker.file_id, message.sticker.emoji))
    return tuple(found)


def _thread_and_reply(message: telegram.Message) -> tuple[str | None, str | None]:
    thread = str(message.message_thread_id) if message.is_topic_message else None
    reply = message.reply_to_message
    reply_to = str(reply.message_id) if reply is not None else None
    if (
        reply is not None
        and message.is_topic_message
        and (reply.message_id == message.message_thread_id or reply.forum_topic_created)
    ):
        # in a topic, a message that is not a real reply "replies" to the topic's opening
        reply_to = None
    return thread, reply_to


def command_text(text: str, bot_username: str | None) -> str:
    """Leave `/cmd@ourbot` and `/cmd` alone; make `/cmd@otherbot` plain text."""
    match = _COMMAND_HEAD.match(text)
    if match and bot_username and match.group(1).lower() != bot_username.lower():
        return NOT_A_COMMAND + text
    return text


def _message_event(
    update_id: int,
    message: telegram.Message,
    edited: bool,
    bot_username: str | None,
    now: datetime,
) -> Inbound | None:
    chat = message.chat
    if message.migrate_to_chat_id:
        return Inbound(
            InboundKind.MIGRATE,
            str(update_id),
            _chat_key(chat),
            _at(message.date, now),
            new_chat=str(message.migrate_to_chat_id),
            chat_title=chat.title,
            chat_type=chat.type,
        )
    if message.migrate_from_chat_id:
        # the same move seen from the new supergroup; the engine ignores the second of the two
        return Inbound(
            InboundKind.MIGRATE,
            str(update_id),
            ChatKey(PLATFORM, str(message.migrate_from_chat_id)),
            _at(message.date, now),
            new_chat=str(chat.id),
            chat_title=chat.title,
            chat_type=chat.type,
        )
    # a caption is the text of a photo or file: `/new` under a screenshot is a command,
    # and an edited caption is the message's new text
    text = clean_text(message.text or message.caption)
    attachments = attachments_of(message)
    if not text and not attachments:
        return None  # service messages: joins, pins, topic created/closed, polls...
    thread, reply_to = _thread_and_reply(message)
    at = message.edit_date if edited and message.edit_date else message.date
    return Inbound(
        InboundKind.EDIT if edited else InboundKind.MESSAGE,
        str(update_id),
        _chat_key(chat, thread),
        _at(at, now),
        actor_of(message.from_user, message.sender_chat),
        message_id=str(message.message_id),
        reply_to=reply_to,
        text=command_text(text, bot_username),
        attachments=attachments,
        chat_title=chat.title,
        chat_type=chat.type,
        is_direct=chat.type == telegram.constants.ChatType.PRIVATE,
        mentions=mentions_of(message),
    )


_MENTIONS = [telegram.MessageEntity.MENTION, telegram.MessageEntity.TEXT_MENTION]


def mentions_of(message: telegram.Message) -> tuple[str, ...]:
    """Who a message (or a caption) names, from Telegram's entities, which count offsets
    in UTF-16: "@name" for a mention, the person's key for a text_mention (someone
    picked without a username)."""
    found = {}
    # an entity that points outside its text is Telegram's (or a forger's) mistake: skip
    with contextlib.suppress(IndexError, RuntimeError, TypeError, ValueError):
        if message.text:
            found.update(message.parse_entities(_MENTIONS))
        if message.caption:
            found.update(message.parse_caption_entities(_MENTIONS))
    names: list[str] = []
    for entity, text in sorted(found.items(), key=lambda pair: pair[0].offset):
        if entity.type == telegram.MessageEntity.TEXT_MENTION and entity.user is not None:
            names.append(f"{PLATFORM}:{entity.user.id}")
        elif entity.type == telegram.MessageEntity.MENTION and text.startswith("@"):
            names.append(text)
    return tuple(dict.fromkeys(names))


def _reaction_event(
    update_id: int, reaction: telegram.MessageReactionUpdated, now: datetime
) -> Inbound | None:
    old = {r.emoji for r in reaction.old_reaction if isinstance(r, telegram.ReactionTypeEmoji)}
    added = [
        r.emoji
        for r in reaction.new_reaction
        if isinstance(r, telegram.ReactionTypeEmoji) and r.emoji not in old
    ]
    if not added:
        return None  # a reaction taken back changes nothing
    return Inbound(
        InboundKind.REACTION,
        str(update_id),
        _chat_key(reaction.chat),
        _at(reaction.date, now),
        actor_of(reaction.user, reaction.actor_chat),
        message_id=str(reaction.message_id),
        emoji=added[0],
        chat_title=reaction.chat.title,
        chat_type=reaction.chat.type,
    )


def _button_event(update_id: int, query: telegram.CallbackQuery, now: datetime) -> Inbound | None:
    message = query.message
    if message is None:
        return None  # inline-mode buttons: casebot sends none
    thread = None
    if isinstance(message, telegram.Message) and message.is_topic_message:
        thread = str(message.message_thread_id)
    return Inbound(
        InboundKind.BUTTON,
        str(update_id),
        _chat_key(message.chat, thread),
        now,
        actor_of(query.from_user),
        message_id=str(message.message_id),
        data=query.data or "",
        callback_id=query.id,
        chat_title=message.chat.title,
        chat_type=message.chat.type,
    )


def rights_of(member: telegram.ChatMember) -> tuple[str, ...]:
    """What the bot may do in a chat, in the engine's words."""
    if isinstance(member, telegram.ChatMemberOwner):
        return ("admin", "pin", "topics")
    if isinstance(member, telegram.ChatMemberAdministrator):
        rights = ["admin"]
        if member.can_pin_messages:
            rights.append("pin")
        if member.can_manage_topics:
            rights.append("topics")
        return tuple(rights)
    return ()


# Telegram's member states in the engine's words
_MEMBERSHIP = {
    "creator": MEMBER_ADMIN,
    "administrator": MEMBER_ADMIN,
    "member": MEMBER_IN,
    "restricted": MEMBER_IN,
    "left": MEMBER_LEFT,
    "kicked": MEMBER_REMOVED,
}


def _membership_event(
    update_id: int, change: telegram.ChatMemberUpdated, now: datetime
) -> Inbound | None:
    chat = change.chat
    if chat.type == telegram.constants.ChatType.PRIVATE:
        return None  # someone started or blocked the bot in a DM
    new = change.new_chat_member
    return Inbound(
        InboundKind.MEMBERSHIP,
        str(update_id),
        _chat_key(chat),
        _at(change.date, now),
        actor_of(change.from_user),
        member_status=_MEMBERSHIP.get(str(new.status), MEMBER_IN),
        rights=rights_of(new),
        chat_title=chat.title,
        chat_type=chat.type,
    )


def translate(
    raw: Any, bot: telegram.Bot, bot_username: str | None, now: datetime, quick: bool = True
) -> Inbound | None:
    """One raw update as an engine event (None: nothing to track). Raises Malformed.
    `quick=False` reads even a plain text message through PTB (for the test that the
    two readings agree)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
        raise Malformed("not an update (no integer update_id)")
    if raw.get(TOO_DEEP) is True or nested_too_deep(raw):
        return unreadable(raw["update_id"], raw, now)
    raw = _without_surrogates(raw)
    plain = _plain_message_event(raw, bot_username, now) if quick else _NOT_PLAIN
    if plain is not _NOT_PLAIN:
        return None if plain is None else _well_typed(plain)
    return _through_ptb(raw, bot, bot_username, now)


def _through_ptb(
    raw: dict[str, Any], bot: telegram.Bot, bot_username: str | None, now: datetime
) -> Inbound | None:
    try:
        update = telegram.Update.de_json(raw, bot)
    except Exception as exc:  # PTB raises KeyError/TypeError/ValueError on missing fields
        raise Malformed(
            f"unreadable update {raw['update_id']}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        event: Inbound | None = None
        if update.message is not None:
            event = _message_event(update.update_id, update.message, False, bot_username, now)
        elif update.edited_message is not None:
            event = _message_event(
                update.update_id, update.edited_message, True, bot_username, now
            )
        elif update.message_reaction is not None:
            event = _reaction_event(update.update_id, update.message_reaction, now)
        elif update.callback_query is not None:
            event = _button_event(update.update_id, update.callback_query, now)
        elif update.my_chat_member is not None:
            event = _membership_event(update.update_id, update.my_chat_member, now)
    except (AttributeError, TypeError, ValueError) as exc:
        raise Malformed(f"update {raw['update_id']}: {type(exc).__name__}: {exc}") from exc
    return None if event is None else _well_typed(event)


# Reading a plain text message without PTB's objects. `Update.de_json` builds a Message
# of a hundred attributes, each set through a checked __setattr__: 110 us an update, most
# of the poll's CPU at 200 updates a second. Only the commonest shape is read here: a
# text message (or its edit), perhaps a command, perhaps replying to another such
# message, with no key this reading does not know; anything else (a photo, a caption, a
# mention, a topic, a channel speaking, a key of the wrong type) goes through PTB, so
# this never decides anything PTB's reading would decide differently
# (tests/badinput/test_translate.py checks the two agree on every generated update).
_NOT_PLAIN: Any = object()
# a replied-to message has no reply of its own in an update; the message itself may
_REPLIED_KEYS = frozenset({"message_id", "date", "chat", "from", "text", "entities"})
_PLAIN_KEYS = _REPLIED_KEYS | {"reply_to_message"}
_PLAIN_EDIT_KEYS = _PLAIN_KEYS | {"edit_date"}
_PLAIN_CHAT_KEYS = frozenset({"id", "type", "title", "username", "first_name", "last_name"})
_PLAIN_USER_KEYS = frozenset(
    {"id", "is_bot", "first_name", "last_name", "username", "language_code", "is_premium"}
)
_PLAIN_ENTITY_KEYS = frozenset({"type", "offset", "length"})
_CHAT_TYPES = {member.value: member for member in telegram.constants.ChatType}


def _plain_message(message: Any, keys: frozenset[str], sender: bool = True) -> bool:
    """Whether PTB would read `message` without fail and this reading can stand in for
    it (`sender`: it must have a person as sender; a replied-to message may have none)."""
    if type(message) is not dict or not keys.issuperset(message):
        return False
    chat, user = message.get("chat"), message.get("from")
    if user is None and not sender and "from" not in message:
        user = {"id": 0, "is_bot": False, "first_name": ""}
    if type(message.get("message_id")) is not int or type(message.get("date")) is not int:
        return False
    if type(chat) is not dict or not _PLAIN_CHAT_KEYS.issuperset(chat):
        return False
    if type(chat.get("id")) is not int or type(chat.get("type")) is not str:
        return False
    if type(chat.get("title", "")) is not str:
        return False
    if type(user) is not dict or not _PLAIN_USER_KEYS.issuperset(user):
        return False
    if type(user.get("id")) is not int or type(user.get("is_bot")) is not bool:
        return False
    if type(user.get("first_name")) is not str or type(user.get("last_name", "")) is not str:
        return False
    entities = message.get("entities", [])
    if type(entities) is not list or type(message.get("text")) is not str:
        return False
    return all(
        type(e) is dict
        and _PLAIN_ENTITY_KEYS.issuperset(e)
        and type(e.get("type")) is str
        and e["type"] not in _MENTIONS
        and type(e.get("offset")) is int
        and type(e.get("length")) is int
        for e in entities
    )


def _plain_message_event(raw: dict[str, Any], bot_username: str | None, now: datetime) -> Any:
    """`_through_ptb`'s event for a plain text message, or _NOT_PLAIN."""
    edited = "edited_message" in raw
    message = raw.get("edited_message" if edited else "message")
    if len(raw) != 2 or not _plain_message(message, _PLAIN_EDIT_KEYS if edited else _PLAIN_KEYS):
        return _NOT_PLAIN
    reply = message.get("reply_to_message")
    if reply is not None and not _plain_message(reply, _REPLIED_KEYS, sender=False):
        return _NOT_PLAIN
    edit_date = message.get("edit_date")
    if edit_date is not None and type(edit_date) is not int:
        return _NOT_PLAIN
    try:
        sent = datetime.fromtimestamp(message["date"], UTC)
        if reply is not None:  # PTB reads its date too, and an unreadable one is Malformed
            datetime.fromtimestamp(reply["date"], UTC)
        date = datetime.fromtimestamp(edit_date, UTC) if edited and edit_date is not None else sent
    except (OverflowError, OSError, ValueError):
        return _NOT_PLAIN
    text = clean_text(message["text"])
    if not text:
        return None  # as PTB's reading: no text, no attachment, nothing to track
    chat, user = message["chat"], message["from"]
    chat_type = _CHAT_TYPES.get(chat["type"], chat["type"])
    name = " ".join(p for p in (user["first_name"], user.get("last_name")) if p)
    return Inbound(
        InboundKind.EDIT if edited else InboundKind.MESSAGE,
        str(raw["update_id"]),
        ChatKey(PLATFORM, str(chat["id"])),
        _at(date, now),
        Actor(
            PLATFORM,
            str(user["id"]),
            clean_text(name),
            user.get("username"),
            is_bot=user["is_bot"],
            language=user.get("language_code") or None,
        ),
        message_id=str(message["message_id"]),
        reply_to=str(reply["message_id"]) if reply is not None else None,
        text=command_text(text, bot_username),
        chat_title=chat.get("title"),
        chat_type=chat_type,
        is_direct=chat_type == telegram.constants.ChatType.PRIVATE,
    )


_NUMBER = re.compile(r"^-?[0-9]{1,20}$")
_IDS = ("message_id", "reply_to", "new_chat")
_TEXTS = ("data", "callback_id", "emoji", "chat_title", "chat_type", "member_status")


def _well_typed(event: Inbound) -> Inbound:
    """PTB's `de_json` does not check types, so a list where Telegram puts a string (or
    a string where it puts a number) would reach the engine and fail there, after the
    update was taken. Every field the engine reads must have its documented type."""
    ids = [event.chat.chat, event.chat.thread, *(getattr(event, name) for name in _IDS)]
    if event.actor is not None:
        ids.append(event.actor.user_id)
    texts: list[object] = [getattr(event, name) for name in _TEXTS]
    if event.actor is not None:
        texts += [event.actor.name, event.actor.username]
    for attachment in event.attachments:
        texts += [attachment.file_id, attachment.caption, attachment.name]
    if not all(i is None or _NUMBER.match(i) for i in ids):
        raise Malformed(f"update {event.event_id}: an id is not a number")
    if not isinstance(event.text, str) or not all(t is None or isinstance(t, str) for t in texts):
        raise Malformed(f"update {event.event_id}: a text field is not a string")
    if event.chat_title:
        # the engine stores the title it is given: like names, no NUL or bidi override
        return replace(event, chat_title=clean_text(event.chat_title) or None)
    return event


def _without_surrogates(value: Any) -> Any:
    """JSON may carry an unpaired surrogate escape ("\\ud83d", half an emoji cut off);
    no database driver can encode one, so the event would fail after it was taken.
    Each becomes U+FFFD, the replacement character."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {k: _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


def update_id_of(raw: Any) -> int | None:
    if isinstance(raw, dict) and isinstance(raw.get("update_id"), int):
        return int(raw["update_id"])
    return None
