"""A fake Telegram Bot API server for tests and benchmarks.

It speaks the real Bot API wire protocol over HTTP on 127.0.0.1, so the real
python-telegram-bot client (``Bot(token, base_url=api.base_url)`` or
``ApplicationBuilder().base_url(api.base_url)``) runs unmodified against it.
It keeps just enough server-side state (chats, messages, pins, forum topics,
pending updates, webhook) to reproduce the Telegram behaviours that bots get
wrong: offset confirmation, long polling, webhook retries, HTML/MarkdownV2
entity errors, 403 for users who never pressed Start, forum topic rules, chat
migration, flood control (429) and server errors (via failure injection).

In-process use::

    async with FakeBotApi(token="123:ABC") as api:
        api.add_chat(-100, title="Acme")
        api.send_text(-100, 42, "hello")           # queue an incoming message
        ...                                        # run the bot against api.base_url
        sent = await api.wait_sent(1, chat_id=-100)

Out-of-process use: ``python -m tests.fakes.telegram_api --port 0 --token T``
prints the base URL on its first stdout line and serves until SIGTERM; the
``/_fake/...`` control routes (see ``_control_routes``) drive it over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import logging
import re
import signal
import socket
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

__all__ = [
    "ApiError",
    "EntityParseError",
    "FakeBotApi",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

MAX_TEXT_UTF16 = 4096
MAX_CALLBACK_DATA_BYTES = 64

# Telegram's own default subscription when allowed_updates was never given (or given as []).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Parameters whose value is free text: decoding them as JSON would turn "123" or "true" typed by
# a user into a number/bool, which Telegram never does.
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "name",
        "title",
        "description",
        "short_description",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "parse_mode",
        "action",
        "emoji",
        "icon_custom_emoji_id",
        "custom_title",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "query",
        "data",
        "question",
        "explanation",
        "address",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "sticker",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "animation",
        "thumbnail",
        "file_id",
        "invite_link",
        "result_id",
        "payload",
        "currency",
        "start_parameter",
        "error_message",
    }
)

# Parameters PTB always sends as JSON text; a malformed value is a client bug worth a 400.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "commands",
        "scope",
        "media",
        "permissions",
        "reaction",
        "results",
        "options",
        "menu_button",
        "rights",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

DEFAULT_TOPIC_ICON_COLOR = 0x6FB9F0

_STATUS_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _now() -> int:
    return int(time.time())


class ApiError(Exception):
    """An error answer of the Bot API; raised by method handlers, turned into JSON."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str, parameters: JSONDict | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


# --------------------------------------------------------------------------------------------
# Entity parsing (HTML and MarkdownV2), close enough to tdlib's to reject what Telegram rejects.
# --------------------------------------------------------------------------------------------


class EntityParseError(Exception):
    pass


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

# A "<" that cannot start a tag is an error in Telegram (tdlib), but plain text to html.parser.
_BARE_LT_RE = re.compile(r"<(?![A-Za-z/])")


