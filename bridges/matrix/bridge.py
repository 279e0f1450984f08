"""The bridge itself: Matrix sync to casebot events, casebot commands to Matrix sends.

The sync token is stored only after casebot accepted every event of its batch, so a
casebot that is down holds the bridge back instead of losing messages. Commands
are carried out once per `command_id`: the answer is kept, and the Matrix
transaction id is derived from the command id, so even a send whose answer was
lost to a crash is not posted twice by the homeserver.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    MessageDirection,
    RoomMessagesResponse,
    SyncResponse,
)
from standardwebhooks.webhooks import WebhookVerificationError

from bridges.matrix.config import BridgeConfig
from bridges.matrix.link import CasebotLink
from bridges.matrix.store import CommandResult, Store
from bridges.matrix.translate import (
    RoomFacts,
    edit_content,
    media_url,
    reaction_content,
    send_content,
    to_casebot,
)

log = logging.getLogger("bridges.matrix")

# Matrix answers that a retry cannot change; anything else (5xx, timeouts) may pass.
PERMANENT_ERRCODES = {
    "M_FORBIDDEN",
    "M_NOT_FOUND",
    "M_BAD_JSON",
    "M_NOT_JSON",
    "M_TOO_LARGE",
    "M_UNKNOWN",
    "M_INVALID_PARAM",
}


class BridgeError(Exception):
    """A problem the operator must fix (bad login); the message says which."""


@dataclass(frozen=True)
class Outcome:
    """How one command went: a Matrix event id, or an error that is permanent or not."""

    message_id: str | None = None
    error: str | None = None
    permanent: bool = True
    retry_after: float | None = None


def _txn_id(command_id: str) -> str:
    return "casebot-" + hashlib.sha256(command_id.encode()).hexdigest()[:32]


def _failed(answer: ErrorResponse) -> Outcome:
    if answer.status_code == "M_LIMIT_EXCEEDED":
        wait = (answer.retry_after_ms or 1000) / 1000
        return Outcome(error=str(answer), permanent=False, retry_after=wait)
    return Outcome(error=str(answer), permanent=answer.status_code in PERMANENT_ERRCODES)


class MatrixBridge:
    """One bot user on one homeserver, bridged to one casebot `[[bridges]]` entry."""

    def __init__(
        self,
        config: BridgeConfig,
        *,
        timeline_limit: int = 100,
        sync_wait: timedelta = timedelta(seconds=30),
    ) -> None:
        self.config = config
        self.store = Store(config.store.path)
        self.client = AsyncClient(
            config.matrix.homeserver,
            config.matrix.user_id,
            config=AsyncClientConfig(store_sync_tokens=False, encryption_enabled=False),
        )
        self.ready = asyncio.Event()
        self.push_port: int | None = None
        self._filter = {"room": {"timeline": {"limit": timeline_limit}}}
        self._sync_wait_ms = int(sync_wait.total_seconds() * 1000)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._link: CasebotLink | None = None

    async def run(self) -> None:
        """Bridge until cancelled."""
        casebot = self.config.casebot
        try:
            async with aiohttp.ClientSession() as session:
                self._link = CasebotLink(
                    session, casebot.url, casebot.bridge, casebot.secret, casebot.retry_max
                )
                await self._login()
                runner = (
                    await self._serve_commands() if self.config.commands.mode == "push" else None
                )
                loops = [asyncio.create_task(self._sync_forever())]
                if runner is None:
                    loops.append(asyncio.create_task(self._pull_forever()))
                try:
                    # The first loop to fail (a refused login) stops the bridge with its error.
                    done, _ = await asyncio.wait(loops, return_when=asyncio.FIRST_EXCEPTION)
                    for loop in done:
                        loop.result()
                finally:
                    for loop in loops:
                        loop.cancel()
                    await asyncio.gather(*loops, return_exceptions=True)
                    if runner is not None:
                        await runner.cleanup()
        finally:
            await self.client.close()
            self.store.close()

    @property
    def link(self) -> CasebotLink:
        assert self._link is not None, "run() sets the link up"
        return self._link

    # -- Matrix login and sync ---------------------------------------------------------

    async def _login(self) -> None:
        settings = self.config.matrix
        saved = self.store.login()
        if settings.access_token:
            self.client.restore_login(settings.user_id, "", settings.access_token)
        elif saved and saved["user_id"] == settings.user_id:
            self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
        else:
            await self._password_login()

    async def _password_login(self) -> None:
        settings = self.config.matrix
        if not settings.password:
            raise BridgeError("matrix.password: the access token was refused; give a password")
        answer = await self.client.login(settings.password, device_name=settings.device_name)
        if not isinstance(answer, LoginResponse):
            raise BridgeError(f"matrix login as {settings.user_id} failed: {answer}")
        self.store.save_login(answer.user_id, answer.device_id, answer.access_token)

    async def _sync_forever(self) -> None:
        first = True
        delay = 0.5
        while True:
            since = self.store.get("sync_token")
            answer = await self.client.sync(
                timeout=self._sync_wait_ms if since and not first else 0,
                sync_filter=self._filter,
                since=since,
                full_state=first,
            )
            if not isinstance(answer, SyncResponse):
                if answer.status_code == "M_UNKNOWN_TOKEN":
                    await self._password_login()
                    continue
                log.warning("matrix sync failed: %s", answer)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            delay = 0.5
            await self._join_invites(answer)
            # The first start ever begins now: a bot added to busy rooms should not
            # replay their history into casebot as new questions.
            if since is not None:
                await self._forward_batch(answer, since)
            self.store.put("sync_token", answer.next_batch)
            if first:
                first = False
                self.ready.set()
                log.info("bridge ready: %d rooms", len(self.client.rooms))

    async def _join_invites(self, answer: SyncResponse) -> None:
        for room_id, info in answer.rooms.invite.items():
            for event in info.invite_state:
                # matrix-nio keeps a stripped member event's content apart from its source.
                content = getattr(event, "content", None) or {}
                mine = getattr(event, "state_key", None) == self.client.user_id
                if mine and content.get("is_direct"):
                    self.store.mark_direct(room_id)
            joined = await self.client.join(room_id)
            if isinstance(joined, ErrorResponse):
                log.warning("could not join %s: %s", room_id, joined)

    async def _forward_batch(self, answer: SyncResponse, since: str) -> None:
        for room_id, info in answer.rooms.join.items():
            events = [event.source for event in info.timeline.events]
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._gap(room_id, info.timeline.prev_batch, since) + events
            for source in events:
                await self._forward(room_id, source)

    async def _gap(self, room_id: str, start: str, since: str) -> list[dict[str, Any]]:
        """The events a limited timeline left out, between our token and its start."""
        missed: list[dict[str, Any]] = []
        while True:
            page = await self.client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                break
            missed.extend(event.source for event in page.chunk)
            if not page.end or page.end == start:
                break
            start = page.end
        return list(reversed(missed))

    async def _forward(self, room_id: str, source: dict[str, Any]) -> None:
        sender = source.get("sender")
        if sender == self.client.user_id:
            return
        room = self.client.rooms.get(room_id)
        facts = RoomFacts(
            room_id, room.display_name if room else room_id, self.store.is_direct(room_id)
        )
        name = (room.user_name(sender) if room and sender else None) or str(sender)
        content = source.get("content") or {}
        redacts = source.get("redacts") or content.get("redacts")
        known = self.store.reaction(redacts) if redacts else None
        url = content.get("url")
        media = media_url(url, self.config.matrix.homeserver) if isinstance(url, str) else None
        event = to_casebot(source, facts, name, known, media)
        if event is None:
            return
        await self.link.deliver(event)
        if event["type"] == "reaction.added":
            reaction = event["reaction"]
            self.store.remember_reaction(event["id"], reaction["message_id"], reaction["emoji"])

    # -- casebot's commands ------------------------------------------------------------

    async def carry_out(self, command: dict[str, Any]) -> Outcome:
        """Carry out one command once: a repeated `command_id` gets the first answer."""
        command_id = str(command["command_id"])
        async with self._locks[command_id]:
            done = self.store.result_of(command_id)
            if done is not None:
                return Outcome(message_id=done.message_id, error=done.error)
            try:
                outcome = await self._perform(command, _txn_id(command_id))
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = Outcome(error=f"homeserver unreachable: {exc}", permanent=False)
            if outcome.message_id or outcome.permanent:
                self.store.record_result(
                    command_id, CommandResult(outcome.message_id, outcome.error)
                )
        self._locks.pop(command_id, None)
        return outcome

    async def _perform(self, command: dict[str, Any], txn_id: str) -> Outcome:
        kind = command.get("type")
        room_id = command.get("chat_id")
        if not room_id:
            return Outcome(error="chat_id is missing")
        if kind in ("message.edit", "message.delete", "reaction.add") and not command.get(
            "message_id"
        ):
            return Outcome(error=f"{kind} needs message_id")
        if kind == "message.send":
            if command.get("buttons"):
                log.warning("buttons dropped: declare buttons = false for this bridge")
            answer = await self.client.room_send(
                room_id, "m.room.message", send_content(command), tx_id=txn_id
            )
        elif kind == "message.edit":
            answer = await self.client.room_send(
                room_id, "m.room.message", edit_content(command), tx_id=txn_id
            )
        elif kind == "reaction.add":
            answer = await self.client.room_send(
                room_id, "m.reaction", reaction_content(command), tx_id=txn_id
            )
        elif kind == "message.delete":
            answer = await self.client.room_redact(room_id, command["message_id"], tx_id=txn_id)
        else:
            return Outcome(error=f"{kind} is not supported by the Matrix bridge")
        if isinstance(answer, ErrorResponse):
            return _failed(answer)
        # An edit or a deletion keeps naming the original message, as casebot knows it.
        if kind == "message.send":
            return Outcome(message_id=answer.event_id)
        return Outcome(message_id=command["message_id"])

    async def _serve_commands(self) -> web.AppRunner:
        app = web.Application(client_max_size=1024**2)
        app.router.add_post("/v1/commands", self._handle_push)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        settings = self.config.commands
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        self.push_port = runner.addresses[0][1]
        log.info(
            "taking casebot's commands at http://%s:%s/v1/commands", settings.host, self.push_port
        )
        return runner

    async def _handle_push(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            command = self.link.webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            return web.json_response({"error": "bad signature"}, status=401)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=422)
        if not isinstance(command, dict) or not command.get("command_id"):
            return web.json_response({"error": "command_id is missing"}, status=422)
        outcome = await self.carry_out(command)
        if outcome.message_id:
            return web.json_response({"message_id": outcome.message_id})
        if outcome.permanent:
            return web.json_response({"error": outcome.error}, status=422)
        status = 429 if outcome.retry_after else 503
        wait = str(max(1, round(outcome.retry_after or 1)))
        return web.json_response(
            {"error": outcome.error}, status=status, headers={"Retry-After": wait}
        )

    async def _pull_forever(self) -> None:
        cursor = self.store.get("pull_cursor")
        wait = self.config.commands.wait
        delay = 0.2
        while True:
            try:
                commands, cursor_next = await self.link.pull(cursor, wait)
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
                log.warning("pulling commands from casebot failed: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.casebot.retry_max.total_seconds())
                continue
            delay = 0.2
            for command in commands:
                outcome = await self.carry_out(command)
                if outcome.message_id:
                    result: dict[str, Any] = {"message_id": outcome.message_id}
                else:
                    result = {"error": outcome.error, "permanent": outcome.permanent}
                await self.link.report(str(command["command_id"]), result)
            if cursor_next != cursor:
                cursor = cursor_next
                self.store.put("pull_cursor", cursor)
