"""The dispatcher: retries with backoff and retry-after, dead letters, per-chat order,
coalesced upserts, leases, and no double sends across processes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import Delivery, DeliveryError, Receipt
from bot.app import App
from bot.config import parse_config
from bot.dispatcher import Dispatcher
from cases.model import ChatKey, Inbound, InboundKind, Outbound, OutboundKind
from storage import outbox
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWork
from tests.fakes.recording_adapter import RecordingAdapter
from tests.harness import ACME, GLOBEX, TRIAGE, Harness


def dispatcher_for(h: Harness, adapter: RecordingAdapter, **kw: object) -> Dispatcher:
    return Dispatcher(h.sessions, {"telegram": adapter}, h.clock, **kw)  # type: ignore[arg-type]


async def enqueue(h: Harness, *actions: Outbound) -> None:
    async with h.sessions() as session, session.begin():
        uow = SqlUnitOfWork(session)
        for action in actions:
            await uow.enqueue(action, h.clock.now())


def send(chat: str, text: str, **kw: object) -> Outbound:
    return Outbound(OutboundKind.SEND, "telegram", chat, text=text, **kw)  # type: ignore[arg-type]


def card_version(text: str) -> Outbound:
    """A version of case 1's triage card, edited in place once posted."""
    return Outbound(
        OutboundKind.UPSERT, "telegram", TRIAGE, text=text, anchor="card:1", purpose="card"
    )


def many_cards(count: int, version: int) -> list[Outbound]:
    """A version of `count` triage cards, `c0`, `c1`, ..."""
    return [
        Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text=f"#{i} v{version}", anchor=f"c{i}")
        for i in range(count)
    ]


async def rows(h: Harness) -> list[OutboxRow]:
    async with h.sessions() as session:
        return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())


async def test_retry_after_is_honoured_then_sent_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, base_delay=timedelta(seconds=1))
        await enqueue(h, send(ACME, "hello"))
        adapter.fail_next(DeliveryError("flood", retry_after=30))
        assert await d.run_once() == 0
        h.clock.advance(seconds=10)
        assert await d.run_once() == 0, "sent before retry_after passed"
        h.clock.advance(seconds=21)
        assert await d.run_once() == 1
        assert adapter.texts() == ["hello"]
        assert await d.run_once() == 0
        (row,) = await rows(h)
        assert row.status == "sent" and row.attempts == 2 and row.platform_message_id


async def test_backoff_grows_and_dead_letter_keeps_reason(db_url: str) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, max_attempts=3, base_delay=timedelta(seconds=2))
        await enqueue(h, send(ACME, "doomed"))
        for _ in range(3):
            adapter.fail_next(DeliveryError("server error 502"))
        assert await d.run_once() == 0
        (row,) = await rows(h)
        assert row.attempts == 1 and row.next_attempt_at == h.clock.now() + timedelta(seconds=2)
        h.clock.advance(seconds=2)
        await d.run_once()
        (row,) = await rows(h)
        assert row.attempts == 2 and row.next_attempt_at == h.clock.now() + timedelta(seconds=4)
        h.clock.advance(seconds=4)
        await d.run_once()
        (row,) = await rows(h)
        assert row.status == "dead" and row.attempts == 3
        assert row.last_error == "server error 502"
        h.clock.advance(hours=1)
        assert await d.run_once() == 0
        assert adapter.delivered == []


async def test_permanent_error_is_dead_at_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        await enqueue(h, send(ACME, "to a chat that kicked us"), send(TRIAGE, "fine"))
        adapter.fail_next(
            DeliveryError("Forbidden: bot was kicked", permanent=True),
            when=lambda x: x.chat == ACME,
        )
        await d.run_once()
        first, second = await rows(h)
        assert first.status == "dead" and "kicked" in (first.last_error or "")
        assert second.status == "sent"


async def test_chat_order_is_kept_while_other_chats_go_on(db_url: str) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, base_delay=timedelta(seconds=5))
        await enqueue(h, send(ACME, "one"), send(ACME, "two"), send(TRIAGE, "other chat"))
        adapter.fail_next(DeliveryError("timeout"), when=lambda x: x.text == "one")
        await d.run_once()
        assert adapter.texts() == ["other chat"], "two overtook one"
        h.clock.advance(seconds=5)
        while await d.run_once():
            pass
        assert adapter.texts() == ["other chat", "one", "two"]


async def test_upserts_coalesce_and_then_edit_in_place(db_url: str) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        card = dict(anchor="card:1", purpose="card")
        await enqueue(
            h,
            *(
                Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text=f"v{i}", **card)
                for i in range(3)
            ),
        )  # type: ignore[arg-type]
        while await d.run_once():
            pass
        assert adapter.texts() == ["v2"], "older versions of a card were sent"
        first_id = (await rows(h))[-1].platform_message_id
        await enqueue(h, Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text="v3", **card))  # type: ignore[arg-type]
        await d.run_once()
        assert adapter.delivered[-1].anchor_message_id == first_id
        statuses = [r.status for r in await rows(h)]
        assert statuses == ["skipped", "skipped", "sent", "sent"]


async def test_an_edit_refused_for_a_while_holds_its_anchors_newer_edits(db_url: str) -> None:
    """A board edited moments ago is refused with a retry-after (`board_min_interval`);
    its newer versions, written meanwhile, wait for that moment without a call each to
    be refused again (one failed attempt and one transaction per board row was a fifth
    of the dispatcher's work at 200 cases a second), and then only the newest goes."""
    async with Harness(db_url) as h:
        board = dict(anchor="board:acme", purpose="board")
        edited: list[Any] = []

        class Throttled(RecordingAdapter):
            calls = 0

            async def deliver(self, delivery):  # type: ignore[no-untyped-def]
                self.calls += 1
                if edited and (h.clock.now() - edited[-1]).total_seconds() < 3:
                    left = 3 - (h.clock.now() - edited[-1]).total_seconds()
                    raise DeliveryError("board edited moments ago", retry_after=left)
                edited.append(h.clock.now())
                return await super().deliver(delivery)

        adapter = Throttled()
        d = dispatcher_for(h, adapter, base_delay=timedelta(seconds=1))

        def version(text: str) -> Outbound:
            return Outbound(OutboundKind.UPSERT, "telegram", ACME, text=text, **board)  # type: ignore[arg-type]

        await enqueue(h, version("v1"))
        assert await d.run_once() == 1
        h.clock.advance(seconds=1)
        await enqueue(h, version("v2"))
        assert await d.run_once() == 0 and adapter.calls == 2  # refused: 2 s to go
        h.clock.advance(seconds=1)
        await enqueue(h, version("v3"))
        assert await d.run_once() == 0
        assert adapter.calls == 2, "an edit of a held board was tried again"
        v3 = (await rows(h))[-1]
        assert v3.status == "pending" and v3.attempts == 0 and v3.claimed_until is None
        assert v3.next_attempt_at == h.clock.now() + timedelta(seconds=1)
        h.clock.advance(seconds=1)
        while await d.run_once():
            pass
        assert adapter.texts() == ["v1", "v3"] and adapter.calls == 3
        assert [r.status for r in await rows(h)] == ["sent", "skipped", "sent"]


