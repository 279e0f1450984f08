"""The Telegram adapter on python-telegram-bot 22. Imports `telegram`, aiohttp and `cases`.

Inbound: our own polling loop (`getUpdates`) or our own webhook route; either way an
update is acknowledged to Telegram (offset advanced, or 200) only after the engine
committed it, so a crash at any moment loses nothing and a replay changes nothing
(event id = update id). PTB's Updater and built-in webhook acknowledge before
handling, which is why neither is used: the Application is built with
`.updater(None).job_queue(None)` and only its Bot does HTTP.

Outbound: one outbox row at a time (`deliver`), answered with a Receipt or a
DeliveryError the dispatcher understands (retry_after, retryable, permanent).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import telegram
import telegram.error as tg_error
from aiohttp import web
from telegram.ext import Application, ApplicationBuilder

from adapters.base import AdapterConfigError, Delivery, DeliveryError, Receipt, Sink
from adapters.telegram_http import INVALID_RESPONSE, AiohttpRequest
from adapters.telegram_send import (
    RateLimited,
    RateLimiter,
    split_text,
    to_html,
    truncate,
)
from adapters.telegram_translate import (
    ALLOWED_UPDATES,
    MAX_DEPTH,
    Malformed,
    permalink,
    raw_too_deep,
    shallow_updates,
    translate,
    unreadable,
    update_id_in,
    update_id_of,
)
from cases.clock import Clock
from cases.context import EventFailed
from cases.model import ChatKey, Inbound
from cases.settings import FULL
from cases.texts import Texts


class TelegramConfig(Protocol):
    """The `[telegram]` section as this adapter reads it (`bot.config` validates it)."""

    token: str | None
    base_url: str
    mode: str
    webhook_url: str | None
    secret_token: str | None
    poll_timeout: timedelta
    poll_limit: int
    poll_refused_after: timedelta
    rate_per_second: float
    rate_per_group_minute: int
    board_min_interval: timedelta


log = logging.getLogger(__name__)

# getUpdates is asked for raw on purpose: Bot.get_updates parses the whole batch, so one
# unreadable update would fail every call and block the updates behind it forever. It is
# spelled as documented: proxies and other Bot API servers may match names by case.
GET_UPDATES = "getUpdates"


async def raw_updates(bot: telegram.Bot, api_kwargs: dict[str, Any], **timeouts: Any) -> Any:
    """getUpdates answered as plain JSON. Through Bot._post, PTB's one request path (its
    errors, and its long-poll connection for this method), because do_api_request warns
    for a method that has a typed form, and that form parses."""
    return await bot._post(GET_UPDATES, api_kwargs=api_kwargs, **timeouts)


def not_the_bot_api(exc: tg_error.TelegramError) -> bool:
    """Whether the answer behind `exc` was not JSON: the Bot API always answers in JSON
    (errors too), so whatever answered is some other web server, whatever its status
    (PTB reads a 404 as a rejected token, a 5xx as a network error)."""
    current: BaseException | None = exc
    for _ in range(5):  # Bot.initialize wraps the error of its getMe once more
        if isinstance(current, tg_error.TelegramError) and current.message == INVALID_RESPONSE:
            return True
        current = current.__cause__ if current is not None else None
    return False


# what PTB cannot build its objects from (a field left out, a wrong type)
UNREADABLE_ANSWER = (TypeError, KeyError, ValueError)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# purposes whose text must never be posted anywhere but to the person (sign-in links)
PRIVATE_PURPOSES = frozenset({"login"})
# No link previews on anything the bot writes. Its own links are sign-in links (a preview
# fetch must not be the first to open one), status pages (bearer links: their content
# belongs in the customer's chat only as text) and dashboard pages (a preview shows a
# sign-in form); a customer's URL quoted in a triage card would draw a preview of it there.
NO_PREVIEW = telegram.LinkPreviewOptions(is_disabled=True)
# The parameters of a send or an edit that are Bot API objects go to PTB as the plain
# dicts its `TelegramObject.to_dict` makes of them (keys sorted, none left empty), so
# the body is the same: building the objects and turning them back into dicts on every
# call cost more than the rest of the call's parameters together
NO_PREVIEW_JSON = NO_PREVIEW.to_dict()


def markup_json(buttons: Any) -> dict[str, Any] | None:
    """An `InlineKeyboardMarkup` of callback buttons, as PTB sends it."""
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [{"callback_data": str(data), "text": str(label)} for label, data in row]
            for row in buttons
        ]
    }


def reply_json(message_id: int) -> dict[str, Any]:
    """`ReplyParameters(message_id, allow_sending_without_reply=True)`, as PTB sends it."""
    return {"allow_sending_without_reply": True, "message_id": message_id}


# Telegram does everything the engine may ask for: forum topics, inline buttons and their
# answers, edits, pins, DMs, 4096 characters, HTML, and t.me links to messages
CAPABILITIES = replace(FULL, permalink=permalink)


def _is_event_failed(exc: BaseException) -> bool:
    """The engine rejected this one event (poison); the commit itself was fine."""
    return isinstance(exc, EventFailed)


# PTB 22 deprecates time periods as int seconds (RetryAfter.retry_after, which PTB itself
# reads when it builds the error) and warns each time unless this opt-in to timedelta,
# the coming form, is set. A user's own setting wins; an int still works below.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def _retry_seconds(exc: tg_error.RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def failure(exc: Exception, what: str) -> DeliveryError:
    """A Telegram error as the dispatcher's DeliveryError."""
    if isinstance(exc, tg_error.RetryAfter):
        seconds = _retry_seconds(exc)
        return DeliveryError(
            f"{what}: flood control, retry after {seconds:g}s", retry_after=seconds
        )
    if isinstance(exc, tg_error.ChatMigrated):
        return DeliveryError(f"{what}: chat moved to {exc.new_chat_id}", permanent=True)
    if isinstance(exc, tg_error.Forbidden | tg_error.BadRequest):
        return DeliveryError(f"{what}: {exc.message}", permanent=True)
    if isinstance(exc, tg_error.TelegramError):  # TimedOut, NetworkError, 5xx, InvalidToken
        return DeliveryError(f"{what}: {type(exc).__name__}: {exc.message}")
    return DeliveryError(f"{what}: {type(exc).__name__}: {exc}")


