"""A fake Feishu/Lark Open API and an event injector for tests. Imports aiohttp and
cryptography only.

`FakeFeishu` is an aiohttp server on 127.0.0.1 with the calls casebot makes: the
tenant token, bot info, send, reply (in thread), PATCH of a card, get message, pins,
reactions, chat info and app info. It records what arrived, drops a repeated `uuid`
as Feishu does, refuses a stale token, answers 429 with `x-ogw-ratelimit-reset` past
5 messages a second in one group, and plays scripted failures.

`Injector` makes events the way Feishu sends them: schema 2.0, the body encrypted
with AES-256-CBC under SHA-256(encrypt_key), signed with `X-Lark-Signature`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import time
from collections import defaultdict, deque
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

APP_ID = "cli_test_app"
APP_SECRET = "test-app-secret"
ENCRYPT_KEY = "test-encrypt-key"
VERIFICATION_TOKEN = "test-verification-token"
BOT_OPEN_ID = "ou_bot0000"
TENANT = "tenant_vendor"  # the app's own tenant: staff
CUSTOMER_TENANT = "tenant_customer"  # another tenant in an external group: customers
SCOPES = (
    "im:message",
    "im:message.group_msg",
    "im:message:send_as_bot",
    "im:chat:readonly",
    "im:message.pins:write_only",
    "im:message.reactions:read",
)


def feishu_section(base_url: str, **overrides: Any) -> dict[str, Any]:
    """The `[feishu]` config section for a fake at `base_url`."""
    return {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "encrypt_key": ENCRYPT_KEY,
        "verification_token": VERIFICATION_TOKEN,
        "base_url": base_url,
        **overrides,
    }


class FakeFeishu:
    """`async with FakeFeishu() as api:` then `api.url` for `[feishu] base_url`."""

    def __init__(self, per_chat: int = 5) -> None:
        self.url = ""
        self.per_chat = per_chat
        self.sent: list[dict[str, Any]] = []  # every message taken (sends and replies)
        self.edits: list[dict[str, Any]] = []
        self.pins: list[str] = []
        self.reactions: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.rate_limited = 0
        self.tokens_issued = 0
        self.token_expire = 7200
        self.script: list[tuple[int, int, dict[str, str]]] = []  # (status, code, headers)
        self.chats: dict[str, dict[str, Any]] = {}  # chat info by chat_id
        self.messages: dict[str, dict[str, Any]] = {}  # message_id -> message
        self.scopes = list(SCOPES)
        self.external_allowed = True
        self._valid_tokens: set[str] = set()
        self._uuids: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.arrived = asyncio.Event()

    def fail_next(self, status: int, code: int = 0, **headers: str) -> None:
        self.script.append((status, code, headers))

    def revoke_tokens(self) -> None:
        self._valid_tokens.clear()

    async def __aenter__(self) -> FakeFeishu:
        app = web.Application()
        r = app.router
        r.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        r.add_get("/open-apis/bot/v3/info", self._bot_info)
        r.add_post("/open-apis/im/v1/messages", self._send)
        r.add_post("/open-apis/im/v1/messages/{id}/reply", self._reply)
        r.add_patch("/open-apis/im/v1/messages/{id}", self._patch)
        r.add_get("/open-apis/im/v1/messages/{id}", self._get_message)
        r.add_post("/open-apis/im/v1/pins", self._pin)
        r.add_post("/open-apis/im/v1/messages/{id}/reactions", self._react)
        r.add_get("/open-apis/im/v1/chats/{chat_id}", self._chat)
        r.add_get("/open-apis/application/v6/applications/{app_id}", self._app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ reading

    def in_chat(self, chat: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat_id"] == chat]

    def texts(self, chat: str | None = None) -> list[str]:
        return [m["text"] for m in self.sent if chat is None or m["chat_id"] == chat]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"timed out; sent so far: {self.texts()}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.1)

    # ------------------------------------------------------------ handlers

    @staticmethod
    def _ok(data: dict[str, Any] | None = None, **extra: Any) -> web.Response:
        return web.json_response({"code": 0, "msg": "success", "data": data or {}, **extra})

    @staticmethod
    def _error(code: int, msg: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status)

    def _scripted(self) -> web.Response | None:
        if not self.script:
            return None
        status, code, headers = self.script.pop(0)
        return web.json_response(
            {"code": code or status, "msg": "scripted"}, status=status, headers=headers
        )

    def _authorized(self, request: web.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return token in self._valid_tokens

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("app_id") != APP_ID or body.get("app_secret") != APP_SECRET:
            return web.json_response({"code": 10014, "msg": "app secret invalid"})
        self.tokens_issued += 1
        token = f"t-{self.tokens_issued}"
        self._valid_tokens.add(token)
        return web.json_response(
            {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": self.token_expire}
        )

    async def _guard(self, request: web.Request) -> web.Response | None:
        self.calls.append((request.method, request.path))
        if not self._authorized(request):
            return self._error(99991663, "Invalid access token for authorization", 400)
        return self._scripted()

    async def _bot_info(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        return web.json_response(
            {
                "code": 0,
                "msg": "ok",
                "bot": {"open_id": BOT_OPEN_ID, "app_name": "casebot", "activate_status": 2},
            }
        )

    def _too_fast(self, chat: str) -> bool:
        now = time.monotonic()
        recent = self._recent[chat]
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.per_chat:
            self.rate_limited += 1
            return True
        recent.append(now)
        return False

    def _take(
        self, chat: str, body: dict[str, Any], parent: str | None, in_thread: bool
    ) -> web.Response:
        uuid = body.get("uuid")
        if uuid and uuid in self._uuids:
            return self._ok(self.messages[self._uuids[uuid]])
        if self._too_fast(chat):
            return web.json_response(
                {"code": 99991400, "msg": "request trigger frequency limit"},
                status=429,
                headers={"x-ogw-ratelimit-reset": "1"},
            )
        message_id = f"om_bot{next(self._ids)}"
        content = json.loads(body["content"])
        parent_msg = self.messages.get(parent or "") or {}
        root = parent_msg.get("root_id") or parent
        message = {
            "message_id": message_id,
            "chat_id": chat,
            "msg_type": body["msg_type"],
            "content": content,
            "text": card_text(content) if body["msg_type"] == "interactive" else content["text"],
            "buttons": card_buttons(content) if body["msg_type"] == "interactive" else [],
            "parent_id": parent,
            "root_id": root,
            "reply_in_thread": in_thread,
            "thread_id": f"omt_{root}" if in_thread and root else None,
            "uuid": uuid,
        }
        self.messages[message_id] = message
        if uuid:
            self._uuids[uuid] = message_id
        self.sent.append(message)
        self.arrived.set()
        return self._ok(message)

    async def _send(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = await request.json()
        id_type = request.query.get("receive_id_type")
        receive_id = str(body.get("receive_id", ""))
        if id_type == "chat_id" and not receive_id.startswith("oc_"):
            return self._error(230001, "invalid receive_id")
        if id_type == "open_id":
            chat = receive_id
            if self.chats.get(receive_id, {}).get("unreachable"):
                return self._error(230013, "Bot has NO availability to this user.")
        else:
            chat = receive_id
            if self.chats.get(chat, {}).get("bot_removed"):
                return self._error(230002, "Bot/User can NOT be out of the chat.")
        return self._take(chat, body, None, False)

    async def _reply(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        parent = request.match_info["id"]
        known = self.messages.get(parent)
        if known is None:
            return self._error(230011, "The message was withdrawn.")
        body = await request.json()
        return self._take(known["chat_id"], body, parent, bool(body.get("reply_in_thread")))

    async def _patch(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        message_id = request.match_info["id"]
        message = self.messages.get(message_id)
        if message is None or message["msg_type"] != "interactive":
            return self._error(230001, "message is not a card")
        content = json.loads((await request.json())["content"])
        message["content"] = content
        message["text"] = card_text(content)
        message["buttons"] = card_buttons(content)
        self.edits.append({"message_id": message_id, "text": message["text"]})
        self.arrived.set()
        return self._ok()

    async def _get_message(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        message = self.messages.get(request.match_info["id"])
        if message is None:
            return self._error(230011, "The message was withdrawn.")
        return self._ok({"items": [message]})

    async def _pin(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        message_id = (await request.json()).get("message_id")
        if message_id not in self.messages:
            return self._error(230011, "The message was withdrawn.")
        self.pins.append(message_id)
        self.arrived.set()
        return self._ok({"pin": {"message_id": message_id}})

    async def _react(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = await request.json()
        self.reactions.append({"message_id": request.match_info["id"], **body})
        return self._ok({"reaction_id": f"r{next(self._ids)}"})

    async def _chat(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        chat = self.chats.get(request.match_info["chat_id"])
        if chat is None or chat.get("bot_removed"):
            return self._error(232011, "operator and chat can NOT be in different tenants")
        return self._ok(chat)

    async def _app(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        return self._ok(
            {
                "app": {
                    "app_id": APP_ID,
                    "app_name": "casebot",
                    "scopes": [{"scope": s} for s in self.scopes],
                    "online_version": {
                        "ability": {"bot": {"external_chat": self.external_allowed}}
                    },
                }
            }
        )

    # ------------------------------------------------------------ injecting

    def remember(self, message_id: str, chat: str) -> None:
        """A message a person sent (so replies to it and reactions find its chat)."""
        self.messages.setdefault(
            message_id,
            {"message_id": message_id, "chat_id": chat, "msg_type": "text", "root_id": None},
        )


def card_text(content: dict[str, Any]) -> str:
    return "\n".join(
        e["text"]["content"] for e in content.get("elements", []) if e.get("tag") == "div"
    )


def card_buttons(content: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"label": a["text"]["content"], "value": a["value"]["casebot"]}
        for e in content.get("elements", [])
        if e.get("tag") == "action"
        for a in e["actions"]
    ]


# ------------------------------------------------------------------ events


def encrypt(key: str, plain: str) -> str:
    """As Feishu encrypts: AES-256-CBC, key SHA-256(encrypt_key), random IV first."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(
        algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)
    ).encryptor()
    return base64.b64encode(iv + encryptor.update(data) + encryptor.finalize()).decode()


