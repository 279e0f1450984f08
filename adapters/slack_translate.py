"""Slack payloads -> `cases.model.Inbound`. Standard library and `cases` only.

Three kinds of payload reach casebot on `POST /slack/events` (or over Socket Mode):
Events API callbacks (`event_callback`), interactivity (`block_actions`, the
`message_action` of the "Open a case" shortcut) and slash commands (`/casebot ...`).
Each becomes at most one engine event; `None` means "nothing for the engine" (a
channel join, a bot's own echo of a subtype casebot does not follow).

Keys: `slack:<channel id>` and `slack:<user id>`, ids and never names. In a Slack
Connect channel people of both organisations write; who is staff is decided by the
ids listed in `[staff]`, so the team's own people are named there and everyone else
in a customer channel is a customer. `user_team` is kept to tell them apart in logs.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cases.commands import KNOWN_COMMANDS, parse_command
from cases.model import Actor, Attachment, ChatKey, Inbound, InboundKind

PLATFORM = "slack"

# Slack's reaction names for the emoji the engine knows by character
REACTIONS = {
    "ticket": "🎫",
    "admission_tickets": "🎟️",
    "white_check_mark": "✅",
    "eyes": "👀",
    "sos": "🆘",
    # saves a staff message as an answer (cases.snippets.SAVE_EMOJIS)
    "book": "📖",
    "open_book": "📖",
}
# the words a mention or `/casebot` may start with: the engine's chat commands
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# message subtypes that are someone writing; the rest (joins, topic changes) are not
_WRITTEN = frozenset({None, "file_share", "thread_broadcast", "me_message"})


class Unreadable(ValueError):
    """A payload casebot cannot read; kept for `casebot failed`."""


@dataclass(frozen=True)
class Self:
    """Who the bot is in the workspace, learned from auth.test at start."""

    user_id: str = ""
    bot_id: str = ""
    team_id: str = ""


def reaction_emoji(name: str) -> str:
    """A reaction name as the engine sees it: the character where known, else `:name:`."""
    base = name.split("::", 1)[0]  # skin tones: "thumbsup::skin-tone-2"
    return REACTIONS.get(base, f":{base}:")


def slack_time(ts: Any, now: datetime) -> datetime:
    """A Slack `ts` ("1712345678.000100") as a time, never far in our future."""
    try:
        at = datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return now if at > now + timedelta(minutes=5) else at


def plain(text: str, me: Self) -> tuple[str, tuple[str, ...]]:
    """Slack's markup as plain text, and the people it mentions (person keys). A
    mention of the bot is dropped from the text: it is how a command is addressed."""
    mentions = tuple(
        dict.fromkeys(f"{PLATFORM}:{u}" for u in _MENTION.findall(text) if u != me.user_id)
    )

    def person(match: re.Match[str]) -> str:
        return "" if match.group(1) == me.user_id else f"@{match.group(1)}"

    text = _MENTION.sub(person, text)
    text = _LINK.sub(
        lambda m: m.group(1) if not m.group(2) else f"{m.group(2)} ({m.group(1)})", text
    )
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    return _CONTROL.sub("", html.unescape(text)), mentions


def command_text(text: str, *, addressed: bool) -> str:
    """`@casebot case Title` (or `case Title` in a DM) as the chat command `/case
    Title`: Slack delivers no `/case` typed in a thread, so a mention stands for it.
    Words that are no command stay as they were written."""
    stripped = text.strip()
    word = stripped.split(None, 1)[0].lower() if stripped else ""
    if addressed and word in KNOWN_COMMANDS:
        return "/" + stripped
    return text


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _rich(element: Any) -> str:
    """One rich-text element as Slack markup, so `plain` reads it like `text`."""
    element = _obj(element)
    kind = element.get("type")
    if kind == "text":
        return str(element.get("text") or "")
    if kind == "link":
        url, label = str(element.get("url") or ""), element.get("text")
        return f"<{url}|{label}>" if label else f"<{url}>"
    if kind == "user":
        return f"<@{element.get('user_id', '')}>"
    if kind == "channel":
        return f"<#{element.get('channel_id', '')}>"
    if kind == "broadcast":
        return f"<!{element.get('range', 'here')}>"
    if kind == "emoji":
        try:
            return "".join(chr(int(p, 16)) for p in str(element["unicode"]).split("-"))
        except (KeyError, ValueError, OverflowError):
            return f":{element.get('name', '')}:"
    inner = element.get("elements")
    if isinstance(inner, list):
        joined = "".join(_rich(e) for e in inner)
        return joined + "\n" if kind in ("rich_text_list", "rich_text_preformatted") else joined
    return ""


def block_text(blocks: Any) -> str:
    """The words of a message Slack sent with `blocks` and an empty `text` (clients
    and apps may): rich text as written, sections' text, one block a line."""
    if not isinstance(blocks, list):
        return ""
    lines = []
    for block in blocks:
        block = _obj(block)
        if block.get("type") == "rich_text":
            lines.append("\n".join(_rich(e).rstrip("\n") for e in block.get("elements") or []))
        elif block.get("type") == "section":
            lines.append(str(_obj(block.get("text")).get("text") or ""))
    return "\n".join(line for line in lines if line.strip())


