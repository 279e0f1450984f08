"""Each reminder fires exactly once: across a restart and with two sweepers on one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.config import parse_config
from cases.clock import FrozenClock
from scheduler.sweeper import Sweeper
from storage.db import make_engine, make_sessions
from storage.models import OutboxRow
from storage.uow import Caches
from tests.conftest import truncate_pg
from tests.harness import ACME, TRIAGE
from tests.sla.kit import SlaHarness, accounts


async def _breach_rows(h: SlaHarness) -> Counter[int]:
    rows = await h.outbox()
    return Counter(
        r.case_id
        for r in rows
        if r.purpose == "nudge"
        and (r.payload.get("extra") or {}).get("nudge") == "breach"
        and r.kind == "send"
    )


async def test_reminder_due_while_down_fires_once_after_restart(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        start = h.clock.now()
    # the process is down while the first response falls due
    async with SlaHarness(db_url, accounts=accounts()) as h2:
        h2.clock.set(start + timedelta(hours=3))
        await h2.tick()
        await h2.tick()
        assert (await _breach_rows(h2))[case_id] == 1
    async with SlaHarness(db_url, accounts=accounts()) as h3:
        h3.clock.set(start + timedelta(hours=4))
        await h3.tick()
        assert (await _breach_rows(h3))[case_id] == 1
        types = [t for t, _ in await h3.events(case_id, "sla_")]
        assert types.count("sla_breached") == 1 and types.count("sla_escalated") == 1


async def test_two_sweepers_tick_concurrently_each_reminder_once(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        ids = []
        for n in range(30):
            await h.say("alice", f"question {n}", advance=timedelta(minutes=11))
            out = await h.say("evan", "/case", reply_to=h.last_message_id, advance=None)
            ids.append(out.case_id)
        now = h.clock.now() + timedelta(hours=3)
        # two processes: separate engines, pools and caches on one database
        engines = [make_engine(db_url), make_engine(db_url)]
        try:
            sweepers = [Sweeper(make_sessions(e), h.engine, Caches(), batch=4) for e in engines]
            handled = await asyncio.gather(*(s.tick(now) for s in sweepers))
            handled2 = await asyncio.gather(*(s.tick(now) for s in sweepers))
        finally:
            for e in engines:
                await e.dispose()
        assert sum(handled) >= 30 and sum(handled2) == 0
        breaches = await _breach_rows(h)
        assert {case_id: breaches[case_id] for case_id in ids} == dict.fromkeys(ids, 1)


async def test_app_scheduler_sweeps_at_start(sqlite_url: str) -> None:
    """The real SchedulerService: a timer due before start fires right after start."""
    async with SlaHarness(sqlite_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        start = h.clock.now()
    raw = dict(h.raw)
    raw["storage"] = {"url": sqlite_url}
    raw["http"] = {"enabled": False}
    raw["dispatcher"] = {"enabled": False}
    raw["scheduler"] = {"tick": "1h"}
    app = App(parse_config(raw, env={}), clock=FrozenClock(start + timedelta(hours=2)))
    await app.start(web=False)
    try:
        for _ in range(100):
            async with app.sessions() as session:
                rows = list(
                    (
                        await session.execute(
                            select(OutboxRow).where(
                                OutboxRow.case_id == case_id, OutboxRow.purpose == "nudge"
                            )
                        )
                    ).scalars()
                )
            if rows:
                break
            await asyncio.sleep(0.05)
        assert rows, "the sweeper did not run at start"
        jobs = {job.id for job in app.scheduler.scheduler.get_jobs()}
        assert jobs == {"casebot.sweeper", "casebot.digest", "casebot.review"}
    finally:
        await app.stop()


@pytest.fixture
async def pg_url(pg_database: str | None) -> str:
    """The PostgreSQL database alone, emptied (SQLite cannot interleave transactions)."""
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable")
    await truncate_pg(pg_database)
    return pg_database


@pytest.mark.parametrize(
    ("read", "command", "chat"),
    [
        ("case", "/followup #{id} 2d @erin call back", TRIAGE),
        ("open_cases", "/followup 2d @erin call back", ACME),  # the chat's only case
    ],
)
async def test_a_message_handled_while_another_process_sweeps_does_not_repeat_a_reminder(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, read: str, command: str, chat: str
) -> None:
    """Another process's sweeper ticks between this process reading a case and writing
    it back. The write used to erase the reminder the sweeper had just recorded, so it
    fired again at the next tick. On PostgreSQL a case read to be changed is locked and
    the other sweeper passes it by, whichever way the command found the case; SQLite's
    write transactions cannot interleave."""
    import storage.uow

    async with (
        SlaHarness(pg_url, accounts=accounts()) as h,
        SlaHarness(pg_url, accounts=accounts()) as other,
    ):
        case_id = await h.open_case()
        h.clock.advance(minutes=61)  # past the warning share of the 1 h first response
        other.clock.set(h.clock.now())
        real_read = getattr(storage.uow.SqlUnitOfWork, read)
        raced: list[int] = []

        async def read_then_other_sweeps(self: storage.uow.SqlUnitOfWork, key: int) -> object:
            found = await real_read(self, key)
            if not raced:
                raced.append(await other.tick())
            return found

        monkeypatch.setattr(storage.uow.SqlUnitOfWork, read, read_then_other_sweeps)
        await h.say("evan", command.format(id=case_id), chat=chat, advance=None)
        monkeypatch.undo()
        for _ in range(3):
            await h.tick()
            h.clock.advance(minutes=30)
        types = [t for t, _ in await h.events(case_id, "sla_")]
        assert types.count("sla_breached") == 1, types
        assert len(types) == len(set(types)), f"a reminder recorded twice: {types}"
