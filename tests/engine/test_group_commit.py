"""Group commit after issue 15: on SQLite a batch runs without a savepoint per event and
claims its events' keys in one statement; only a batch in which an event raises is run
again with savepoints. What must hold either way: the good events of a batch are stored
once, a bad one is rolled back alone, recorded in failed events and logged once, and a
key seen twice (in one batch or across batches) is handled once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from cases.model import ChatKey, Inbound, InboundKind
from storage.fastpath import raw_sqlite
from storage.ingest import EventFailed
from storage.models import CaseEvent, FailedEvent, ProcessedEvent
from storage.uow import SqlUnitOfWork
from tests.engine.kit import case_count, messages
from tests.harness import ACME, GLOBEX, Harness


def _inbound(h: Harness, n: int, text: str, chat: str = GLOBEX, who: str = "carol") -> Inbound:
    h.clock.advance(timedelta(seconds=5))
    return Inbound(
        InboundKind.MESSAGE,
        f"gc-{chat}-{n}",
        ChatKey("telegram", chat),
        h.clock.now(),
        h.actor(who),
        message_id=str(n),
        text=text,
    )


@contextmanager
def _statements(h: Harness, conn: Any) -> Iterator[list[str]]:
    """The SQL run on the SQLite connection meanwhile (the engine has one)."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


async def _sqlite_connection(h: Harness) -> Any:
    async with h.sessions() as session:
        conn = await raw_sqlite(session)
    assert conn is not None, "the SQLite engine runs inline"
    return conn


async def _failed(h: Harness) -> list[str]:
    async with h.sessions() as session:
        rows = await session.execute(select(FailedEvent.event_id).order_by(FailedEvent.id))
        return list(rows.scalars())


async def _claimed(h: Harness) -> set[str]:
    async with h.sessions() as session:
        return set((await session.execute(select(ProcessedEvent.event_id))).scalars())


