"""What the Matrix tests share: people talking over Synapse's client API, a recording
stand-in for casebot's bridge endpoints, and the bridge running in the test's loop.

The people use raw HTTP, not matrix-nio, so the bridge's own client is never what
checks the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bridges.matrix.bridge import MatrixBridge
from bridges.matrix.config import BridgeConfig, parse_config
from tests.bridge_matrix.synapse import MatrixUser, Synapse, free_port
from tests.fakes.bridge_peer import check

SECRET = "whsec_" + "Y2FzZWJvdC1tYXRyaXgtYnJpZGdlLXRlc3Qtc2VjcmV0"


async def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll a sync or async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


class Person:
    """A Matrix user driven through the client-server API."""

    def __init__(self, session: aiohttp.ClientSession, synapse: Synapse, user: MatrixUser) -> None:
        self.session = session
        self.base = f"{synapse.url}/_matrix/client/v3"
        self.user = user
        self.headers = {"Authorization": f"Bearer {user.access_token}"}

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.request(
            method, f"{self.base}{path}", json=body, headers=self.headers
        ) as response:
            answer = await response.json()
            assert response.status == 200, answer
            return answer

    async def create_room(self, name: str, invite: list[str], direct: bool = False) -> str:
        body = {"name": name, "invite": invite, "preset": "private_chat", "is_direct": direct}
        return str((await self._call("POST", "/createRoom", body))["room_id"])

    async def join(self, room_id: str) -> None:
        await self._call("POST", f"/join/{quote(room_id)}", {})

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        txn = uuid.uuid4().hex
        path = f"/rooms/{quote(room_id)}/send/{kind}/{txn}"
        return str((await self._call("PUT", path, content))["event_id"])

    async def say(
        self, room_id: str, text: str, reply_to: str | None = None, thread: str | None = None
    ) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if thread:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread,
                "is_falling_back": reply_to is None,
                "m.in_reply_to": {"event_id": reply_to or thread},
            }
        elif reply_to:
            content["body"] = f"> <@someone:localhost> the quoted question\n\n{text}"
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(room_id, content)

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        content = {
            "msgtype": "m.text",
            "body": f"* {text}",
            "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self.send(room_id, content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send(room_id, content, "m.reaction")

    async def redact(self, room_id: str, event_id: str) -> str:
        path = f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/{uuid.uuid4().hex}"
        return str((await self._call("PUT", path, {}))["event_id"])

    async def timeline(self, room_id: str) -> list[dict[str, Any]]:
        """The room's latest events, oldest first."""
        answer = await self._call("GET", f"/rooms/{quote(room_id)}/messages?dir=b&limit=100")
        return list(reversed(answer["chunk"]))

    async def event(self, room_id: str, event_id: str) -> dict[str, Any]:
        return dict(await self._call("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}"))


@dataclass
class World:
    """A customer room on Synapse with a bot, a customer and a staff member in it."""

    synapse: Synapse
    bot: MatrixUser
    customer: Person
    staff: Person
    room_id: str
    tmp: Path

    def bridge_config(self, casebot_url: str, **commands: Any) -> BridgeConfig:
        return parse_config(
            {
                "matrix": {
                    "homeserver": self.synapse.url,
                    "user_id": self.bot.user_id,
                    "password": self.bot.password,
                },
                "casebot": {
                    "url": casebot_url,
                    "bridge": "matrix",
                    "secret": SECRET,
                    "retry_max": "0.3s",
                },
                "commands": commands or {"mode": "pull", "wait": "1s"},
                "store": {"path": str(self.tmp / "bridge.db")},
            },
            env={},
        )


@contextlib.asynccontextmanager
async def running(bridge: MatrixBridge, timeout: float = 20.0) -> AsyncIterator[MatrixBridge]:
    """The bridge in this loop, from its first stored sync to cancellation."""
    task = asyncio.create_task(bridge.run())
    try:
        ready = asyncio.create_task(bridge.ready.wait())
        done, _ = await asyncio.wait(
            {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            task.result()
        assert ready in done, "the bridge did not finish its first sync"
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def signed(body: bytes, message_id: str, secret: str = SECRET) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body.decode()),
        "content-type": "application/json",
    }


class RecordingCasebot:
    """casebot's side of `casebot.chat/v1`, reduced to recording: events in (signature
    checked with standardwebhooks), commands queued for the pull mode, results kept."""

    def __init__(self, bridge: str = "matrix", secret: str = SECRET) -> None:
        self.bridge = bridge
        self.webhook = Webhook(secret)
        self.secret = secret
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.events: list[dict[str, Any]] = []
        self.refused = 0
        self.bad_signatures = 0
        self.answer_status: int | None = None
        self.commands: list[dict[str, Any]] = []
        self.results: dict[str, dict[str, Any]] = {}
        self._new_command = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        prefix = f"/v1/bridges/{self.bridge}"
        app.router.add_post(f"{prefix}/events", self._event)
        app.router.add_get(f"{prefix}/commands", self._pull)
        app.router.add_post(f"{prefix}/commands/{{command_id}}/result", self._result)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def texts(self) -> list[str]:
        return [e["message"]["text"] for e in self.events if e["type"] == "message.created"]

    def queue(self, command: dict[str, Any]) -> None:
        check("command", command)
        self.commands.append(command)
        self._new_command.set()

    async def _verified(self, request: web.Request) -> Any:
        """The signed JSON body, or None (counted) when the signature does not hold."""
        try:
            return self.webhook.verify(await request.read(), dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return None

    async def _event(self, request: web.Request) -> web.Response:
        event = await self._verified(request)
        if event is None:
            return web.json_response({"error": "bad signature"}, status=401)
        if self.answer_status is not None:
            self.refused += 1
            return web.json_response({}, status=self.answer_status, headers={"Retry-After": "0"})
        if request.headers["webhook-id"] != event["id"]:
            return web.json_response({"error": "webhook-id is not the event id"}, status=422)
        if all(seen["id"] != event["id"] for seen in self.events):
            self.events.append(event)
        return web.json_response({}, status=202)

    async def _pull(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.secret}":
            return web.json_response({"error": "bad token"}, status=401)
        after = int(request.query.get("after") or 0)
        wait = float(request.query.get("wait") or 0)
        if after >= len(self.commands):
            self._new_command.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_command.wait(), wait)
        return web.json_response(
            {"commands": self.commands[after:], "cursor": str(len(self.commands))}
        )

    async def _result(self, request: web.Request) -> web.Response:
        result = await self._verified(request)
        if result is None:
            return web.json_response({"error": "bad signature"}, status=401)
        check("result", result)
        self.results.setdefault(request.match_info["command_id"], result)
        return web.json_response({}, status=200)


_command_ids = itertools.count(int(datetime.now(UTC).timestamp() * 1000))


def command(kind: str, chat_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "spec": "casebot.chat/v1",
        "command_id": f"cmd_{next(_command_ids)}",
        "type": kind,
        "chat_id": chat_id,
        "thread_id": None,
        "reply_to_id": None,
        "message_id": None,
        "text": "",
        "buttons": [],
        **fields,
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
