"""An event the engine rejects is rolled back alone, kept with its error, and can be
run through the engine again once the cause is fixed: nothing acknowledged is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.models import FailedEvent, MessageRow
from tests.foundation.test_cli import casebot
from tests.harness import Harness


async def test_rejected_event_is_kept_and_retried(
    sqlite_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    async with Harness(sqlite_url) as h:
        original = h.engine._after_message

        async def broken(ctx: Any, case: Any) -> None:
            if "boom" in ctx.event.text:
                raise RuntimeError("engine bug")
            await original(ctx, case)

        monkeypatch.setattr(h.engine, "_after_message", broken)
        await h.say("alice", "the printer is on fire")
        first = h.last_message_id
        out = await h.say("evan", "/case", reply_to=first)
        from cases.model import ChatKey, Inbound, InboundKind
        from tests.harness import ACME

        batch = [
            Inbound(
                InboundKind.MESSAGE,
                f"b{i}",
                ChatKey("telegram", ACME),
                h.clock.now(),
                h.actor("alice"),
                message_id=f"90{i}",
                reply_to=first,
                text="boom" if i == 1 else f"fine {i}",
            )
            for i in range(3)
        ]
        results = await h.ingestor.handle_batch(batch)
        assert [isinstance(r, Exception) for r in results] == [False, True, False]
        async with h.sessions() as session:
            texts = [m.text for m in (await session.execute(select(MessageRow))).scalars()]
            (row,) = (await session.execute(select(FailedEvent))).scalars().all()
        assert "boom" not in texts and "fine 0" in texts and "fine 2" in texts
        assert row.event_id == "b1" and "engine bug" in row.error

    config = tmp_path / "casebot.toml"
    config.write_text(
        f'[storage]\nurl = "{sqlite_url}"\n[http]\nenabled = false\n'
        '[staff]\nengineers = ["telegram:1001"]\n'
        '[[accounts]]\nname = "Acme"\ntier = "premium"\nchats = ["telegram:-100100"]\n'
    )
    listing = casebot("failed", "--config", str(config))
    assert "1 inbound event(s)" in listing.stdout and "engine bug" in listing.stdout
    retried = casebot("failed", "--config", str(config), "--retry")
    assert "1 handled, 0 failed again" in retried.stdout, retried.stdout + retried.stderr
    async with Harness(sqlite_url) as h:
        case = await h.case(out.case_id)
        assert "boom" in [m["text"] for m in case["messages"]]
        async with h.sessions() as session:
            left = await session.execute(
                select(func.count(FailedEvent.id)).where(FailedEvent.retried_at.is_(None))
            )
        assert left.scalar_one() == 0
