"""The Feishu/Lark adapter: event callbacks in over `POST /feishu/events`, the Open API
out over REST. Imports aiohttp, pydantic and `cases` (through the feishu_* modules).

In: each callback is checked and decrypted (`feishu_events`), read (`feishu_translate`)
and answered 200 only after the engine committed it, within Feishu's 3 seconds; a
card button's press is answered in the callback's own response (a toast, and the
triage card as it now reads). A replayed event changes nothing twice: its
`header.event_id` is claimed once, and a message is stored once by its `message_id`.

Out: one outbox row at a time (`deliver`): text, or an interactive card when it has
buttons or is edited in place (cards, boards: PATCH), a case's messages as replies in
its reply thread, the board pinned. Each send carries a `uuid` made from its outbox
row, so Feishu drops a send repeated after a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from adapters.base import AdapterConfigError, Delivery, DeliveryError, Receipt, Sink
from adapters.feishu_api import FeishuApi, FeishuError, FeishuRefused, SendLimit
from adapters.feishu_events import EVENTS_PATH, Refused, open_callback, refusal
from adapters.feishu_send import card, card_content, send_uuid, split_text, text_content
from adapters.feishu_translate import (
    CARD_ACTION,
    PLATFORM,
    Unreadable,
    chat_of,
    event_id,
    event_type,
    reaction_message,
    sub,
    translate,
)
from cases.clock import Clock
from cases.context import EventFailed, Outcome
from cases.durations import duration_value
from cases.model import (
    Capabilities,
    ChatKey,
    Inbound,
    InboundKind,
    OutboundKind,
    ThreadMode,
)
from cases.texts import Texts

log = logging.getLogger(__name__)

Duration = Annotated[timedelta, BeforeValidator(duration_value)]

# Feishu waits 3 s for an answer, then sends the event again: answer before that, and
# let the commit finish meanwhile (its repeat is then a duplicate)
ANSWER_WITHIN = 2.5
PRIVATE_PURPOSES = frozenset({"login"})
MESSAGES_PATH = "/open-apis/im/v1/messages"

# reply threads under a case's first message, card buttons answered with a toast,
# cards edited in place, pins, DMs to people of the app's own tenant
CAPABILITIES = Capabilities(
    threads=ThreadMode.REPLY,
    buttons=True,
    button_answers=True,
    edits=True,
    pins=True,
    direct=True,
    max_text=10_000,
    formats=("plain",),
)


class FeishuConfig(BaseModel):
    """The `[feishu]` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    encrypt_key: str = Field(min_length=1)
    verification_token: str = Field(min_length=1)
    base_url: str = "https://open.feishu.cn"
    # reactions (Feishu emoji types, such as "Pin") by staff that open a case
    case_emoji: list[str] = ["Pin"]
    rate_per_chat: float = Field(5.0, gt=0)  # messages a second to one group (Feishu: 5)
    rate_per_app: float = Field(50.0, gt=0)  # messages a second in all (Feishu: 50)
    timeout: Duration = timedelta(seconds=10)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL such as https://open.feishu.cn")
        return value.rstrip("/")


def callback_answer(event: Inbound, outcome: Outcome) -> dict[str, Any]:
    """What a card button's press is answered with: the engine's answer as a toast, and
    the pressed case's triage card as it now reads (the outbox edits it too)."""
    body: dict[str, Any] = {}
    toast = next((a.text for a in outcome.actions if a.kind is OutboundKind.ANSWER), None)
    if toast:
        body["toast"] = {"type": "info", "content": toast}
    case_id = (event.data or "").partition(":")[2].split(":")[0]
    for action in outcome.actions:
        if (
            action.kind is OutboundKind.UPSERT
            and action.purpose == "card"
            and action.chat == event.chat.chat
            and str(action.case_id) == case_id
        ):
            body["card"] = {"type": "raw", "data": card(action.text, action.buttons)}
    return body


