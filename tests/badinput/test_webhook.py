"""Hypothesis-generated bodies to the live webhook (with the right secret), on SQLite and
PostgreSQL: every answer is 200 (stored, or skipped as unreadable) or 400 (not JSON),
never a 5xx; every update that reads as a message is stored completely (its row, its
cleaned text), nothing else is stored, the engine rejected none; and the bot still
opens a case and answers afterwards."""

from __future__ import annotations

import itertools
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import telegram
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from adapters.telegram_translate import Malformed, translate
from cases.commands import parse_command
from cases.model import InboundKind
from storage.models import CaseRow, Chat, FailedEvent, MessageRow, ProcessedEvent
from tests.badinput.live import MAX_BODY, LiveCasebot
from tests.badinput.updates import updates
from tests.harness import ACME

EXAMPLES = int(os.environ.get("CASEBOT_FUZZ_WEBHOOK_EXAMPLES", "500"))
BOT = telegram.Bot("123456:BADINPUT-token")
UNKNOWN_CHAT = "-100404"


def _renumber(raw: Any, update_ids: Any, message_ids: Any) -> Any:
    """Unique update and message ids, so every body is a new update (replays are
    tested elsewhere) and the test can find what each one stored."""
    if not isinstance(raw, dict):
        return raw
    if isinstance(raw.get("update_id"), int):
        raw["update_id"] = next(update_ids)
    for key in ("message", "edited_message", "callback_query"):
        part = raw.get(key)
        if key == "callback_query" and isinstance(part, dict):
            part = part.get("message")
        if isinstance(part, dict) and isinstance(part.get("message_id"), int):
            part["message_id"] = next(message_ids)
    return raw


async def _stored(bot: LiveCasebot) -> dict[str, Any]:
    async with bot.app.sessions() as session:
        rows = await session.execute(
            select(Chat.chat, MessageRow.platform_message_id, MessageRow.text)
            .join(Chat, Chat.id == MessageRow.chat_id)
            .where(MessageRow.role != "bot")
        )
        failed = (await session.execute(select(FailedEvent))).scalars().all()
        processed = await session.execute(select(func.count()).select_from(ProcessedEvent))
        cases = await session.execute(select(func.count()).select_from(CaseRow))
        return {
            "messages": {(c, m): t for c, m, t in rows.all()},
            "failed": [(f.event_id, f.error) for f in failed],
            "processed": processed.scalar_one(),
            "cases": cases.scalar_one(),
        }


def test_fuzzed_webhook_bodies(db_url: str) -> None:
    started = time.monotonic()
    statuses: list[int] = []
    expected: dict[tuple[str, str], str] = {}
    edited: set[tuple[str, str]] = set()
    commands: set[tuple[str, str]] = set()
    events = 0
    update_ids = itertools.count(1)
    message_ids = itertools.count(100_000)
    now = datetime.now(UTC)
    with LiveCasebot(db_url) as bot:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(raw=updates())
        def post(raw: Any) -> None:
            nonlocal events
            raw = _renumber(raw, update_ids, message_ids)
            body = json.dumps(raw).encode()
            status = bot.hook(body)
            statuses.append(status)
            if len(body) > MAX_BODY:
                assert status == 413
                return
            assert status == 200, (status, raw)
            try:
                event = translate(raw, BOT, "casebot", now)
            except Malformed:
                return
            if event is None:
                return
            events += 1
            key = (event.chat.chat, str(event.message_id))
            if event.chat.chat == UNKNOWN_CHAT or event.actor is None or event.actor.is_bot:
                return  # a group no account lists, no sender, a bot: nothing is kept
            if event.kind is InboundKind.MESSAGE and parse_command(event.text) is None:
                expected[key] = event.text  # commands keep only what they make
            elif event.kind is InboundKind.MESSAGE:
                commands.add(key)
            elif event.kind is InboundKind.EDIT:
                edited.add(key)

        post()
        not_json = bot.hook(b'{"update_id": 1, "message": ')
        stored = bot.call(_stored(bot))
        # the bot still works: a customer's /new opens a case and is acknowledged
        new = bot.api.message(int(ACME), 5001, "/new printer on fire", first_name="Alice")
        assert bot.hook(_renumber({"update_id": 0, **new}, update_ids, message_ids)) == 200
        asked = new["message"]["message_id"]
        # the fake never saw the message (it came straight to the webhook), so look at
        # what the bot asked to reply to rather than at the reply the fake recorded
        acked = bot.api.wait_for(
            lambda: any(
                (p.get("reply_parameters") or {}).get("message_id") == asked
                and str(p.get("text", "")).startswith("Thanks")
                for p in bot.api.calls_to("sendMessage")
            ),
            10,
        )
        bot.call(acked)
        after = bot.call(_stored(bot))

    assert not_json == 400
    assert stored["failed"] == [], "the engine rejected none of them"
    missing = {k: v for k, v in expected.items() if stored["messages"].get(k) != v}
    assert not missing, f"stored incompletely or not at all: {list(missing)[:5]}"
    extra = set(stored["messages"]) - set(expected) - edited - commands
    assert not extra, f"stored without a message update: {sorted(extra)[:5]}"
    assert stored["processed"] == events
    assert after["cases"] == stored["cases"] + 1
    print(
        f"\nbadinput webhook ({db_url.split(':')[0]}): {len(statuses)} fuzzed bodies, "
        f"statuses {sorted(set(statuses))}, {events} engine events, {len(expected)} messages "
        f"stored whole, 0 rejected, 0 crashes; {time.monotonic() - started:.1f}s"
    )