async def v1_waiting_for_its_retry(h: Harness) -> tuple[RecordingAdapter, Dispatcher]:
    """Card v0 posted; v1 timed out and waits for its retry, 2 s on."""
    adapter = RecordingAdapter()
    d = dispatcher_for(h, adapter, base_delay=timedelta(seconds=2))
    await enqueue(h, card_version("v0"))
    await d.run_once()
    adapter.fail_next(DeliveryError("timeout"))
    await enqueue(h, card_version("v1"))
    assert await d.run_once() == 0
    return adapter, d


async def test_an_edit_retried_after_a_newer_one_was_sent_is_not_sent(db_url: str) -> None:
    """v1 of a card fails (a timeout) and waits for its retry; v2 is written and sent
    meanwhile. At v1's retry it must not go out: the check for newer versions counted only
    pending ones, so v1 put the card's stale text back over v2 (the audit's finding)."""
    async with Harness(db_url) as h:
        adapter, d = await v1_waiting_for_its_retry(h)
        h.clock.advance(seconds=1)
        await enqueue(h, card_version("v2"))
        assert await d.run_once() == 1
        h.clock.advance(seconds=5)
        while await d.run_once():
            pass
        assert adapter.texts() == ["v0", "v2"], "an older version was sent after a newer one"
        assert [r.status for r in await rows(h)] == ["sent", "skipped", "sent"]
        # a puller is handed no older version either
        await enqueue(h, card_version("v3"))
        async with h.sessions() as session:
            (v3,) = (await session.execute(select(OutboxRow).where(OutboxRow.id == 4))).scalars()
            assert not await outbox.superseded(session, v3)
            (v2,) = (await session.execute(select(OutboxRow).where(OutboxRow.id == 3))).scalars()
            assert await outbox.superseded(session, v2)


async def test_an_edit_goes_out_when_the_newer_version_died(db_url: str) -> None:
    """v1 of a card times out and waits for its retry; v2 is refused for good (its own
    content: a button the platform rejects). v1 still goes out at its retry: a dead
    newer version counted as superseding it, so a card whose first post timed out was
    never posted (the second audit's finding)."""
    async with Harness(db_url) as h:
        adapter, d = await v1_waiting_for_its_retry(h)
        adapter.fail_next(DeliveryError("Bad Request: BUTTON_DATA_INVALID", permanent=True))
        await enqueue(h, card_version("v2"))
        await d.run_once()
        h.clock.advance(seconds=5)
        while await d.run_once():
            pass
        assert adapter.texts() == ["v0", "v1"]
        assert [r.status for r in await rows(h)] == ["sent", "sent", "dead"]


async def test_an_edit_superseded_while_its_chat_is_paced_is_not_sent(db_url: str) -> None:
    """A claim's card edit waits behind the chat's earlier sends (Telegram paces a group
    chat): a newer version of the card written meanwhile makes it needless, as the
    per-row check at send time had it, instead of costing one more paced call."""
    async with Harness(db_url) as h:
        card = dict(anchor="card:1", purpose="card")

        class Paced(RecordingAdapter):
            async def deliver(self, delivery):  # type: ignore[no-untyped-def]
                if delivery.text == "first":
                    await asyncio.sleep(0.3)  # the chat's pace
                    await enqueue(
                        h,
                        Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text="v2", **card),  # type: ignore[arg-type]
                    )
                return await super().deliver(delivery)

        adapter = Paced()
        d = dispatcher_for(h, adapter, recheck_after=0.1)
        await enqueue(
            h,
            send(TRIAGE, "first"),
            Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text="v1", **card),  # type: ignore[arg-type]
        )
        while await d.run_once():
            pass
        assert adapter.texts() == ["first", "v2"], "a superseded version of the card was sent"
        statuses = [r.status for r in await rows(h)]
        assert statuses == ["sent", "skipped", "sent"]


async def test_a_puller_gets_a_chats_next_message_behind_its_cursor(db_url: str) -> None:
    """A chat's second message is due only once its first is settled, by which time the
    puller's cursor has passed it (another chat's newer message was handed out with the
    first): it must still be handed out, not left pending for ever. So must a row the
    claim's turn-taking put beyond the pull's limit while a newer one went out."""
    async with Harness(db_url) as h:
        d = dispatcher_for(h, RecordingAdapter())
        await enqueue(h, send(ACME, "a1"), send(ACME, "a2"), send(TRIAGE, "t1"))
        first = await d.take("telegram", 0, 50)
        assert [x.text for x in first] == ["a1", "t1"]
        cursor = max(x.id for x in first)
        for x in first:
            await d.settle("telegram", x.id, Receipt(message_id=f"m{x.id}"))
        (second,) = await d.take("telegram", cursor, 50)
        assert second.text == "a2"
        card = dict(purpose="card")
        await enqueue(
            h,
            *(
                Outbound(
                    OutboundKind.UPSERT, "telegram", TRIAGE, text=f"c{i}", anchor=f"c{i}", **card
                )  # type: ignore[arg-type]
                for i in range(2)
            ),
            Outbound(OutboundKind.UPSERT, "telegram", GLOBEX, text="g", anchor="g", **card),  # type: ignore[arg-type]
        )
        taken = await d.take("telegram", second.id, 2)  # one turn each: c0, then g
        cursor = max(x.id for x in taken)
        rest = await d.take("telegram", cursor, 50)
        assert sorted(x.text for x in [*taken, *rest]) == ["c0", "c1", "g"]