def _words(message: dict[str, Any]) -> str:
    return str(message.get("text") or "") or block_text(message.get("blocks"))


def _attachments(files: Any) -> tuple[Attachment, ...]:
    if not isinstance(files, list):
        return ()
    found = []
    for f in files:
        if not isinstance(f, dict) or not _str(f.get("id")):
            continue
        mime = str(f.get("mimetype") or "")
        kind = next(
            (
                k
                for p, k in (("image/", "photo"), ("video/", "video"), ("audio/", "audio"))
                if mime.startswith(p)
            ),
            "document",
        )
        found.append(Attachment(kind, str(f["id"]), None, _str(f.get("name"))))
    return tuple(found)


def _actor(user: Any, me: Self, *, bot: bool = False) -> Actor | None:
    user_id = _str(user)
    if user_id is None:
        return None
    return Actor(PLATFORM, user_id, "", None, bot or user_id == me.user_id)


def _chat(channel: str, thread: str | None) -> ChatKey:
    return ChatKey(PLATFORM, channel, thread)


def _is_direct(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def _thread_of(message: dict[str, Any]) -> str | None:
    """The thread a message is in: its root's ts; a root itself is in none (it starts
    the thread its case keeps to)."""
    thread = _str(message.get("thread_ts"))
    return thread if thread and thread != message.get("ts") else None


def event_callback(raw: dict[str, Any], me: Self, now: datetime) -> Inbound | None:
    """One Events API callback (its outer envelope)."""
    event = raw.get("event")
    if not isinstance(event, dict):
        raise Unreadable("event_callback: needs an event")
    event_id = _str(raw.get("event_id")) or _derived_id(event)
    kind = event.get("type")
    if kind == "message":
        return _message(event_id, event, me, now)
    if kind in ("reaction_added", "reaction_removed"):
        item = _obj(event.get("item"))
        channel, ts, name = (
            _str(item.get("channel")),
            _str(item.get("ts")),
            _str(event.get("reaction")),
        )
        if item.get("type") != "message" or not channel or not ts or not name:
            return None
        return Inbound(
            InboundKind.REACTION,
            event_id,
            _chat(channel, None),
            slack_time(event.get("event_ts"), now),
            _actor(event.get("user"), me),
            message_id=ts,
            emoji=reaction_emoji(name),
            removed=kind == "reaction_removed",
        )
    if kind in ("member_joined_channel", "member_left_channel", "channel_left", "group_left"):
        return _membership(event_id, event, me, now)
    # app_mention repeats a message event casebot already has (message.channels)
    return None


def _derived_id(event: dict[str, Any]) -> str:
    """An id for a callback without `event_id` (some local Slack stand-ins send none):
    made of what the event is about, so a repeat of it is still one event."""
    item = _obj(event.get("item"))
    parts = (
        event.get("type"),
        event.get("subtype"),
        event.get("channel") or item.get("channel"),
        event.get("ts") or item.get("ts"),
        event.get("deleted_ts") or _obj(_obj(event.get("message")).get("edited")).get("ts"),
        event.get("user"),
        event.get("reaction"),
        event.get("event_ts"),
    )
    return "ev:" + ":".join(str(p) for p in parts if p)[:120]


def _membership(event_id: str, event: dict[str, Any], me: Self, now: datetime) -> Inbound | None:
    kind = event.get("type")
    user = event.get("user")
    channel = _str(event.get("channel"))
    if channel is None or (
        kind in ("member_joined_channel", "member_left_channel") and user != me.user_id
    ):
        return None
    return Inbound(
        InboundKind.MEMBERSHIP,
        event_id,
        _chat(channel, None),
        slack_time(event.get("event_ts"), now),
        _actor(me.user_id or None, me, bot=True),
        member_status="member" if kind == "member_joined_channel" else "removed",
    )


def _message(event_id: str, event: dict[str, Any], me: Self, now: datetime) -> Inbound | None:
    channel = _str(event.get("channel"))
    if channel is None:
        raise Unreadable("message: no channel")
    subtype = event.get("subtype")
    direct = _is_direct(event)
    at = slack_time(event.get("event_ts") or event.get("ts"), now)
    if subtype == "message_deleted":
        previous = _obj(event.get("previous_message"))
        deleted = _str(event.get("deleted_ts")) or _str(previous.get("ts"))
        if deleted is None:
            return None
        return Inbound(
            InboundKind.DELETE,
            event_id,
            _chat(channel, _thread_of(previous)),
            at,
            _actor(previous.get("user"), me, bot=bool(previous.get("bot_id"))),
            message_id=deleted,
        )
    if subtype == "message_changed":
        message = _obj(event.get("message"))
        ts = _str(message.get("ts"))
        if ts is None or message.get("subtype") == "tombstone":
            return None
        previous = _obj(event.get("previous_message"))
        if _words(previous) == _words(message):
            return None  # an unfurl or a reply count changed, not the words
        text, mentions = plain(_words(message), me)
        return Inbound(
            InboundKind.EDIT,
            event_id,
            _chat(channel, _thread_of(message)),
            at,
            _actor(message.get("user"), me, bot=bool(message.get("bot_id"))),
            message_id=ts,
            text=text,
            mentions=mentions,
            is_direct=direct,
        )
    if subtype not in _WRITTEN and subtype != "bot_message":
        return None
    ts = _str(event.get("ts"))
    if ts is None:
        raise Unreadable("message: no ts")
    bot = subtype == "bot_message" or bool(event.get("bot_id"))
    raw_text = _words(event)
    addressed = direct or bool(me.user_id) and raw_text.lstrip().startswith(f"<@{me.user_id}")
    text, mentions = plain(raw_text, me)
    text = command_text(text, addressed=addressed)
    attachments = _attachments(event.get("files"))
    thread = _thread_of(event)
    command = parse_command(text) if thread else None
    return Inbound(
        InboundKind.MESSAGE,
        event_id,
        _chat(channel, thread),
        at,
        _actor(event.get("user") or event.get("bot_id"), me, bot=bot),
        message_id=ts,
        # Slack replies to a message only by its thread: `case` typed there is about the
        # thread's first message, as `/case` in reply to a message is on Telegram
        reply_to=thread if command is not None and command.name == "case" else None,
        text=text,
        attachments=attachments,
        mentions=mentions,
        chat_type="im" if direct else event.get("channel_type"),
        is_direct=direct,
    )


def interaction(raw: dict[str, Any], me: Self, now: datetime) -> Inbound | None:
    """A button press (`block_actions`) or the "Open a case" message shortcut."""
    kind = raw.get("type")
    user = _obj(raw.get("user"))
    channel = _obj(raw.get("channel"))
    container = _obj(raw.get("container"))
    channel_id = _str(channel.get("id")) or _str(container.get("channel_id"))
    trigger = _str(raw.get("trigger_id")) or _digest(raw)
    if channel_id is None:
        return None  # a press in a modal or App Home: casebot shows none
    actor = _actor(user.get("id"), me)
    message = _obj(raw.get("message"))
    if kind == "block_actions":
        actions = raw.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return None
        action = actions[0]
        value = _str(action.get("value"))
        if value is None:
            return None
        return Inbound(
            InboundKind.BUTTON,
            f"act:{trigger}",
            _chat(channel_id, None),
            slack_time(action.get("action_ts"), now),
            actor,
            message_id=_str(message.get("ts")) or _str(container.get("message_ts")),
            data=value[:200],
            callback_id=_str(raw.get("response_url")),
        )
    if kind == "message_action" and raw.get("callback_id") == "open_case":
        ts = _str(message.get("ts"))
        if ts is None:
            return None
        return Inbound(
            InboundKind.COMMAND,
            f"act:{trigger}",
            _chat(channel_id, _thread_of(message)),
            now,
            actor,
            reply_to=ts,
            text="/case",
        )
    return None


def slash_command(form: dict[str, str], me: Self, now: datetime) -> Inbound | None:
    """`/casebot case Title` as the chat command `/case Title`; Slack posts a slash
    command only from a channel's main view, never from a thread."""
    channel, user = form.get("channel_id"), form.get("user_id")
    if not channel or not user:
        raise Unreadable("slash command: needs channel_id and user_id")
    trigger = form.get("trigger_id") or _digest(form)
    text, mentions = plain(form.get("text", ""), me)
    direct = channel.startswith("D")
    return Inbound(
        InboundKind.COMMAND,
        f"cmd:{trigger}",
        _chat(channel, None),
        now,
        _actor(user, me),
        text="/" + (text.strip() or "help"),
        mentions=mentions,
        is_direct=direct,
        chat_type="im" if direct else None,
    )


def _digest(raw: dict[str, Any]) -> str:
    """An id for a payload without `trigger_id` (Slack always sends one; hand-made
    payloads may not): the same payload delivered twice is still one event."""
    body = json.dumps(raw, sort_keys=True, default=str).encode()
    return "h" + hashlib.sha256(body).hexdigest()[:32]


def event_id_of(raw: Any) -> str:
    """A stable id for keeping an unreadable payload."""
    if isinstance(raw, dict):
        for key in ("event_id", "trigger_id"):
            if isinstance(raw.get(key), str) and 0 < len(raw[key]) <= 128:
                return str(raw[key])
    return "unknown"


def channel_of(raw: Any) -> str:
    if isinstance(raw, dict):
        event = raw.get("event")
        if isinstance(event, dict) and isinstance(event.get("channel"), str):
            return str(event["channel"])[:64]
    return "unknown"