class _TelegramHtml(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.pos16 = 0
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[JSONDict] = []
        self._line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self._line_starts.append(i + 1)

    def byte_offset(self) -> int:
        line, col = self.getpos()
        index = self._line_starts[line - 1] + col
        return len(self.source[:index].encode("utf-8"))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos16 += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset()}'
            )
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset()}'
            )
        if tag == "tg-emoji" and not attributes.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset '
                f"{self.byte_offset()}"
            )
        self.stack.append((tag, self.pos16, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise EntityParseError(
            f'Unsupported start tag "{tag}/" at byte offset {self.byte_offset()}'
        )

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.byte_offset()}")
        open_tag, start, attributes = self.stack.pop()
        if open_tag != tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        length = self.pos16 - start
        kind = _HTML_TAGS[tag]
        css_class = attributes.get("class") or ""
        in_pre = bool(self.stack) and self.stack[-1][0] == "pre"
        if kind == "code" and in_pre and css_class.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language.
            self.stack[-1][2]["_language"] = css_class.removeprefix("language-")
            return
        if length <= 0:
            return
        entity: JSONDict = {"type": kind, "offset": start, "length": length}
        if kind == "text_link":
            href = attributes.get("href")
            if not href:
                return
            entity["url"] = href
        elif kind == "pre" and attributes.get("_language"):
            entity["language"] = attributes["_language"]
        elif kind == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = attributes["emoji-id"]
        self.entities.append(entity)

    def _unsupported(self, data: str) -> None:
        raise EntityParseError(
            f'Unsupported start tag "{data.split()[0] if data.split() else ""}" '
            f"at byte offset {self.byte_offset()}"
        )

    handle_comment = _unsupported
    handle_decl = _unsupported
    handle_pi = _unsupported
    unknown_decl = _unsupported


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Return (plain text, entities) like Telegram, or raise EntityParseError."""
    bare = _BARE_LT_RE.search(source)
    if bare:
        rest = source[bare.start() + 1 :]
        name = re.match(r"[^\s>]*", rest)
        offset = len(source[: bare.start()].encode("utf-8"))
        raise EntityParseError(
            f'Unsupported start tag "{name.group(0) if name else ""}" at byte offset {offset}'
        )
    last_lt = source.rfind("<")
    if last_lt >= 0 and source.find(">", last_lt) < 0:
        kind = "end" if source.startswith("</", last_lt) else "start"
        offset = len(source[:last_lt].encode("utf-8"))
        raise EntityParseError(f"Unclosed {kind} tag at byte offset {offset}")
    parser = _TelegramHtml(source)
    parser.feed(source)
    parser.close()
    if parser.stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"'
        )
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), parser.entities


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
}


def parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    """Return (plain text, entities) for MarkdownV2, or raise EntityParseError.

    Deliberately strict on unescaped reserved characters, the classic MarkdownV2 failure.
    """
    out: list[str] = []
    pos16 = 0
    entities: list[JSONDict] = []
    stack: list[tuple[str, int, int]] = []  # (kind, utf16 start, byte offset of marker)
    i = 0
    n = len(source)

    def byte_at(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    def emit(text: str) -> None:
        nonlocal pos16
        out.append(text)
        pos16 += utf16_len(text)

    def find_unescaped(marker: str, start: int) -> int:
        j = start
        while j < n:
            if source[j] == "\\":
                j += 2
                continue
            if source.startswith(marker, j):
                return j
            j += 1
        return -1

    def unescape(text: str) -> str:
        return re.sub(r"\\([\x01-\x7e])", r"\1", text)

    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and 0 < ord(source[i + 1]) < 127:
            emit(source[i + 1])
            i += 2
            continue
        if ch == "`":
            if source.startswith("```", i):
                end = find_unescaped("```", i + 3)
                if end < 0:
                    raise EntityParseError(
                        f"Can't find end of Pre entity at byte offset {byte_at(i)}"
                    )
                body = source[i + 3 : end]
                language = ""
                first_line, newline, rest = body.partition("\n")
                if newline and first_line and " " not in first_line:
                    language, body = first_line, rest
                start = pos16
                emit(unescape(body))
                if pos16 > start:
                    entity: JSONDict = {"type": "pre", "offset": start, "length": pos16 - start}
                    if language:
                        entity["language"] = language
                    entities.append(entity)
                i = end + 3
                continue
            end = find_unescaped("`", i + 1)
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of Code entity at byte offset {byte_at(i)}"
                )
            start = pos16
            emit(unescape(source[i + 1 : end]))
            if pos16 > start:
                entities.append({"type": "code", "offset": start, "length": pos16 - start})
            i = end + 1
            continue
        if ch == "[" or (ch == "!" and source.startswith("![", i)):
            stack.append(("text_link", pos16, byte_at(i)))
            i += 1 if ch == "[" else 2
            continue
        if ch == "]" and stack and stack[-1][0] == "text_link":
            _, start, _ = stack.pop()
            i += 1
            if i < n and source[i] == "(":
                end = find_unescaped(")", i + 1)
                if end < 0:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {byte_at(i)}")
                url = unescape(source[i + 1 : end])
                if pos16 > start and url:
                    entities.append(
                        {"type": "text_link", "offset": start, "length": pos16 - start, "url": url}
                    )
                i = end + 1
            continue
        kind = None
        width = 1
        if ch == "*":
            kind = "bold"
        elif ch == "~":
            kind = "strikethrough"
        elif ch == "|" and source.startswith("||", i):
            kind, width = "spoiler", 2
        elif ch == "_":
            if source.startswith("__", i) and not (stack and stack[-1][0] == "italic"):
                kind, width = "underline", 2
            else:
                kind = "italic"
        if kind is not None:
            if stack and stack[-1][0] == kind:
                _, start, _ = stack.pop()
                if pos16 > start:
                    entities.append({"type": kind, "offset": start, "length": pos16 - start})
            else:
                stack.append((kind, pos16, byte_at(i)))
            i += width
            continue
        at_line_start = i == 0 or source[i - 1] == "\n"
        if ch == ">" and at_line_start:
            i += 1
            continue
        if ch in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if stack:
        kind, _, offset = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {offset}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _format_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
    mode = (parse_mode or "").lower()
    try:
        if entities:
            if not isinstance(entities, list):
                raise _bad("can't parse entities JSON object")
            return text, entities
        if mode == "html":
            return parse_html(text)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode in ("", "markdown"):
            # Legacy Markdown is lenient enough that tests gain nothing from emulating it.
            return text, []
    except EntityParseError as exc:
        raise _bad(f"can't parse entities: {exc}") from None
    raise _bad("unsupported parse_mode")


# --------------------------------------------------------------------------------------------
# Server state
# --------------------------------------------------------------------------------------------


@dataclass
class _Chat:
    id: int
    type: str = "supergroup"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    known: bool = False
    bot_status: str = "administrator"
    bot_rights: dict[str, bool] = field(default_factory=dict)
    owner_id: int | None = None
    admins: set[int] = field(default_factory=set)
    migrated_to: int | None = None
    next_message_id: int = 1
    messages: dict[int, JSONDict] = field(default_factory=dict)
    pinned: dict[int, None] = field(default_factory=dict)  # ordered set, oldest pin first
    topics: dict[int, JSONDict] = field(default_factory=dict)
    bot_reactions: dict[int, list[JSONDict]] = field(default_factory=dict)

    def public(self) -> JSONDict:
        chat: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name or "User"
        elif self.title is not None:
            chat["title"] = self.title
        if self.username:
            chat["username"] = self.username
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def note_id(self, message_id: int) -> None:
        if message_id >= self.next_message_id:
            self.next_message_id = message_id + 1


@dataclass
class _FailRule:
    method: str
    status: int
    description: str
    parameters: JSONDict | None
    remaining: int | None = None  # fail_next
    until: float | None = None  # fail_for (time.monotonic deadline)
    where: Callable[[JSONDict], bool] | None = None  # only calls whose params it accepts


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return _STATUS_PHRASES.get(status, "Error")


def _update_type(update: JSONDict) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


def _without_reply(message: JSONDict) -> JSONDict:
    # Telegram never nests reply_to_message more than one level deep.
    return {k: v for k, v in message.items() if k not in ("reply_to_message", "pinned")}


MethodHandler = Callable[[JSONDict], Awaitable[Any]]


class FakeBotApi:
    """Fake Telegram Bot API server. See the module docstring for an overview."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "casebot",
        bot_first_name: str = "CaseBot",
        can_read_all_group_messages: bool = False,
        filter_allowed_updates: bool = True,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
        case_insensitive_methods: bool = False,
    ) -> None:
        self.token = token
        # Telegram itself matches method names case-insensitively; proxies and other Bot API
        # servers may not, so by default this fake knows only the documented spelling
        self.case_insensitive_methods = case_insensitive_methods
        self.host = host
        self.port = port
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.can_read_all_group_messages = can_read_all_group_messages
        self.filter_allowed_updates = filter_allowed_updates
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456

        # Inspection state (public, read freely from tests).
        self.calls: list[tuple[str, JSONDict]] = []
        self.sent: list[JSONDict] = []
        # wall-clock time (time.time()) of each entry of `sent`, for latency benchmarks
        self.sent_at: list[float] = []
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook_deliveries: list[JSONDict] = []
        self.dropped_updates: list[int] = []  # skipped because of allowed_updates
        self.errors: list[str] = []  # tracebacks of bugs in this fake
        self.unauthorized_calls = 0
        self.last_allowed_updates: list[str] | None = None
        self.allowed_updates: list[str] | None = None  # current subscription, None = default
        self.webhook: JSONDict | None = None
        self.confirmed_update_id = 0
        # fields left out of administrators' ChatMember objects, as an independent Bot API
        # implementation may (e.g. {"can_post_stories"}): PTB cannot build the object then
        self.omit_admin_fields: set[str] = set()
        self._raw_values: dict[str, str] = {}  # encoded placeholder -> raw JSON text

        self._chats: dict[int, _Chat] = {}
        self._usernames: dict[str, int] = {}
        self._users: dict[int, JSONDict] = {}
        self._started: set[int] = set()
        self._blocked: set[int] = set()
        self._sent_by_chat: dict[int, list[JSONDict]] = {}
        self._call_counts: dict[str, int] = {}
        self._callback_ids: set[str] = set()
        self._next_callback_id = 1
        self._queue: deque[JSONDict] = deque()
        self._next_update_id = 1
        self._update_event = asyncio.Event()
        self._poll_generation = 0
        self._fail_rules: list[_FailRule] = []
        self._delays: dict[str, float] = {}
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._client: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False

        self._handlers: dict[str, tuple[str, MethodHandler]] = {}
        for name in (
            "getMe",
            "getUpdates",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "sendMessage",
            "editMessageText",
            "editMessageReplyMarkup",
            "deleteMessage",
            "pinChatMessage",
            "unpinChatMessage",
            "unpinAllChatMessages",
            "answerCallbackQuery",
            "sendChatAction",
            "setMessageReaction",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "getChat",
            "getChatMember",
            "getChatAdministrators",
            "leaveChat",
            "createForumTopic",
            "closeForumTopic",
            "reopenForumTopic",
            "editForumTopic",
        ):
            handler = getattr(self, "_m_" + name)
            self._handlers[self._method_key(name)] = (name, handler)

    def _method_key(self, name: str) -> str:
        return name.lower() if self.case_insensitive_methods else name

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. http://127.0.0.1:PORT (control routes live under it)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url``: it appends ``<token>/<method>`` itself."""
        return f"{self.url}/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        for method, path, handler in self._control_routes():
            app.router.add_route(method, path, handler)
        # handler_cancellation: an abandoned long poll must not linger and later answer 409.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        await self._stop_webhook_task()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- configuration

    def add_chat(
        self,
        chat_id: int,
        type: str = "supergroup",
        title: str | None = None,
        *,
        is_forum: bool = False,
        bot_status: str = "administrator",
        can_pin_messages: bool = True,
        can_manage_topics: bool = True,
        can_delete_messages: bool = True,
        username: str | None = None,
        first_name: str | None = None,
        owner_id: int | None = None,
        admins: Iterable[int] = (),
    ) -> JSONDict:
        """Register (or reconfigure) a chat. Returns its Chat dict."""
        if (type == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids (the user id), others negative")
        if is_forum and type != "supergroup":
            raise ValueError("only supergroups can be forums")
        chat = self._chat_state(chat_id)
        chat.type = type
        chat.title = title if title is not None else (chat.title or f"Chat {chat_id}")
        if type == "private":
            chat.title = None
            chat.first_name = first_name or chat.first_name or "User"
        chat.is_forum = is_forum
        chat.known = True
        chat.bot_status = bot_status
        chat.bot_rights = {
            "can_pin_messages": can_pin_messages,
            "can_manage_topics": can_manage_topics,
            "can_delete_messages": can_delete_messages,
        }
        if username:
            chat.username = username
            self._usernames[username.lower()] = chat_id
        chat.owner_id = owner_id
        chat.admins = set(admins)
        if type == "private":
            self._started.add(chat_id)
        return chat.public()

    def add_private(
        self, user_id: int, first_name: str = "User", username: str | None = None
    ) -> JSONDict:
        """Mark ``user_id`` as having pressed Start, so the bot may message them."""
        self._users.setdefault(user_id, self._user(user_id, first_name, username))
        self._blocked.discard(user_id)
        return self.add_chat(
            user_id, "private", first_name=first_name, username=username, bot_status="member"
        )

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to them now give 403."""
        self._blocked.add(user_id)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        parameters: JSONDict | None = None,
        where: Callable[[JSONDict], bool] | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` ("*" = any) fail without side effects;
        with ``where``, only calls whose request params it accepts (e.g. one chat's send,
        when the bot sends to several chats at once and their order is not fixed)."""
        rule = self._rule(method, status, description, retry_after, parameters, remaining=count)
        rule.where = where
        self._fail_rules.append(rule)

    def fail_for(
        self,
        method: str,
        seconds: float,
        status: int,
        retry_after: int | None = None,
        description: str | None = None,
        parameters: JSONDict | None = None,
    ) -> None:
        """Make every call of ``method`` ("*" = any) fail for the next ``seconds``."""
        until = time.monotonic() + seconds
        self._fail_rules.append(
            self._rule(method, status, description, retry_after, parameters, until=until)
        )

    def clear_failures(self) -> None:
        self._fail_rules.clear()

    def delay(self, method: str, seconds: float) -> None:
        """Delay answers of ``method`` ("*" = any); 0 removes the delay.

        The call takes effect first and only the answer is late, like a real timeout where
        the client cannot know whether the message went out.
        """
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def _rule(
        self,
        method: str,
        status: int,
        description: str | None,
        retry_after: int | None,
        parameters: JSONDict | None,
        *,
        remaining: int | None = None,
        until: float | None = None,
    ) -> _FailRule:
        params = dict(parameters or {})
        if status == 429 and retry_after is None:
            retry_after = 1
        if retry_after is not None:
            params["retry_after"] = retry_after
        if description is None:
            description = _default_description(status, retry_after)
        return _FailRule(method, status, description, params or None, remaining, until)

    # ---------------------------------------------------------------- inspection

    def calls_to(self, method: str) -> list[JSONDict]:
        """Params of every call of ``method`` so far."""
        return [params for name, params in self.calls if name == method]

    def call_count(self, method: str) -> int:
        return self._call_counts.get(method, 0)

    def sent_to(self, chat_id: int) -> list[JSONDict]:
        return list(self._sent_by_chat.get(chat_id, ()))

    def messages(self, chat_id: int, *, from_bot: bool | None = None) -> list[JSONDict]:
        """Current messages of a chat, oldest first: incoming, sent and topic service messages,
        edits applied, deletions removed; each has ``pinned`` (and ``bot_reaction`` if set)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        result = []
        for message_id in sorted(chat.messages):
            message = chat.messages[message_id]
            if from_bot is not None:
                is_bot_message = message.get("from", {}).get("id") == self.bot_id
                if is_bot_message != from_bot:
                    continue
            result.append(self._inspected(chat, message))
        return result

    @staticmethod
    def _inspected(chat: _Chat, message: JSONDict) -> JSONDict:
        view = {**message, "pinned": message["message_id"] in chat.pinned}
        if message["message_id"] in chat.bot_reactions:
            view["bot_reaction"] = chat.bot_reactions[message["message_id"]]
        return view

    def get_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        chat = self._chats.get(chat_id)
        message = chat.messages.get(message_id) if chat else None
        if message is None or chat is None:
            return None
        return self._inspected(chat, message)

    def pinned(self, chat_id: int) -> list[int]:
        """Pinned message ids, oldest pin first."""
        chat = self._chats.get(chat_id)
        return list(chat.pinned) if chat else []

    def topics(self, chat_id: int) -> list[JSONDict]:
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [dict(chat.topics[thread_id]) for thread_id in sorted(chat.topics)]

    def chat(self, chat_id: int) -> JSONDict | None:
        """Registry view of a chat: its Chat dict plus the fake's settings for it."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.known:
            return None
        return {
            **chat.public(),
            "bot_status": chat.bot_status,
            **chat.bot_rights,
            "migrated_to": chat.migrated_to,
        }

    @property
    def pending_update_count(self) -> int:
        return len(self._queue)

    def pending_updates(self) -> list[JSONDict]:
        return list(self._queue)

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,
        *,
        what: str | None = None,
    ) -> Any:
        """Poll ``predicate()`` every 10 ms; return its first truthy value.

        The predicate may be sync or async. Raises TimeoutError describing the fake's state.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_report(what or repr(predicate), timeout))
            await asyncio.sleep(0.01)

    async def wait_sent(
        self, n: int, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[JSONDict]:
        """Wait until at least ``n`` messages were sent (to ``chat_id`` if given); return them."""

        def enough() -> list[JSONDict] | None:
            sent = self.sent if chat_id is None else self._sent_by_chat.get(chat_id, [])
            return list(sent) if len(sent) >= n else None

        where = "" if chat_id is None else f" to chat {chat_id}"
        return await self.wait_for(enough, timeout, what=f"{n} sent messages{where}")

    async def wait_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until the bot confirmed ``update_id`` (getUpdates offset past it, webhook 2xx)."""
        await self.wait_for(
            lambda: self.confirmed_update_id >= update_id,
            timeout,
            what=f"confirmation of update {update_id}",
        )

    def _timeout_report(self, what: str, timeout: float) -> str:
        recent = [name for name, _ in self.calls[-10:]]
        parts = [
            f"timed out after {timeout}s waiting for {what}",
            f"sent={len(self.sent)}",
            f"pending_updates={len(self._queue)}",
            f"confirmed_update_id={self.confirmed_update_id}",
            f"last calls={recent}",
        ]
        if self.webhook:
            parts.append(f"webhook={self.webhook['url']} last_error={self._webhook_error}")
        if self.dropped_updates:
            parts.append(f"dropped by allowed_updates={self.dropped_updates[-10:]}")
        if self.errors:
            parts.append(f"FAKE SERVER ERRORS: {self.errors[-3:]}")
        return "; ".join(parts)

    # ---------------------------------------------------------------- update injection

    def raw_json(self, text: str) -> str:
        """A value sent as this JSON text as it is: for an update nested deeper than
        json.dumps can go (put the returned placeholder where the value belongs)."""
        placeholder = f"\x00raw:{len(self._raw_values)}"
        self._raw_values[json.dumps(placeholder)] = text
        return placeholder

    def push_update(self, update: JSONDict) -> int:
        """Queue an update (assigning ``update_id``) for getUpdates or webhook delivery."""
        update_id = self._next_update_id
        self._next_update_id += 1
        stored = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        self._observe(stored)
        self._queue.append(stored)
        self._notify()
        return update_id

    def send_text(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> JSONDict:
        """Build a ``message`` update and push it. Returns the update as queued."""
        update = self.message(chat_id, user_id, text, **kwargs)
        update_id = self.push_update(update)
        return {"update_id": update_id, **update}

    def observe_text(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> JSONDict:
        """Build a ``message`` update as ``send_text`` does, for the caller to deliver
        itself (a benchmark posting to several webhook processes): the chat knows the
        message, the update has its id, and nothing is queued."""
        update = self.message(chat_id, user_id, text, **kwargs)
        stored = {"update_id": self._next_update_id, **update}
        self._next_update_id += 1
        self._observe(stored)
        return stored

    def _notify(self) -> None:
        self._update_event.set()
        self._update_event = asyncio.Event()

    def _observe(self, update: JSONDict) -> None:
        """Keep server state consistent with what users did."""
        for key in ("message", "edited_message"):
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message:
                self._observe_message(message, edited=key == "edited_message")
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._callback_ids.add(str(query.get("id")))
            self._remember_user(query.get("from"))
        member = update.get("my_chat_member")
        if isinstance(member, dict):
            self._observe_my_chat_member(member)

    def _observe_message(self, message: JSONDict, *, edited: bool) -> None:
        chat_info = message["chat"]
        chat = self._ensure_known(chat_info)
        self._remember_user(message.get("from"))
        if chat.type == "private":
            self._started.add(chat.id)
        message_id = message.get("message_id")
        if isinstance(message_id, int):
            chat.note_id(message_id)
            if edited and message_id in chat.messages:
                chat.messages[message_id] = {**chat.messages[message_id], **message}
            else:
                chat.messages[message_id] = dict(message)
        new_id = message.get("migrate_to_chat_id")
        if isinstance(new_id, int):
            chat.migrated_to = new_id
            new_chat = self._chat_state(new_id)
            new_chat.type = "supergroup"
            new_chat.title = chat.title
            new_chat.known = True
            new_chat.bot_status = chat.bot_status
            new_chat.bot_rights = dict(chat.bot_rights)
            new_chat.owner_id = chat.owner_id
            new_chat.admins = set(chat.admins)

    def _observe_my_chat_member(self, update: JSONDict) -> None:
        chat = self._ensure_known(update.get("chat", {}))
        new = update.get("new_chat_member", {})
        if new.get("user", {}).get("id") == self.bot_id:
            chat.bot_status = new.get("status", chat.bot_status)
            if chat.bot_status == "administrator":
                for right in ("can_pin_messages", "can_manage_topics", "can_delete_messages"):
                    if right in new:
                        chat.bot_rights[right] = bool(new[right])

    def _ensure_known(self, chat_info: JSONDict) -> _Chat:
        chat = self._chat_state(int(chat_info["id"]))
        if not chat.known:
            chat.known = True
            chat.type = chat_info.get("type", chat.type)
            chat.title = chat_info.get("title")
            chat.first_name = chat_info.get("first_name")
            chat.is_forum = bool(chat_info.get("is_forum"))
            chat.bot_status = "member" if chat.type == "private" else "administrator"
            chat.bot_rights = {
                "can_pin_messages": True,
                "can_manage_topics": True,
                "can_delete_messages": True,
            }
            if chat_info.get("username"):
                chat.username = chat_info["username"]
                self._usernames[chat_info["username"].lower()] = chat.id
        return chat

    def _remember_user(self, user: Any) -> None:
        if isinstance(user, dict) and isinstance(user.get("id"), int) and not user.get("is_bot"):
            self._users[user["id"]] = user

    def _chat_state(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id)
        return chat

    # ---------------------------------------------------------------- update builders

    @staticmethod
    def _user(
        user_id: int, first_name: str = "User", username: str | None = None, **extra: Any
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        user.update({k: v for k, v in extra.items() if v is not None})
        return user

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _chat_for_builder(
        self,
        chat_id: int,
        chat_type: str | None,
        first_name: str,
        username: str | None,
        title: str | None = None,
    ) -> JSONDict:
        chat = self._chats.get(chat_id)
        if chat is not None and chat.known and chat_type in (None, chat.type):
            return chat.public()
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        if kind == "private":
            info: JSONDict = {"id": chat_id, "type": "private", "first_name": first_name}
            if username:
                info["username"] = username
            return info
        return {"id": chat_id, "type": kind, "title": title or f"Chat {chat_id}"}

    def message(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        message_id: int | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        first_name: str = "User",
        username: str | None = None,
        chat_type: str | None = None,
        date: int | None = None,
        photo: bool = False,
        document: str | JSONDict | None = None,
        caption: str | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """Build a ``message`` update (not pushed). ``chat_type`` defaults to the registered
        type, else private for positive ids and supergroup otherwise. A leading ``/command``
        gets a bot_command entity. In a forum topic without ``reply_to``, ``reply_to_message``
        is the topic's creation message, as Telegram does. A member who is no admin cannot
        write in a closed topic: that raises ApiError (TOPIC_CLOSED)."""
        chat_info = self._chat_for_builder(chat_id, chat_type, first_name, username)
        state = self._chat_state(chat_id)
        topic = state.topics.get(thread_id) if thread_id is not None else None
        if topic is not None and topic["is_closed"] and not self._is_admin(state, user_id):
            # Telegram refuses a member's message in a closed topic: no update exists
            raise _bad("TOPIC_CLOSED")
        if message_id is None:
            message_id = state.allocate_id()
        else:
            state.note_id(message_id)
        message: JSONDict = {
            "message_id": message_id,
            "from": self._user(user_id, first_name, username),
            "chat": chat_info,
            "date": date if date is not None else _now(),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if state.is_forum or not state.known:
                message["is_topic_message"] = True
        if text is not None:
            message["text"] = text
            if entities is None and text.startswith("/"):
                command = text.split(maxsplit=1)[0] if text.strip() else text
                entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
            if entities:
                message["entities"] = entities
        if photo:
            message["photo"] = [
                {
                    "file_id": f"photo-{chat_id}-{message_id}-{size}",
                    "file_unique_id": f"p{chat_id}{message_id}{size}",
                    "width": size,
                    "height": size,
                    "file_size": size * 100,
                }
                for size in (90, 320, 800)
            ]
        if document is not None:
            doc: JSONDict = {
                "file_id": f"doc-{chat_id}-{message_id}",
                "file_unique_id": f"d{chat_id}{message_id}",
            }
            if isinstance(document, str):
                doc["file_name"] = document
            else:
                doc.update(document)
            message["document"] = doc
        if caption is not None:
            message["caption"] = caption
        replied_id = reply_to
        if replied_id is None and thread_id is not None and thread_id in state.topics:
            replied_id = thread_id
        if replied_id is not None:
            replied = state.messages.get(replied_id)
            message["reply_to_message"] = (
                _without_reply(replied)
                if replied
                else {"message_id": replied_id, "date": message["date"], "chat": chat_info}
            )
        return {"message": message}

    @staticmethod
    def _is_admin(chat: _Chat, user_id: int) -> bool:
        return user_id == chat.owner_id or user_id in chat.admins

    def edited_message(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        text: str,
        *,
        first_name: str = "User",
        username: str | None = None,
        chat_type: str | None = None,
        date: int | None = None,
        edit_date: int | None = None,
    ) -> JSONDict:
        """Build an ``edited_message`` update for an existing (or invented) message."""
        state = self._chat_state(chat_id)
        original = state.messages.get(message_id)
        if original is not None:
            message = {k: v for k, v in original.items() if k not in ("entities",)}
        else:
            message = self.message(
                chat_id,
                user_id,
                None,
                message_id=message_id,
                first_name=first_name,
                username=username,
                chat_type=chat_type,
                date=date,
            )["message"]
        message["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        message["edit_date"] = edit_date if edit_date is not None else _now()
        return {"edited_message": message}

    def reaction(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        emoji: str | None,
        *,
        old_emoji: str | None = None,
        first_name: str = "User",
        username: str | None = None,
        date: int | None = None,
    ) -> JSONDict:
        """Build a ``message_reaction`` update (``emoji=None`` removes ``old_emoji``)."""

        def reactions(value: str | None) -> list[JSONDict]:
            return [{"type": "emoji", "emoji": value}] if value else []

        return {
            "message_reaction": {
                "chat": self._chat_for_builder(chat_id, None, first_name, username),
                "message_id": message_id,
                "user": self._user(user_id, first_name, username),
                "date": date if date is not None else _now(),
                "old_reaction": reactions(old_emoji),
                "new_reaction": reactions(emoji),
            }
        }

    def callback_query(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str,
        *,
        first_name: str = "User",
        username: str | None = None,
        query_id: str | None = None,
    ) -> JSONDict:
        """Build a ``callback_query`` update for a button under ``message_id``."""
        if query_id is None:
            query_id = f"cbq{self._next_callback_id}"
            self._next_callback_id += 1
        chat_info = self._chat_for_builder(chat_id, None, first_name, username)
        original = self._chat_state(chat_id).messages.get(message_id)
        message = (
            _without_reply(original)
            if original
            else {
                "message_id": message_id,
                "date": _now(),
                "chat": chat_info,
                "from": self.bot_user,
            }
        )
        return {
            "callback_query": {
                "id": query_id,
                "from": self._user(user_id, first_name, username),
                "chat_instance": f"ci{chat_id}",
                "data": data,
                "message": message,
            }
        }

    def _member(self, user: JSONDict, status: str, chat: _Chat | None = None) -> JSONDict:
        member: JSONDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = chat.bot_rights if chat is not None and user.get("is_bot") else {}
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": rights.get("can_delete_messages", True),
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": rights.get("can_pin_messages", True),
                    "can_manage_topics": rights.get("can_manage_topics", True),
                }
            )
            for field in self.omit_admin_fields:
                member.pop(field, None)
        elif status == "restricted":
            member.update(
                {
                    "is_member": True,
                    "until_date": 0,
                    **{
                        right: False
                        for right in (
                            "can_change_info",
                            "can_invite_users",
                            "can_pin_messages",
                            "can_send_messages",
                            "can_send_polls",
                            "can_send_other_messages",
                            "can_add_web_page_previews",
                            "can_manage_topics",
                            "can_send_audios",
                            "can_send_documents",
                            "can_send_photos",
                            "can_send_videos",
                            "can_send_video_notes",
                            "can_send_voice_notes",
                            "can_edit_tag",
                        )
                    },
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def my_chat_member(
        self,
        chat_id: int,
        old_status: str,
        new_status: str,
        by_user_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str = "User",
        date: int | None = None,
    ) -> JSONDict:
        """Build a ``my_chat_member`` update (the bot was added, promoted, removed...).
        Pushing it also updates the bot's status in the fake's chat registry."""
        chat = self._chats.get(chat_id)
        chat_info = self._chat_for_builder(chat_id, chat_type, first_name, None, title)
        return {
            "my_chat_member": {
                "chat": chat_info,
                "from": self._user(by_user_id, first_name),
                "date": date if date is not None else _now(),
                "old_chat_member": self._member(self.bot_user, old_status, chat),
                "new_chat_member": self._member(self.bot_user, new_status, chat),
            }
        }

    def migrate(
        self,
        chat_id: int,
        new_chat_id: int,
        *,
        user_id: int = 1,
        first_name: str = "User",
        title: str | None = None,
    ) -> JSONDict:
        """Build the ``message`` with ``migrate_to_chat_id`` sent in a group upgraded to a
        supergroup. Pushing it makes the old id answer 400 with migrate_to_chat_id."""
        state = self._chat_state(chat_id)
        chat_info = {
            "id": chat_id,
            "type": "group",
            "title": title or state.title or f"Chat {chat_id}",
        }
        return {
            "message": {
                "message_id": state.allocate_id(),
                "from": self._user(user_id, first_name),
                "chat": chat_info,
                "date": _now(),
                "migrate_to_chat_id": new_chat_id,
            }
        }

    # ---------------------------------------------------------------- HTTP plumbing

    async def _parse_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = {}
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("JSON object expected")
                for key, value in body.items():
                    # Values in a JSON body are typed already; only nested JSON text remains.
                    if isinstance(value, str) and key in JSON_FIELDS:
                        params[key] = self._decode_json_field(key, value)
                    else:
                        params[key] = value
                raw = {k: v for k, v in raw.items() if k not in params}
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        content = value.file.read()
                        raw[key] = {
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "size": len(content),
                        }
                    else:
                        raw[key] = value
        for key, value in raw.items():
            params[key] = self._decode(key, value)
        return params

    @staticmethod
    def _decode_json_field(key: str, value: str) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            if key == "reply_markup":
                raise _bad("can't parse reply keyboard markup JSON object") from None
            raise _bad(f"can't parse {key} JSON object") from None

    def _decode(self, key: str, value: Any) -> Any:
        if not isinstance(value, str) or key in STRING_FIELDS:
            return value
        if key in JSON_FIELDS:
            return self._decode_json_field(key, value)
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return value if isinstance(decoded, str) else decoded

    @staticmethod
    def _json_response(status: int, body: Any) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
            content_type="application/json",
        )

    def _match_failure(self, method: str, params: JSONDict) -> _FailRule | None:
        if not self._fail_rules:
            return None
        now = time.monotonic()
        for rule in list(self._fail_rules):
            if rule.until is not None and now >= rule.until:
                self._fail_rules.remove(rule)
                continue
            if rule.method not in (method, "*"):
                continue
            if rule.where is not None and not rule.where(params):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._fail_rules.remove(rule)
            return rule
        return None

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            self.unauthorized_calls += 1
            return self._json_response(
                401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        requested = request.match_info["method"]
        entry = self._handlers.get(self._method_key(requested))
        method = entry[0] if entry else requested
        try:
            params = await self._parse_params(request)
        except ApiError as exc:
            self.calls.append((method, {}))
            return self._json_response(exc.status, exc.body())
        self.calls.append((method, params))
        self._call_counts[method] = self._call_counts.get(method, 0) + 1
        if entry is None:
            return self._json_response(
                404,
                {
                    "ok": False,
                    "error_code": 404,
                    "description": f"Not Found: method {requested} is unknown to FakeBotApi",
                },
            )
        rule = self._match_failure(method, params)
        if rule is not None:
            status = rule.status
            response_body = ApiError(rule.status, rule.description, rule.parameters).body()
        else:
            try:
                result = await entry[1](params)
                status, response_body = 200, {"ok": True, "result": result}
            except ApiError as exc:
                status, response_body = exc.status, exc.body()
            except Exception as exc:  # a bug in the fake: make it loud, not silent
                self.errors.append(traceback.format_exc())
                log.exception("FakeBotApi %s failed", method)
                status = 500
                response_body = {
                    "ok": False,
                    "error_code": 500,
                    "description": f"Internal Server Error: FakeBotApi bug: {exc!r}",
                }
        delay = self._delays.get(method, self._delays.get("*"))
        if delay:
            await asyncio.sleep(delay)
        response = self._json_response(status, response_body)
        if self._raw_values and isinstance(response.body, bytes):
            text = response.body.decode("utf-8")
            for placeholder, raw in self._raw_values.items():
                text = text.replace(placeholder, raw)
            response.body = text.encode("utf-8")
        return response

    # ---------------------------------------------------------------- common checks

    def _target_chat(self, params: JSONDict, *, for_sending: bool = False) -> _Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str):
            chat_id = self._usernames.get(raw.lstrip("@").lower())
            if chat_id is None:
                raise _bad("chat not found")
        elif isinstance(raw, int) and not isinstance(raw, bool):
            chat_id = raw
        else:
            raise _bad("chat not found")
        if chat_id > 0:
            if chat_id in self._blocked and for_sending:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id not in self._started:
                if for_sending:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
                raise _bad("chat not found")
            chat = self._chat_state(chat_id)
            if not chat.known:
                user = self._users.get(chat_id, {})
                self._ensure_known(
                    {"id": chat_id, "type": "private", "first_name": user.get("first_name")}
                )
            return chat
        chat = self._chats.get(chat_id)
        if chat is None or not chat.known:
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.bot_status in ("left", "kicked"):
            kind = {"supergroup": "supergroup chat", "channel": "channel chat"}.get(
                chat.type, "group chat"
            )
            if chat.bot_status == "kicked":
                raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        return chat

    def _bot_can(self, chat: _Chat, right: str) -> bool:
        if chat.type == "private" or chat.bot_status == "creator":
            return True
        return chat.bot_status == "administrator" and chat.bot_rights.get(right, True)

    @staticmethod
    def _int_param(params: JSONDict, name: str, *, required: bool = True) -> int | None:
        value = params.get(name)
        if value is None:
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f"invalid {name} specified")
        return value

    @staticmethod
    def _inline_markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            # Reply keyboards are accepted but never echoed back in Message.reply_markup.
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard markup JSON object")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                if len(button) == 1:
                    raise _bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and (
                    not data or len(str(data).encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
                ):
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _checked_text(params: JSONDict) -> tuple[str, list[JSONDict]]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        plain, entities = _format_text(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _bad("message text is empty")
        if utf16_len(plain) > MAX_TEXT_UTF16:
            raise _bad("message is too long")
        return plain, entities

    def _existing_message(self, chat: _Chat, params: JSONDict, what: str) -> JSONDict:
        message_id = self._int_param(params, "message_id")
        assert message_id is not None
        message = chat.messages.get(message_id)
        if message is None:
            raise _bad(f"message to {what} not found")
        return message

    def _topic(self, chat: _Chat, params: JSONDict) -> JSONDict:
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        thread_id = self._int_param(params, "message_thread_id")
        topic = chat.topics.get(thread_id)  # type: ignore[arg-type]
        if topic is None:
            raise _bad("message thread not found")
        return topic

    # ---------------------------------------------------------------- methods: bot & updates

    async def _m_getMe(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_subscription(self, allowed: Any) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise _bad("can't parse allowed updates JSON array")
        self.last_allowed_updates = list(allowed)
        self.allowed_updates = list(allowed) or None

    def _is_allowed(self, update: JSONDict) -> bool:
        if not self.filter_allowed_updates:
            return True
        kind = _update_type(update)
        if self.allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed_updates

    def _confirm(self, offset: int) -> None:
        queue = self._queue
        if offset > 0:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()
            self.confirmed_update_id = max(self.confirmed_update_id, offset - 1)
        elif offset < 0:
            while len(queue) > -offset:
                dropped = queue.popleft()
                self.confirmed_update_id = max(self.confirmed_update_id, dropped["update_id"])

    def _collect(self, limit: int) -> list[JSONDict]:
        result: list[JSONDict] = []
        skipped: list[JSONDict] = []
        for update in self._queue:
            if not self._is_allowed(update):
                skipped.append(update)
                continue
            result.append(update)
            if len(result) >= limit:
                break
        if skipped:
            # Telegram never creates unsubscribed updates; forget them for good.
            skipped_ids = {id(u) for u in skipped}
            self._queue = deque(u for u in self._queue if id(u) not in skipped_ids)
            self.dropped_updates.extend(u["update_id"] for u in skipped)
        return result

    async def _m_getUpdates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._int_param(params, "offset", required=False) or 0
        limit = self._int_param(params, "limit", required=False) or 100
        limit = max(1, min(100, limit))
        timeout = params.get("timeout") or 0
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise _bad("invalid timeout specified")
        self._set_subscription(params.get("allowed_updates"))
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # wakes an older long poll so it can learn it was superseded
        deadline = time.monotonic() + max(0.0, float(timeout))
        while True:
            self._confirm(offset)
            result = self._collect(limit)
            remaining = deadline - time.monotonic()
            if result or remaining <= 0 or self._closing:
                return result
            event = self._update_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self.webhook is not None:
                return []

    async def _m_setWebhook(self, params: JSONDict) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._m_deleteWebhook(params)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        self._set_subscription(params.get("allowed_updates"))
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "drop_pending_updates": bool(params.get("drop_pending_updates")),
            "max_connections": params.get("max_connections"),
        }
        self._webhook_error = None
        await self._stop_webhook_task()
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return True

    async def _m_deleteWebhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self.webhook = None
        await self._stop_webhook_task()
        self._notify()
        return True

    def _drop_pending(self) -> None:
        if self._queue:
            self.confirmed_update_id = max(self.confirmed_update_id, self._queue[-1]["update_id"])
        self._queue.clear()

    async def _m_getWebhookInfo(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook:
            if self.webhook.get("max_connections"):
                info["max_connections"] = self.webhook["max_connections"]
            if self.allowed_updates is not None:
                info["allowed_updates"] = self.allowed_updates
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhooks(self) -> None:
        """Deliver queued updates one at a time, in order, retrying until a 2xx."""
        if self._client is None:
            self._client = aiohttp.ClientSession()
        while self.webhook is not None and not self._closing:
            if not self._queue:
                await self._update_event.wait()
                continue
            update = self._queue[0]
            if not self._is_allowed(update):
                self._queue.popleft()
                self.dropped_updates.append(update["update_id"])
                continue
            url = self.webhook["url"]
            headers = {}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
            status: int | None = None
            error: str | None = None
            try:
                async with self._client.post(
                    url,
                    json=update,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as response:
                    status = response.status
                    await response.read()
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {response.reason}"
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                error = "Read timeout expired"
            except aiohttp.ClientError as exc:
                error = f"Connection error: {exc}"
            self.webhook_deliveries.append(
                {"update_id": update["update_id"], "status": status, "error": error, "url": url}
            )
            if error is None:
                if self._queue and self._queue[0] is update:
                    self._queue.popleft()
                self.confirmed_update_id = max(self.confirmed_update_id, update["update_id"])
            else:
                self._webhook_error = (_now(), error)
                await asyncio.sleep(self.webhook_retry_delay)

    # ---------------------------------------------------------------- methods: messages

    def _thread_and_reply(
        self, chat: _Chat, params: JSONDict
    ) -> tuple[int | None, JSONDict | None]:
        thread_id = self._int_param(params, "message_thread_id", required=False)
        reply_params = params.get("reply_parameters")
        if reply_params is None and params.get("reply_to_message_id") is not None:
            reply_params = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        replied: JSONDict | None = None
        if reply_params is not None:
            if not isinstance(reply_params, dict):
                raise _bad("can't parse reply parameters JSON object")
            target_chat = chat
            if reply_params.get("chat_id") not in (None, chat.id):
                target_chat = self._target_chat({"chat_id": reply_params["chat_id"]})
            replied = target_chat.messages.get(reply_params.get("message_id"))  # type: ignore[arg-type]
            if replied is None and not reply_params.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
            if replied is not None and thread_id is None and replied.get("is_topic_message"):
                # A reply lands in the replied message's topic.
                thread_id = replied.get("message_thread_id")
        if thread_id is not None:
            if not chat.is_forum:
                raise _bad("message thread not found")
            topic = chat.topics.get(thread_id)
            if topic is None:
                raise _bad("message thread not found")
            if topic.get("is_closed") and not self._bot_can(chat, "can_manage_topics"):
                raise _bad("TOPIC_CLOSED")
            if replied is None:
                replied = chat.messages.get(thread_id)
        return thread_id, replied

    def _new_bot_message(
        self, chat: _Chat, thread_id: int | None, replied: JSONDict | None
    ) -> JSONDict:
        message: JSONDict = {"message_id": chat.allocate_id()}
        if chat.type == "channel":
            message["sender_chat"] = chat.public()
        else:
            message["from"] = self.bot_user
        message["chat"] = chat.public()
        message["date"] = _now()
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if replied is not None:
            message["reply_to_message"] = _without_reply(replied)
        return message

    async def _m_sendMessage(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params, for_sending=True)
        text, entities = self._checked_text(params)
        markup = self._inline_markup(params)
        thread_id, replied = self._thread_and_reply(chat, params)
        message = self._new_bot_message(chat, thread_id, replied)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        snapshot = dict(message)
        self.sent.append(snapshot)
        self.sent_at.append(time.time())
        self._sent_by_chat.setdefault(chat.id, []).append(snapshot)
        return message

    def _editable(self, params: JSONDict) -> tuple[_Chat, JSONDict]:
        if params.get("inline_message_id") is not None:
            raise _bad("message to edit not found")
        chat = self._target_chat(params)
        message = self._existing_message(chat, params, "edit")
        if message.get("from", {}).get("id") != self.bot_id and chat.type != "channel":
            raise _bad("message can't be edited")
        return chat, message

    async def _m_editMessageText(self, params: JSONDict) -> JSONDict:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._checked_text(params)
        markup = self._inline_markup(params)
        if (
            text == message.get("text")
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        # Omitting reply_markup in an edit removes the inline keyboard, as in Telegram.
        updated = {k: v for k, v in message.items() if k not in ("entities", "reply_markup")}
        updated["text"] = text
        if entities:
            updated["entities"] = entities
        if markup is not None:
            updated["reply_markup"] = markup
        updated["edit_date"] = _now()
        chat.messages[message["message_id"]] = updated
        return updated

    async def _m_editMessageReplyMarkup(self, params: JSONDict) -> JSONDict:
        chat, message = self._editable(params)
        markup = self._inline_markup(params)
        if markup == message.get("reply_markup"):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        updated = {k: v for k, v in message.items() if k != "reply_markup"}
        if markup is not None:
            updated["reply_markup"] = markup
        updated["edit_date"] = _now()
        chat.messages[message["message_id"]] = updated
        return updated

    async def _m_deleteMessage(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        message = self._existing_message(chat, params, "delete")
        is_own = message.get("from", {}).get("id") == self.bot_id
        if not is_own and not self._bot_can(chat, "can_delete_messages"):
            raise _bad("message can't be deleted")
        message_id = message["message_id"]
        del chat.messages[message_id]
        chat.pinned.pop(message_id, None)
        self.deleted.append((chat.id, message_id))
        return True

    async def _m_pinChatMessage(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        if not self._bot_can(chat, "can_pin_messages"):
            raise _bad("not enough rights to manage pinned messages in the chat")
        message = self._existing_message(chat, params, "pin")
        chat.pinned.pop(message["message_id"], None)
        chat.pinned[message["message_id"]] = None
        return True

    async def _m_unpinChatMessage(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        if not self._bot_can(chat, "can_pin_messages"):
            raise _bad("not enough rights to manage pinned messages in the chat")
        message_id = self._int_param(params, "message_id", required=False)
        if message_id is None:
            if chat.pinned:
                chat.pinned.pop(next(reversed(chat.pinned)))
        else:
            chat.pinned.pop(message_id, None)
        return True

    async def _m_unpinAllChatMessages(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        if not self._bot_can(chat, "can_pin_messages"):
            raise _bad("not enough rights to manage pinned messages in the chat")
        chat.pinned.clear()
        return True

    async def _m_answerCallbackQuery(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._callback_ids.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    async def _m_sendChatAction(self, params: JSONDict) -> bool:
        self._target_chat(params, for_sending=True)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _m_setMessageReaction(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        message = self._existing_message(chat, params, "react")
        reaction = params.get("reaction") or []
        if not isinstance(reaction, list):
            raise _bad("can't parse reaction types JSON object")
        chat.bot_reactions[message["message_id"]] = reaction
        return True

    # ---------------------------------------------------------------- methods: commands

    @staticmethod
    def _scope_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _m_setMyCommands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON array")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(params)] = commands
        return True

    async def _m_getMyCommands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._scope_key(params), [])

    async def _m_deleteMyCommands(self, params: JSONDict) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    # ---------------------------------------------------------------- methods: chats

    async def _m_getChat(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        info: JSONDict = {
            **chat.public(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.type != "private":
            info["is_forum"] = chat.is_forum
        if chat.pinned:
            latest = chat.messages.get(next(reversed(chat.pinned)))
            if latest is not None:
                info["pinned_message"] = _without_reply(latest)
        return info

    async def _m_getChatMember(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        user_id = self._int_param(params, "user_id")
        if user_id == self.bot_id:
            return self._member(self.bot_user, chat.bot_status, chat)
        user = self._users.get(user_id) or self._user(user_id)  # type: ignore[arg-type]
        if user_id == chat.owner_id:
            return self._member(user, "creator")
        if user_id in chat.admins:
            return self._member(user, "administrator")
        return self._member(user, "member")

    async def _m_getChatAdministrators(self, params: JSONDict) -> list[JSONDict]:
        chat = self._target_chat(params)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        admins = []
        if chat.owner_id is not None:
            owner = self._users.get(chat.owner_id) or self._user(chat.owner_id)
            admins.append(self._member(owner, "creator"))
        for user_id in sorted(chat.admins):
            admins.append(
                self._member(self._users.get(user_id) or self._user(user_id), "administrator")
            )
        if chat.bot_status in ("administrator", "creator"):
            admins.append(self._member(self.bot_user, chat.bot_status, chat))
        return admins

    async def _m_leaveChat(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        if chat.type == "private":
            raise _bad("chat member status can't be changed in private chats")
        chat.bot_status = "left"
        return True

    # ---------------------------------------------------------------- methods: forum topics

    async def _m_createForumTopic(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        if not self._bot_can(chat, "can_manage_topics"):
            raise _bad("not enough rights to create a topic")
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise _bad("TOPIC_TITLE_INVALID")
        icon_color = params.get("icon_color") or DEFAULT_TOPIC_ICON_COLOR
        # As in Telegram, the thread id is the id of the topic's service message.
        thread_id = chat.allocate_id()
        topic: JSONDict = {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}
        if params.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = params["icon_custom_emoji_id"]
        chat.topics[thread_id] = {**topic, "is_closed": False}
        chat.messages[thread_id] = {
            "message_id": thread_id,
            "from": self.bot_user,
            "chat": chat.public(),
            "date": _now(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": icon_color},
        }
        return topic

    def _managed_topic(self, params: JSONDict) -> tuple[_Chat, JSONDict]:
        chat = self._target_chat(params)
        topic = self._topic(chat, params)
        if not self._bot_can(chat, "can_manage_topics"):
            raise _bad("CHAT_ADMIN_REQUIRED")
        return chat, topic

    async def _m_closeForumTopic(self, params: JSONDict) -> bool:
        _, topic = self._managed_topic(params)
        if topic["is_closed"]:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = True
        return True

    async def _m_reopenForumTopic(self, params: JSONDict) -> bool:
        _, topic = self._managed_topic(params)
        if not topic["is_closed"]:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = False
        return True

    async def _m_editForumTopic(self, params: JSONDict) -> bool:
        _, topic = self._managed_topic(params)
        name = params.get("name")
        emoji = params.get("icon_custom_emoji_id")
        if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 128):
            raise _bad("TOPIC_TITLE_INVALID")
        changed = False
        if name and name != topic["name"]:
            topic["name"] = name
            changed = True
        if emoji is not None and emoji != topic.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = emoji
            changed = True
        if not changed:
            raise _bad("TOPIC_NOT_MODIFIED")
        return True

    # ---------------------------------------------------------------- control routes

    def _control_routes(
        self,
    ) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]]:
        """HTTP routes for driving the fake from another process (benchmarks)."""
        return [
            ("POST", "/_fake/update", self._c_update),
            ("POST", "/_fake/send_text", self._c_send_text),
            ("POST", "/_fake/observe_text", self._c_observe_text),
            ("GET", "/_fake/sent", self._c_sent),
            ("GET", "/_fake/sent_log", self._c_sent_log),
            ("GET", "/_fake/messages", self._c_messages),
            ("GET", "/_fake/stats", self._c_stats),
            ("POST", "/_fake/chat", self._c_chat),
            ("POST", "/_fake/private", self._c_private),
            ("POST", "/_fake/fail", self._c_fail),
            ("POST", "/_fake/delay", self._c_delay),
        ]

    @staticmethod
    async def _control_body(request: web.Request) -> JSONDict:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="JSON object body expected") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="JSON object body expected")
        return body

    async def _control_call(self, request: web.Request, func: Callable[..., Any]) -> web.Response:
        body = await self._control_body(request)
        try:
            result = func(**body)
        except (TypeError, ValueError) as exc:
            return self._json_response(400, {"ok": False, "error": str(exc)})
        return self._json_response(200, {"ok": True, "result": result})

    async def _c_update(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        return self._json_response(200, {"update_id": self.push_update(body)})

    async def _c_send_text(self, request: web.Request) -> web.Response:
        return await self._control_call(request, self.send_text)

    async def _c_observe_text(self, request: web.Request) -> web.Response:
        return await self._control_call(request, self.observe_text)

    async def _c_sent(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        chat_id = request.query.get("chat_id")
        sent = self.sent if chat_id is None else self._sent_by_chat.get(int(chat_id), [])
        return self._json_response(200, sent[since:])

    async def _c_sent_log(self, request: web.Request) -> web.Response:
        """Compact sent records from ``since`` on: chat, message id, the id it replies to,
        the first 80 characters of text and the wall-clock time the fake accepted it."""
        since = int(request.query.get("since", 0))
        log = [
            {
                "chat_id": m["chat"]["id"],
                "message_id": m["message_id"],
                "reply_to": (m.get("reply_to_message") or {}).get("message_id"),
                "text": str(m.get("text", ""))[:80],
                "at": at,
            }
            for m, at in zip(self.sent[since:], self.sent_at[since:], strict=True)
        ]
        return self._json_response(200, log)

    async def _c_messages(self, request: web.Request) -> web.Response:
        return self._json_response(200, self.messages(int(request.query["chat_id"])))

    async def _c_stats(self, request: web.Request) -> web.Response:
        return self._json_response(
            200,
            {
                "calls": self._call_counts,
                "sent": len(self.sent),
                "pending_updates": len(self._queue),
                "confirmed_update_id": self.confirmed_update_id,
                "last_update_id": self._next_update_id - 1,
                "errors": len(self.errors),
            },
        )

    async def _c_chat(self, request: web.Request) -> web.Response:
        return await self._control_call(request, self.add_chat)

    async def _c_private(self, request: web.Request) -> web.Response:
        return await self._control_call(request, self.add_private)

    async def _c_fail(self, request: web.Request) -> web.Response:
        return await self._control_call(request, self.fail_next)

    async def _c_delay(self, request: web.Request) -> web.Response:
        return await self._control_call(request, self.delay)


# --------------------------------------------------------------------------------------------
# Standalone server
# --------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    api = FakeBotApi(
        token=args.token,
        host=args.host,
        port=args.port,
        bot_username=args.username,
        can_read_all_group_messages=args.can_read_all_group_messages,
    )
    await api.start()
    print(api.base_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server (tests only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--username", default="casebot")
    parser.add_argument("--can-read-all-group-messages", action="store_true")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
