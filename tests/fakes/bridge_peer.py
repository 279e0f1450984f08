"""A recording fake bridge for tests: an aiohttp server on 127.0.0.1 that takes
casebot's signed commands at `/v1/commands`, checks their signatures, answers with
message ids or with scripted failures (429 with Retry-After, 500, 400), and signs
events the way a real bridge would. Imports aiohttp and standardwebhooks only."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web
from standardwebhooks import Webhook

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes
SPEC = "casebot.chat/v1"


SCHEMA = json.loads(
    (Path(__file__).parents[2] / "adapters" / "bridge_schema.json").read_text(encoding="utf-8")
)


def check(definition: str, body: Any) -> None:
    """Validate `body` against one of the schema's definitions (event, command, pulled,
    result): every event the tests send and every command casebot emits goes through."""
    schema = {**SCHEMA, "$ref": f"#/$defs/{definition}"}
    schema.pop("oneOf")
    jsonschema.Draft202012Validator(schema).validate(body)


def signed(
    body: bytes | str, secret: str = SECRET, msg_id: str = "msg", at: datetime | None = None
) -> dict[str, str]:
    """Standard Webhooks headers for `body`, as a bridge sends them."""
    data = body.decode() if isinstance(body, bytes) else body
    when = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, data),
    }


def event(
    type_: str,
    event_id: str,
    chat: str,
    actor: str,
    *,
    name: str = "",
    kind: str = "group",
    message: dict[str, Any] | None = None,
    reaction: dict[str, Any] | None = None,
    action: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "spec": SPEC,
        "id": event_id,
        "type": type_,
        "occurred_at": (at or datetime.now(UTC)).isoformat(),
        "chat": {"id": chat, "kind": kind, "title": f"room {chat}"},
        "actor": {"id": actor, "name": name or actor, "is_bot": False},
    }
    if message is not None:
        body["message"] = message
    if reaction is not None:
        body["reaction"] = reaction
    if action is not None:
        body["action"] = action
    check("event", body)
    return body


class FakeBridge:
    """`async with FakeBridge() as peer:` then `peer.url` for `[[bridges]] url`."""

    def __init__(self, secret: str = SECRET) -> None:
        self.webhook = Webhook(secret)
        self.commands: list[dict[str, Any]] = []  # accepted, in order
        self.attempts: Counter[str] = Counter()  # every POST per command_id
        self.deliveries: Counter[str] = Counter()  # accepted POSTs per command_id
        self.script: list[tuple[int, dict[str, str]]] = []  # answers before the next 200
        self.bad_signatures = 0
        self.down = False  # answer every command 503, as a bridge that is restarting
        self.arrived_at: list[float] = []  # wall-clock time of each accepted command
        self._ids = itertools.count(1)
        self.message_ids: dict[str, str] = {}
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def fail_next(self, status: int, **headers: str) -> None:
        self.script.append((status, headers))

    async def __aenter__(self) -> FakeBridge:
        app = web.Application()
        app.router.add_post("/v1/commands", self._command)
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

    async def _command(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            payload = self.webhook.verify(body, dict(request.headers))
        except Exception:
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        check("command", payload)
        command_id = payload["command_id"]
        self.attempts[command_id] += 1
        if self.down:
            return web.json_response({"error": "down"}, status=503)
        if self.script:
            status, headers = self.script.pop(0)
            return web.json_response({"error": "scripted"}, status=status, headers=headers)
        self.deliveries[command_id] += 1
        self.commands.append(payload)
        self.arrived_at.append(time.time())
        self.arrived.set()
        if payload["type"] == "message.send":
            message_id = self.message_ids.setdefault(command_id, f"b{next(self._ids)}")
        else:
            message_id = payload.get("message_id") or ""
        return web.json_response({"message_id": message_id})

    def sent(self, type_: str = "message.send", chat: str | None = None) -> list[dict[str, Any]]:
        return [
            c
            for c in self.commands
            if c["type"] == type_ and (chat is None or c["chat_id"] == chat)
        ]

    async def wait_for(self, count: int, timeout: float = 10.0, type_: str | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len([c for c in self.commands if type_ is None or c["type"] == type_]) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{count} commands expected, got {self.commands}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.2)


def text_of(command: dict[str, Any]) -> str:
    return str(command.get("text") or "")


def stale(seconds: float = 600) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)
