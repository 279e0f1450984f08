"""Records stay right: replayed events change nothing, a re-sent platform message is
stored once, edits keep their history, and group commit rolls back one bad event alone."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from cases.engine import ActionRejected
from cases.model import ActionKind, ChatKey, Inbound, InboundKind, StaffAction
from cases.records import MessageRecord
from storage.ingest import EventFailed, Ingestor
from storage.uow import SqlUnitOfWork
from tests.engine.kit import (
    act,
    case_count,
    cases,
    edits,
    events,
    followups,
    message,
    messages,
    open_case,
    status_changes,
    texts_of,
)
from tests.harness import ACME, GLOBEX, Harness


def _inbound(h: Harness, who: str, text: str, message_id: str, chat: str = ACME) -> Inbound:
    h.clock.advance(timedelta(seconds=30))
    return Inbound(
        InboundKind.MESSAGE,
        f"e-{chat}-{message_id}",
        ChatKey("telegram", chat),
        h.clock.now(),
        h.actor(who),
        message_id=message_id,
        text=text,
    )


# ------------------------------------------------------------------ idempotency


async def test_replaying_an_event_changes_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        event = _inbound(h, "evan", "/case", "50")
        event = replace(event, reply_to="1")
        first = await h.push(event)
        assert first.opened
        stored, outbox, before = await messages(h), await h.outbox(), await cases(h)
        again = await h.push(event)
        assert again.duplicate and not again.opened and again.actions == []
        assert await messages(h) == stored
        assert len(await h.outbox()) == len(outbox)
        assert await cases(h) == before


async def test_the_same_message_under_a_new_event_id_is_stored_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        event = _inbound(h, "alice", "vm-3 in eu-west", "60")
        assert (await h.push(event)).case_id == 1
        stored, outbox, before = await messages(h), await h.outbox(), await cases(h)
        resent = await h.push(replace(event, event_id="another-update-id"))
        assert resent.duplicate
        assert await messages(h) == stored
        assert len(await h.outbox()) == len(outbox)
        assert await cases(h) == before
        assert texts_of(await h.case(1)).count("vm-3 in eu-west") == 1


async def test_a_replayed_button_press_is_applied_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        press = Inbound(
            InboundKind.BUTTON,
            "press-1",
            ChatKey("telegram", "-100500"),
            h.clock.now(),
            h.actor("erin"),
            data="prio:1:P1",
            callback_id="cb-1",
        )
        await h.push(press)
        await h.push(press)
        assert len(events(await h.case(1), "priority_changed")) == 1


# ------------------------------------------------------------------------ edits


async def test_an_edit_keeps_the_history(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "my VM is dwon")
        h.clock.advance(timedelta(minutes=1))
        out = await h.edit("alice", "1", "my VM is down")
        assert out.case_id == 1
        stored = await message(h, "1")
        assert stored["text"] == "my VM is down"
        assert stored["edited_at"] is not None
        assert await edits(h) == [(stored["id"], "my VM is dwon")]
        h.clock.advance(timedelta(minutes=1))
        await h.edit("alice", "1", "my VM vm-3 is down")
        assert await edits(h) == [
            (stored["id"], "my VM is dwon"),
            (stored["id"], "my VM is down"),
        ]
        case = await h.case(1)
        assert [e["data"] for e in events(case, "message_edited")] == [{"message": "1"}] * 2
        assert [e["actor"] for e in events(case, "message_edited")] == ["telegram:5001"] * 2
        assert texts_of(case) == ["my VM vm-3 is down"]


async def test_an_edit_of_an_untracked_message_has_history_but_no_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("bob", "lunch at 12?")
        await h.edit("bob", "1", "lunch at 1?")
        assert (await message(h, "1"))["text"] == "lunch at 1?"
        assert len(await edits(h)) == 1
        assert await case_count(h) == 0


async def test_an_edit_of_an_unknown_message_is_stored_as_new(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.edit("alice", "777", "we never saw the original")
        assert out.message_id is not None
        stored = await message(h, "777")
        assert stored["text"] == "we never saw the original"
        assert stored["sender"] == "telegram:5001"
        assert await edits(h) == []


# ---------------------------------------------------------------- group commit


async def test_one_failing_event_is_rolled_back_alone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Harness(db_url) as h:
        add_message = SqlUnitOfWork.add_message

        async def flaky(self: SqlUnitOfWork, record: MessageRecord) -> MessageRecord | None:
            stored = await add_message(self, record)
            if record.text == "boom":
                # fail after the insert, so the savepoint has something to undo
                raise RuntimeError("disk on fire")
            return stored

        monkeypatch.setattr(SqlUnitOfWork, "add_message", flaky)
        batch = [
            _inbound(h, "carol", "数据库超时", "1", chat=GLOBEX),
            _inbound(h, "bob", "boom", "2", chat=GLOBEX),
            _inbound(h, "alice", "hello acme", "1", chat=ACME),
        ]
        results = await h.ingestor.handle_batch(batch)
        assert isinstance(results[1], EventFailed)
        assert "disk on fire" in str(results[1])
        assert not isinstance(results[0], Exception) and results[0].opened
        assert not isinstance(results[2], Exception) and results[2].message_id is not None
        stored = [(m["chat"], m["text"]) for m in await messages(h)]
        assert stored == [(GLOBEX, "数据库超时"), (ACME, "hello acme")]
        assert await case_count(h) == 1
        assert texts_of(await h.case(1)) == ["数据库超时"]

        # the failed event was not marked handled: once the fault is gone it goes through
        monkeypatch.setattr(SqlUnitOfWork, "add_message", add_message)
        again = await h.ingestor.handle_batch([batch[1]])
        assert not isinstance(again[0], Exception) and not again[0].duplicate
        assert again[0].opened and again[0].case_id == 2
        assert (await message(h, "2", chat=GLOBEX))["text"] == "boom"


@pytest.mark.serial  # a wall-clock bound: run alone, after the parallel run
async def test_a_lone_event_is_committed_at_once_and_a_burst_together(db_url: str) -> None:
    """Group commit batches what is queued when a batch begins, or arrives while one
    commits; a lone event (a poll's whole answer, a webhook call at a quiet moment)
    waits for no company. Waiting 5 ms for more after every poll was a third of the
    answer time at 50 updates a second, and it left webhook batches no larger."""
    async with Harness(db_url) as h:
        wait = h.config.ingest.max_wait.total_seconds()  # the default
        ingestor = Ingestor(h.sessions, h.engine, max_wait=wait)
        ingestor.start()
        try:
            started = time.perf_counter()
            for i in range(10):
                await ingestor.submit(_inbound(h, "alice", f"one at a time {i}", str(i)))
            waited = time.perf_counter() - started - ingestor.stats.seconds
            assert ingestor.stats.batches == 10
            burst = [_inbound(h, "bob", f"together {i}", str(100 + i)) for i in range(5)]
            await asyncio.gather(*(ingestor.submit(e) for e in burst))
            assert ingestor.stats.batches == 11, "a burst handed over at once was split"
        finally:
            await ingestor.stop()
        assert waited < 0.025, f"{waited * 1000:.0f} ms of 10 commits waited for company"


# ---------------------------------------------------------------- staff actions


async def test_staff_actions_apply_with_the_chat_rules(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        lena, now = h.actor("lena"), h.clock.now

        await act(h, StaffAction(ActionKind.ASSIGN, 1, lena, now(), value="telegram:1002"))
        case = await h.case(1)
        assert case["assignee"] == "telegram:1002" and case["status"] == "open"
        assert events(case, "assigned")[0]["actor"] == "telegram:2001"
        assert status_changes(case) == [("new", "open", "assigned")]

        await act(h, StaffAction(ActionKind.PRIORITY, 1, lena, now(), value="P1"))
        case = await h.case(1)
        assert case["priority"] == "P1"
        assert events(case, "priority_changed")[0]["data"] == {"from": "P3", "to": "P1"}

        out = await act(h, StaffAction(ActionKind.NOTE, 1, lena, now(), value="VIP customer"))
        case = await h.case(1)
        note = next(m for m in case["messages"] if m["id"] == out.message_id)
        assert note["internal"] is True and note["text"] == "VIP customer"
        assert events(case, "note")[0]["data"] == {"text": "VIP customer", "via": "web"}

        await act(
            h,
            StaffAction(
                ActionKind.FOLLOWUP,
                1,
                lena,
                now(),
                value="check quota",
                owner="telegram:1001",
                due_in=timedelta(hours=4),
            ),
        )
        [followup] = await followups(h)
        assert followup.owner == "telegram:1001" and followup.created_by == "telegram:2001"
        assert events(await h.case(1), "followup_created")[0]["actor"] == "telegram:2001"

        await act(h, StaffAction(ActionKind.STATUS, 1, lena, now(), value="on_hold"))
        assert status_changes(await h.case(1))[-1] == ("open", "on_hold", "web")

        before = len(await h.outbox())
        await act(h, StaffAction(ActionKind.STATUS, 1, lena, now(), value="resolved"))
        case = await h.case(1)
        assert case["status"] == "resolved"
        new = (await h.outbox())[before:]
        # the customer hears of it (with CSAT buttons); the quiet web action posts no reply
        assert [r.chat for r in new if r.purpose == "csat"] == [ACME]
        assert [r for r in new if r.purpose == "reply"] == []
        # nothing the web did leaks the note to the customer chat
        assert not any(
            "VIP" in r.payload.get("text", "") for r in await h.outbox() if r.chat == ACME
        )


@pytest.mark.parametrize(
    ("who", "kind", "case_id", "value"),
    [
        ("alice", ActionKind.PRIORITY, 1, "P1"),
        ("alice", ActionKind.STATUS, 1, "resolved"),
        ("evan", ActionKind.PRIORITY, 99, "P1"),
        ("evan", ActionKind.PRIORITY, 1, "P9"),
        ("evan", ActionKind.ASSIGN, 1, "telegram:5001"),
        ("evan", ActionKind.ASSIGN, 1, "telegram:404"),
        ("evan", ActionKind.STATUS, 1, "new"),
        ("evan", ActionKind.STATUS, 1, "sleeping"),
        ("evan", ActionKind.NOTE, 1, "  "),
        ("evan", ActionKind.FOLLOWUP, 1, "no due time"),
    ],
)
async def test_rejected_staff_actions_change_nothing(
    db_url: str, who: str, kind: ActionKind, case_id: int, value: str
) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        before, outbox, stored = await cases(h), len(await h.outbox()), await messages(h)
        with pytest.raises(ActionRejected):
            await act(h, StaffAction(kind, case_id, h.actor(who), h.clock.now(), value=value))
        assert await cases(h) == before
        assert len(await h.outbox()) == outbox
        assert await messages(h) == stored
        assert await followups(h) == []