def _says(exc: Exception, *phrases: str) -> bool:
    text = str(getattr(exc, "message", exc)).lower()
    return any(p in text for p in phrases)


class TelegramAdapter:
    platform = "telegram"
    capabilities = CAPABILITIES

    def __init__(
        self,
        config: TelegramConfig,
        clock: Clock,
        *,
        texts: Texts | None = None,
        triage_chat: str | None = None,
        staff_locale: str = "en",
    ) -> None:
        if not config.token:
            raise AdapterConfigError("telegram.token: not set (nor CASEBOT_TELEGRAM_TOKEN)")
        self.config = config
        self.clock = clock
        if texts is None:
            raise ValueError("TelegramAdapter needs the text catalogue")
        self.texts = texts
        # "telegram:-100500" or "-100500": where DMs fall back to
        self.triage_chat = (
            ChatKey.parse(triage_chat).chat if triage_chat and ":" in triage_chat else triage_chat
        )
        self.staff_locale = staff_locale
        # sends, and the long poll on a connection of its own
        self._requests = (AiohttpRequest(connection_pool_size=64), _GuardedRequest())
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(config.token)
            .base_url(config.base_url)
            .updater(None)
            .job_queue(None)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .build()
        )
        self.bot: telegram.Bot = self.application.bot
        self.username: str | None = None
        self.limiter = RateLimiter(config.rate_per_second, config.rate_per_group_minute)
        self.sink: Sink | None = None
        self._poller: asyncio.Task[None] | None = None
        # when the Bot API began refusing getUpdates (None: the last call was answered)
        self.getupdates_refused_since: datetime | None = None
        self._board_edits: dict[str, Any] = {}  # anchor -> clock time of its last edit
        self._parts_sent: dict[int, list[str]] = {}  # outbox id -> ids of parts already sent
        self.stats = {"updates": 0, "skipped": 0, "malformed": 0, "poison": 0, "refetch": 0}

    # ------------------------------------------------------------ lifecycle

    async def start(self, sink: Sink) -> None:
        """Connect (getMe, then setWebhook or deleteWebhook) and start taking updates.
        A rejected token stops start-up with a config error; an unreachable API does not:
        casebot comes up and keeps trying in the background."""
        try:
            await self._start(sink)
        except AdapterConfigError:
            await self._close_transport()  # PTB shuts down only what initialized fully
            raise

    async def _start(self, sink: Sink) -> None:
        self.sink = sink
        try:
            await self._connect()
        except tg_error.TelegramError as exc:
            # a 5xx page is a proxy in front of a Bot API that may come back: retried;
            # any other answer that is not JSON comes from a server that is not one
            if not_the_bot_api(exc) and not isinstance(exc, tg_error.NetworkError):
                raise AdapterConfigError(
                    f"telegram.base_url: {self.config.base_url} answers, but not as the "
                    "Telegram Bot API"
                ) from None
            if isinstance(exc, tg_error.InvalidToken):
                raise AdapterConfigError(
                    f"telegram.token: rejected by the Bot API at {self.config.base_url}"
                ) from None
            log.warning("telegram: Bot API not reachable (%s); retrying in the background", exc)
            self._poller = asyncio.create_task(self._connect_later(), name="telegram-connect")
            self._poller.add_done_callback(self._poller_ended)
            return
        except UNREADABLE_ANSWER as exc:
            detail = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
            raise AdapterConfigError(
                f"telegram.base_url: the Bot API at {self.config.base_url} sent a getMe "
                f"python-telegram-bot cannot read ({type(exc).__name__}: {detail})"
            ) from None
        if self.config.mode == "polling":
            self._poller = asyncio.create_task(self._poll_forever(), name="telegram-poll")
            self._poller.add_done_callback(self._poller_ended)

    def _poller_ended(self, task: asyncio.Task[None]) -> None:
        """Polling ends only when stop() cancels it; any other end means no more updates
        arrive, which must be loud in the log as well as in `running` (`/healthz`)."""
        if task is not self._poller:
            return
        error = None if task.cancelled() else task.exception()
        if error is None and self.config.mode == "webhook":
            return  # connected in the background; webhook updates come over HTTP
        log.critical("telegram: polling ended, no updates are taken: %r", error or "cancelled")

    @property
    def running(self) -> bool:
        """Taking updates: connected (PTB's Application started) with a sink, and in
        polling mode with the polling task alive. `/healthz` answers 503 otherwise."""
        if self.sink is None or not self.application.running:
            return False
        if self.config.mode == "polling":
            alive = self._poller is not None and not self._poller.done()
            return alive and not self.getupdates_refused_too_long
        return True

    @property
    def getupdates_refused_too_long(self) -> bool:
        """Every getUpdates since `getupdates_refused_since` failed, for longer than
        telegram.poll_refused_after: the task lives, but no update arrives."""
        since = self.getupdates_refused_since
        return since is not None and (self.clock.now() - since > self.config.poll_refused_after)

    async def _connect(self) -> None:
        await self.application.initialize()  # getMe
        if not self.application.running:
            await self.application.start()
        self.username = self.bot.username
        # the token was accepted (getMe); a Bot API that refuses the webhook calls (some
        # local servers) must not keep casebot from taking updates
        try:
            if self.config.mode == "webhook":
                await self.bot.set_webhook(
                    url=str(self.config.webhook_url),
                    secret_token=self.config.secret_token,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
                log.info(
                    "telegram: webhook set to %s as @%s", self.config.webhook_url, self.username
                )
            else:
                # keep pending updates: never acknowledged, so they are ours to handle
                await self.bot.delete_webhook(drop_pending_updates=False)
                log.info("telegram: polling as @%s", self.username)
        except (tg_error.InvalidToken, tg_error.BadRequest) as exc:
            log.warning("telegram: %s refused (%s); going on", self.config.mode, exc)

    async def _connect_later(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connect()
                break
            except tg_error.TelegramError as exc:
                log.warning("telegram: still cannot reach the Bot API: %s", exc)
                delay = min(delay * 2, 60.0)
        if self.config.mode == "polling":
            await self._poll_forever()

    async def stop(self) -> None:
        poller, self._poller = self._poller, None  # let go first: its end is expected now
        if poller is not None and not poller.done():
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if self.application.running:
            await self.application.stop()
        with contextlib.suppress(Exception):  # never connected: nothing to shut down
            await self.application.shutdown()
        await self._close_transport()
        self.sink = None

    async def _close_transport(self) -> None:
        for request in self._requests:
            await request.shutdown()

    # ------------------------------------------------------------ inbound

    def _translate(self, raw: Any) -> Inbound | None:
        self.stats["updates"] += 1
        try:
            event = translate(raw, self.bot, self.username, self.clock.now())
        except Malformed as exc:
            self.stats["malformed"] += 1
            log.warning("telegram: skipped a malformed update: %s", exc)
            return None
        if event is None:
            self.stats["skipped"] += 1
            log.debug("telegram: nothing to track in update %s", update_id_of(raw))
        return event

    async def _submit(self, events: list[Inbound]) -> bool:
        """Hand events to the engine together (group commit batches them; the ingest queue
        keeps their order). True when every commit succeeded, so they may be acknowledged."""
        assert self.sink is not None
        results = await asyncio.gather(*(self.sink(e) for e in events), return_exceptions=True)
        ok = True
        for event, result in zip(events, results, strict=True):
            if isinstance(result, BaseException):
                if _is_event_failed(result):
                    self.stats["poison"] += 1
                    log.error(
                        "telegram: update %s rejected by the engine: %s", event.event_id, result
                    )
                else:
                    ok = False
                    log.error("telegram: update %s not committed: %r", event.event_id, result)
        return ok

    async def poll_once(self, offset: int | None, timeout: float) -> int | None:
        """One getUpdates round; returns the next offset (unchanged if nothing may be
        acknowledged yet). Raises the Telegram error if the call failed."""
        kwargs: dict[str, Any] = {
            "timeout": int(timeout),
            "limit": self.config.poll_limit,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if offset is not None:
            kwargs["offset"] = offset
        raw = await raw_updates(self.bot, kwargs, read_timeout=timeout + 10)
        if not isinstance(raw, list) or not raw:
            return offset
        ids = [i for i in (update_id_of(u) for u in raw) if i is not None]
        if not ids:
            log.warning("telegram: getUpdates returned %d items without update ids", len(raw))
            return offset
        events = [e for e in (self._translate(u) for u in raw) if e is not None]
        if events and not await self._submit(events):
            self.stats["refetch"] += 1
            raise _CommitFailed()
        return max(ids) + 1

    async def _poll_forever(self) -> None:
        offset: int | None = None
        delay = 0.5
        timeout = self.config.poll_timeout.total_seconds()
        while True:
            try:
                offset = await self.poll_once(offset, timeout)
                self.getupdates_refused_since = None
                delay = 0.5
                continue
            except asyncio.CancelledError:
                raise
            except _CommitFailed:
                self.getupdates_refused_since = None  # Telegram answered; storage did not
                log.warning("telegram: commit failed; refetching the batch in %.1fs", delay)
            except tg_error.TelegramError as exc:
                if self.getupdates_refused_since is None:
                    self.getupdates_refused_since = self.clock.now()
                if isinstance(exc, tg_error.Conflict):
                    log.error("telegram: %s (is another casebot polling with this token?)", exc)
                elif isinstance(exc, tg_error.InvalidToken):
                    log.error("telegram: the token was rejected (401/404); check telegram.token")
                    delay = max(delay, 30.0)
                else:
                    log.warning("telegram: getUpdates failed: %s", exc)
            except Exception:
                log.exception("telegram: polling round failed")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    # ------------------------------------------------------------ webhook

    def web_routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.handle_webhook)]

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """401 unless the secret matches; 200 only after commit; 500 when the commit
        failed (Telegram retries). A JSON body that is not a usable update is logged
        and answered 200, or Telegram would resend that poison forever; a body that is
        not JSON at all did not come from Telegram and gets 400."""
        secret = self.config.secret_token or ""
        given = request.headers.get(SECRET_HEADER, "")
        # surrogateescape: aiohttp keeps header bytes that are not UTF-8 as lone surrogates
        if not secret or not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), secret.encode()
        ):
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        if self.sink is None:
            return web.json_response({"ok": False, "error": "not running"}, status=503)
        body = await request.read()
        if raw_too_deep(body):
            # json.loads would recurse past Python's limit: keep it as failed, answer 200
            log.warning("telegram webhook: an update nested too deep; kept as failed")
            event: Inbound | None = unreadable(update_id_in(body), None, self.clock.now())
        else:
            try:
                raw = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                log.warning("telegram webhook: body is not JSON")
                return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
            event = self._translate(raw)
        if event is not None and not await self._submit([event]):
            return web.json_response({"ok": False, "error": "not stored"}, status=500)
        return web.json_response({"ok": True})

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
        if kind == "topic_create":
            return await self._topic_create(delivery)
        if kind in ("topic_close", "topic_reopen"):
            return await self._topic_toggle(delivery)
        if kind == "pin":
            target = delivery.payload.get("extra", {}).get("message_id") or delivery.payload.get(
                "reply_to"
            )
            if not target:
                raise DeliveryError("pin: no message to pin", permanent=True)
            await self._call(
                "pin",
                self.bot.pin_chat_message,
                chat_id=int(delivery.chat),
                message_id=int(target),
                disable_notification=True,
            )
            return Receipt()
        raise DeliveryError(f"unknown outbox kind {kind!r}", permanent=True)

    async def _call(self, what: str, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except tg_error.TelegramError as exc:
            raise failure(exc, what) from exc

    async def _pace(self, chat: str) -> None:
        try:
            await self.limiter.pace(chat)
        except RateLimited as exc:
            raise DeliveryError(str(exc), retry_after=exc.wait) from None

    async def _send_one(
        self,
        chat: str,
        text: str,
        *,
        thread: str | None,
        reply_to: str | None,
        markup: dict[str, Any] | None,
        quiet: bool = False,
    ) -> tuple[str, str]:
        """One message, as HTML, again as plain text if Telegram rejects the entities;
        its id and its chat's. Through PTB's request path (its errors, its retries of
        nothing) but without building a `telegram.Message` of the answer, which cost a
        third of each call's CPU and of which only the two ids are read."""
        await self._pace(chat)
        kwargs: dict[str, Any] = {
            "chat_id": int(chat),
            "reply_markup": markup,
            "message_thread_id": int(thread) if thread else None,
            "disable_notification": quiet or None,
            "link_preview_options": NO_PREVIEW_JSON,
        }
        if reply_to:
            kwargs["reply_parameters"] = reply_json(int(reply_to))
        try:
            sent = await self.bot._post(
                "sendMessage", {"text": to_html(text), "parse_mode": "HTML", **kwargs}
            )
        except tg_error.BadRequest as exc:
            if not _says(exc, "can't parse entities", "unsupported start tag", "can't find end"):
                raise
            log.warning("telegram: HTML rejected in %s (%s); sending plain text", chat, exc)
            sent = await self.bot._post("sendMessage", {"text": text, **kwargs})
        try:
            return str(sent["message_id"]), str(sent["chat"]["id"])
        except (KeyError, TypeError):
            raise tg_error.TelegramError(INVALID_RESPONSE) from None

    async def _send(self, chat: str, delivery: Delivery, prefix_html: str = "") -> Receipt:
        payload = delivery.payload
        parts = split_text(delivery.text)
        done = self._parts_sent.setdefault(delivery.id, [])
        try:
            for i, part in enumerate(parts):
                if i < len(done):
                    continue  # sent on an earlier attempt that failed on a later part
                message_id, chat = await self._send_one_migrating(
                    chat,
                    part,
                    thread=payload.get("thread"),
                    reply_to=payload.get("reply_to") if i == 0 else None,
                    markup=markup_json(payload.get("buttons")) if i == 0 else None,
                )
                done.append(message_id)
        except tg_error.TelegramError as exc:
            error = failure(exc, "sendMessage")
            if error.permanent:
                self._parts_sent.pop(delivery.id, None)
            raise error from exc
        self._parts_sent.pop(delivery.id, None)
        notes = ("split",) if len(parts) > 1 else ()
        moved = chat if chat != delivery.chat else None
        return Receipt(message_id=done[0], chat=moved, notes=notes)

    async def _send_one_migrating(self, chat: str, text: str, **kwargs: Any) -> tuple[str, str]:
        try:
            return await self._send_one(chat, text, **kwargs)
        except tg_error.ChatMigrated as exc:
            # the group became a supergroup before this row went out: follow it
            log.info("telegram: chat %s moved to %s; sending there", chat, exc.new_chat_id)
            return await self._send_one(str(exc.new_chat_id), text, **kwargs)

    async def _upsert(self, delivery: Delivery) -> Receipt:
        payload = delivery.payload
        anchor_id = delivery.anchor_message_id
        if anchor_id:
            key = delivery.anchor or str(delivery.id)
            if delivery.purpose == "board":
                self._throttle_board(key)
            await self._pace(delivery.chat)
            markup = markup_json(payload.get("buttons"))
            text = truncate(delivery.text)
            try:
                edit = {
                    "chat_id": int(delivery.chat),
                    "message_id": int(anchor_id),
                    "reply_markup": markup,
                    "link_preview_options": NO_PREVIEW_JSON,
                }
                # as _send_one: PTB's request path, without parsing the answer
                try:
                    await self.bot._post(
                        "editMessageText", {"text": to_html(text), "parse_mode": "HTML", **edit}
                    )
                except tg_error.BadRequest as exc:
                    if not _says(exc, "can't parse entities"):
                        raise
                    await self.bot._post("editMessageText", {"text": text, **edit})
                self._board_edits[key] = self.clock.now()
                return Receipt(message_id=anchor_id)
            except tg_error.BadRequest as exc:
                if _says(exc, "message is not modified"):
                    return Receipt(message_id=anchor_id)
                if not _says(exc, "message to edit not found", "message can't be edited"):
                    raise failure(exc, "editMessageText") from exc
                log.info(
                    "telegram: %s message %s is gone; sending it anew", delivery.anchor, anchor_id
                )
            except tg_error.TelegramError as exc:
                raise failure(exc, "editMessageText") from exc
        receipt = await self._send(delivery.chat, delivery)
        notes = receipt.notes
        if payload.get("pin") and receipt.message_id:
            chat = receipt.chat or delivery.chat
            try:
                await self.bot.pin_chat_message(
                    chat_id=int(chat),
                    message_id=int(receipt.message_id),
                    disable_notification=True,
                )
                notes = (*notes, "pinned")
            except tg_error.TelegramError as exc:
                # the board still works unpinned; `casebot doctor` names the missing right
                log.warning("telegram: cannot pin in %s: %s", chat, exc)
                notes = (*notes, "pin_failed")
        return Receipt(message_id=receipt.message_id, chat=receipt.chat, notes=notes)

    def _throttle_board(self, key: str) -> None:
        interval = self.config.board_min_interval.total_seconds()
        last = self._board_edits.get(key)
        if interval <= 0 or last is None:
            return
        since = (self.clock.now() - last).total_seconds()
        if since < interval:
            # newer board rows of the same anchor supersede this one while it waits
            raise DeliveryError("board edited moments ago", retry_after=interval - since)

    async def _dm(self, delivery: Delivery) -> Receipt:
        try:
            return await self._send(delivery.chat, delivery)
        except DeliveryError as exc:
            unreachable = exc.permanent and _says(
                exc, "forbidden", "bot can't initiate", "blocked by the user", "chat not found"
            )
            if not unreachable:
                raise
            person = str(delivery.payload.get("person") or f"telegram:{delivery.chat}")
            if delivery.purpose in PRIVATE_PURPOSES:
                raise DeliveryError(
                    f"{person} never started the bot; a {delivery.purpose} message is not "
                    "posted anywhere else",
                    permanent=True,
                ) from None
            fallback = delivery.payload.get("fallback_chat") or self.triage_chat
            if not fallback:
                raise
            fallback = ChatKey.parse(fallback).chat if ":" in str(fallback) else str(fallback)
            log.info("telegram: cannot DM %s (%s); posting in %s", person, exc.reason, fallback)
            text = self.texts.render(
                "dm_fallback", self.staff_locale, person=person, text=delivery.text
            )
            payload = {"text": text}
            receipt = await self._send(fallback, _retext(delivery, payload))
            return Receipt(
                message_id=receipt.message_id,
                chat=receipt.chat or fallback,
                notes=("dm_fallback",),
            )

    async def _answer(self, delivery: Delivery) -> Receipt:
        callback_id = delivery.payload.get("callback_id")
        if not callback_id:
            raise DeliveryError("answer: no callback id", permanent=True)
        try:
            await self.bot.answer_callback_query(
                callback_query_id=str(callback_id), text=truncate(delivery.text, 200) or None
            )
        except tg_error.BadRequest as exc:
            if _says(exc, "query is too old", "query id is invalid"):
                # the spinner has long stopped; nothing left to answer
                return Receipt(notes=("answer_expired",))
            raise failure(exc, "answerCallbackQuery") from exc
        except tg_error.TelegramError as exc:
            raise failure(exc, "answerCallbackQuery") from exc
        return Receipt()

    async def _topic_create(self, delivery: Delivery) -> Receipt:
        name = truncate(delivery.text or f"#{delivery.case_id}", 128)
        try:
            topic = await self.bot.create_forum_topic(chat_id=int(delivery.chat), name=name)
        except tg_error.BadRequest as exc:
            if _says(exc, "not a forum", "not enough rights", "chat_admin_required"):
                # later messages of the case go as replies in the main chat
                log.warning("telegram: no topic in %s: %s", delivery.chat, exc)
                return Receipt(notes=("topics_unavailable",))
            raise failure(exc, "createForumTopic") from exc
        except tg_error.TelegramError as exc:
            raise failure(exc, "createForumTopic") from exc
        return Receipt(thread=str(topic.message_thread_id))

    async def _topic_toggle(self, delivery: Delivery) -> Receipt:
        thread = delivery.payload.get("thread")
        if not thread:
            return Receipt(notes=("no_topic",))
        method = (
            self.bot.close_forum_topic
            if delivery.kind == "topic_close"
            else self.bot.reopen_forum_topic
        )
        try:
            await method(chat_id=int(delivery.chat), message_thread_id=int(thread))
        except tg_error.BadRequest as exc:
            if _says(exc, "topic_not_modified"):
                return Receipt()
            if _says(exc, "not a forum", "thread not found", "chat_admin_required"):
                return Receipt(notes=("topics_unavailable",))
            raise failure(exc, delivery.kind) from exc
        except tg_error.TelegramError as exc:
            raise failure(exc, delivery.kind) from exc
        return Receipt()


class _GuardedRequest(AiohttpRequest):
    """The getUpdates connection: an update nested too deep for json.loads (which would
    raise RecursionError on every round) is cut out of the answer before parsing, and
    kept as an unreadable event instead."""

    def parse_json_payload(self, payload: bytes) -> Any:
        if raw_too_deep(payload, MAX_DEPTH + 2):
            payload = shallow_updates(payload)
        return super().parse_json_payload(payload)


class _CommitFailed(Exception):
    """A batch could not be committed: its updates must not be acknowledged."""


def _retext(delivery: Delivery, payload: dict[str, Any]) -> Delivery:
    return Delivery(
        id=delivery.id,
        kind="send",
        platform=delivery.platform,
        chat=delivery.chat,
        purpose=delivery.purpose,
        payload=payload,
        case_id=delivery.case_id,
    )