async def test_sent_messages_join_the_transcript(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "the API returns 500")
        out = await h.say("evan", "/case", reply_to=h.last_message_id)
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        while await d.run_once():
            pass
        case = await h.case(out.case_id)
        bot = [m for m in case["messages"] if m["role"] == "bot"]
        assert bot and f"#{out.case_id}" in bot[0]["text"]
        # a customer replying to the bot's acknowledgement stays in the case
        await h.say(
            "alice",
            "any news?",
            reply_to=bot[0]["platform_message_id"],
            advance=timedelta(hours=2),
        )
        case = await h.case(out.case_id)
        assert case["messages"][-1]["text"] == "any news?"


async def test_lease_stops_a_second_dispatcher_from_sending_a_claimed_row(db_url: str) -> None:
    async with Harness(db_url) as h:
        slow = RecordingAdapter()
        gate = asyncio.Event()
        original = slow.deliver

        async def blocked(delivery):  # type: ignore[no-untyped-def]
            await gate.wait()
            return await original(delivery)

        slow.deliver = blocked  # type: ignore[method-assign]
        other = RecordingAdapter()
        d1, d2 = dispatcher_for(h, slow), dispatcher_for(h, other)
        await enqueue(h, send(ACME, "only once"))
        first = asyncio.create_task(d1.run_once())
        await asyncio.sleep(0.05)
        assert await d2.run_once() == 0
        gate.set()
        assert await first == 1
        assert slow.texts() == ["only once"] and other.texts() == []


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_dispatchers_on_postgres_send_each_row_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        chats = [f"-100{i:03d}" for i in range(40)]
        await enqueue(h, *(send(chats[i % 40], f"m{i}") for i in range(400)))
        adapters = [RecordingAdapter(), RecordingAdapter()]
        dispatchers = [dispatcher_for(h, a, batch=25) for a in adapters]

        async def drain(d: Dispatcher) -> None:
            idle = 0
            while idle < 3:
                idle = idle + 1 if await d.run_once() == 0 else 0
                await asyncio.sleep(0)

        await asyncio.gather(*(drain(d) for d in dispatchers))
        texts = adapters[0].texts() + adapters[1].texts()
        assert sorted(texts) == sorted(f"m{i}" for i in range(400))
        assert len(set(texts)) == 400
        assert all(a.delivered for a in adapters), "one dispatcher did all the work"
        for chat in chats:
            in_chat = [t for a in adapters for t in a.texts(chat)]
            assert len(in_chat) == 10


async def test_a_send_is_recorded_through_a_database_hiccup(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropped connection while recording a done send used to leave the row leased,
    and it went out a second time once the lease ran out."""
    from sqlalchemy.exc import OperationalError

    from storage import outbox

    real_mark_sent = outbox.mark_many_sent
    failures = [OperationalError("UPDATE outbox", {}, ConnectionResetError("connection lost"))]

    async def flaky_mark_sent(*args: object, **kw: object) -> set[int]:
        if failures:
            raise failures.pop()
        return await real_mark_sent(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "mark_many_sent", flaky_mark_sent)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, lease=timedelta(seconds=30))
        await enqueue(h, send(ACME, "once only"))
        assert await d.run_once() == 1
        h.clock.advance(minutes=5)  # well past the lease
        assert await d.run_once() == 0
        assert adapter.texts() == ["once only"]
        (row,) = await rows(h)
        assert row.status == "sent" and row.platform_message_id


async def test_a_chats_edits_go_on_while_their_records_commit_up_to_a_window(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triage chat takes a card per case, one after another. Each card waited for
    the commit recording it before the next went out, so the chat managed about one
    card per commit and its backlog grew at 200 cases a second (2,000 cards pending
    after 10 s, every claim ranking them all). Edits in place of different cards now go
    on while earlier ones are recorded, at most `RECORD_WINDOW` waiting and
    `EDITS_AT_ONCE` under way: a database that stops answering still holds the chat's
    queue once the window is full. A first post (a new card) waits for its own record,
    `EDITS_AT_ONCE` of them at a time: posted again after a crash it would be a second
    card, where an edit in place repeated changes nothing."""
    from bot import dispatcher

    real_record = Dispatcher._record
    commits: list[int] = []
    stuck = asyncio.Event()

    async def slow_record(self: Dispatcher, items: list[Any]) -> None:
        await stuck.wait()
        commits.append(len(items))
        await real_record(self, items)

    monkeypatch.setattr(Dispatcher, "_record", slow_record)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        cards = 3 * dispatcher.RECORD_WINDOW

        async def while_stuck(expected: int) -> int:
            stuck.clear()
            adapter.delivered.clear()
            commits.clear()
            run = asyncio.create_task(d.run_once())
            for _ in range(100):
                await asyncio.sleep(0.01)
            # nothing can be recorded: the chat stops once what may wait is waiting
            assert len(adapter.delivered) == expected
            stuck.set()
            return await run

        await enqueue(h, *many_cards(cards, 1))
        assert await while_stuck(dispatcher.EDITS_AT_ONCE) == cards  # first posts
        await enqueue(h, *many_cards(cards, 2))
        settled = await while_stuck(dispatcher.RECORD_WINDOW + dispatcher.EDITS_AT_ONCE)
        assert settled == cards
        assert adapter.texts() == [f"#{i} v2" for i in range(cards)], "cards out of order"
        assert all(d.anchor_message_id for d in adapter.delivered), "not edited in place"
        assert len(commits) < cards / 4, f"{len(commits)} commits for {cards} edits"
        assert all(r.status == "sent" for r in await rows(h))


async def test_a_chats_edits_of_different_cards_go_out_together_its_messages_alone(
    db_url: str,
) -> None:
    """Each edit is one call waiting on the platform; a triage chat sending its cards one
    at a time managed 170 a second on a loaded loop, below the 200 cases a second that
    wrote them. Edits of different anchors now start in order, `EDITS_AT_ONCE` at a
    time; a message still goes alone, after every edit before it and before any after."""
    from bot import dispatcher

    async with Harness(db_url) as h:
        events: list[tuple[str, str]] = []
        under_way: set[str] = set()
        most = 0

        class Slow(RecordingAdapter):
            async def deliver(self, delivery):  # type: ignore[no-untyped-def]
                nonlocal most
                if delivery.kind == "send":
                    assert not under_way, f"{delivery.text} sent beside {under_way}"
                under_way.add(delivery.text)
                most = max(most, len(under_way))
                events.append(("start", delivery.text))
                await asyncio.sleep(0.02)
                under_way.discard(delivery.text)
                return await super().deliver(delivery)

        def card(i: int) -> Outbound:
            return Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text=f"c{i}", anchor=f"c{i}")

        d = dispatcher_for(h, Slow())
        await enqueue(h, *(card(i) for i in range(10)), send(TRIAGE, "note"), card(10), card(11))
        while await d.run_once():
            pass
        starts = [text for kind, text in events if kind == "start"]
        assert starts == [f"c{i}" for i in range(10)] + ["note", "c10", "c11"]
        assert most == dispatcher.EDITS_AT_ONCE


