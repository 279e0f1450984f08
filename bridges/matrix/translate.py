"""Matrix events to `casebot.chat/v1` events, and casebot's commands to Matrix content.

Pure functions over the raw event JSON (`event.source` in matrix-nio), so every
rule here reads like the Matrix spec and is testable without a homeserver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SPEC = "casebot.chat/v1"
TEXT_TYPES = {"m.text", "m.notice", "m.emote"}
FILE_TYPES = {"m.image", "m.file", "m.audio", "m.video"}


@dataclass(frozen=True)
class RoomFacts:
    """What the bridge knows about the room an event came from."""

    room_id: str
    title: str
    is_direct: bool


def media_url(mxc: str, homeserver: str) -> str | None:
    """The homeserver's download URL of an mxc:// URI, without credentials in it
    (matrix-nio's own helper puts the access token into the URL, which would then be
    stored in casebot); fetching it needs a Matrix access token (authenticated media)."""
    server, _, media_id = mxc.removeprefix("mxc://").partition("/")
    if not mxc.startswith("mxc://") or not server or not media_id:
        return None
    return f"{homeserver.rstrip('/')}/_matrix/client/v1/media/download/{server}/{media_id}"


def _when(source: dict[str, Any]) -> str:
    millis = source.get("origin_server_ts") or 0
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z")


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted` lines older clients put before a reply's own text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    for index, line in enumerate(lines):
        if not line.startswith(">"):
            return "\n".join(lines[index + 1 if line == "" else index :])
    return body


def _envelope(
    source: dict[str, Any], kind: str, room: RoomFacts, actor_name: str
) -> dict[str, Any]:
    return {
        "spec": SPEC,
        "id": source["event_id"],
        "type": kind,
        "occurred_at": _when(source),
        "chat": {
            "id": room.room_id,
            "kind": "direct" if room.is_direct else "group",
            "title": room.title,
        },
        "actor": {"id": source["sender"], "name": actor_name, "is_bot": False},
    }


def _message_fields(content: dict[str, Any], media_url: str | None) -> dict[str, Any]:
    relates = content.get("m.relates_to") or {}
    thread_id = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
    reply = relates.get("m.in_reply_to") or {}
    # In a thread, clients add m.in_reply_to to the latest message only as a fallback
    # for clients without threads; it is a reply only when is_falling_back is false.
    reply_to_id = None if thread_id and relates.get("is_falling_back") else reply.get("event_id")
    body = str(content.get("body", ""))
    msgtype = content.get("msgtype")
    attachments = []
    if msgtype in FILE_TYPES and media_url:
        info = content.get("info") or {}
        attachments.append({"url": media_url, "name": body, "mime": info.get("mimetype")})
        body = ""
    elif reply_to_id:
        body = strip_reply_fallback(body)
    return {
        "thread_id": thread_id,
        "reply_to_id": reply_to_id,
        "text": body,
        "attachments": attachments,
    }


def to_casebot(
    source: dict[str, Any],
    room: RoomFacts,
    actor_name: str,
    known_reaction: tuple[str, str] | None = None,
    media_url: str | None = None,
) -> dict[str, Any] | None:
    """One Matrix timeline event as a casebot event, or None for what casebot does not
    take (state events, encrypted or already redacted events, unknown message types).

    `known_reaction` is the (message id, emoji) of the reaction a redaction removes,
    when the bridge saw that reaction; `media_url` is the HTTP form of an mxc:// url.
    """
    kind = source.get("type")
    content = source.get("content") or {}
    if "state_key" in source or "event_id" not in source or "sender" not in source:
        return None
    if kind == "m.room.redaction":
        redacts = source.get("redacts") or content.get("redacts")
        if not redacts:
            return None
        if known_reaction:
            event = _envelope(source, "reaction.removed", room, actor_name)
            event["reaction"] = {"message_id": known_reaction[0], "emoji": known_reaction[1]}
            return event
        event = _envelope(source, "message.deleted", room, actor_name)
        event["message"] = {"id": redacts}
        return event
    if kind == "m.reaction":
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") != "m.annotation" or not relates.get("event_id"):
            return None
        event = _envelope(source, "reaction.added", room, actor_name)
        event["reaction"] = {"message_id": relates["event_id"], "emoji": relates.get("key", "")}
        return event
    if kind != "m.room.message" or content.get("msgtype") not in TEXT_TYPES | FILE_TYPES:
        return None
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.replace" and relates.get("event_id"):
        new = content.get("m.new_content") or {}
        event = _envelope(source, "message.edited", room, actor_name)
        event["message"] = {"id": relates["event_id"], **_message_fields(new, media_url)}
        return event
    event = _envelope(source, "message.created", room, actor_name)
    event["message"] = {"id": source["event_id"], **_message_fields(content, media_url)}
    return event


def send_content(command: dict[str, Any]) -> dict[str, Any]:
    """The m.room.message content of a `message.send`: threaded, a reply, or plain."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": command.get("text") or ""}
    thread_id = command.get("thread_id")
    reply_to_id = command.get("reply_to_id")
    if thread_id:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread_id,
            "is_falling_back": not reply_to_id,
            "m.in_reply_to": {"event_id": reply_to_id or thread_id},
        }
    elif reply_to_id:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to_id}}
    return content


def edit_content(command: dict[str, Any]) -> dict[str, Any]:
    """An m.replace of `message_id`; `body` carries the usual `* ` for clients without edits."""
    text = command.get("text") or ""
    return {
        "msgtype": "m.text",
        "body": f"* {text}",
        "m.new_content": {"msgtype": "m.text", "body": text},
        "m.relates_to": {"rel_type": "m.replace", "event_id": command["message_id"]},
    }


def reaction_content(command: dict[str, Any]) -> dict[str, Any]:
    return {
        "m.relates_to": {
            "rel_type": "m.annotation",
            "event_id": command["message_id"],
            "key": command.get("text") or "",
        }
    }