def sign(timestamp: str, nonce: str, key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()


class Injector:
    """Builds Feishu's callbacks: `injector.message(...)` is the event JSON,
    `injector.seal(event)` the encrypted body and its signed headers."""

    def __init__(
        self,
        encrypt_key: str = ENCRYPT_KEY,
        token: str = VERIFICATION_TOKEN,
        api: FakeFeishu | None = None,
    ) -> None:
        self.key = encrypt_key
        self.token = token
        self.api = api
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def seal(
        self, event: dict[str, Any], *, sign_with: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {"encrypt": encrypt(self.key, json.dumps(event, ensure_ascii=False))}
        ).encode()
        timestamp, nonce = str(int(time.time())), self.new_id("nonce")
        return body, {
            "content-type": "application/json",
            "X-Lark-Request-Timestamp": timestamp,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": sign(timestamp, nonce, sign_with or self.key, body),
        }

    def envelope(
        self, event_type: str, event: dict[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "schema": "2.0",
            "header": {
                "event_id": event_id or self.new_id("ev"),
                "token": self.token,
                "create_time": str(int(time.time() * 1000)),
                "event_type": event_type,
                "tenant_key": TENANT,
                "app_id": APP_ID,
            },
            "event": event,
        }

    def message(
        self,
        sender: str,
        chat: str,
        text: str,
        *,
        message_id: str | None = None,
        parent: str | None = None,
        thread_root: str | None = None,
        tenant: str = TENANT,
        mentions: list[dict[str, Any]] | None = None,
        chat_type: str = "group",
        event_id: str | None = None,
        post: list[list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        message_id = message_id or self.new_id("om_")
        if self.api is not None:
            self.api.remember(message_id, chat)
        content = {"title": "", "content": post} if post is not None else {"text": text}
        return self.envelope(
            "im.message.receive_v1",
            {
                "sender": {
                    "sender_id": {"open_id": sender, "union_id": f"on_{sender}", "user_id": ""},
                    "sender_type": "user",
                    "tenant_key": tenant,
                },
                "message": {
                    "message_id": message_id,
                    "root_id": thread_root or parent or "",
                    "parent_id": parent or "",
                    "thread_id": f"omt_{thread_root}" if thread_root else "",
                    "create_time": str(int(time.time() * 1000)),
                    "chat_id": chat,
                    "chat_type": chat_type,
                    "message_type": "post" if post is not None else "text",
                    "content": json.dumps(content, ensure_ascii=False),
                    "mentions": mentions or [],
                },
            },
            event_id,
        )

    def press(self, operator: str, chat: str, message_id: str, value: str) -> dict[str, Any]:
        return self.envelope(
            "card.action.trigger",
            {
                "operator": {
                    "open_id": operator,
                    "union_id": f"on_{operator}",
                    "tenant_key": TENANT,
                },
                "token": self.new_id("c-"),
                "action": {"tag": "button", "value": {"casebot": value}},
                "host": "im_message",
                "context": {"open_message_id": message_id, "open_chat_id": chat},
            },
        )

    def reaction(
        self, who: str, message_id: str, emoji: str, removed: bool = False
    ) -> dict[str, Any]:
        kind = "deleted" if removed else "created"
        return self.envelope(
            f"im.message.reaction.{kind}_v1",
            {
                "message_id": message_id,
                "reaction_type": {"emoji_type": emoji},
                "operator_type": "user",
                "user_id": {"open_id": who, "union_id": f"on_{who}", "user_id": ""},
                "action_time": str(int(time.time() * 1000)),
            },
        )

    def recalled(self, chat: str, message_id: str) -> dict[str, Any]:
        return self.envelope(
            "im.message.recalled_v1",
            {
                "message_id": message_id,
                "chat_id": chat,
                "recall_time": "0",
                "recall_type": "message_owner",
            },
        )

    def bot_added(self, chat: str, name: str, removed: bool = False) -> dict[str, Any]:
        kind = "deleted" if removed else "added"
        return self.envelope(
            f"im.chat.member.bot.{kind}_v1",
            {
                "chat_id": chat,
                "operator_id": {"open_id": "ou_admin", "union_id": "on_admin"},
                "external": True,
                "operator_tenant_key": TENANT,
                "name": name,
            },
        )

    def challenge(self, value: str = "ch-123", encrypted: bool = True) -> bytes:
        body = {"challenge": value, "token": self.token, "type": "url_verification"}
        if encrypted:
            return json.dumps({"encrypt": encrypt(self.key, json.dumps(body))}).encode()
        return json.dumps(body).encode()