async def test_an_edit_under_way_finishes_when_its_chats_sends_fail(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error in a chat's task (here the check for newer versions of its next
    edit) while an earlier edit's call is under way: that edit finishes and is recorded,
    as `stop` lets sends finish. Cancelled, its call might have reached the platform
    already and been repeated once its lease ran out (a card posted twice)."""
    from sqlalchemy.exc import OperationalError

    real = outbox.superseded_rows
    calls = [0]

    async def second_fails(*args: Any, **kw: Any) -> set[int]:
        calls[0] += 1
        if calls[0] == 2:  # the first is the claim's
            raise OperationalError("SELECT outbox", {}, ConnectionResetError("connection lost"))
        return await real(*args, **kw)

    monkeypatch.setattr(outbox, "superseded_rows", second_fails)
    async with Harness(db_url) as h:

        class Slow(RecordingAdapter):
            async def deliver(self, delivery):  # type: ignore[no-untyped-def]
                await asyncio.sleep(0.2)
                return await super().deliver(delivery)

        adapter = Slow()
        d = dispatcher_for(h, adapter, recheck_after=0.0)
        await enqueue(
            h,
            *(
                Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text=f"c{i}", anchor=f"c{i}")
                for i in range(2)
            ),
        )
        with pytest.raises(OperationalError):
            await d.run_once()
        assert adapter.texts() == ["c0"], "the edit under way was cut off"
        first, second = await rows(h)
        assert first.status == "sent" and second.status == "pending"


async def test_a_message_after_an_edit_whose_record_broke_is_not_sent_twice(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit's record fails for good while the chat's next row, a message, is sent:
    the message's receipt is kept all the same, so once its lease runs out it is
    recorded, not sent again (the record of the edit before it raised first, and the
    message's own receipt was never kept)."""
    from sqlalchemy.exc import IntegrityError

    real = outbox.mark_many_sent
    broken = [True]

    async def edit_record_breaks(session: Any, items: Any, now: Any) -> set[int]:
        if broken[0] and any(row.payload.get("text") == "c0" for row, _ in items):
            broken[0] = False
            raise IntegrityError("UPDATE outbox", {}, ValueError("constraint"))
        return await real(session, items, now)

    monkeypatch.setattr(outbox, "mark_many_sent", edit_record_breaks)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, lease=timedelta(seconds=30))
        await enqueue(
            h,
            Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text="c0", anchor="c0"),
            send(TRIAGE, "note"),
        )
        with pytest.raises(IntegrityError):
            await d.run_once()
        h.clock.advance(minutes=5)  # both leases ran out
        while await d.run_once():
            pass
        assert adapter.texts() == ["c0", "note"], "a row was sent again"
        assert [r.status for r in await rows(h)] == ["sent", "sent"]


async def test_a_lock_outlasting_the_lease_while_recording_does_not_repeat_the_send(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chaos test's repeated triage send: another process held SQLite's write lock
    past the busy timeout, so recording a done send failed for longer than half the
    lease; the dispatcher gave up, the lease ran out, and the next claim sent it again."""
    from sqlalchemy.exc import OperationalError

    from storage import outbox

    real_mark_sent = outbox.mark_many_sent
    locked = asyncio.Event()
    locked.set()

    async def locked_mark_sent(*args: object, **kw: object) -> set[int]:
        if locked.is_set():
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        return await real_mark_sent(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "mark_many_sent", locked_mark_sent)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, lease=timedelta(seconds=1), idle_poll=0.01)
        await enqueue(h, send(ACME, "once only"))
        d.start()
        try:
            for _ in range(200):
                if adapter.delivered:
                    break
                await asyncio.sleep(0.01)
            h.clock.advance(seconds=5)  # the lease ran out while the lock was held
            await asyncio.sleep(1.0)  # well past half the (real-time) lease
            locked.clear()
            for _ in range(300):
                if (await rows(h))[0].status == "sent":
                    break
                await asyncio.sleep(0.01)
        finally:
            await d.stop()
        assert adapter.texts() == ["once only"]
        (row,) = await rows(h)
        assert row.status == "sent" and row.platform_message_id


async def test_a_send_whose_record_failed_for_good_is_recorded_not_sent_again(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording failed in a way that does not pass by retrying; the row is claimed
    again once its lease ran out, and the send done is recorded, not repeated."""
    from sqlalchemy.exc import IntegrityError

    from storage import outbox

    real_mark_sent = outbox.mark_many_sent
    failures = [IntegrityError("UPDATE outbox", {}, ValueError("constraint"))]

    async def once_broken_mark_sent(*args: object, **kw: object) -> set[int]:
        if failures:
            raise failures.pop()
        return await real_mark_sent(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "mark_many_sent", once_broken_mark_sent)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, lease=timedelta(seconds=30))
        await enqueue(h, send(ACME, "once only"))
        with pytest.raises(IntegrityError):
            await d.run_once()
        h.clock.advance(minutes=5)
        assert await d.run_once() == 1
        assert adapter.texts() == ["once only"]
        (row,) = await rows(h)
        assert row.status == "sent" and row.platform_message_id == "1000"