async def test_a_clean_batch_runs_without_savepoints_and_claims_in_one_statement(
    sqlite_url: str,
) -> None:
    async with Harness(sqlite_url) as h:
        await h.say("carol", "warm-up", chat=GLOBEX)  # the chat, its account and carol known
        conn = await _sqlite_connection(h)
        batch = [_inbound(h, 100 + i, f"question number {i} about billing") for i in range(5)]
        with _statements(h, conn) as seen:
            results = await h.ingestor.handle_batch(batch)
        assert not any(isinstance(r, Exception) for r in results)
        assert not [s for s in seen if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
        claims = [s for s in seen if s.startswith("INSERT INTO processed_events")]
        assert len(claims) == 1, claims
        assert {f"gc-{GLOBEX}-{100 + i}" for i in range(5)} <= await _claimed(h)


async def test_a_bad_event_in_a_batch_is_rolled_back_alone(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(db_url) as h:
        real = h.engine._after_message

        async def broken(ctx: Any, case: Any) -> None:
            await real(ctx, case)  # fail after its writes, so there is something to undo
            if "boom" in ctx.event.text:
                raise RuntimeError("engine bug")

        await h.say("carol", "the printer is on fire", chat=GLOBEX)
        first = h.last_message_id
        monkeypatch.setattr(h.engine, "_after_message", broken)
        batch = [
            Inbound(
                InboundKind.MESSAGE,
                f"b{i}",
                ChatKey("telegram", GLOBEX),
                h.clock.now() + timedelta(seconds=i),
                h.actor("carol"),
                message_id=f"90{i}",
                reply_to=first,
                text="boom" if i == 2 else f"fine {i}",
            )
            for i in range(4)
        ]
        before = await case_count(h)
        with caplog.at_level(logging.ERROR, logger="storage.ingest"):
            results = await h.ingestor.handle_batch(batch)
        assert [isinstance(r, Exception) for r in results] == [False, False, True, False]
        assert isinstance(results[2], EventFailed) and "engine bug" in str(results[2])
        texts = [m["text"] for m in await messages(h)]
        assert "boom" not in texts
        assert all(f"fine {i}" in texts for i in (0, 1, 3))
        assert await _failed(h) == ["b2"]
        claimed = await _claimed(h)
        assert {"b0", "b1", "b3"} <= claimed and "b2" not in claimed
        assert await case_count(h) == before
        assert sum("b2" in r.getMessage() for r in caplog.records) == 1, "logged once"

        # the good events are done: sent again, each is a duplicate; the bad one goes
        # through once its fault is gone
        monkeypatch.setattr(h.engine, "_after_message", real)
        again = await h.ingestor.handle_batch(batch)
        assert [not isinstance(r, Exception) and r.duplicate for r in again] == [
            True,
            True,
            False,
            True,
        ]
        assert [m["text"] for m in await messages(h)].count("boom") == 1


async def test_a_key_twice_in_one_batch_is_handled_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        ask = _inbound(h, 7, "our invoices show the wrong currency")
        other = _inbound(h, 8, "and the tax id is missing too", chat=ACME, who="alice")
        results = await h.ingestor.handle_batch([ask, other, ask])
        assert not any(isinstance(r, Exception) for r in results)
        assert [r.duplicate for r in results if not isinstance(r, Exception)] == [
            False,
            False,
            True,
        ]
        assert [m["text"] for m in await messages(h)].count(ask.text) == 1
        # across batches too
        (later,) = await h.ingestor.handle_batch([ask])
        assert not isinstance(later, Exception) and later.duplicate


async def test_an_unreadable_event_fails_alone_and_claims_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        good = _inbound(h, 11, "the export button does nothing")
        bad = Inbound(
            InboundKind.UNREADABLE,
            "gc-unreadable",
            ChatKey("telegram", GLOBEX),
            h.clock.now(),
            None,
            text="no message in this update",
        )
        results = await h.ingestor.handle_batch([good, bad])
        assert not isinstance(results[0], Exception) and results[0].opened
        assert isinstance(results[1], EventFailed)
        assert await _failed(h) == ["gc-unreadable"]
        assert "gc-unreadable" not in await _claimed(h)
        async with h.sessions() as session:
            stored = await session.execute(select(func.count()).select_from(ProcessedEvent))
        assert stored.scalar_one() == len(await _claimed(h))


async def test_save_case_writes_what_changed_even_deep_inside_its_json(db_url: str) -> None:
    """The snapshot a read case is compared with (on SQLite the row's own JSON text)."""
    async with Harness(db_url) as h:
        opened = await h.say("carol", "the nightly export fails with a timeout", chat=GLOBEX)
        assert opened.case_id is not None
        async with h.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session)
            case = await uow.case(opened.case_id)
            assert case is not None
            conn = await raw_sqlite(session)
            if conn is not None:
                with _statements(h, conn) as seen:
                    await uow.save_case(case)  # unchanged: nothing to write
                assert not [s for s in seen if s.startswith("UPDATE")]
            case.sla.setdefault("clocks", {}).setdefault("resolution", {})["warned"] = "x"
            case.tags.append("export")
            await uow.save_case(case)
            again = await uow.case(opened.case_id)
            assert again is not None
            assert again.sla["clocks"]["resolution"]["warned"] == "x"
            assert again.tags == ["export"]
            again.sla["clocks"]["resolution"]["warned"] = "y"  # in place, one level down
            await uow.save_case(again)
        async with h.sessions() as session:
            final = await SqlUnitOfWork(session).case(opened.case_id)
        assert final is not None and final.sla["clocks"]["resolution"]["warned"] == "y"


async def test_a_clean_batch_holds_its_audit_events_until_something_could_read_them(
    sqlite_url: str,
) -> None:
    """On SQLite's batch pass `add_event` only holds its row: the rows go out in one
    executemany, in order, before any statement through the session (`has_event`, a
    timeline) or naming case_events, and at the end of the batch."""
    async with Harness(sqlite_url) as h:
        opened = await h.say("carol", "the nightly export fails with a timeout", chat=GLOBEX)
        case_id = opened.case_id
        assert case_id is not None
        at = h.clock.now()

        def stored(conn: Any) -> list[str]:
            rows = conn.execute(
                "SELECT type FROM case_events WHERE case_id = ? AND type LIKE 'held%' ORDER BY id",
                (case_id,),
            )
            return [r[0] for r in rows]

        async with h.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session)
            conn = await raw_sqlite(session)
            assert conn is not None
            async with uow.buffered_events():
                for n in range(3):
                    await uow.add_event(case_id, f"held {n}", at, None, {"n": n})
                assert stored(conn) == []  # held
                assert await uow.has_event(case_id, "held 1", at)  # written first
                assert stored(conn) == ["held 0", "held 1", "held 2"]
                await uow.add_event(case_id, "held 3", at, None, {})
                assert stored(conn) == ["held 0", "held 1", "held 2"]
                uow.flush_events()
                assert stored(conn) == ["held 0", "held 1", "held 2", "held 3"]
                await uow.add_event(case_id, "held 4", at, None, {})
            assert len(stored(conn)) == 4, "the block's owner flushes at its end"
            # outside the block each event is written at once, as on PostgreSQL
            await uow.add_event(case_id, "held 5", at, None, {})
            assert stored(conn)[-1] == "held 5"


