"""The generic webhook bridge, `casebot.chat/v1`: anything that signs its events the
Standard Webhooks way is a chat platform. Imports aiohttp, pydantic, standardwebhooks
and `cases`.

One `[[bridges]]` table is one platform, named by `name` ("wecom" makes the keys
`wecom:<chat id>` and `wecom:<user id>`). In: `POST /v1/bridges/{name}/events`, one
signed event per request, answered 202 only after the engine committed it. Out: each
outbox row becomes a signed command POSTed to `{url}/v1/commands`, or, for a bridge
without `url`, is handed out by `GET /v1/bridges/{name}/commands` (long poll) and
settled by `POST /v1/bridges/{name}/commands/{command_id}/result`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.base import CommandQueue, Delivery, DeliveryError, Receipt, Sink
from adapters.bridge_translate import (
    Unreadable,
    chat_id_of,
    command,
    delivery_of,
    event_id_of,
    translate,
)
from adapters.telegram_send import RateLimited, RateLimiter
from cases.clock import Clock
from cases.context import EventFailed
from cases.durations import duration_value
from cases.model import Capabilities, ChatKey, Inbound, InboundKind, ThreadMode
from cases.texts import Texts

log = logging.getLogger(__name__)

# platform names other adapters use, or that would read as something else in a key
RESERVED = frozenset({"telegram", "slack", "feishu", "lark", "web", "console", "bot"})
# an event is refused with 429 while this many of one bridge's wait for their commit
MAX_IN_FLIGHT = 500
MAX_WAIT = 60.0  # longest long poll, seconds
PULL_BATCH = 50
MAX_AWAITING = 10_000  # pulled commands whose answer is awaited, remembered for their notes


Duration = Annotated[timedelta, BeforeValidator(duration_value)]


@dataclass(frozen=True)
class Plan:
    """One delivery on a bridge: the command that carries it out, or the outcome it
    has without the bridge; the chat it goes to when not its row's (a DM), the notes
    its receipt gets, the message an edit changes, and whether a new board is pinned."""

    command: dict[str, Any] | None = None
    outcome: Receipt | DeliveryError | None = None
    chat: str | None = None
    notes: tuple[str, ...] = ()
    edits: str | None = None
    pin: bool = False


class BridgeCapabilities(BaseModel):
    """What the bridge's platform can show; casebot degrades the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threads: bool = False  # reply threads (`thread_id`): a case keeps to its thread
    buttons: bool = False  # else choices are numbered text, answered by the number
    edits: bool = False  # else cards and boards are posted anew
    pins: bool = False  # else the board is posted and edited, unpinned
    # DMs go to the chat a person last wrote to the bot from directly (`chat.kind =
    # "direct"`); else to a group, naming them (a sign-in link never: they are told how)
    direct: bool = False
    max_text: int = Field(4000, ge=100, le=1_000_000)


class BridgeConfig(BaseModel):
    """One `[[bridges]]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    secret: str = Field(min_length=1)
    url: str | None = None
    capabilities: BridgeCapabilities = BridgeCapabilities()
    timeout: Duration = timedelta(seconds=10)
    lease: Duration = timedelta(seconds=60)  # pull mode: a command handed out and not
    # answered is handed out again after this
    # push mode: at most this many commands a second to the bridge (its platform's
    # limit, e.g. WeCom's per-app quota); unset, the bridge's 429s alone pace casebot
    rate_per_second: float | None = Field(None, gt=0, le=10_000)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED:
            raise ValueError(f"{value!r} is another platform's name")
        return value

    @field_validator("secret")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        try:
            Webhook(value)
        except Exception:
            raise ValueError("expected a Standard Webhooks secret (whsec_ and base64)") from None
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/") if value else value


def capabilities_of(config: BridgeConfig) -> Capabilities:
    c = config.capabilities
    return Capabilities(
        threads=ThreadMode.REPLY if c.threads else ThreadMode.NONE,
        buttons=c.buttons,
        button_answers=False,
        edits=c.edits,
        pins=c.pins,
        direct=c.direct,
        max_text=c.max_text,
        formats=("plain",),
    )


def _retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date); 1 when unreadable."""
    if not value:
        return 1.0
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    return 1.0