async def test_a_record_whose_commit_answer_was_lost_is_not_written_twice(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit reached the database but its answer did not: the retry finds the
    row sent and leaves the transcript with one copy of the bot's message."""
    from sqlalchemy import func
    from sqlalchemy.exc import OperationalError

    from storage.models import MessageRow

    lost = [OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))]

    async with Harness(db_url) as h:
        real_record = Dispatcher._record

        async def record_then_lose_answer(self: Dispatcher, items: list[object]) -> None:
            await real_record(self, items)  # type: ignore[arg-type]
            if lost:
                raise lost.pop()

        monkeypatch.setattr(Dispatcher, "_record", record_then_lose_answer)
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        await enqueue(h, send(ACME, "said once"))
        assert await d.run_once() == 1
        async with h.sessions() as session:
            copies = await session.execute(
                select(func.count(MessageRow.id)).where(MessageRow.text == "said once")
            )
            assert copies.scalar_one() == 1
        assert adapter.texts() == ["said once"]


async def test_a_reply_from_the_web_shows_once_and_a_reply_to_it_finds_the_case(
    db_url: str,
) -> None:
    """The dispatcher gives the relayed staff message the sent message's id, instead of
    storing a second, bot copy of it in the transcript."""
    from cases.model import ActionKind, Actor, StaffAction
    from tests.engine.kit import act, open_case

    async with Harness(db_url) as h:
        await open_case(h)
        lena = Actor("telegram", "2001", "Lena", "lena")
        await act(h, StaffAction(ActionKind.REPLY, 1, lena, h.clock.now(), value="Rebooting."))
        adapter = RecordingAdapter()
        while await dispatcher_for(h, adapter).run_once():
            pass
        [relay] = [r for r in await rows(h) if r.purpose == "staff_reply"]
        case = await h.case(1)
        copies = [m for m in case["messages"] if "Rebooting." in m["text"]]
        assert [(m["role"], m["platform_message_id"]) for m in copies] == [
            ("staff", relay.platform_message_id)
        ]
        out = await h.say("alice", "thanks, it works", reply_to=relay.platform_message_id)
        assert out.case_id == 1


async def test_a_record_failing_for_good_is_not_retried_for_half_the_lease(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a failure that may pass is retried: a broken constraint would fail the same
    way for the next 15 s while the chat's queue waits."""

    from sqlalchemy.exc import IntegrityError

    from storage import outbox

    async def broken_mark_sent(*args: object, **kw: object) -> None:
        raise IntegrityError("UPDATE outbox", {}, ValueError("constraint"))

    monkeypatch.setattr(outbox, "mark_many_sent", broken_mark_sent)
    async with Harness(db_url) as h:
        d = dispatcher_for(h, RecordingAdapter(), lease=timedelta(seconds=30))
        await enqueue(h, send(ACME, "hello"))
        started = time.monotonic()
        with pytest.raises(IntegrityError):
            await d.run_once()
        assert time.monotonic() - started < 2


async def test_one_accounts_burst_does_not_hold_back_another_accounts_card(db_url: str) -> None:
    """Sixty triage cards of Globex's flood, then one of Acme's real case: Acme's card
    is in the first claim, not behind the whole flood."""
    async with Harness(db_url) as h:
        await h.say("carol", "flood")  # case #1, Globex (automatic intake)
        await h.say("alice", "real question")
        await h.say("evan", "/case", reply_to=h.last_message_id)  # case #2, Acme
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, batch=10)
        while await d.run_once():
            pass
        adapter.delivered.clear()
        await enqueue(h, *(_card(f"flood {i}", case_id=1) for i in range(60)))
        await enqueue(h, _card("acme card", case_id=2))
        claims = 0
        while "acme card" not in adapter.texts():
            assert await d.run_once()
            claims += 1
        assert claims == 1, f"Acme's card went out in claim {claims}"
        assert adapter.texts().index("acme card") <= 1
        while await d.run_once():
            pass
        assert len(adapter.texts()) == 61, "the flood still goes out, after"


def _card(text: str, case_id: int) -> Outbound:
    return Outbound(
        OutboundKind.UPSERT, "telegram", TRIAGE, text=text, anchor=text, case_id=case_id,
        purpose="card",
    )  # fmt: skip


async def test_a_triage_note_claimed_with_its_card_goes_into_the_cards_thread(
    db_url: str,
) -> None:
    """A claim's deliveries are looked up once for the whole claim: a note about a case
    (`thread_of` its card) claimed together with the card's first message must still go
    into the thread that message starts, which only the card's own send makes."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        await enqueue(
            h,
            Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text="card", anchor="card:7"),
            send(TRIAGE, "assigned to Lena", extra={"thread_of": "card:7"}),
        )
        while await d.run_once():
            pass
        card, note = adapter.delivered
        assert card.anchor_message_id is None and note.thread == "1000"


async def test_one_broken_record_does_not_hold_back_other_chats_records(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sends to several chats are recorded in one commit; a record that fails for good
    (a constraint) must not keep the others unrecorded: they are recorded alone, and the
    broken one is recorded from its receipt once its lease ran out, never sent again."""
    from sqlalchemy.exc import IntegrityError

    from storage import outbox

    real = outbox.mark_many_sent
    broken = [True]

    async def breaks_on_one(session: object, items: list, now: object) -> set[int]:  # type: ignore[type-arg]
        if broken[0] and any(row.payload.get("text") == "broken" for row, _ in items):
            broken[0] = len(items) > 1  # fails as a batch, and once more alone
            raise IntegrityError("UPDATE outbox", {}, ValueError("constraint"))
        return await real(session, items, now)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "mark_many_sent", breaks_on_one)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, lease=timedelta(seconds=30))
        await enqueue(h, send(ACME, "fine"), send(TRIAGE, "broken"), send(GLOBEX, "also fine"))
        with pytest.raises(IntegrityError):
            await d.run_once()
        by_text = {r.payload["text"]: r for r in await rows(h)}
        assert by_text["fine"].status == "sent" and by_text["also fine"].status == "sent"
        assert by_text["broken"].status == "pending"
        h.clock.advance(minutes=5)
        assert await d.run_once() == 1
        assert sorted(adapter.texts()) == ["also fine", "broken", "fine"]
        assert {r.status for r in await rows(h)} == {"sent"}


