"""The Slack adapter: Events API (or Socket Mode) in, Web API out. Imports slack_sdk,
aiohttp (through the events route) and `cases`; no Bolt.

In: `POST /slack/events` carries events, interactivity and slash commands
(`adapters.slack_events`); in Socket Mode the same payloads come over a WebSocket
(`adapters.slack_socket`). Either way an event is acknowledged only after the engine
committed it, and Slack's `event_id` (a press's `trigger_id`) makes a retry a no-op.

Out: `chat.postMessage` into the case's thread (`thread_ts`), `chat.update` for cards
and the board, `pins.add` for the board, `conversations.open` for DMs and the press's
`response_url` for the ephemeral answer to a button.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.base import AdapterConfigError, Delivery, DeliveryError, Receipt, Sink
from adapters.slack_config import SlackConfig
from adapters.slack_send import (
    MAX_TEXT,
    ChannelPacer,
    blocks,
    failure,
    mrkdwn,
    slack_error,
    trim,
)
from adapters.slack_translate import PLATFORM, Self
from cases.clock import Clock
from cases.model import Capabilities, ThreadMode
from cases.texts import Texts

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# purposes whose text must never be posted anywhere but to the person (sign-in links)
PRIVATE_PURPOSES = frozenset({"login"})
# a DM that cannot reach the person goes to the fallback chat instead
UNREACHABLE = frozenset(
    {
        "cannot_dm_bot",
        "user_not_found",
        "user_disabled",
        "channel_not_found",
        "not_allowed_token_type",
    }
)


def permalink(channel: str, ts: str) -> str:
    """Slack's archive link, which opens the message in whichever workspace has it."""
    if not ts or "." not in ts:
        return ""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


# threads by reply (`thread_ts`), Block Kit buttons answered by an ephemeral message,
# edits, pins and DMs
CAPABILITIES = Capabilities(
    threads=ThreadMode.REPLY,
    buttons=True,
    button_answers=True,
    edits=True,
    pins=True,
    direct=True,
    max_text=MAX_TEXT,
    formats=("plain",),
    permalink=permalink,
)