async def _replies_audit(url: str, careful: bool) -> list[tuple[Any, ...]]:
    async with Harness(url) as h:
        await h.say("carol", "the nightly export fails with a timeout", chat=GLOBEX)
        first = h.last_message_id
        if careful:  # the pass with a savepoint per event, which writes each event at once
            h.ingestor._ids_survive_rollback = False
        replies = [
            Inbound(
                InboundKind.MESSAGE,
                f"held-{i}",
                ChatKey("telegram", GLOBEX),
                h.clock.now() + timedelta(seconds=i + 1),
                h.actor("evan" if i % 2 == 0 else "carol"),
                message_id=f"70{i}",
                reply_to=first,
                text=f"line {i}",
            )
            for i in range(4)
        ]
        results = await h.ingestor.handle_batch(replies)
        assert not any(isinstance(r, Exception) for r in results)
        async with h.sessions() as session:
            rows = await session.execute(
                select(CaseEvent.id, CaseEvent.case_id, CaseEvent.type, CaseEvent.data).order_by(
                    CaseEvent.id
                )
            )
            return [tuple(r) for r in rows]


async def test_a_batchs_held_audit_events_are_stored_as_one_by_one(sqlite_url: str) -> None:
    held = await _replies_audit(sqlite_url, careful=False)
    assert [t for _, _, t, _ in held].count("status_changed") == 4  # every reply moved it
    assert held == await _replies_audit(sqlite_url, careful=True)


async def test_a_replys_parent_brings_its_case_along_unless_written_since(
    sqlite_url: str,
) -> None:
    """On SQLite `message` reads the message's case in the same statement, and the
    next `case` of that id answers from it; any write in between (or any other
    statement) makes `case` read the row again."""
    async with Harness(sqlite_url) as h:
        opened = await h.say("carol", "the nightly export fails with a timeout", chat=GLOBEX)
        first, case_id = h.last_message_id, opened.case_id
        assert case_id is not None
        async with h.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session)
            chat = await uow.chat(ChatKey("telegram", GLOBEX))
            assert chat is not None
            conn = await raw_sqlite(session)
            assert conn is not None
            with _statements(h, conn) as seen:
                parent = await uow.message(chat.id, first)
                assert parent is not None and parent.case_id == case_id
                case = await uow.case(case_id)
            assert len(seen) == 1 and "JOIN cases" in seen[0], seen
            assert case is not None and case.id == case_id
            assert case.title == "the nightly export fails with a timeout"
            case.title = "renamed"
            await uow.save_case(case)
            await uow.save_case(case)  # the snapshot the prefetched case left is right

            # a write in between: the case is read again, and shows it
            await uow.message(chat.id, first)
            await session.execute(
                text("UPDATE cases SET title = 'written since' WHERE id = :id"), {"id": case_id}
            )
            with _statements(h, conn) as seen:
                again = await uow.case(case_id)
            assert [s for s in seen if "FROM cases" in s], "read again"
            assert again is not None and again.title == "written since"

            # another statement in between, or another case: read again too
            await uow.message(chat.id, first)
            await uow.board_lines(chat.id, 30)
            with _statements(h, conn) as seen:
                assert await uow.case(case_id) is not None
            assert [s for s in seen if "FROM cases" in s]
            await uow.message(chat.id, first)
            with _statements(h, conn) as seen:
                assert await uow.case(case_id + 1000) is None
            assert [s for s in seen if "FROM cases" in s]
            # a message on no case brings none
            assert await uow.message(chat.id, "no such message") is None