async def test_a_backlog_in_a_customer_chat_does_not_starve_the_triage_chat(
    db_url: str,
) -> None:
    """Turns were taken between accounts only: a burst of one account's board edits in
    its own chat (here 30, at 1,000 cases a second it was every customer chat's ack and
    board) filled every claim, and the triage card of the same account waited behind all
    of them; in the latency benchmark 1,451 of 1,500 cards were still pending. Each chat
    takes its own turns now."""
    async with Harness(db_url) as h:
        await h.say("alice", "real question")
        await h.say("evan", "/case", reply_to=h.last_message_id)  # case #1, Acme
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, batch=5)
        while await d.run_once():
            pass
        adapter.delivered.clear()
        boards = [
            Outbound(
                OutboundKind.UPSERT, "telegram", ACME, text=f"board {i}", anchor=f"b{i}",
                case_id=1, purpose="board",
            )
            for i in range(30)
        ]  # fmt: skip
        await enqueue(h, *boards, _card("acme card", case_id=1))
        await d.run_once()
        assert "acme card" in adapter.texts(), "the triage chat waited behind Acme's chat"


async def test_one_chat_takes_at_most_fifty_rows_of_a_claim(db_url: str) -> None:
    """A claim takes 200 rows now; one chat's share of them goes out one by one at its
    platform's pace, and 200 of them could outlast the lease (30 s) while another
    process claims the tail again. The rest of a chat's share is left for the next claim."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        await enqueue(h, *(_card(f"card {i}", case_id=None) for i in range(60)))  # type: ignore[arg-type]
        assert await d.run_once() == 50
        assert len(adapter.texts()) == 50
        assert await d.run_once() == 10, "the tail was left leased"
        assert len(adapter.texts()) == 60


# ---------------------------------------------------------------- the running loop
# `idle_poll` is long in these tests: whatever they wait for must come from a wake or a
# chat's sends ending, never from the periodic claim.


class CountingDispatcher(Dispatcher):
    """Counts claims, and can commit rows while a claim is under way (after its snapshot)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.claims = 0
        self.during_claim: list[Callable[[], Awaitable[None]]] = []

    async def _claim(self, *args: Any, **kw: Any) -> Any:
        result = await super()._claim(*args, **kw)
        self.claims += 1
        while self.during_claim:
            await self.during_claim.pop(0)()
        return result


class SpinCheck(asyncio.Event):
    """The dispatcher's wake event, raising once the loop asks it more often than a loop
    that waits ever would: a loop spinning without awaiting hangs the test otherwise."""

    def __init__(self, limit: int = 10_000) -> None:
        super().__init__()
        self.asked = 0
        self.limit = limit

    def is_set(self) -> bool:
        self.asked += 1
        if self.asked > self.limit:
            raise RuntimeError("the dispatcher's loop spins without waiting")
        return super().is_set()


class GatedAdapter(RecordingAdapter):
    """Holds each send to a gated chat until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[str, asyncio.Event] = {}
        self.waiting: dict[str, asyncio.Event] = {}

    async def deliver(self, delivery: Delivery) -> Receipt:
        gate = self.gates.get(delivery.chat)
        if gate is not None:
            self.waiting.setdefault(delivery.chat, asyncio.Event()).set()
            await gate.wait()
        return await super().deliver(delivery)


def looping(h: Harness, adapter: RecordingAdapter, **kw: Any) -> CountingDispatcher:
    kw.setdefault("idle_poll", 30.0)
    return CountingDispatcher(h.sessions, {"telegram": adapter}, h.clock, **kw)


@contextlib.asynccontextmanager
async def running(d: Dispatcher) -> AsyncIterator[Dispatcher]:
    d.start()
    try:
        yield d
    finally:
        await d.stop()


async def until(check: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


async def test_rows_committed_during_an_empty_claim_are_not_left_for_the_idle_poll(
    db_url: str,
) -> None:
    """The loop cleared its wake after a claim that found nothing, so a wake that came
    while that claim ran (rows committed after its snapshot) was lost until `idle_poll`."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = looping(h, adapter)

        async def commit_and_wake() -> None:
            await enqueue(h, send(ACME, "written while the dispatcher looked"))
            d.wake([("telegram", ACME)])

        d.during_claim.append(commit_and_wake)
        async with running(d):
            await until(lambda: bool(adapter.delivered), "the wake during the claim was lost")
        assert adapter.texts() == ["written while the dispatcher looked"]


async def test_a_chats_next_message_goes_out_when_its_first_is_sent(db_url: str) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = looping(h, adapter)
        await enqueue(h, *(send(ACME, f"message {i}") for i in range(3)), send(GLOBEX, "hi"))
        async with running(d):
            d.wake([("telegram", ACME), ("telegram", GLOBEX)])
            await until(lambda: len(adapter.delivered) == 4, "a chat's next message waited")
        assert adapter.texts(ACME) == ["message 0", "message 1", "message 2"]