class BridgeDoor:
    """The bridges' routes, shared by every bridge so that a name no bridge has gets a
    404: the first bridge mounts them, and each request goes to the bridge it names."""

    def __init__(self) -> None:
        self.bridges: dict[str, BridgeAdapter] = {}
        self._mounted = False

    def routes(self) -> list[web.RouteDef]:
        if self._mounted:
            return []
        self._mounted = True
        base = "/v1/bridges/{name}"
        return [
            web.post(f"{base}/events", self._events),
            web.get(f"{base}/commands", self._pull),
            web.post(f"{base}/commands/{{command_id}}/result", self._result),
        ]

    def _bridge(self, request: web.Request) -> BridgeAdapter:
        bridge = self.bridges.get(request.match_info["name"])
        if bridge is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "unknown bridge"}), content_type="application/json"
            )
        return bridge

    async def _events(self, request: web.Request) -> web.Response:
        return await self._bridge(request).handle_event(request)

    async def _pull(self, request: web.Request) -> web.Response:
        return await self._bridge(request).handle_pull(request)

    async def _result(self, request: web.Request) -> web.Response:
        return await self._bridge(request).handle_result(request)


class BridgeAdapter:
    def __init__(
        self,
        config: BridgeConfig,
        clock: Clock,
        *,
        texts: Texts,
        staff_locale: str = "en",
        queue: CommandQueue | None = None,
        door: BridgeDoor | None = None,
    ) -> None:
        self.config = config
        self.platform = config.name
        self.capabilities = capabilities_of(config)
        self.clock = clock
        self.texts = texts
        self.staff_locale = staff_locale
        self.queue = queue
        self.webhook = Webhook(config.secret)
        self.door = door or BridgeDoor()
        self.door.bridges[self.platform] = self
        self.sink: Sink | None = None
        self.http: aiohttp.ClientSession | None = None
        self._in_flight = 0
        rate = config.rate_per_second
        # no per-chat window (a group is no "-" chat here): the bridge's own 429s say more
        self.limiter = RateLimiter(rate, per_group_minute=1 << 30) if rate else None
        # pull mode: commands handed out and not answered yet; outcomes settled here,
        # to record; follow-up pins of new boards, to hand out
        self._awaiting: dict[int, Plan] = {}
        self._settle_here: list[tuple[int, Receipt | DeliveryError]] = []
        self._pins: list[dict[str, Any]] = []
        self.stats = {"events": 0, "unauthorized": 0, "unreadable": 0, "commands": 0}

    @property
    def pulls(self) -> bool:
        return self.config.url is None

    @property
    def running(self) -> bool:
        return self.sink is not None

    async def start(self, sink: Sink) -> None:
        self.sink = sink
        if not self.pulls and self.http is None:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout.total_seconds())
            self.http = aiohttp.ClientSession(timeout=timeout)
        log.info(
            "bridge %s: %s", self.platform, "pulls its commands" if self.pulls else self.config.url
        )

    async def stop(self) -> None:
        self.sink = None
        if self.http is not None:
            await self.http.close()
            self.http = None

    # ------------------------------------------------------------ web routes

    def web_routes(self) -> list[web.RouteDef]:
        return self.door.routes()

    def _verified(self, body: bytes, request: web.Request) -> str | None:
        """The body as text when its signature is good and its timestamp within five
        minutes; None otherwise."""
        try:
            text = body.decode("utf-8")
            self.webhook.verify(text, dict(request.headers), json_parse=False)
        except (WebhookVerificationError, ValueError):
            # ValueError: not UTF-8, a signature without its "v1," or not base64
            self.stats["unauthorized"] += 1
            return None
        return text

    @staticmethod
    def _http_error(status: int, error: str, **headers: str) -> web.Response:
        return web.json_response({"error": error}, status=status, headers=headers or None)

    async def handle_event(self, request: web.Request) -> web.Response:
        """202 once the event is committed (or was before: same id); 401 for a bad or
        missing signature; 422 for an event casebot cannot read, which is kept; 429 or
        503 (with Retry-After) when it cannot be stored now, so the bridge retries."""
        body = await request.read()
        text = self._verified(body, request)
        if text is None:
            return self._http_error(401, "bad or missing signature")
        if self.sink is None:
            return self._http_error(503, "not running", **{"Retry-After": "1"})
        raw: Any = None
        try:
            raw = json.loads(text)
            event = translate(self.platform, raw, self.clock.now())
        except (ValueError, RecursionError) as exc:
            error = str(exc) if isinstance(exc, Unreadable) else f"not JSON: {exc}"
            return await self._unreadable(event_id_of(raw), chat_id_of(raw), error, text)
        if self._in_flight >= MAX_IN_FLIGHT:
            return self._http_error(429, "too many events at once", **{"Retry-After": "1"})
        self._in_flight += 1
        try:
            outcome = await self.sink(event)
        except EventFailed:
            # the engine rejected it; the ingestor kept it (`casebot failed --retry`)
            return web.json_response({"ok": True, "failed": True}, status=202)
        except Exception as exc:
            log.error("bridge %s: event %s not stored: %r", self.platform, event.event_id, exc)
            return self._http_error(503, "cannot store now", **{"Retry-After": "1"})
        finally:
            self._in_flight -= 1
        self.stats["events"] += 1
        return web.json_response({"ok": True, "duplicate": outcome.duplicate}, status=202)

    async def _unreadable(
        self, event_id: str | None, chat: str | None, error: str, body: str
    ) -> web.Response:
        """Kept as an UNREADABLE event, which the engine rejects into `casebot failed`
        with the body as it came; 422 once kept, 503 when it could not be."""
        self.stats["unreadable"] += 1
        log.warning("bridge %s: unreadable event %s: %s", self.platform, event_id, error)
        assert self.sink is not None
        event = Inbound(
            InboundKind.UNREADABLE,
            event_id or "unknown",
            ChatKey(self.platform, chat or "unknown"),
            self.clock.now(),
            text=f"{error}; body: {body[:100_000]}",
        )
        try:
            await self.sink(event)
        except EventFailed:
            return self._http_error(422, error)
        except Exception as exc:  # not kept: the bridge must send it again later
            log.error("bridge %s: could not keep an unreadable event: %r", self.platform, exc)
            return self._http_error(503, "cannot store now", **{"Retry-After": "1"})
        return self._http_error(422, error)

    def _bearer_ok(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {self.config.secret}"
        return hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")
        )

    async def handle_pull(self, request: web.Request) -> web.Response:
        """Long poll: the commands due now (leased for `lease`), waiting up to `wait`
        seconds for one. `after` is the cursor of the previous answer."""
        if not self._bearer_ok(request):
            return self._http_error(401, "bad or missing bearer token")
        if not self.pulls or self.queue is None:
            return self._http_error(404, f"bridge {self.platform} has a url: casebot pushes to it")
        try:
            after = int(request.query.get("after") or 0)
            wait = min(MAX_WAIT, max(0.0, float(request.query.get("wait") or 0)))
        except ValueError:
            return self._http_error(422, "after: an integer cursor; wait: seconds")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        commands: list[dict[str, Any]] = []
        cursor = max(0, after)
        while True:
            try:
                taken = await self.queue.take(self.platform, max(0, after), PULL_BATCH)
                commands = self._pins + [c for d in taken if (c := self._pulled(d)) is not None]
                self._pins = []
                await self._settle_local()
            except Exception as exc:
                log.error("bridge %s: pull failed: %r", self.platform, exc)
                return self._http_error(503, "cannot read now", **{"Retry-After": "1"})
            cursor = max([cursor, *(d.id for d in taken)])
            remaining = deadline - loop.time()
            if commands or remaining <= 0:
                break
            # other processes write commands too: look again at least every second
            await self.queue.wait(min(remaining, 1.0))
        self.stats["commands"] += len(commands)
        return web.json_response({"commands": commands, "cursor": str(cursor)})

    async def handle_result(self, request: web.Request) -> web.Response:
        """A pulled command's outcome: `{"message_id"}` or `{"error", "permanent"}`."""
        body = await request.read()
        text = self._verified(body, request)
        if text is None:
            return self._http_error(401, "bad or missing signature")
        row = delivery_of(request.match_info["command_id"])
        if row is None or self.queue is None:
            return self._http_error(404, "no such command")
        try:
            raw = json.loads(text)
            result = _result(raw)
        except ValueError as exc:
            return self._http_error(422, str(exc))
        if request.match_info["command_id"].endswith("_pin"):
            # a new board's follow-up pin: the board itself is recorded already
            if isinstance(result, DeliveryError):
                log.warning("bridge %s: cannot pin: %s", self.platform, result.reason)
            return web.json_response({"ok": True})
        if isinstance(result, Receipt):
            result = self._pulled_receipt(row, result)
        else:
            self._awaiting.pop(row, None)
        try:
            known = await self.queue.settle(self.platform, row, result)
        except Exception as exc:
            log.error("bridge %s: result of %s not recorded: %r", self.platform, row, exc)
            return self._http_error(503, "cannot store now", **{"Retry-After": "1"})
        if not known:
            return self._http_error(404, "no such command")
        return web.json_response({"ok": True})

    async def _settle_local(self) -> None:
        """Record what was settled without the puller (kept for the next pull when
        recording fails now: the rows are leased, so nobody hands them out meanwhile)."""
        assert self.queue is not None
        while self._settle_here:
            row, outcome = self._settle_here[0]
            await self.queue.settle(self.platform, row, outcome)
            self._settle_here.pop(0)

    # ------------------------------------------------------------ outbound

    def _send_command(self, delivery: Delivery, text: str | None = None) -> dict[str, Any]:
        caps = self.capabilities
        return command(
            delivery,
            "message.send",
            text=delivery.text if text is None else text,
            buttons=caps.buttons,
            max_text=caps.max_text,
        )

    def _plan(self, delivery: Delivery) -> Plan:
        """What a delivery becomes on this bridge, the same whether casebot pushes the
        command or the bridge pulls it: one command, or an outcome settled here."""
        kind = delivery.kind
        caps = self.capabilities
        if kind in ("answer", "topic_create", "topic_close", "topic_reopen"):
            # no toasts and no topics on a bridge: a case keeps to its reply thread
            return Plan(outcome=Receipt(notes=() if kind == "answer" else ("topics_unavailable",)))
        if kind == "pin":
            if not caps.pins:
                return Plan(outcome=Receipt(notes=("pin_unavailable",)))
            target = _pin_target(delivery)
            if target is None:
                return Plan(outcome=DeliveryError("pin: no message to pin", permanent=True))
            return Plan(command(delivery, "message.pin", message_id=target))
        if kind == "dm":
            return self._dm_plan(delivery)
        notes = ("trimmed",) if len(delivery.text) > caps.max_text else ()
        if kind == "upsert" and delivery.anchor_message_id and caps.edits:
            edit = command(
                delivery,
                "message.edit",
                text=delivery.text,
                message_id=delivery.anchor_message_id,
                buttons=caps.buttons,
                max_text=caps.max_text,
            )
            return Plan(edit, notes=notes, edits=delivery.anchor_message_id)
        # no edits: a card or board is posted anew; a new board is pinned where it can be
        pin = kind == "upsert" and delivery.pin and caps.pins
        return Plan(self._send_command(delivery), notes=notes, pin=pin)

    def _dm_plan(self, delivery: Delivery) -> Plan:
        """A DM goes to the person's direct chat when the bridge has them and casebot
        knows it (they wrote to the bot there); else to its fallback chat, naming them.
        A sign-in link is never posted there: they are told how to get it instead."""
        person = delivery.person or f"{self.platform}:{delivery.chat}"
        direct = delivery.direct_chat if self.capabilities.direct else None
        if direct:
            body = {**self._send_command(delivery), "chat_id": direct, "thread_id": None}
            return Plan({**body, "reply_to_id": None}, chat=direct)
        fallback = delivery.fallback_chat
        if not fallback:
            why = (
                f"{person} has not written to the bot in a direct chat"
                if self.capabilities.direct
                else "it has no direct messages (capabilities.direct)"
            )
            error = f"bridge {self.platform} cannot DM {person}: {why}, and no chat to tell"
            return Plan(outcome=DeliveryError(error, permanent=True))
        if delivery.purpose == "login":
            text = self.texts.render(
                "dm_unreachable_login", self.staff_locale, person=person, platform=self.platform
            )
            notes: tuple[str, ...] = ("dm_unreachable",)
        else:
            text = self.texts.render(
                "dm_fallback", self.staff_locale, person=person, text=delivery.text
            )
            notes = ("dm_fallback",)
        body = {**self._send_command(delivery, text), "chat_id": fallback, "thread_id": None}
        return Plan({**body, "reply_to_id": None}, chat=fallback, notes=notes)

    def _pulled(self, delivery: Delivery) -> dict[str, Any] | None:
        """A delivery as the one command a puller carries out; None when it was settled
        here (a toast, a topic, a pin the bridge cannot do, a DM nobody can get)."""
        plan = self._plan(delivery)
        if plan.command is None:
            self._settle_here.append((delivery.id, plan.outcome or Receipt()))
            return None
        self._awaiting[delivery.id] = plan
        while len(self._awaiting) > MAX_AWAITING:  # a puller that never answers
            self._awaiting.pop(next(iter(self._awaiting)))
        return plan.command

    def _pulled_receipt(self, row: int, receipt: Receipt) -> Receipt:
        """A puller's answer as a pushed command's answer reads (notes, the chat it
        went to); a new board is pinned by a follow-up command, as when pushing."""
        plan = self._awaiting.pop(row, None)
        if plan is None:  # handed out by an earlier process
            return receipt
        message_id = receipt.message_id or plan.edits
        if plan.pin and receipt.message_id and plan.command is not None:
            self._pins.append(
                {
                    **plan.command,
                    "command_id": f"{plan.command['command_id']}_pin",
                    "type": "message.pin",
                    "message_id": receipt.message_id,
                    "reply_to_id": None,
                    "text": "",
                    "buttons": [],
                }
            )
        return Receipt(message_id=message_id, chat=plan.chat, notes=plan.notes)

    async def deliver(self, delivery: Delivery) -> Receipt:
        plan = self._plan(delivery)
        if isinstance(plan.outcome, DeliveryError):
            raise plan.outcome
        if plan.command is None:
            return plan.outcome or Receipt()
        message_id = await self._post(plan.command)
        notes = plan.notes
        if plan.pin and message_id:
            try:
                await self._post(
                    command(delivery, "message.pin", step="pin", message_id=message_id)
                )
                notes = (*notes, "pinned")
            except DeliveryError as exc:
                # the board still works unpinned; sending it again would post it twice
                log.warning("bridge %s: cannot pin in %s: %s", self.platform, delivery.chat, exc)
                notes = (*notes, "pin_failed")
        return Receipt(message_id=message_id or plan.edits, chat=plan.chat, notes=notes)

    async def _post(self, body: dict[str, Any]) -> str | None:
        """Sign and POST one command; the bridge's message id, or a DeliveryError the
        dispatcher understands (429 honours Retry-After, 5xx retries, 4xx is dead)."""
        if self.pulls or self.http is None:
            raise DeliveryError(f"bridge {self.platform} is not started or pulls its commands")
        if self.limiter is not None:
            try:
                await self.limiter.pace("")
            except RateLimited as exc:
                raise DeliveryError(str(exc), retry_after=exc.wait) from None
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "content-type": "application/json",
            "webhook-id": body["command_id"],
            **self._signature(body["command_id"], data),
        }
        what = f"{body['type']} {body['command_id']}"
        try:
            async with self.http.post(
                f"{self.config.url}/v1/commands", data=data.encode("utf-8"), headers=headers
            ) as response:
                status = response.status
                answer = await response.read()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from exc
        self.stats["commands"] += 1
        if status == 429:
            seconds = _retry_after(retry_after)
            raise DeliveryError(f"{what}: 429, retry after {seconds:g}s", retry_after=seconds)
        if status >= 500 or status == 408:
            raise DeliveryError(f"{what}: the bridge answered {status}")
        if status >= 300:
            reason = answer[:200].decode("utf-8", "replace")
            raise DeliveryError(f"{what}: the bridge answered {status}: {reason}", permanent=True)
        try:
            message_id = json.loads(answer).get("message_id")
        except (ValueError, AttributeError):
            message_id = None
        return str(message_id) if isinstance(message_id, str | int) and message_id != "" else None

    def _signature(self, msg_id: str, data: str) -> dict[str, str]:
        # the protocol's timestamp is the wall clock's: the bridge checks it against its own
        now = datetime.now(UTC)
        return {
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(msg_id, now, data),
        }


def _pin_target(delivery: Delivery) -> str | None:
    return delivery.extra.get("message_id") or delivery.reply_to


def _result(raw: Any) -> Receipt | DeliveryError:
    if not isinstance(raw, dict):
        raise ValueError('expected {"message_id"} or {"error", "permanent"}')
    if raw.get("error") is not None:
        permanent = raw.get("permanent", False)
        if not isinstance(permanent, bool):
            raise ValueError("permanent: expected true or false")
        return DeliveryError(f"the bridge said: {str(raw['error'])[:500]}", permanent=permanent)
    message_id = raw.get("message_id")
    if message_id is not None and not isinstance(message_id, str | int):
        raise ValueError("message_id: expected a string")
    return Receipt(message_id=str(message_id) if message_id not in (None, "") else None)