class SlackAdapter:
    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(
        self,
        config: SlackConfig,
        clock: Clock,
        *,
        texts: Texts,
        triage_chat: str | None = None,
        staff_locale: str = "en",
    ) -> None:
        self.config = config
        self.clock = clock
        self.texts = texts
        self.triage_chat = triage_chat
        self.staff_locale = staff_locale
        self.client = AsyncWebClient(
            token=config.bot_token,
            base_url=config.base_url,
            timeout=int(config.timeout.total_seconds()) or 1,
        )
        self.me = Self()
        self.sink: Sink | None = None
        self.started = asyncio.Event()
        self.pacer = ChannelPacer(config.channel_interval.total_seconds())
        self._board_edits: dict[str, float] = {}
        self._dm_channels: dict[str, str] = {}
        self.stats = {"events": 0, "unauthorized": 0, "unreadable": 0, "retries": 0}
        from adapters.slack_events import SlackInbox

        self.inbox = SlackInbox(self)
        self.socket: Any = None

    @property
    def running(self) -> bool:
        return self.sink is not None

    async def start(self, sink: Sink) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise AdapterConfigError(
                f"slack.bot_token: Slack refused it ({slack_error(exc) or exc})"
            ) from None
        except (TimeoutError, SlackClientError, OSError) as exc:
            raise AdapterConfigError(
                f"slack.base_url: cannot reach the Slack Web API at {self.config.base_url} "
                f"({type(exc).__name__}: {exc})"
            ) from None
        self.me = Self(
            user_id=str(auth.get("user_id") or ""),
            bot_id=str(auth.get("bot_id") or ""),
            team_id=str(auth.get("team_id") or ""),
        )
        self.sink = sink
        self.started.set()
        log.info(
            "slack: bot %s in team %s, %s mode", self.me.user_id, self.me.team_id, self.config.mode
        )
        if self.config.mode == "socket":
            from adapters.slack_socket import SocketLink

            self.socket = SocketLink(self)
            await self.socket.start()

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.stop()
            self.socket = None
        self.sink = None
        self.started.clear()

    def web_routes(self) -> list[web.RouteDef]:
        if self.config.mode != "events":
            return []
        return [web.post(EVENTS_PATH, self.inbox.handle)]

    # ------------------------------------------------------------ outbound

    async def deliver(self, delivery: Delivery) -> Receipt:
        kind = delivery.kind
        if kind == "send":
            return await self._send(delivery.chat, delivery)
        if kind == "upsert":
            return await self._upsert(delivery)
        if kind == "dm":
            return await self._dm(delivery)
        if kind == "answer":
            return await self._answer(delivery)
        if kind in ("topic_create", "topic_close", "topic_reopen"):
            # no topics on Slack: a case keeps to its thread
            return Receipt(notes=("topics_unavailable",))
        if kind == "pin":
            target = delivery.extra.get("message_id") or delivery.reply_to
            if not target:
                raise DeliveryError("pin: no message to pin", permanent=True)
            await self._pin(delivery.chat, target)
            return Receipt()
        raise DeliveryError(f"unknown outbox kind {kind!r}", permanent=True)

    async def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return await self.client.api_call(method, json=kwargs)
        except (TimeoutError, SlackApiError, SlackClientError, OSError) as exc:
            raise failure(exc, what) from exc

    def _message(self, delivery: Delivery, text: str | None = None) -> dict[str, Any]:
        body = trim(delivery.text if text is None else text)
        found: dict[str, Any] = {
            "text": mrkdwn(body),
            "unfurl_links": False,  # a customer's link quoted in a card draws no preview
            "unfurl_media": False,
        }
        shaped = blocks(body, delivery.buttons)
        if shaped is not None:
            found["blocks"] = shaped
        return found

    async def _send(self, channel: str, delivery: Delivery, text: str | None = None) -> Receipt:
        await self.pacer.pace(channel)
        thread = delivery.thread or delivery.reply_to
        answer = await self._call(
            "chat.postMessage",
            "chat.postMessage",
            channel=channel,
            **({"thread_ts": thread} if thread else {}),
            **self._message(delivery, text),
        )
        notes = ("trimmed",) if len(delivery.text if text is None else text) > MAX_TEXT else ()
        sent_in = str(answer.get("channel") or channel)
        return Receipt(
            message_id=str(answer.get("ts")),
            chat=sent_in if sent_in != delivery.chat else None,
            notes=notes,
        )

    async def _pin(self, channel: str, ts: str) -> None:
        try:
            await self.client.api_call("pins.add", json={"channel": channel, "timestamp": ts})
        except SlackApiError as exc:
            if slack_error(exc) == "already_pinned":
                return
            raise failure(exc, "pins.add") from exc
        except (TimeoutError, SlackClientError, OSError) as exc:
            raise failure(exc, "pins.add") from exc

    async def _upsert(self, delivery: Delivery) -> Receipt:
        anchor = delivery.anchor_message_id
        if anchor:
            key = delivery.anchor or str(delivery.id)
            if delivery.purpose == "board":
                self._throttle_board(key)
            await self.pacer.pace(delivery.chat)
            try:
                await self.client.api_call(
                    "chat.update",
                    json={"channel": delivery.chat, "ts": anchor, **self._message(delivery)},
                )
                self._board_edits[key] = self.clock.now().timestamp()
                return Receipt(message_id=anchor)
            except SlackApiError as exc:
                if slack_error(exc) not in ("message_not_found", "cant_update_message"):
                    raise failure(exc, "chat.update") from exc
                log.info("slack: %s message %s is gone; posting it anew", delivery.anchor, anchor)
            except (TimeoutError, SlackClientError, OSError) as exc:
                raise failure(exc, "chat.update") from exc
        receipt = await self._send(delivery.chat, delivery)
        notes = receipt.notes
        if delivery.pin and receipt.message_id:
            try:
                await self._pin(receipt.chat or delivery.chat, receipt.message_id)
                notes = (*notes, "pinned")
            except DeliveryError as exc:
                # the board still works unpinned; `casebot doctor` names the missing scope
                log.warning("slack: cannot pin in %s: %s", delivery.chat, exc)
                notes = (*notes, "pin_failed")
        return replace(receipt, notes=notes)

    def _throttle_board(self, key: str) -> None:
        interval = self.config.board_min_interval.total_seconds()
        last = self._board_edits.get(key)
        if interval <= 0 or last is None:
            return
        since = self.clock.now().timestamp() - last
        if since < interval:
            # newer board rows of the same anchor supersede this one while it waits
            raise DeliveryError("board edited moments ago", retry_after=interval - since)

    async def _dm(self, delivery: Delivery) -> Receipt:
        person = delivery.person or f"{PLATFORM}:{delivery.chat}"
        try:
            channel = self._dm_channels.get(delivery.chat)
            if channel is None:
                opened = await self._call(
                    "conversations.open", "conversations.open", users=delivery.chat
                )
                found = opened.get("channel")
                if not isinstance(found, dict) or not found.get("id"):
                    raise DeliveryError("conversations.open: no channel in the answer")
                channel = str(found["id"])
                self._dm_channels[delivery.chat] = channel
            receipt = await self._send(channel, replace(delivery, thread=None, reply_to=None))
            return replace(receipt, chat=None)
        except DeliveryError as exc:
            if not (exc.permanent and any(code in exc.reason for code in UNREACHABLE)):
                raise
            if delivery.purpose in PRIVATE_PURPOSES:
                raise DeliveryError(
                    f"{person} cannot be reached by DM; a {delivery.purpose} message is not "
                    "posted anywhere else",
                    permanent=True,
                ) from None
            fallback = delivery.fallback_chat or self.triage_chat
            if not fallback:
                raise
            fallback = (
                fallback.partition(":")[2] if fallback.startswith(f"{PLATFORM}:") else fallback
            )
            text = self.texts.render(
                "dm_fallback", self.staff_locale, person=person, text=delivery.text
            )
            plain = replace(delivery, thread=None, reply_to=None, buttons=())
            receipt = await self._send(fallback, plain, text)
            return Receipt(message_id=receipt.message_id, chat=fallback, notes=("dm_fallback",))

    async def _answer(self, delivery: Delivery) -> Receipt:
        """The answer to a press: an ephemeral message to whoever pressed, through the
        press's response_url (valid for 30 minutes, five uses)."""
        url = delivery.callback_id or ""
        if not url.startswith(("https://", "http://")):
            return Receipt(notes=("answer_expired",))
        if not delivery.text:
            return Receipt()
        hook = AsyncWebhookClient(url, timeout=int(self.config.timeout.total_seconds()) or 1)
        try:
            response = await hook.send(
                text=mrkdwn(trim(delivery.text, 3000)),
                response_type="ephemeral",
                replace_original=False,
            )
        except (TimeoutError, SlackClientError, OSError) as exc:
            raise failure(exc, "response_url") from exc
        if response.status_code == 404 or response.status_code == 410:
            return Receipt(notes=("answer_expired",))
        if response.status_code == 429:
            raise DeliveryError("response_url: rate limited", retry_after=1.0)
        if response.status_code >= 500:
            raise DeliveryError(f"response_url: Slack answered {response.status_code}")
        return Receipt()