async def test_a_message_for_a_chat_being_sent_to_goes_out_when_its_sends_end(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        adapter = GatedAdapter()
        adapter.gates[ACME] = asyncio.Event()
        d = looping(h, adapter)
        await enqueue(h, send(ACME, "first"))
        async with running(d):
            d.wake([("telegram", ACME)])
            await until(lambda: ACME in adapter.waiting, "the first send never started")
            await enqueue(h, send(ACME, "second"))
            d.wake([("telegram", ACME)])
            claims = d.claims
            await asyncio.sleep(0.05)
            assert d.claims == claims, "claimed for a chat whose sends are under way"
            adapter.gates[ACME].set()
            await until(lambda: len(adapter.delivered) == 2, "the second waited for the poll")
        assert adapter.texts() == ["first", "second"]


async def test_a_burst_to_many_chats_takes_one_claim_not_one_per_chat(db_url: str) -> None:
    """Every chat's sends ending used to start another claim, each ranking every pending
    row: at 50 cases a second that was the bot's biggest CPU cost."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = looping(h, adapter)
        chats = [f"-100{i}" for i in range(20)]
        await enqueue(h, *(send(chat, "ack") for chat in chats))
        async with running(d):
            d.wake([("telegram", chat) for chat in chats])
            await until(lambda: len(adapter.delivered) == 20, "the burst was not sent")
            await asyncio.sleep(0.1)
        assert d.claims == 1


async def test_with_every_sending_slot_taken_the_loop_waits_for_one_to_end(
    db_url: str,
) -> None:
    """A claim due while `max_chats` chats were being sent to looped without awaiting:
    the process hung (the fan-out of an incident to 500 groups)."""
    async with Harness(db_url) as h:
        adapter = GatedAdapter()
        chats = [f"-100{i}" for i in range(3)]
        for chat in chats:
            adapter.gates[chat] = asyncio.Event()
        d = looping(h, adapter, max_chats=2)
        d._wake = SpinCheck()
        await enqueue(h, *(send(chat, "notice") for chat in chats))
        async with running(d):
            d.wake([("telegram", chat) for chat in chats])
            # one claim took all three: more than max_chats, none free for the next
            await until(lambda: len(adapter.waiting) == 3, "the sends never started")
            await enqueue(h, send(ACME, "after the notices"))
            d.wake()  # rows for any chat: a claim is due, and no slot is free
            await asyncio.sleep(0.2)
            for gate in adapter.gates.values():
                gate.set()
            await until(lambda: len(adapter.delivered) == 4, "the loop stopped claiming")


def _edit(chat: str, text: str) -> Outbound:
    return Outbound(OutboundKind.UPSERT, "telegram", chat, text=text, anchor=f"board:{text}")


async def test_edits_a_full_claim_left_out_go_out_when_their_chats_sends_end(
    db_url: str,
) -> None:
    """A chat's edits are all claimable at once, so a full claim's limit can cut them:
    the chat, being sent to, is left out of the claim that follows, and only its pending
    messages were counted as left over, so the cut edits waited for `idle_poll`."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = looping(h, adapter, batch=4)
        await enqueue(h, *(_edit(ACME, f"board {i}") for i in range(6)))
        async with running(d):
            d.wake([("telegram", ACME)])
            await until(lambda: len(adapter.delivered) == 6, "the cut edits waited for the poll")


async def test_edits_released_behind_a_failed_message_go_out_when_its_sends_end(
    db_url: str,
) -> None:
    """A message that fails releases the rest of its chat's claim; edits among them are
    claimable at once (only messages wait for it), yet nothing marked the chat as having
    rows left, so they waited for `idle_poll`."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = looping(h, adapter)
        await enqueue(h, send(ACME, "one"), _edit(ACME, "board"))
        adapter.fail_next(DeliveryError("timeout"), when=lambda x: x.text == "one")
        async with running(d):
            d.wake([("telegram", ACME)])
            await until(lambda: len(adapter.delivered) == 1, "the released edit waited")
        assert adapter.texts() == ["board"]


async def test_claims_slower_than_idle_poll_are_not_run_back_to_back(db_url: str) -> None:
    """`idle_poll` was counted from a claim's start: once a claim took longer (a large
    backlog of rows not yet due, a platform's outage), the loop claimed again the moment
    one ended, with nothing to claim, where it used to wait `idle_poll` in between."""
    async with Harness(db_url) as h:
        spans: list[tuple[float, float]] = []

        class SlowClaims(CountingDispatcher):
            async def _claim(self, *args: Any, **kw: Any) -> Any:
                loop = asyncio.get_running_loop()
                began = loop.time()
                result = await super()._claim(*args, **kw)
                await asyncio.sleep(0.15)  # ranking a large backlog
                spans.append((began, loop.time()))
                return result

        d = SlowClaims(h.sessions, {"telegram": RecordingAdapter()}, h.clock, idle_poll=0.1)
        async with running(d):
            await until(lambda: len(spans) >= 3, "the loop stopped polling")
        gaps = [later[0] - earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)]
        assert min(gaps) >= 0.08, f"claims back to back: {gaps}"


async def test_chats_waiting_counts_a_chats_messages_on_its_own_platform(db_url: str) -> None:
    """Rows left pending after a claim, per chat: messages beyond the ones taken; edits
    only when asked (a full claim); the same chat id on another platform is another chat."""
    async with Harness(db_url) as h:
        other = Outbound(OutboundKind.SEND, "slack", GLOBEX, text="elsewhere")
        await enqueue(
            h, send(ACME, "one"), send(ACME, "two"), send(GLOBEX, "only"), other, other,
            _edit(GLOBEX, "board"),
        )  # fmt: skip
        async with h.sessions() as session, session.begin():
            claimed = await outbox.claim_due(
                session, h.clock.now(), 1, timedelta(minutes=2), platforms=["telegram"]
            )
            claimed += await outbox.claim_due(
                session, h.clock.now(), 1, timedelta(minutes=2), exclude=[("telegram", ACME)],
                platforms=["telegram"],
            )  # fmt: skip
            groups = {(r.platform, r.chat): [r] for r in claimed}
            assert set(groups) == {("telegram", ACME), ("telegram", GLOBEX)}
            assert await outbox.chats_waiting(session, groups) == {("telegram", ACME)}
            both = {("telegram", ACME), ("telegram", GLOBEX)}
            assert await outbox.chats_waiting(session, groups, edits=True) == both


async def test_rows_for_a_pulled_platform_wake_its_puller_and_start_no_claim(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = looping(h, adapter)
        async with running(d):
            await until(lambda: d.claims == 1, "the first claim never ran")
            d.wake([("bridge", "room-1")])
            await asyncio.sleep(0.1)
            assert d.claims == 1, "claimed for rows only a puller takes"
            d.wake([("telegram", ACME)])
            await until(lambda: d.claims == 2, "a wake for a chat of its own started no claim")


# ------------------------------------------------- every row an event writes wakes the loop


@contextlib.asynccontextmanager
async def app_sending(h: Harness, adapter: RecordingAdapter) -> AsyncIterator[App]:
    """The app with its dispatcher running (`idle_poll` 30 s) and events pushed through
    its sink, as an adapter hands them over."""
    raw = {**h.raw, "storage": {"url": h.url}, "http": {"enabled": False}}
    raw["dispatcher"] = {"idle_poll": "30s"}
    app = App(parse_config(raw, env={}), clock=h.clock, adapters={"telegram": adapter})
    await app.start(web=False, scheduler=False)
    h.push = app.sink  # type: ignore[method-assign]
    try:
        yield app
    finally:
        await app.stop()


async def test_the_rows_of_the_bots_membership_change_wake_the_dispatcher(db_url: str) -> None:
    """The triage notice and the group's setup message were written but not reported
    with the event's actions, so nothing woke the dispatcher: they waited for `idle_poll`."""
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        async with app_sending(h, adapter):
            added = ChatKey("telegram", ACME)
            await h.push(
                Inbound(InboundKind.MEMBERSHIP, "m1", added, h.clock.now(), member_status="member")
            )
            await until(lambda: len(adapter.delivered) == 2, "the rows waited for the poll")
        assert {(d.chat, d.purpose) for d in adapter.delivered} == {
            (TRIAGE, "membership"),
            (ACME, "setup"),
        }


async def test_incident_notices_from_a_busy_triage_chat_wake_the_dispatcher(
    db_url: str,
) -> None:
    """`/incident` reported only its reply in triage: while triage was being sent to, that
    wake claimed nothing, and the notices to the groups waited for `idle_poll`."""
    async with Harness(db_url) as h:
        adapter = GatedAdapter()
        adapter.gates[TRIAGE] = asyncio.Event()
        async with app_sending(h, adapter):
            await h.say("evan", "/help", chat=TRIAGE)
            await until(lambda: TRIAGE in adapter.waiting, "the triage send never started")
            await h.say("evan", "/incident start Login outage", chat=TRIAGE)
            told = lambda: {d.chat for d in adapter.delivered} == {ACME, GLOBEX}  # noqa: E731
            try:
                await until(told, "the notices waited for the poll")
            finally:
                adapter.gates[TRIAGE].set()
        assert {d.purpose for d in adapter.delivered if d.chat != TRIAGE} == {"incident"}


async def test_stop_cuts_off_first_posts_waiting_for_a_database_that_stopped_answering(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A card's first post (or any edit whose receipt names no message it edited in
    place) waits for its own record, `EDITS_AT_ONCE` at a time. With the database gone,
    `stop()` still returns after its grace, and the records it cut off leave no warning
    of an exception never retrieved."""
    import gc
    import warnings

    from sqlalchemy.exc import IntegrityError, OperationalError

    from bot import dispatcher

    down = asyncio.Event()
    down.set()
    real_record = Dispatcher._record

    async def unanswered(self: Dispatcher, items: list[Any]) -> None:
        if down.is_set():
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        raise IntegrityError("UPDATE outbox", {}, ValueError("constraint"))  # then broken

    monkeypatch.setattr(Dispatcher, "_record", unanswered)

    class NoIds(RecordingAdapter):
        async def deliver(self, delivery):  # type: ignore[no-untyped-def]
            await super().deliver(delivery)
            return Receipt(message_id=None)  # a peer that names no message

    async with Harness(db_url) as h:
        adapter = NoIds()
        d = dispatcher_for(h, adapter, idle_poll=0.01)
        await enqueue(
            h,
            *(
                Outbound(OutboundKind.UPSERT, "telegram", TRIAGE, text=f"#{i}", anchor=f"c{i}")
                for i in range(3 * dispatcher.EDITS_AT_ONCE)
            ),
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d.start()
            for _ in range(300):
                if len(adapter.delivered) >= dispatcher.EDITS_AT_ONCE:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            assert len(adapter.delivered) == dispatcher.EDITS_AT_ONCE, "posts waited in a window"
            stopping = asyncio.create_task(d.stop(grace=0.2))
            done, _ = await asyncio.wait([stopping], timeout=3.0)
            down.clear()
            await stopping
            await asyncio.sleep(0.05)
            gc.collect()
        assert stopping in done, "stop() waited for the database to answer"
        never = [w for w in caught if "never awaited" in str(w.message)]
        assert not never, never
        assert "never retrieved" not in caplog.text
    del real_record


async def test_stop_does_not_wait_for_a_database_that_stopped_answering(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A chat's edits wait for their records in a window, and a database that stops
    answering holds the chat once the window is full. `stop()` cancels a chat's task
    after its grace: the task then waited for every record of its window, which the
    recorder retries for as long as the database does not answer, so `stop()` (SIGTERM)
    did not return until the database did. The edit that was waiting for its turn was
    left a coroutine never awaited."""
    import gc
    import warnings

    from sqlalchemy.exc import OperationalError

    from bot import dispatcher

    down = asyncio.Event()
    real_record = Dispatcher._record

    async def unanswered(self: Dispatcher, items: list[Any]) -> None:
        if down.is_set():
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        await real_record(self, items)

    monkeypatch.setattr(Dispatcher, "_record", unanswered)
    async with Harness(db_url) as h:
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter, idle_poll=0.01)
        held = dispatcher.RECORD_WINDOW + dispatcher.EDITS_AT_ONCE

        await enqueue(h, *many_cards(held + 4, 1))  # the cards posted (and recorded) first
        while await d.run_once():
            pass
        adapter.delivered.clear()
        down.set()
        await enqueue(h, *many_cards(held + 4, 2))  # edits in place: these wait in the window
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d.start()
            for _ in range(300):
                if len(adapter.delivered) >= held:
                    break
                await asyncio.sleep(0.01)
            assert len(adapter.delivered) == held
            stopping = asyncio.create_task(d.stop(grace=0.2))
            done, _ = await asyncio.wait([stopping], timeout=3.0)
            down.clear()  # let a stop() still waiting end
            await stopping
            gc.collect()
        assert stopping in done, "stop() waited for the database to answer"
        never = [w for w in caught if "never awaited" in str(w.message)]
        assert not never, never
        assert "never retrieved" not in caplog.text