class FeishuAdapter:
    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(
        self,
        config: FeishuConfig,
        clock: Clock,
        *,
        texts: Texts,
        triage_chat: str | None = None,
        staff_locale: str = "en",
    ) -> None:
        self.config = config
        self.clock = clock
        self.texts = texts
        self.triage_chat = (
            ChatKey.parse(triage_chat).chat
            if triage_chat and triage_chat.startswith(f"{PLATFORM}:")
            else None
        )
        self.staff_locale = staff_locale
        self.api = FeishuApi(
            config.app_id, config.app_secret, config.base_url, config.timeout.total_seconds()
        )
        self.limit = SendLimit(config.rate_per_chat, config.rate_per_app)
        self.sink: Sink | None = None
        self.bot_open_id: str | None = None
        self.tenant_key: str | None = None
        # message -> chat, for reactions (their events do not name the chat)
        self._chats: OrderedDict[str, str] = OrderedDict()
        self.stats = {"events": 0, "unauthorized": 0, "unreadable": 0, "external": 0}

    # ------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self.sink is not None

    async def start(self, sink: Sink) -> None:
        """Fetch a token and the bot's own open_id (to know its mentions and echoes). A
        refused app_id/app_secret stops start-up; an unreachable API does not."""
        self.sink = sink
        await self.api.open()
        try:
            info = await self.api.call("GET", "/open-apis/bot/v3/info", what="bot info")
        except FeishuRefused as exc:
            raise AdapterConfigError(f"feishu.app_secret: {exc}") from None
        except DeliveryError as exc:
            if "refused app" in exc.reason:
                raise AdapterConfigError(f"feishu.app_secret: {exc.reason}") from None
            log.warning("feishu: Open API at %s not reachable (%s)", self.config.base_url, exc)
            return
        bot = sub(info, "bot") or info
        self.bot_open_id = str(bot.get("open_id") or "") or None
        log.info("feishu: %s as %s", self.config.base_url, bot.get("app_name") or self.bot_open_id)

    async def stop(self) -> None:
        self.sink = None
        await self.api.close()

    # ------------------------------------------------------------ inbound

    def web_routes(self) -> list[web.RouteDef]:
        return [web.post(EVENTS_PATH, self.handle_events)]

    async def handle_events(self, request: web.Request) -> web.Response:
        """200 once the event is committed (or was before); 401 for a bad signature or
        token, with nothing stored; 503 when it cannot be stored now (Feishu sends it
        again); an event casebot cannot read is kept as failed and answered 200."""
        body = await request.read()
        try:
            opened = open_callback(
                body, request.headers, self.config.encrypt_key, self.config.verification_token
            )
        except Refused as exc:
            if exc.status == 401:
                self.stats["unauthorized"] += 1
            log.warning("feishu: callback refused (%s): %s", exc.status, exc.reason)
            return refusal(exc)
        if opened.challenge is not None:
            return web.json_response({"challenge": opened.challenge})
        if self.sink is None:
            return web.json_response({"error": "not running"}, status=503)
        raw = opened.raw
        header = sub(raw, "header")
        if self.tenant_key is None and isinstance(header.get("tenant_key"), str):
            self.tenant_key = header["tenant_key"]
        chat_id = None
        reacted = reaction_message(raw)
        if reacted is not None:
            try:
                chat_id = await self._chat_of(reacted)
            except DeliveryError as exc:
                log.warning("feishu: chat of reacted message %s unknown: %s", reacted, exc)
                if not exc.permanent:
                    return web.json_response({"error": "try again"}, status=503)
        try:
            event = translate(raw, self.clock.now(), bot_open_id=self.bot_open_id, chat_id=chat_id)
        except Unreadable as exc:
            return await self._unreadable(raw, str(exc))
        if event is None:
            return web.json_response({})
        if event.message_id and event.kind is InboundKind.MESSAGE:
            self._remember(event.message_id, event.chat.chat)
            sender = raw.get("event", {}).get("sender", {})
            if isinstance(sender, dict) and sender.get("tenant_key") not in (
                None,
                self.tenant_key,
            ):
                # a person of another tenant in an external group (外部群): a customer
                self.stats["external"] += 1
        try:
            outcome = await asyncio.wait_for(asyncio.shield(self.sink(event)), ANSWER_WITHIN)
        except TimeoutError:
            log.warning("feishu: event %s not committed within %ss", event.event_id, ANSWER_WITHIN)
            return web.json_response({"error": "not stored yet"}, status=503)
        except EventFailed:
            return web.json_response({})  # kept by the ingestor (`casebot failed`)
        except Exception as exc:
            log.error("feishu: event %s not stored: %r", event.event_id, exc)
            return web.json_response({"error": "not stored"}, status=503)
        self.stats["events"] += 1
        if event_type(raw) == CARD_ACTION:
            return web.json_response(callback_answer(event, outcome))
        return web.json_response({})

    async def _unreadable(self, raw: dict[str, Any], error: str) -> web.Response:
        self.stats["unreadable"] += 1
        log.warning("feishu: unreadable event %s: %s", event_id(raw), error)
        assert self.sink is not None
        header = raw.get("header")
        if isinstance(header, dict) and "token" in header:
            # kept for `casebot failed`: without the verification token in it
            raw = {**raw, "header": {**header, "token": "***"}}
        event = Inbound(
            InboundKind.UNREADABLE,
            event_id(raw) or "unknown",
            ChatKey(PLATFORM, chat_of(raw) or "unknown"),
            self.clock.now(),
            text=f"{error}; body: {json.dumps(raw, ensure_ascii=False)[:100_000]}",
        )
        try:
            await self.sink(event)
        except EventFailed:
            return web.json_response({})
        except Exception as exc:
            log.error("feishu: could not keep an unreadable event: %r", exc)
            return web.json_response({"error": "not stored"}, status=503)
        return web.json_response({})

    def _remember(self, message_id: str, chat: str) -> None:
        self._chats[message_id] = chat
        self._chats.move_to_end(message_id)
        while len(self._chats) > 50_000:
            self._chats.popitem(last=False)

    async def _chat_of(self, message_id: str) -> str:
        known = self._chats.get(message_id)
        if known is not None:
            return known
        data = await self.api.call("GET", f"{MESSAGES_PATH}/{message_id}", what="get message")
        items = data.get("items") or [data]
        chat = next((i.get("chat_id") for i in items if isinstance(i, dict)), None)
        if not isinstance(chat, str) or not chat:
            raise DeliveryError(f"message {message_id}: no chat_id", permanent=True)
        self._remember(message_id, chat)
        return chat

    # ------------------------------------------------------------ outbound

    async def deliver(self, delivery: Delivery) -> Receipt:
        kind = delivery.kind
        if kind == "answer":
            # the toast went back in the card callback's own response
            return Receipt(notes=("answered_in_callback",))
        if kind in ("topic_create", "topic_close", "topic_reopen"):
            return Receipt(notes=("topics_unavailable",))
        if kind == "pin":
            target = delivery.extra.get("message_id") or delivery.reply_to
            if not target:
                raise DeliveryError("pin: no message to pin", permanent=True)
            await self._pin(target)
            return Receipt()
        if kind == "dm":
            return await self._dm(delivery)
        if kind == "upsert":
            return await self._upsert(delivery)
        if kind == "send":
            return await self._send(delivery.chat, delivery)
        raise DeliveryError(f"unknown outbox kind {kind!r}", permanent=True)

    async def _post(
        self,
        chat: str,
        msg_type: str,
        content: str,
        uuid: str,
        *,
        thread: str | None = None,
        reply_to: str | None = None,
    ) -> str | None:
        """One message: a reply in the case's thread, a reply to a message, or a new
        message in the chat (a chat id) or to a person (an open_id). A reply whose
        message is gone (recalled) goes to the chat instead."""
        await self.limit.pace(chat)
        body: dict[str, Any] = {"msg_type": msg_type, "content": content, "uuid": uuid}
        target = thread or reply_to
        if target:
            try:
                data = await self.api.call(
                    "POST",
                    f"{MESSAGES_PATH}/{target}/reply",
                    json_body={**body, "reply_in_thread": thread is not None},
                    what="reply",
                )
                return self._sent(data)
            except FeishuError as exc:
                if exc.code == 230002:  # the bot is not in the chat: sending cannot help
                    raise
                log.info("feishu: cannot reply to %s (%s); sending to the chat", target, exc)
        id_type = "open_id" if chat.startswith("ou_") else "chat_id"
        data = await self.api.call(
            "POST",
            MESSAGES_PATH,
            params={"receive_id_type": id_type},
            json_body={**body, "receive_id": chat},
            what="send",
        )
        return self._sent(data)

    def _sent(self, data: dict[str, Any]) -> str | None:
        """The sent message's id; its chat is remembered for reactions to it."""
        message_id = _message_id(data)
        chat = data.get("chat_id")
        if message_id and isinstance(chat, str) and chat.startswith("oc_"):
            self._remember(message_id, chat)
        return message_id

    async def _send(self, chat: str, delivery: Delivery, text: str | None = None) -> Receipt:
        text = delivery.text if text is None else text
        if delivery.buttons:
            message_id = await self._post(
                chat,
                "interactive",
                card_content(text, delivery.buttons),
                send_uuid(delivery.id),
                thread=delivery.thread,
                reply_to=delivery.reply_to,
            )
            return Receipt(message_id=message_id)
        parts = split_text(text)
        first: str | None = None
        for i, part in enumerate(parts):
            # every part has its own uuid: a retry after a later part failed sends again
            # only what Feishu has not taken
            sent = await self._post(
                chat,
                "text",
                text_content(part),
                send_uuid(delivery.id, i),
                thread=delivery.thread,
                reply_to=delivery.reply_to if i == 0 else None,
            )
            first = first or sent
        return Receipt(message_id=first, notes=("split",) if len(parts) > 1 else ())

    async def _upsert(self, delivery: Delivery) -> Receipt:
        """Cards and boards are interactive cards, so they can be edited in place."""
        anchor_id = delivery.anchor_message_id
        if anchor_id:
            await self.limit.pace(delivery.chat)
            try:
                await self.api.call(
                    "PATCH",
                    f"{MESSAGES_PATH}/{anchor_id}",
                    json_body={"content": card_content(delivery.text, delivery.buttons)},
                    what="edit card",
                )
                return Receipt(message_id=anchor_id)
            except FeishuError as exc:
                # recalled or too old to edit (Feishu edits for 14 days): post it anew
                log.info(
                    "feishu: %s message %s not edited (%s); sending anew",
                    delivery.anchor,
                    anchor_id,
                    exc,
                )
        message_id = await self._post(
            delivery.chat,
            "interactive",
            card_content(delivery.text, delivery.buttons),
            send_uuid(delivery.id),
            thread=delivery.thread,
            reply_to=delivery.reply_to,
        )
        notes: tuple[str, ...] = ()
        if delivery.pin and message_id:
            try:
                await self._pin(message_id)
                notes = ("pinned",)
            except DeliveryError as exc:
                # the board still works unpinned; sending it again would post it twice
                log.warning("feishu: cannot pin in %s: %s", delivery.chat, exc)
                notes = ("pin_failed",)
        return Receipt(message_id=message_id, notes=notes)

    async def _pin(self, message_id: str) -> None:
        await self.api.call(
            "POST", "/open-apis/im/v1/pins", json_body={"message_id": message_id}, what="pin"
        )

    async def _dm(self, delivery: Delivery) -> Receipt:
        """A person of the app's tenant gets a DM by open_id; one the app cannot reach
        (another tenant's, or outside the app's availability) is named in the fallback
        chat, except sign-in links, which go to the person or nowhere."""
        try:
            return await self._send(delivery.chat, delivery)
        except DeliveryError as exc:
            if not exc.permanent:
                raise
            person = delivery.person or f"{PLATFORM}:{delivery.chat}"
            if delivery.purpose in PRIVATE_PURPOSES:
                raise DeliveryError(
                    f"{person} cannot be messaged; a {delivery.purpose} message is not "
                    "posted anywhere else",
                    permanent=True,
                ) from None
            fallback = delivery.fallback_chat or self.triage_chat
            if not fallback:
                raise
            fallback = ChatKey.parse(fallback).chat if ":" in fallback else fallback
            text = self.texts.render(
                "dm_fallback", self.staff_locale, person=person, text=delivery.text
            )
            plain = Delivery(
                id=delivery.id,
                kind="send",
                platform=delivery.platform,
                chat=fallback,
                purpose=delivery.purpose,
                payload={"text": text},
            )
            receipt = await self._send(fallback, plain)
            return Receipt(message_id=receipt.message_id, chat=fallback, notes=("dm_fallback",))


def _message_id(data: dict[str, Any]) -> str | None:
    value = data.get("message_id")
    return str(value) if isinstance(value, str) and value else None
