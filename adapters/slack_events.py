"""`POST /slack/events`: the Events API, interactivity and slash commands on one URL,
as Slack apps built on Bolt have it. Imports aiohttp, slack_sdk's signature verifier
and `cases`.

Every request is checked against the signing secret first (`v0=` HMAC-SHA256 over
`v0:{timestamp}:{body}`, timestamps five minutes off refused): a bad one is 401 and
nothing is stored. A good one is handed to the engine and answered 200 only once it
is committed; Slack waits 3 seconds and then retries (`X-Slack-Retry-Num`), and the
retry, under the same `event_id`, is a duplicate the engine drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from adapters.slack_translate import (
    PLATFORM,
    Unreadable,
    channel_of,
    event_callback,
    event_id_of,
    interaction,
    slash_command,
)
from cases.context import EventFailed
from cases.model import ChatKey, Inbound, InboundKind

if TYPE_CHECKING:
    from adapters.slack import SlackAdapter

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 500  # events waiting for their commit before more are refused
START_WAIT = 2.0  # seconds an event that came before the adapter started waits for it


class NotStored(Exception):
    """The engine could not take the payload now; Slack must send it again."""


class SlackInbox:
    """Reads a payload, hands it to the engine and says when it is safe to acknowledge.
    The events route and the Socket Mode link both go through `take`."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter
        secret = adapter.config.signing_secret
        self.verifier = SignatureVerifier(secret) if secret else None
        self._in_flight = 0

    async def take(self, kind: str, raw: Any) -> dict[str, Any] | None:
        """Store one payload (`events_api`, `interactive` or `slash_commands`, as Socket
        Mode names them); returns the body to answer with (a url_verification's
        challenge), else None. Raises NotStored when Slack should send it again."""
        adapter = self.adapter
        if adapter.sink is None:
            # the web server is up a moment before the adapter (auth.test): wait for it
            # rather than have Slack retry, within Slack's 3 seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(adapter.started.wait(), START_WAIT)
        if adapter.sink is None:
            raise NotStored("not running")
        now = adapter.clock.now()
        try:
            if kind == "events_api":
                if not isinstance(raw, dict):
                    raise Unreadable("expected a JSON object")
                if raw.get("type") == "url_verification":
                    return {"challenge": str(raw.get("challenge", ""))}
                if raw.get("type") != "event_callback":
                    return None  # app_rate_limited and other notices
                event = event_callback(raw, adapter.me, now)
            elif kind == "interactive":
                if not isinstance(raw, dict):
                    raise Unreadable("expected a JSON object")
                event = interaction(raw, adapter.me, now)
            elif kind == "slash_commands":
                event = slash_command(raw, adapter.me, now)
            else:
                return None
        except (Unreadable, TypeError, AttributeError) as exc:
            await self._unreadable(raw, str(exc))
            return None
        if event is None:
            return None
        if self._in_flight >= MAX_IN_FLIGHT:
            raise NotStored("too many events at once")
        self._in_flight += 1
        try:
            await adapter.sink(event)
        except EventFailed:
            pass  # the engine rejected it; the ingestor kept it (`casebot failed --retry`)
        except Exception as exc:
            log.error("slack: event %s not stored: %r", event.event_id, exc)
            raise NotStored("cannot store now") from exc
        finally:
            self._in_flight -= 1
        adapter.stats["events"] += 1
        return None

    async def _unreadable(self, raw: Any, error: str) -> None:
        """Kept as an UNREADABLE event (`casebot failed` shows it as it came)."""
        adapter = self.adapter
        adapter.stats["unreadable"] += 1
        log.warning("slack: unreadable payload: %s", error)
        assert adapter.sink is not None
        body = json.dumps(raw, ensure_ascii=False, default=str)[:100_000]
        event = Inbound(
            InboundKind.UNREADABLE,
            event_id_of(raw),
            ChatKey(PLATFORM, channel_of(raw)),
            adapter.clock.now(),
            text=f"{error}; body: {body}",
        )
        try:
            await adapter.sink(event)
        except EventFailed:
            return
        except Exception as exc:
            raise NotStored("cannot keep an unreadable payload now") from exc

    # ------------------------------------------------------------ the route

    def _verified(self, body: bytes, request: web.Request) -> bool:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # the verifier reads the timestamp with int(): a missing or odd one is refused here
        if self.verifier is None or not timestamp.isascii() or not timestamp.isdigit():
            return False
        try:
            return self.verifier.is_valid(body, timestamp, signature)
        except (ValueError, TypeError, UnicodeError):
            return False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self._verified(body, request):
            self.adapter.stats["unauthorized"] += 1
            return web.json_response({"error": "bad or missing signature"}, status=401)
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry:
            # a repeat of something Slack thinks went unanswered: same event_id, so a
            # duplicate if it was stored; logged because many mean casebot is slow
            self.adapter.stats["retries"] += 1
            log.info(
                "slack: retry %s (%s)", retry, request.headers.get("X-Slack-Retry-Reason", "")
            )
        try:
            kind, raw = _read(body, request.content_type)
        except ValueError as exc:
            try:
                await self._unreadable(body.decode("utf-8", "replace"), f"not readable: {exc}")
            except NotStored:
                return _busy()
            return web.json_response({"ok": False}, headers={"X-Slack-No-Retry": "1"})
        try:
            answer = await self.take(kind, raw)
        except NotStored:
            return _busy()
        if answer is not None:
            return web.json_response(answer)
        return web.Response(status=200)


def _busy() -> web.Response:
    return web.json_response(
        {"error": "cannot store now"}, status=503, headers={"Retry-After": "1"}
    )


def _read(body: bytes, content_type: str) -> tuple[str, Any]:
    """The payload's kind and content. Interactivity comes as a form with one `payload`
    field of JSON; slash commands as a plain form; events as JSON."""
    text = body.decode("utf-8")
    if content_type == "application/x-www-form-urlencoded":
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" in form:
            return "interactive", json.loads(form["payload"])
        return "slash_commands", form
    return "events_api", json.loads(text)
