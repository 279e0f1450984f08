"""Incident mode through the engine: `/incident` from the triage chat and
`Engine.incident` from the web tell every affected group once per step in its locale,
put a banner on their boards, link new cases there, and refuse what makes no sense."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from cases.context import ActionRejected
from cases.incident_records import IncidentScope, IncidentStep
from cases.incidents import IncidentAction, IncidentOutcome, parse_incident
from cases.model import ChatKey
from cases.records import AccountInfo
from storage.incidents import OPEN_FOR_ACCOUNT, war_room
from storage.models import Anchor, Chat, IncidentNotice, IncidentUpdate
from storage.uow import SqlUnitOfWork
from tests.engine.kit import events
from tests.harness import ACME, GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")


async def web_step(h: Harness, action: IncidentAction) -> IncidentOutcome:
    async with h.sessions() as session, session.begin():
        return await h.engine.incident(SqlUnitOfWork(session, h.ingestor.caches), action)


async def rows(h: Harness, purpose: str) -> list[tuple[str, str]]:
    return [(r.chat, r.payload["text"]) for r in await h.outbox() if r.purpose == purpose]


async def posted_board(h: Harness, chat: str) -> None:
    """As the dispatcher records a board it posted (the harness sends nothing)."""
    async with h.sessions() as session, session.begin():
        chat_id = (await session.execute(select(Chat.id).where(Chat.chat == chat))).scalar_one()
        session.add(
            Anchor(
                key=f"board:{chat_id}",
                platform=h.platform,
                chat=chat,
                platform_message_id="900",
                updated_at=h.clock.now(),
            )
        )


async def test_start_update_resolve_tell_every_group_once_in_its_locale(db_url: str) -> None:
    async with Harness(db_url) as h:
        await posted_board(h, ACME)
        await h.say("evan", "/incident start API gateway errors", chat=TRIAGE)
        [confirm] = await h.sent(chat=TRIAGE)
        assert "INC-1" in confirm and "2 groups in 2 accounts" in confirm
        notices = await rows(h, "incident")
        assert sorted(c for c, _ in notices) == sorted([ACME, GLOBEX])
        by_chat = dict(notices)
        assert "Service incident: API gateway errors" in by_chat[ACME]
        assert "服务故障：API gateway errors" in by_chat[GLOBEX]  # Globex reads Chinese
        boards = dict(await rows(h, "board"))
        assert boards[ACME].startswith("⚠️ Ongoing incident: API gateway errors")
        # Globex never had a board: it gets the notice, not a new pinned board
        assert GLOBEX not in boards

        await h.say("evan", "/incident update Failover done, error rate falling", chat=TRIAGE)
        await h.say("evan", "/incident resolve INC-1", chat=TRIAGE)
        notices = await rows(h, "incident")
        assert len(notices) == 6  # three steps, two groups, nobody twice
        assert [t for c, t in notices if c == ACME][1].endswith("error rate falling")
        assert "✅ Resolved" in [t for c, t in notices if c == ACME][2]
        # the banner goes with the resolution
        last_board = [t for c, t in await rows(h, "board") if c == ACME][-1]
        assert "incident" not in last_board

        async with h.sessions() as session:
            steps = (await session.execute(select(IncidentUpdate))).scalars().all()
            told = (await session.execute(select(IncidentNotice))).scalars().all()
            room = await war_room(session, 1)
        assert [(s.kind, s.actor) for s in steps] == [
            ("start", h.key("1001")),
            ("update", h.key("1001")),
            ("resolve", h.key("1001")),
        ]
        assert len(told) == 6 and all(n.outbox_id for n in told)
        assert room is not None and room["status"] == "resolved"
        assert {g["chat"] for g in room["groups"]} == {h.key(ACME), h.key(GLOBEX)}


async def test_a_tier_or_a_list_limits_who_is_told(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("evan", "/incident start tier=premium Premium cluster slow", chat=TRIAGE)
        assert [c for c, _ in await rows(h, "incident")] == [ACME]
        await h.say("evan", "/incident resolve", chat=TRIAGE)
        await h.sent()
        await h.say("lena", "/incident start accounts=Globex DNS trouble", chat=TRIAGE)
        assert [c for c, _ in await rows(h, "incident")][-1:] == [GLOBEX]
        assert len(await rows(h, "incident")) == 3


async def test_new_cases_in_an_affected_group_link_to_the_incident(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("evan", "/incident start Login failures", chat=TRIAGE)
        await h.sent()
        # Globex opens a case on every question (intake auto)
        outcome = await h.say("carol", "登录不了", chat=GLOBEX)
        assert outcome.opened
        [ack] = await h.sent(chat=GLOBEX, purpose="ack")
        assert "故障「Login failures」" in ack
        case = await h.case(outcome.case_id or 0)
        [linked] = events(case, "incident_linked")
        assert linked["data"] == {"incident": 1, "title": "Login failures"}
        async with h.sessions() as session:
            room = await war_room(session, 1)
        assert room is not None
        assert [(c["ref"], c["linked"]) for c in room["open_cases"]] == [
            (f"#{outcome.case_id}", True)
        ]
        await h.say("evan", "/incident resolve", chat=TRIAGE)
        later = await h.say("carol", "还有一个问题", chat=GLOBEX, advance=None)
        # after the resolution a new case is just a case
        if later.opened:
            assert not events(await h.case(later.case_id or 0), "incident_linked")


async def test_customers_and_customer_chats_cannot_run_incidents(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "/incident start Everything is down")
        assert "support team" in (await h.sent(chat=ACME))[0]
        await h.say("evan", "/incident start Everything is down")
        assert "triage chat only" in (await h.sent(chat=ACME))[0]
        assert not await rows(h, "incident")
        with pytest.raises(ActionRejected, match="only staff"):
            await web_step(
                h, IncidentAction(IncidentStep.START, h.actor("alice"), h.clock.now(), "x")
            )


async def test_bad_requests_are_refused_and_change_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("evan", "/incident update nothing open", chat=TRIAGE)
        assert "no incident is open" in (await h.sent(chat=TRIAGE))[0]
        await h.say("evan", "/incident start accounts=Nope Outage", chat=TRIAGE)
        assert "no account named Nope" in (await h.sent(chat=TRIAGE))[0]
        await h.say("evan", "/incident start tier=gold Outage", chat=TRIAGE)
        assert "no account in tier gold" in (await h.sent(chat=TRIAGE))[0]
        await h.say("evan", "/incident", chat=TRIAGE)
        assert "Usage: /incident" in (await h.sent(chat=TRIAGE))[0]
        evan = h.actor("evan")
        await web_step(h, IncidentAction(IncidentStep.START, evan, h.clock.now(), "One"))
        await web_step(h, IncidentAction(IncidentStep.START, evan, h.clock.now(), "Two"))
        await h.sent()
        await h.say("evan", "/incident update which one?", chat=TRIAGE)
        assert "several incidents are open (INC-1, INC-2)" in (await h.sent(chat=TRIAGE))[0]
        done = await web_step(
            h, IncidentAction(IncidentStep.RESOLVE, evan, h.clock.now(), incident_id=2)
        )
        assert done.incident.status == "resolved" and done.groups == 2
        with pytest.raises(ActionRejected, match="INC-2 is resolved already"):
            await web_step(
                h, IncidentAction(IncidentStep.UPDATE, evan, h.clock.now(), "x", incident_id=2)
            )
        # two starts and one resolution, two groups each: the refusals queued nothing
        assert len(await rows(h, "incident")) == 6


async def test_a_replayed_command_tells_nobody_twice(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("evan", "/incident start Replay", chat=TRIAGE, message_id="77")
        before = len(await rows(h, "incident"))
        # the platform re-delivers the same message (same event id, same message id)
        from cases.model import ChatKey, Inbound, InboundKind

        again = Inbound(
            InboundKind.MESSAGE,
            "u1",
            ChatKey(h.platform, TRIAGE),
            h.clock.now(),
            h.actor("evan"),
            message_id="77",
            text="/incident start Replay",
        )
        assert (await h.push(again)).duplicate
        assert len(await rows(h, "incident")) == before == 2


def test_parse_incident() -> None:
    assert parse_incident("start tier=premium Slow") == (
        IncidentStep.START,
        IncidentScope(tier="premium"),
        None,
        "Slow",
    )
    assert parse_incident("start accounts=Acme,Globex Slow disks")[1] == IncidentScope(
        accounts=("Acme", "Globex")
    )
    assert parse_incident("update INC-4 better now")[2:] == (4, "better now")
    assert parse_incident("resolve")[2:] == (None, "")
    for bad in ("", "start", "update", "stop it"):
        with pytest.raises(ValueError):
            parse_incident(bad)


async def test_incidents_appear_in_the_digest_and_the_review(db_url: str) -> None:
    from scheduler.reports import digest_text, review_text
    from storage.models import Account
    from storage.reports import digest
    from storage.review import account_review

    async with Harness(db_url) as h:
        await h.say("evan", "/incident start accounts=Globex Queue backlog", chat=TRIAGE)
        await h.say("carol", "任务卡住了", chat=GLOBEX)  # a case, linked
        await h.say("evan", "/incident resolve", chat=TRIAGE)
        now = h.clock.now()
        async with h.sessions() as session:
            daily = await digest(session, now)
            globex = (
                await session.execute(select(Account).where(Account.name == "Globex"))
            ).scalar_one()
            acme = (
                await session.execute(select(Account).where(Account.name == "Acme"))
            ).scalar_one()
            review = await account_review(session, globex, now - timedelta(days=7), now)
            other = await account_review(session, acme, now - timedelta(days=7), now)
        [summary] = daily["incidents"]
        assert (summary["ref"], summary["status"], summary["accounts"], summary["cases"]) == (
            "INC-1",
            "resolved",
            1,
            1,
        )
        text = digest_text(h.texts, "en", daily, "2026-03-02")
        assert "INC-1 Queue backlog: resolved, 1 accounts, 1 linked cases" in text
        assert [i["cases"] for i in review["incidents"]] == [1]
        assert "INC-1 Queue backlog" in review_text(h.texts, "zh", review)
        # Acme was not affected: its review says nothing of it
        assert other["incidents"] == [] and "INC-1" not in review_text(h.texts, "en", other)


async def _blocked_on_a_lock(h: Harness) -> None:
    """Until another transaction waits on a row lock (PostgreSQL); SQLite's writers
    queue at BEGIN, so a moment is enough there."""
    if not h.url.startswith("postgresql"):
        await asyncio.sleep(0.2)
        return
    for _ in range(200):
        async with h.sessions() as session:
            waiting = await session.execute(
                # this test's database only: another pytest-xdist worker's lock waits on
                # its own database must not count as this step waiting
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if waiting.scalar_one():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the second step never waited on the incident's lock")


@pytest.mark.parametrize("step", [IncidentStep.RESOLVE, IncidentStep.UPDATE])
async def test_a_step_racing_a_resolution_tells_nobody_after_it(
    db_url: str, step: IncidentStep
) -> None:
    """Two staff (or two casebot processes on one PostgreSQL) at once: one resolves the
    only open incident while the other's `/incident resolve` (or update) without a ref
    is under way. The second waits on the incident's lock and is refused when it sees
    the incident resolved: no group gets a second resolution or a late update."""
    async with Harness(db_url) as h:
        evan, erin = h.actor("evan"), h.actor("erin")
        await web_step(h, IncidentAction(IncidentStep.START, evan, h.clock.now(), "Outage"))
        async with h.sessions() as session, session.begin():
            first = IncidentAction(IncidentStep.RESOLVE, evan, h.clock.now(), "Fixed")
            await h.engine.incident(SqlUnitOfWork(session, h.ingestor.caches), first)
            second = asyncio.create_task(
                web_step(h, IncidentAction(step, erin, h.clock.now(), "Late word"))
            )
            await _blocked_on_a_lock(h)
        with pytest.raises(ActionRejected, match="resolved already|no incident is open"):
            await second
        # the start and one resolution, two groups each
        assert len(await rows(h, "incident")) == 4


async def _acme(h: Harness, uow: SqlUnitOfWork) -> AccountInfo:
    chat = await uow.chat(ChatKey(h.platform, ACME))
    assert chat is not None and chat.account is not None
    return chat.account


async def test_an_accounts_open_incident_is_read_once_per_unit_of_work(db_url: str) -> None:
    """Every board shows the banner, so the incident is read once per batch, not per
    board; a write of an incident, or a savepoint rolled back, makes it read again."""
    async with Harness(db_url) as h:
        await h.say("alice", "warm-up", chat=ACME)
        async with h.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session, h.ingestor.caches)
            account = await _acme(h, uow)
            reads: list[int] = []
            real = uow._exec

            async def counting(statement: Any, params: dict[str, Any]) -> Any:
                reads.append(statement is OPEN_FOR_ACCOUNT)
                return await real(statement, params)

            uow._exec = counting  # type: ignore[method-assign]
            assert await uow.incident_for_account(account.id) is None
            assert await uow.incident_for_account(account.id) is None
            # on PostgreSQL each read asks (see the next test)
            sqlite = db_url.startswith("sqlite")
            assert sum(reads) == (1 if sqlite else 2)
            at = h.clock.now()
            with pytest.raises(RuntimeError):
                async with uow.savepoint():
                    await uow.new_incident(
                        "rolled back", IncidentScope(all=True), [account], at, None
                    )
                    found = await uow.incident_for_account(account.id)
                    assert found is not None and found.title == "rolled back"
                    raise RuntimeError("the event failed")
            assert await uow.incident_for_account(account.id) is None  # not a phantom
            opened = await uow.new_incident("outage", IncidentScope(all=True), [account], at, None)
            assert await uow.incident_for_account(account.id) == opened
            await uow.resolve_incident(opened, at, None)
            assert await uow.incident_for_account(account.id) is None
            assert sum(reads) == (5 if sqlite else 6)


async def test_an_incident_another_process_opens_shows_on_postgresql_at_once(
    db_url: str,
) -> None:
    """Audit of issue 15 (f731cd9, the open incident read once per unit of work): on
    PostgreSQL each statement sees what other transactions committed before it (READ
    COMMITTED), so a board rendered after the web opened an incident showed its
    banner; kept from the first read, it did not until the next batch. SQLite's
    transactions hold the write lock from BEGIN, so there nobody commits meanwhile."""
    if db_url.startswith("sqlite"):
        pytest.skip("BEGIN IMMEDIATE: no other writer commits during a unit of work")
    async with Harness(db_url) as h:
        await h.say("alice", "warm-up", chat=ACME)
        async with h.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session, h.ingestor.caches)
            account = await _acme(h, uow)
            assert await uow.incident_for_account(account.id) is None
            async with h.sessions() as other, other.begin():
                opened = await SqlUnitOfWork(other, h.ingestor.caches).new_incident(
                    "outage", IncidentScope(all=True), [account], h.clock.now(), None
                )
            assert await uow.incident_for_account(account.id) == opened
